"""Homogeneous background: flat, photons + massless and massive neutrinos + CDM and baryons +
CPL (w0-wa) dark energy (docs/physics.md section 1, "Background").

Content, as density parameters today (h = H0/100):

* photons, T_cmb = 2.7255 K: Omega_gamma = OMEGA_GAMMA_H2 / h^2;
* N_ur massless neutrinos: Omega_ur = N_ur 7/8 (4/11)^(4/3) Omega_gamma;
* three degenerate massive species (ncdm), each of mass ``m_ncdm`` [eV], Fermi-Dirac at
  T_ncdm = 0.71611 T_cmb (CLASS's convention: N_eff = 1.0132 per species while relativistic,
  omega_nu = 3 m_ncdm / 93.14 eV when not). Per species
  rho_ncdm(a) = 7/8 (T_ncdm/T_cmb)^4 rho_gamma(a) F(y)/F(0),  y = m_ncdm a / (k_B T_ncdm,0),
  F(y) = int_0^inf dq q^2 sqrt(q^2 + y^2) / (e^q + 1)  (32-node Gauss-Laguerre, relative error
  of F(y)/F(0) < 1e-7 for every y >= 0; 1 to rounding at y = 0);
* cdm + baryons ("cb"): Omega_cb = (omega_b + omega_cdm) / h^2, rho_cb ~ a^-3;
* dark energy, w(a) = w0 + wa (1 - a): rho_de(a) = rho_de,0 a^(-3(1 + w0 + wa)) exp(-3 wa (1 - a)),
  Omega_de = 1 - Omega_cb - Omega_gamma - Omega_ur - Omega_ncdm(a = 1) (flat).

E^2(z) = (Omega_gamma + Omega_ur)(1+z)^4 + Omega_cb (1+z)^3 + Omega_ncdm(z) + Omega_de f_de(z).

Parameters are read from ``cosmo`` by attribute, so any NamedTuple pytree with these fields works
(and ``jax.grad`` differentiates through every one of them):

* required: ``omega_b``, ``omega_cdm`` (Omega h^2), ``H0`` [km/s/Mpc];
* ``m_ncdm``: mass of EACH of the three degenerate species [eV] (sum = 3 m_ncdm); default 0;
* ``N_ur``: massless species (default N_UR_DEFAULT = 3.046 - 3 x 1.0132 = 0.006395, so
  m_ncdm = 0 reproduces N_eff = 3.046 massless neutrinos exactly); CLASS users set
  N_ur = 0.00641 (N_eff = 3.046) or 0.00441 (3.044);
* ``w0`` (default -1), ``wa`` (default 0);
* ``T_ncdm``: T_ncdm / T_cmb (default 0.71611). CAMB's ``nnu = N, num_massive_neutrinos = 3``
  (one eigenstate of degeneracy N, no massless species) is T_ncdm = (4/11)^(1/3) (N/3)^(1/4),
  N_ur = 0 exactly (see :func:`camb_neutrino_convention`).

Early dark energy (fEDE, log10z_c, thetai_scf) is not part of the background: its effect on H
and chi at z <= 5 is measured in docs/physics.md. At m_ncdm = 0, w0 = -1, wa = 0 every function
equals the flat LambdaCDM, massless-neutrino formula.

Matter conventions: ``omega_m0``, ``omega_m_z``, ``rho_m0`` / ``rho_cb`` are cdm + baryons (the
"cb" convention of the halo mass function, the one the package's halo model uses);
``omega_m_total0``, ``omega_m_total_z``, ``rho_m_total`` add the non-relativistic part of the
massive neutrinos, rho_ncdm - 3 p_ncdm, as CLASS's Omega_m does (CAMB's ``omegam`` instead adds
the full omega_nu = rho_ncdm(a=1)/rho_crit h^2; the two differ by 3 p_ncdm(a=1), ~1e-3 of
omega_nu for 0.02 eV species).

Units: H in km/s/Mpc, distances in Mpc, densities in Msun/Mpc^3 (physical, h-free).
Validation: a concrete negative ``m_ncdm`` or N_ur, or non-positive ``T_ncdm``, raises
ValueError; traced, the outputs are NaN there. The other fields are checked by the callers
(``params.check_cosmo``).
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from ..constants import (C_KM_S, K_B_EV_K, N_NCDM_SPECIES, N_UR_DEFAULT, NU1_PER_GAMMA,
                         OMEGA_GAMMA_H2,
                         RHO_CRIT0_H2, T_CMB_K, T_NCDM_OVER_T_CMB)
from ..params import check_real

__all__ = ["e_of_z", "omega_m0", "omega_r0", "rho_m0", "hubble", "comoving_distance",
           "angular_diameter_distance", "rho_crit", "omega_m_z", "omega_ncdm0",
           "omega_ncdm_z", "omega_m_total0", "omega_m_total_z", "omega_de0", "rho_cb",
           "rho_m_total", "ncdm_density_ratio", "ncdm_nonrel_ratio", "neutrino_content",
           "camb_neutrino_convention"]

# Gauss-Legendre nodes on [0, 1] for chi(z) = int_0^z c dz'/H(z'): 1/E(z) is smooth, and
# 48 nodes give < 1e-10 relative error for z <= 5.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(48)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W

# Gauss-Laguerre nodes for the Fermi-Dirac momentum integrals int_0^inf dq q^2 g(q)/(e^q + 1)
# = int dq e^-q [q^2 g(q) / (1 + e^-q)]. 32 nodes: F(y)/F(0) and (rho - 3p)/rho_0 to < 3e-7 of
# rho_0 at every y (checked against adaptive quadrature in the tests); a lookup table would
# need its own asymptotics at both ends, the quadrature is exact in form at y = 0 and y -> inf.
_LAG_Q, _LAG_W = np.polynomial.laguerre.laggauss(32)
_FD_W = _LAG_W * _LAG_Q ** 2 / (1.0 + np.exp(-_LAG_Q))
_FD_F0 = float(np.sum(_FD_W * _LAG_Q))         # F(0) by the same rule: F(0)/F(0) = 1 to rounding


def _h(cosmo):
    return jnp.asarray(cosmo.H0) / 100.0


def ncdm_density_ratio(y):
    """rho_ncdm(y) / rho_ncdm(y = 0) = F(y)/F(0) for a Fermi-Dirac species with y = m a / (k_B T).

    F(y) = int_0^inf dq q^2 sqrt(q^2 + y^2) / (e^q + 1); 1 at y = 0, -> 180 zeta(3) y / (7 pi^4)
    for y >> 1. y: any shape, >= 0; traceable.
    """
    y = jnp.asarray(y, dtype=float)[..., None]
    return jnp.sum(_FD_W * jnp.sqrt(_LAG_Q ** 2 + y ** 2), axis=-1) / _FD_F0


def ncdm_nonrel_ratio(y):
    """(rho_ncdm - 3 p_ncdm)(y) / rho_ncdm(y = 0): the non-relativistic (matter) part,
    int dq q^2 y^2 / sqrt(q^2 + y^2) / (e^q + 1) / F(0). 0 at y = 0; traceable."""
    y = jnp.asarray(y, dtype=float)[..., None]
    return jnp.sum(_FD_W * y ** 2 / jnp.sqrt(_LAG_Q ** 2 + y ** 2), axis=-1) / _FD_F0


def _field(cosmo, name, default):
    """(value as a JAX array, its concrete NumPy value or None when traced)."""
    value = getattr(cosmo, name, default)
    return jnp.asarray(value, dtype=float), check_real(f"{type(cosmo).__name__}.{name}", value)


def neutrino_content(cosmo):
    """(m_ncdm [eV, per species], N_ur, T_ncdm / T_cmb, nan_factor) read from ``cosmo``.

    N_ur from the ``N_ur`` field (default N_UR_DEFAULT: N_eff = 3.046 in total). nan_factor
    is 1, or NaN (traced) where m_ncdm < 0, N_ur < 0 or
    T_ncdm <= 0; concrete such values raise ValueError naming the field.
    """
    m, m_c = _field(cosmo, "m_ncdm", 0.0)
    t, t_c = _field(cosmo, "T_ncdm", T_NCDM_OVER_T_CMB)
    n_ur, n_ur_c = _field(cosmo, "N_ur", N_UR_DEFAULT)
    ur_name = "N_ur"
    # N_ur = 0 up to rounding is allowed (CAMB's convention, N_eff = 3 x 1.0132)
    for name, v, ok in (("m_ncdm", m_c, lambda x: x >= 0.0), ("T_ncdm", t_c, lambda x: x > 0.0),
                        (ur_name, n_ur_c, lambda x: x >= -1e-12)):
        if v is not None and (not np.all(np.isfinite(v)) or not np.all(ok(v))):
            raise ValueError(f"{type(cosmo).__name__}: {name} = {float(np.ravel(v)[0]):g} is "
                             f"outside its allowed range (m_ncdm >= 0 eV, N_ur >= 0, T_ncdm > 0)")
    good = (m >= 0.0) & (t > 0.0) & (n_ur >= -1e-12)
    return m, n_ur, t, jnp.where(good, 1.0, jnp.nan)


def camb_neutrino_convention(nnu: float = 3.046) -> dict:
    """T_ncdm and N_ur that reproduce CAMB's ``set_cosmology(mnu=3 m, num_massive_neutrinos=3,
    neutrino_hierarchy='degenerate', nnu=nnu, standard_neutrino_neff=nnu)``: one eigenstate of
    degeneracy nnu at T_nu = (4/11)^(1/3) T_cmb and mass m (nnu/3)^(-1/4), i.e. three species of
    mass m at T_ncdm = T_nu (nnu/3)^(1/4), no massless species."""
    return {"T_ncdm": (4.0 / 11.0) ** (1.0 / 3.0) * (nnu / 3.0) ** 0.25, "N_ur": 0.0}


def _y_today(m, t):
    return m / (K_B_EV_K * t * T_CMB_K)


def _omega_ncdm_rel(cosmo, t):
    """Omega of the three species if massless (their a^4 rho today / rho_crit,0)."""
    return N_NCDM_SPECIES * OMEGA_GAMMA_H2 * 7.0 / 8.0 * t ** 4 / _h(cosmo) ** 2


def omega_m0(cosmo):
    """Omega_cb today = (omega_b + omega_cdm) / h^2 (cdm + baryons; see the module docstring)."""
    return (jnp.asarray(cosmo.omega_b) + jnp.asarray(cosmo.omega_cdm)) / _h(cosmo) ** 2


def omega_r0(cosmo):
    """Radiation today if every neutrino were massless (the a -> 0 normalisation a^4 rho_r /
    rho_crit,0): photons + N_ur + the three species' relativistic N_eff. Equals photons +
    N_eff = 3.046 massless neutrinos for ``params.MASSLESS_LCDM``."""
    m, n_ur, t, bad = neutrino_content(cosmo)
    return (OMEGA_GAMMA_H2 * (1.0 + NU1_PER_GAMMA * n_ur) / _h(cosmo) ** 2
            + _omega_ncdm_rel(cosmo, t)) * bad


def omega_ncdm_z(cosmo, z):
    """rho_ncdm(z) / rho_crit,0 for the three massive species together (not divided by E^2)."""
    m, n_ur, t, bad = neutrino_content(cosmo)
    zp1 = 1.0 + jnp.asarray(z, dtype=float)
    return _omega_ncdm_rel(cosmo, t) * zp1 ** 4 * ncdm_density_ratio(_y_today(m, t) / zp1) * bad


def omega_ncdm0(cosmo):
    """Omega_ncdm today = omega_nu / h^2 (= 3 m_ncdm / 93.14 eV / h^2 when non-relativistic)."""
    return omega_ncdm_z(cosmo, 0.0)


def omega_de0(cosmo):
    """Omega_de today = 1 - Omega_cb - Omega_gamma - Omega_ur - Omega_ncdm(z = 0) (flat)."""
    m, n_ur, t, bad = neutrino_content(cosmo)
    h2 = _h(cosmo) ** 2
    return (1.0 - omega_m0(cosmo) - OMEGA_GAMMA_H2 * (1.0 + NU1_PER_GAMMA * n_ur) / h2
            - omega_ncdm0(cosmo)) * bad


def _de_evolution(cosmo, zp1):
    """rho_de(z) / rho_de,0 = (1+z)^(3(1+w0+wa)) exp(-3 wa z/(1+z)); exactly 1 for w0 = -1,
    wa = 0."""
    w0, wa = _field(cosmo, "w0", -1.0)[0], _field(cosmo, "wa", 0.0)[0]
    return jnp.exp(3.0 * (1.0 + w0 + wa) * jnp.log(zp1) - 3.0 * wa * (1.0 - 1.0 / zp1))


def e_of_z(cosmo, z):
    """E(z) = H(z)/H0 [dimensionless]; z any shape, > -1."""
    m, n_ur, t, bad = neutrino_content(cosmo)
    h2 = _h(cosmo) ** 2
    zp1 = 1.0 + jnp.asarray(z, dtype=float)
    o_rad = OMEGA_GAMMA_H2 * (1.0 + NU1_PER_GAMMA * n_ur) / h2       # photons + massless nu
    o_cb = omega_m0(cosmo)
    o_nc_rel = _omega_ncdm_rel(cosmo, t)
    y0 = _y_today(m, t)
    o_de = 1.0 - o_cb - o_rad - o_nc_rel * ncdm_density_ratio(y0)
    e2 = ((o_rad + o_nc_rel * ncdm_density_ratio(y0 / zp1)) * zp1 ** 4 + o_cb * zp1 ** 3
          + o_de * _de_evolution(cosmo, zp1))
    return jnp.sqrt(e2) * bad


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
    """Omega_cb(z) = rho_cb(z)/rho_crit(z): cdm + baryons (the halo model's "cb" convention)."""
    zp1 = 1.0 + jnp.asarray(z)
    return omega_m0(cosmo) * zp1 ** 3 / e_of_z(cosmo, z) ** 2


def omega_m_total_z(cosmo, z):
    """Omega_m(z) of all matter, (rho_cb + rho_ncdm - 3 p_ncdm)/rho_crit(z), as CLASS's Omega_m."""
    m, n_ur, t, bad = neutrino_content(cosmo)
    zp1 = 1.0 + jnp.asarray(z, dtype=float)
    nonrel = _omega_ncdm_rel(cosmo, t) * zp1 ** 4 * ncdm_nonrel_ratio(_y_today(m, t) / zp1)
    return (omega_m0(cosmo) * zp1 ** 3 + nonrel) / e_of_z(cosmo, z) ** 2 * bad


def omega_m_total0(cosmo):
    """Omega_m today of all matter (CLASS's Omega_m): Omega_cb + (rho_ncdm - 3 p_ncdm)/rho_crit,0.
    """
    return omega_m_total_z(cosmo, 0.0)


def rho_m0(cosmo):
    """Comoving mean density of cdm + baryons, Omega_cb rho_crit,0 [Msun/Mpc^3]."""
    return RHO_CRIT0_H2 * (jnp.asarray(cosmo.omega_b) + jnp.asarray(cosmo.omega_cdm))


def rho_cb(cosmo):
    """Comoving cdm + baryon density [Msun/Mpc^3] (constant in z): the "cb" mean density."""
    return rho_m0(cosmo)


def rho_m_total(cosmo, z=0.0):
    """Comoving density of all matter at z, rho_cb + (1+z)^-3 (rho_ncdm - 3 p_ncdm)(z)
    [Msun/Mpc^3] (the ncdm part grows towards its non-relativistic limit as z decreases)."""
    m, n_ur, t, bad = neutrino_content(cosmo)
    zp1 = 1.0 + jnp.asarray(z, dtype=float)
    nonrel = (N_NCDM_SPECIES * OMEGA_GAMMA_H2 * 7.0 / 8.0 * t ** 4 * zp1
              * ncdm_nonrel_ratio(_y_today(m, t) / zp1))                    # omega h^2 comoving
    return RHO_CRIT0_H2 * (jnp.asarray(cosmo.omega_b) + jnp.asarray(cosmo.omega_cdm) + nonrel) * bad
