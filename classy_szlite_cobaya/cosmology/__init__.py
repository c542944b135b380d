"""Cosmology stage: emulator P_lin(k, z), background, sigma(R).

Public, traceable helpers re-exported by the package: :func:`Pk`, :func:`Pnl` (HMcode-2016
boost network, ``cosmology.nonlinear``), :func:`cl_TTTEEE` (CMB networks, ``cosmology.cmb``),
:func:`distances`, :func:`derived`. Units: k in 1/Mpc, P in Mpc^3, H in km/s/Mpc, distances
in Mpc, CMB C_ell in muK^2.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from ..params import CosmoParams, check_cosmo, validity_factor
from ..interpolation import interp_uniform
from . import background, emulator, extended, sigma
from ..params import EMULATOR_Z_RANGE, check_real

__all__ = ["Pk", "Pnl", "cl_TTTEEE", "distances", "derived", "sigma8"]


def _range_check(name: str, value, lo: float, hi: float):
    """Eager: TypeError unless real, ValueError naming the first value outside [lo, hi].
    Returns the factor (1.0 inside, NaN outside or non-finite), elementwise, for the traced
    path; for concrete input it is all ones."""
    v = check_real(name, value)
    if v is not None:
        bad = ~np.isfinite(v) | (v < lo) | (v > hi)
        if np.any(bad):
            raise ValueError(f"{name} = {float(np.ravel(v)[np.argmax(np.ravel(bad))])!r} is "
                             f"outside the allowed range [{lo:g}, {hi:g}]")
    x = jnp.asarray(value, dtype=float)
    return jnp.where(jnp.isfinite(x) & (x >= lo) & (x <= hi), 1.0, jnp.nan)


def _z_factor(z):
    """Elementwise validity of redshifts: the emulator's range [0, 5]."""
    return _range_check("z", z, *EMULATOR_Z_RANGE)


def Pk(cosmo: CosmoParams, z, k=None):
    """Linear matter power spectrum P_lin(k, z) [Mpc^3] from the embedded emulator.

    z : scalar or (n_z,) redshifts in [0, 5] (the emulator's training range).
    k : optional (n_k,) wavenumbers [1/Mpc] in [1e-5, 50] (``emulator.K_MIN``,
        ``emulator.K_MAX``); default the internal uniform grid.
    Returns (k, P) with P of shape (n_z, n_k) (z axis dropped for scalar z).
    Eager: ValueError naming z or k, the bad value and the range; TypeError for non-real
    input. Traced: P is NaN in the rows of invalid z, the columns of invalid k, everywhere
    for an invalid cosmology.
    """
    check_cosmo(cosmo)
    ok_z = jnp.atleast_1d(_z_factor(z))
    ok = validity_factor(cosmo) * ok_z[:, None]
    zz = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    ln_pk = extended.linear_power(cosmo, zz)[0]
    if k is None:
        k_out, ln_p = jnp.exp(jnp.asarray(emulator.LN_K)), ln_pk
    else:
        ok = ok * jnp.atleast_1d(_range_check("k", k, emulator.K_MIN, emulator.K_MAX))[None, :]
        k_out = jnp.asarray(k, dtype=float)
        lk = emulator.LN_K
        ln_p = interp_uniform(lk[0], lk[1] - lk[0], ln_pk, jnp.log(jnp.atleast_1d(k_out)))
    p = jnp.exp(ln_p) * ok
    return k_out, (p[0] if np.ndim(z) == 0 else p)


def distances(cosmo: CosmoParams, z):
    """Background at z: dict with H [km/s/Mpc], chi (comoving distance) [Mpc], D_A [Mpc].

    z : scalar or array of redshifts in [0, 5]. Eager: ValueError naming z outside it;
    traced: NaN at invalid z (elementwise) and everywhere for an invalid cosmology.
    """
    check_cosmo(cosmo)
    ok = validity_factor(cosmo) * _z_factor(z)
    z = jnp.asarray(z, dtype=float)
    return {"H": background.hubble(cosmo, z) * ok,
            "chi": background.comoving_distance(cosmo, z) * ok,
            "D_A": background.angular_diameter_distance(cosmo, z) * ok}


def sigma8(cosmo: CosmoParams):
    """sigma8 = sigma(R = 8/h Mpc, z = 0) of all matter [dimensionless] (no validation;
    traceable)."""
    return sigma.sigma8_from_ln_pk(extended.linear_power(cosmo, jnp.zeros(1))[0],
                                   jnp.asarray(cosmo.H0) / 100.0)


def derived(cosmo: CosmoParams):
    """Derived parameters: dict with sigma8, Omega_m, S8 = sigma8 sqrt(Omega_m/0.3), h.
    sigma8 and Omega_m are of all matter (massive neutrinos included, CLASS's Omega_m).

    Eager: ValueError/TypeError for an invalid cosmology; traced: every output NaN there.
    """
    check_cosmo(cosmo)
    ok = validity_factor(cosmo)
    s8 = sigma8(cosmo) * ok
    om = background.omega_m_total0(cosmo) * ok
    return {"sigma8": s8, "Omega_m": om, "S8": s8 * jnp.sqrt(om / 0.3),
            "h": jnp.asarray(cosmo.H0) / 100.0 * ok}


# After the helpers above, which these modules import from the package.
from .nonlinear import Pnl  # noqa: E402
from .cmb import cl_TTTEEE  # noqa: E402
