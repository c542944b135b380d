"""Top-hat variance sigma^2(R, z) of the linear density field by FFTLog (``mcfit.TophatVar``,
jax backend), and its logarithmic slope.

sigma^2(R) = int dk/k  k^3 P(k) / (2 pi^2)  W^2(kR),  W(x) = 3 (sin x - x cos x)/x^3.

Input: ln P on the uniform grid ``emulator.LN_K`` (k in 1/Mpc, P in Mpc^3). The FFTLog output
lives on the uniform ln R grid returned by :func:`ln_r_grid` (R in Mpc, R = 1/k reversed).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import jax.numpy as jnp

from ..interpolation import interp_uniform
from .emulator import LN_K

__all__ = ["SigmaTable", "sigma_table", "ln_r_grid", "sigma8_from_ln_pk"]


@functools.lru_cache(maxsize=1)
def _tophat():
    import jax
    import mcfit
    # built eagerly even when first needed inside a jit trace: its tables are constants
    with jax.ensure_compile_time_eval():
        return mcfit.TophatVar(np.exp(LN_K), lowring=True, backend="jax")


@functools.lru_cache(maxsize=1)
def ln_r_grid() -> np.ndarray:
    """Uniform ln R grid [ln Mpc] of the sigma tables (static)."""
    return np.log(np.asarray(_tophat().y, dtype=float))


class SigmaTable(NamedTuple):
    """ln sigma and its slope on the uniform grid ``ln_r_grid()``.

    ln_sigma : (n_z, n_R) ln sigma(R, z)
    dln_sigma_dln_r : (n_z, n_R) d ln sigma / d ln R
    """
    ln_sigma: jnp.ndarray
    dln_sigma_dln_r: jnp.ndarray


def sigma_table(ln_pk) -> SigmaTable:
    """sigma(R, z) from ln P_lin (n_z, N_K) on LN_K, via FFTLog (power-law padding at both
    ends, mcfit ``extrap=True``). The slope is a 4th-order central difference on the
    uniform ln R grid (error ~ h^4, h = 0.02)."""
    _, var = _tophat()(jnp.exp(ln_pk), extrap=True)
    ln_s = 0.5 * jnp.log(var)
    h = float(np.diff(ln_r_grid())[0])
    d = (ln_s[..., :-4] - 8 * ln_s[..., 1:-3] + 8 * ln_s[..., 3:-1] - ln_s[..., 4:]) / (12 * h)
    d = jnp.concatenate([d[..., :1], d[..., :1], d, d[..., -1:], d[..., -1:]], axis=-1)
    return SigmaTable(ln_s, d)


def sigma8_from_ln_pk(ln_pk0, h):
    """sigma8 = sigma(R = 8/h Mpc) [dimensionless] from ln P_lin [1, N_K] on LN_K at z = 0."""
    lr = ln_r_grid()
    ln_r8 = jnp.log(8.0 / jnp.asarray(h, dtype=float))
    return jnp.exp(interp_uniform(lr[0], lr[1] - lr[0], sigma_table(ln_pk0).ln_sigma,
                                  jnp.atleast_1d(ln_r8))[0, 0])
