"""The halo mass function and linear bias: Tinker et al. 2008 (ApJ 688, 709) dn/dlnM and
Tinker et al. 2010 (ApJ 724, 878) b(M), at any spherical-overdensity mass definition
Delta_c (times the critical density), i.e. Delta = Delta_c / Omega_m(z) times the mean.
:func:`mass_tables` is what the tSZ integrals call.

Mass function:

dn/dlnM = f(sigma) (rho_m0 / M) |d ln sigma / d ln M|,
f(sigma) = A [(sigma/b)^-a + 1] exp(-c/sigma^2),
(A, a, b, c) from the T08 table (their Table 2, Delta = 200 ... 3200), interpolated with a
natural cubic spline in log10 Delta, and evolved as A (1+z)^-0.14, a (1+z)^-0.06,
b (1+z)^-alpha, log10 alpha = -[0.75 / log10(Delta/75)]^1.2.
For M500c, Delta = 500 / Omega_m(z); for M200c, 200 / Omega_m(z) (docs/physics.md section 2).

Beyond the table (Delta > 3200, i.e. Omega_m(z) < 0.156 for M500c; and Delta < 200) the
spline is continued linearly in log10 Delta with its end slope. The spline is natural (zero
second derivative at the end knots), so the continuation is C^2 at Delta = 3200: the mass
function and its derivatives with respect to the cosmology have no kink there. Holding the
parameters at their Delta = 3200 values (the former behaviour here, and what ``jnp.interp``
does in class_sz's JAX code) is continuous but has a derivative jump; CCL's
``MassFuncTinker08`` refuses Delta outside [200, 3200]. Linear continuation beyond the last
table entry is what SOLikeT's cluster likelihood (``tinker_params_spline``: linear in
ln Delta through the last two nodes) does; we take the spline's own end slope instead of the
last secant so that the derivative is continuous as well. Tinker et al.'s own fitting
formulae for a, b, c (their eqs. B2-B4, monotone in Delta) lie within 2-10 per cent of this
continuation up to Delta = 6250 (Omega_m(z) = 0.08, the edge of the lattice envelope in
provider mode; in the emulator box Delta reaches 4825, at z = 0.005).

Bias (Tinker et al. 2010 eq. 6 and Table 2):
b(nu) = 1 - A nu^a/(nu^a + delta_c^a) + B nu^b + C nu^c,  nu = delta_c / sigma,
y = log10 Delta (mean-density overdensity), A = 1 + 0.24 y exp(-(4/y)^4), a = 0.44 y - 0.88,
B = 0.183, b = 1.5, C = 0.019 + 0.107 y + 0.19 exp(-(4/y)^4), c = 2.4.

Units: M in Msun, rho_m0 (comoving) in Msun/Mpc^3, dn/dlnM in Mpc^-3.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from ..constants import DELTA_C
from ..cosmology import sigma as _sigma
from ..interpolation import eval_spline, interp_uniform, natural_cubic_spline
from .mass_definition import ln_lagrangian_radius

__all__ = ["T08_TABLE", "tinker08_params", "ln_f_sigma_tinker08", "ln_dndlnm_tinker08",
           "bias_tinker10", "mass_tables"]

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


#: natural cubic spline of (A, a, b, c) in log10 Delta (static)
_SPLINE = natural_cubic_spline(np.log10(T08_TABLE[:, 0]), T08_TABLE[:, 1:])


def tinker08_params(delta_mean, z):
    """(A, a, b, c) [dimensionless] at overdensity ``delta_mean`` (w.r.t. the mean density;
    any shape) and redshift z (broadcastable): the natural cubic spline of Table 2 in
    log10 Delta, continued linearly beyond 200 and 3200 (C^2 there; see the module
    docstring), with the redshift evolution of eqs. 5-8."""
    A0, a0, b0, c = jnp.moveaxis(eval_spline(_SPLINE, jnp.log10(delta_mean)), -1, 0)
    alpha = 10.0 ** (-(0.75 / jnp.log10(delta_mean / 75.0)) ** 1.2)
    zp1 = 1.0 + z
    return A0 * zp1 ** -0.14, a0 * zp1 ** -0.06, b0 * zp1 ** -alpha, c


def ln_f_sigma_tinker08(sigma, params):
    """ln f(sigma), in log form: no underflow of exp(-c/sigma^2) for the rarest haloes (it
    would give ln 0 and NaN gradients); ``params`` = (A, a, b, c) broadcastable with sigma."""
    A, a, b, c = params
    return jnp.log(A) + jnp.log1p((sigma / b) ** (-a)) - c / sigma ** 2


def ln_dndlnm_tinker08(ln_m, sigma, dln_sigma_dln_m, rho_m0, params):
    """ln(dn/dlnM [Mpc^-3]) for ln(M / Msun) with sigma(M) and d ln sigma / d ln M."""
    return (ln_f_sigma_tinker08(sigma, params) + jnp.log(rho_m0) - ln_m
            + jnp.log(jnp.abs(dln_sigma_dln_m)))


def bias_tinker10(sigma, delta_mean):
    """Linear bias [dimensionless] for rms fluctuation ``sigma`` at overdensity ``delta_mean``
    (with respect to the mean density)."""
    y = jnp.log10(delta_mean)
    e = jnp.exp(-(4.0 / y) ** 4)
    A, a = 1.0 + 0.24 * y * e, 0.44 * y - 0.88
    B, b = 0.183, 1.5
    C, c = 0.019 + 0.107 * y + 0.19 * e, 2.4
    nu = DELTA_C / sigma
    return 1.0 - A * nu ** a / (nu ** a + DELTA_C ** a) + B * nu ** b + C * nu ** c


def mass_tables(grids, ln_m, delta_c: float):
    """ln dn/dlnM [Mpc^-3] and ln b at (z_a, ln M) for masses M_Delta, Delta = ``delta_c``
    times the critical density (500 for M500c, 200 for M200c): arrays [n_z, n] for ln M
    (Msun) given as [n] (the same masses at every z) or [n_z, n]. ``grids`` is a
    :class:`~classy_szlite_cobaya.cosmology.grids.CosmoGrids` (sigma(R), rho_m0, Omega_m(z))."""
    lr = _sigma.ln_r_grid()
    ln_r = ln_lagrangian_radius(ln_m, grids.rho_m0)
    ln_sig = interp_uniform(lr[0], lr[1] - lr[0], grids.sigma.ln_sigma, ln_r)
    dsig = interp_uniform(lr[0], lr[1] - lr[0], grids.sigma.dln_sigma_dln_r, ln_r) / 3.0
    delta_mean = delta_c / grids.omega_m_z
    params = tuple(p[:, None] for p in tinker08_params(delta_mean, grids.z))
    sig = jnp.exp(ln_sig)
    ln_n = ln_dndlnm_tinker08(jnp.broadcast_to(ln_m, sig.shape), sig, dsig, grids.rho_m0, params)
    ln_b = jnp.log(bias_tinker10(sig, delta_mean[:, None]))
    return ln_n, ln_b
