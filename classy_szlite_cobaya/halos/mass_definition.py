"""Spherical-overdensity radii. Masses in Msun, radii in Mpc, densities in Msun/Mpc^3.

One formula for every mass definition: R_Delta = (3 M / (4 pi Delta rho_crit(z)))^(1/3), a
physical radius (Delta = 500 for the A10 profile's r500, 200 for B12's R200c).
"""
import math

import numpy as np
import jax.numpy as jnp

__all__ = ["ln_radius_coefficient", "ln_lagrangian_radius"]


def ln_radius_coefficient(delta_c: float, rho_crit):
    """ln[(3 / (4 pi Delta_c rho_crit))^(1/3)] [ln Mpc - ln Msun^(1/3)], so that
    ln R_Delta = ln_radius_coefficient + (1/3) ln M (M_Delta in Msun, R_Delta in Mpc).
    NumPy in, NumPy out (static layouts are built with it, also while a caller traces)."""
    log = np.log if isinstance(rho_crit, (np.ndarray, float)) else jnp.log
    return (math.log(3.0 / (4.0 * math.pi * delta_c)) - log(rho_crit)) / 3.0


def ln_lagrangian_radius(ln_m, rho_m0):
    """ln R [ln Mpc] of the comoving Lagrangian radius R = (3 M / (4 pi rho_m0))^(1/3), from
    ln(M / Msun); rho_m0 the comoving mean matter density [Msun/Mpc^3]."""
    return (ln_m - jnp.log(4.0 * math.pi * rho_m0 / 3.0)) / 3.0
