"""Tinker et al. 2008 (ApJ 688, 709) halo mass function at a mean-density overdensity.

dn/dlnM = f(sigma) (rho_m0 / M) |d ln sigma / d ln M|,
f(sigma) = A [(sigma/b)^-a + 1] exp(-c/sigma^2),
(A, a, b, c) from the T08 table, interpolated with a natural cubic spline in log10 Delta,
and evolved as A (1+z)^-0.14, a (1+z)^-0.06, b (1+z)^-alpha,
log10 alpha = -[0.75 / log10(Delta/75)]^1.2.
For M500c, Delta = 500 / Omega_m(z) (docs/physics.md section 2).
Units: M in Msun, rho_m0 (comoving) in Msun/Mpc^3, dn/dlnM in Mpc^-3.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

__all__ = ["T08_TABLE", "tinker08_params", "ln_f_sigma_tinker08", "f_sigma_tinker08",
           "dndlnm_tinker08", "ln_dndlnm_tinker08"]

#: Table 2 of Tinker et al. 2008: Delta_mean, A, a, b, c
T08_TABLE = np.array([
    [200.0, 0.186, 1.47, 2.57, 1.19],
    [300.0, 0.200, 1.52, 2.25, 1.27],
    [400.0, 0.212, 1.56, 2.05, 1.34],
    [600.0, 0.218, 1.61, 1.87, 1.45],
    [800.0, 0.248, 1.87, 1.59, 1.58],
    [1200.0, 0.255, 2.13, 1.51, 1.80],
    [1600.0, 0.260, 2.30, 1.46, 1.97],
    [2400.0, 0.260, 2.53, 1.44, 2.24],
    [3200.0, 0.260, 2.66, 1.41, 2.44],
])


def _natural_spline_m(x, y):
    """Second derivatives of the natural cubic spline through (x, y) (columns of y)."""
    n = len(x)
    h = np.diff(x)
    A = np.zeros((n, n))
    rhs = np.zeros((n,) + y.shape[1:])
    A[0, 0] = A[-1, -1] = 1.0
    for i in range(1, n - 1):
        A[i, i - 1], A[i, i], A[i, i + 1] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        rhs[i] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    return np.linalg.solve(A, rhs)


_X = np.log10(T08_TABLE[:, 0])
_Y = T08_TABLE[:, 1:]
_M = _natural_spline_m(_X, _Y)


def tinker08_params(delta_mean, z):
    """(A, a, b, c) at overdensity ``delta_mean`` (w.r.t. mean density) and redshift z."""
    x = jnp.clip(jnp.log10(delta_mean), _X[0], _X[-1])
    i = jnp.clip(jnp.searchsorted(jnp.asarray(_X), x) - 1, 0, len(_X) - 2)
    x0, x1 = jnp.asarray(_X)[i], jnp.asarray(_X)[i + 1]
    h = x1 - x0
    t1, t0 = (x - x0) / h, (x1 - x) / h
    y0, y1 = jnp.asarray(_Y)[i], jnp.asarray(_Y)[i + 1]
    m0, m1 = jnp.asarray(_M)[i], jnp.asarray(_M)[i + 1]
    h_, t0_, t1_ = h[..., None], t0[..., None], t1[..., None]
    y = t0_ * y0 + t1_ * y1 + h_ ** 2 / 6 * ((t0_ ** 3 - t0_) * m0 + (t1_ ** 3 - t1_) * m1)
    A0, a0, b0, c = y[..., 0], y[..., 1], y[..., 2], y[..., 3]
    alpha = 10.0 ** (-(0.75 / jnp.log10(delta_mean / 75.0)) ** 1.2)
    zp1 = 1.0 + z
    return A0 * zp1 ** -0.14, a0 * zp1 ** -0.06, b0 * zp1 ** -alpha, c


def ln_f_sigma_tinker08(sigma, params):
    """ln f(sigma), in log form: no underflow of exp(-c/sigma^2) for the rarest haloes (it
    would give ln 0 and NaN gradients); ``params`` = (A, a, b, c) broadcastable with sigma."""
    A, a, b, c = params
    return jnp.log(A) + jnp.log1p((sigma / b) ** (-a)) - c / sigma ** 2


def f_sigma_tinker08(sigma, params):
    """Multiplicity function f(sigma) = A [(sigma/b)^-a + 1] exp(-c/sigma^2)."""
    return jnp.exp(ln_f_sigma_tinker08(sigma, params))


def ln_dndlnm_tinker08(ln_m, sigma, dln_sigma_dln_m, rho_m0, params):
    """ln(dn/dlnM [Mpc^-3]) for ln(M / Msun) with sigma(M) and d ln sigma / d ln M."""
    return (ln_f_sigma_tinker08(sigma, params) + jnp.log(rho_m0) - ln_m
            + jnp.log(jnp.abs(dln_sigma_dln_m)))


def dndlnm_tinker08(m, sigma, dln_sigma_dln_m, rho_m0, params):
    """dn/dlnM [Mpc^-3] for masses m [Msun] with sigma(M) and d ln sigma / d ln M."""
    return jnp.exp(ln_dndlnm_tinker08(jnp.log(m), sigma, dln_sigma_dln_m, rho_m0, params))
