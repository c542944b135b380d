"""Spherical-overdensity radii. Masses in Msun, radii in Mpc, densities in Msun/Mpc^3."""
import math

import jax.numpy as jnp


def r500c(m, rho_crit_z):
    """r500 = (3 M / (4 pi 500 rho_crit(z)))^(1/3) [Mpc] for M500c in Msun (physical radius)."""
    return (3.0 * m / (4.0 * math.pi * 500.0 * rho_crit_z)) ** (1.0 / 3.0)


def lagrangian_radius(m, rho_m0):
    """Comoving Lagrangian radius R = (3 M / (4 pi rho_m0))^(1/3) [Mpc]."""
    return (3.0 * m / (4.0 * math.pi * rho_m0)) ** (1.0 / 3.0)


def ln_lagrangian_radius(ln_m, rho_m0):
    """ln R [ln Mpc] of :func:`lagrangian_radius`, from ln(M / Msun)."""
    return (ln_m - jnp.log(4.0 * math.pi * rho_m0 / 3.0)) / 3.0
