"""Cosmology tabulated on the redshift nodes of the halo-model integrals.

``CosmoGrids`` is what the halo and tSZ stages consume. It is built either from the embedded
emulator (:func:`grids_from_emulator`) or from another cosmology source with the same content
(provider mode in the Cobaya theory). Units: physical, h-free; distances in Mpc, H in
km/s/Mpc, densities in Msun/Mpc^3, P in Mpc^3 on the ln k grid ``emulator.LN_K`` (1/Mpc).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import jax.numpy as jnp

from ..params import CosmoParams, validity_factor
from . import background, emulator, sigma as _sigma

__all__ = ["CosmoGrids", "redshift_nodes", "grids_from_emulator"]


class CosmoGrids(NamedTuple):
    """Cosmology at the redshift nodes z_a (shapes in brackets).

    z [n_z], dz_weight [n_z] (quadrature weights for int dz), chi [n_z] comoving distance (Mpc),
    d_a [n_z] angular-diameter distance (Mpc), hubble [n_z] H(z) (km/s/Mpc),
    rho_crit [n_z] (Msun/Mpc^3), omega_m_z [n_z], rho_m0 [] comoving mean matter density
    (Msun/Mpc^3), h [] = H0/100, ln_pk [n_z, N_K] ln P_lin (Mpc^3) on emulator.LN_K,
    sigma (SigmaTable on sigma.ln_r_grid()), valid [] 1.0 or NaN (invalid cosmology).
    """
    z: jnp.ndarray
    dz_weight: jnp.ndarray
    chi: jnp.ndarray
    d_a: jnp.ndarray
    hubble: jnp.ndarray
    rho_crit: jnp.ndarray
    omega_m_z: jnp.ndarray
    rho_m0: jnp.ndarray
    h: jnp.ndarray
    ln_pk: jnp.ndarray
    sigma: _sigma.SigmaTable
    valid: jnp.ndarray


def redshift_nodes(z_min: float, z_max: float, n_z: int):
    """Gauss-Legendre nodes and weights for int_{z_min}^{z_max} dz, uniform in ln z.

    The 1-halo integrand scales as 1/z^2 at low z and low ell; in ln z it is smooth, and
    Gauss-Legendre converges exponentially (tests/test_convergence.py)."""
    x, w = np.polynomial.legendre.leggauss(n_z)
    a, b = np.log(z_min), np.log(z_max)
    lnz = 0.5 * (b - a) * x + 0.5 * (b + a)
    z = np.exp(lnz)
    return z, 0.5 * (b - a) * w * z


def grids_from_emulator(cosmo: CosmoParams, z_min: float, z_max: float, n_z: int) -> CosmoGrids:
    """CosmoGrids from the embedded emulator and the matching LambdaCDM background."""
    z, wz = redshift_nodes(z_min, z_max, n_z)
    zj = jnp.asarray(z)
    ln_pk = emulator.linear_power(cosmo, zj)
    return CosmoGrids(
        z=zj, dz_weight=jnp.asarray(wz),
        chi=background.comoving_distance(cosmo, zj),
        d_a=background.angular_diameter_distance(cosmo, zj),
        hubble=background.hubble(cosmo, zj),
        rho_crit=background.rho_crit(cosmo, zj),
        omega_m_z=background.omega_m_z(cosmo, zj),
        rho_m0=background.rho_m0(cosmo),
        h=jnp.asarray(cosmo.H0, dtype=float) / 100.0,
        ln_pk=ln_pk,
        sigma=_sigma.sigma_table(ln_pk),
        valid=validity_factor(cosmo),
    )
