"""Homogeneous background of flat LambdaCDM with N_eff = 3.046 massless neutrinos.

The content matches the shipped emulator: matter Omega_m = (omega_b + omega_cdm)/h^2,
radiation = photons (T_cmb = 2.7255 K) + massless neutrinos, Omega_Lambda = 1 - Omega_m - Omega_r.

Units: H in km/s/Mpc, distances in Mpc, densities in Msun/Mpc^3 (physical, h-free).
All functions take a :class:`~classy_szlite_cobaya.params.CosmoParams` and are traceable.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from ..constants import C_KM_S, NU_PER_GAMMA, OMEGA_GAMMA_H2, RHO_CRIT0_H2

__all__ = ["e_of_z", "omega_m0", "omega_r0", "rho_m0", "hubble", "comoving_distance",
           "angular_diameter_distance", "rho_crit", "omega_m_z"]

# Gauss-Legendre nodes on [0, 1] for chi(z) = int_0^z c dz'/H(z'): 1/E(z) is smooth, and
# 48 nodes give < 1e-10 relative error for z <= 5.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(48)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


def _h(cosmo):
    return jnp.asarray(cosmo.H0) / 100.0


def omega_m0(cosmo):
    """Omega_m today = (omega_b + omega_cdm) / h^2."""
    return (jnp.asarray(cosmo.omega_b) + jnp.asarray(cosmo.omega_cdm)) / _h(cosmo) ** 2


def omega_r0(cosmo):
    """Omega_r today: photons + N_eff = 3.046 massless neutrinos."""
    return OMEGA_GAMMA_H2 * (1.0 + NU_PER_GAMMA) / _h(cosmo) ** 2


def e_of_z(cosmo, z):
    """E(z) = H(z)/H0 [dimensionless]."""
    om, orad = omega_m0(cosmo), omega_r0(cosmo)
    zp1 = 1.0 + jnp.asarray(z)
    return jnp.sqrt(orad * zp1 ** 4 + om * zp1 ** 3 + (1.0 - om - orad))


def hubble(cosmo, z):
    """H(z) [km/s/Mpc]."""
    return jnp.asarray(cosmo.H0) * e_of_z(cosmo, z)


def comoving_distance(cosmo, z):
    """chi(z) = int_0^z c dz'/H(z') [Mpc], Gauss-Legendre quadrature (48 nodes)."""
    z = jnp.asarray(z)
    zz = z[..., None] * _GL_X
    return C_KM_S * z * jnp.sum(_GL_W / hubble(cosmo, zz), axis=-1)


def angular_diameter_distance(cosmo, z):
    """D_A(z) = chi(z)/(1+z) [Mpc] (flat space)."""
    return comoving_distance(cosmo, z) / (1.0 + jnp.asarray(z))


def rho_crit(cosmo, z):
    """Critical density 3 H(z)^2/(8 pi G) [Msun/Mpc^3]."""
    return RHO_CRIT0_H2 * (hubble(cosmo, z) / 100.0) ** 2


def omega_m_z(cosmo, z):
    """Omega_m(z) = rho_m(z)/rho_crit(z)."""
    zp1 = 1.0 + jnp.asarray(z)
    return omega_m0(cosmo) * zp1 ** 3 / e_of_z(cosmo, z) ** 2


def rho_m0(cosmo):
    """Comoving mean matter density Omega_m rho_crit,0 [Msun/Mpc^3]."""
    return RHO_CRIT0_H2 * (jnp.asarray(cosmo.omega_b) + jnp.asarray(cosmo.omega_cdm))
