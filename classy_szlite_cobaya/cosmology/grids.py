"""Cosmology tabulated on the redshift nodes of the halo-model integrals.

``CosmoGrids`` is what the halo and tSZ stages consume. It is built either from the embedded
emulator (:func:`grids_from_emulator`) or from another cosmology source with the same content
(provider mode in the Cobaya theory). Units: physical, h-free; distances in Mpc, H in
km/s/Mpc, densities in Msun/Mpc^3, P in Mpc^3 on the ln k grid ``emulator.LN_K`` (1/Mpc).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import jax.numpy as jnp

from ..constants import RHO_CRIT0_H2
from ..interpolation import chebyshev_barycentric, interp_nonuniform
from ..params import CosmoParams, validity_factor
from . import background, emulator, extended, sigma as _sigma

__all__ = ["CosmoGrids", "redshift_nodes", "grids_from_emulator", "chebyshev_z_nodes",
           "grids_from_tables", "ln_pk_on_grid", "sigma8_from_table"]


class CosmoGrids(NamedTuple):
    """Cosmology at the redshift nodes z_a (shapes in brackets).

    z [n_z], dz_weight [n_z] (quadrature weights for int dz), chi [n_z] comoving distance (Mpc),
    d_a [n_z] angular-diameter distance (Mpc), hubble [n_z] H(z) (km/s/Mpc),
    rho_crit [n_z] (Msun/Mpc^3), omega_m_z [n_z], rho_m0 [] comoving mean matter density
    (Msun/Mpc^3), h [] = H0/100, ln_pk [n_z, N_K] ln P_lin (Mpc^3) on emulator.LN_K,
    sigma (SigmaTable on sigma.ln_r_grid()), valid [] 1.0 or NaN (invalid cosmology),
    f_b [] baryon fraction Omega_b/Omega_m (optional, None if unknown; the B12 profile needs it).

    ``ln_pk`` is the matter power of the 2-halo term; ``sigma``, ``rho_m0`` and ``omega_m_z``
    feed the mass function and bias. With massive neutrinos they may describe different
    matter (class_sz: cold dark matter + baryons for the mass function, total matter for the
    2-halo term; see :func:`grids_from_tables`). For the embedded emulator they coincide.
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
    f_b: jnp.ndarray | None = None


def redshift_nodes(z_min: float, z_max: float, n_z: int):
    """Gauss-Legendre nodes and weights for int_{z_min}^{z_max} dz, uniform in ln z.

    The 1-halo integrand scales as 1/z^2 at low z and low ell; in ln z it is smooth, and
    Gauss-Legendre converges exponentially (tests/test_convergence.py)."""
    x, w = np.polynomial.legendre.leggauss(n_z)
    a, b = np.log(z_min), np.log(z_max)
    lnz = 0.5 * (b - a) * x + 0.5 * (b + a)
    z = np.exp(lnz)
    return z, 0.5 * (b - a) * w * z


@functools.lru_cache(maxsize=16)
def chebyshev_z_nodes(z_min: float, z_max: float, n_z: int, n_z_pk: int):
    """Chebyshev nodes z_c [n_z_pk] (first kind, in ln(1+z) on [z_min, z_max]) and the
    barycentric interpolation matrix M [n_z, n_z_pk] onto the :func:`redshift_nodes`:
    f(z_a) = sum_c M[a, c] f(z_c), exact for polynomials of degree < n_z_pk in ln(1+z)."""
    z, _ = redshift_nodes(z_min, z_max, n_z)
    nodes, m = chebyshev_barycentric(np.log1p(z_min), np.log1p(z_max), n_z_pk, np.log1p(z))
    return np.expm1(nodes), m


def grids_from_emulator(cosmo: CosmoParams, z_min: float, z_max: float, n_z: int,
                        n_z_pk: int = 16, hmf_matter: str = "cb") -> CosmoGrids:
    """CosmoGrids from the embedded emulator (:func:`.extended.linear_power`) and the
    matching background.

    The emulator and sigma(R) (the costly part) run at ``n_z_pk`` Chebyshev nodes in ln(1+z)
    and are interpolated to the n_z quadrature nodes (:func:`chebyshev_z_nodes`): ln P_lin
    and ln sigma are smooth in z (growth), so 16 nodes reproduce the direct evaluation to
    ~1e-8 in ln P and ln sigma (tests/test_convergence.py). ``n_z_pk = 0``: evaluate at
    every quadrature node.

    ``hmf_matter``: the matter of the mass function (sigma(M), rho_m0, Omega_m(z)), "cb"
    (cdm + baryons, class_sz) or "total" (all matter, massive neutrinos included, CCL); the
    2-halo term uses total-matter P_lin. Identical for massless neutrinos.
    """
    if hmf_matter not in ("cb", "total"):
        raise ValueError(f"hmf_matter = {hmf_matter!r}: allowed 'cb' or 'total'")
    z, wz = redshift_nodes(z_min, z_max, n_z)
    zj = jnp.asarray(z)
    cb = hmf_matter == "cb"
    if n_z_pk:
        z_c, m = chebyshev_z_nodes(z_min, z_max, n_z, n_z_pk)
        m = jnp.asarray(m)
        ln_tot_c, ln_cb_c = extended.linear_power(cosmo, jnp.asarray(z_c))
        sig_c = _sigma.sigma_table(ln_cb_c if cb else ln_tot_c)
        ln_pk = m @ ln_tot_c
        sig = _sigma.SigmaTable(m @ sig_c.ln_sigma, m @ sig_c.dln_sigma_dln_r)
    else:
        ln_pk, ln_cb = extended.linear_power(cosmo, zj)
        sig = _sigma.sigma_table(ln_cb if cb else ln_pk)
    omega_b = jnp.asarray(cosmo.omega_b, dtype=float)
    h = jnp.asarray(cosmo.H0, dtype=float) / 100.0
    return CosmoGrids(
        z=zj, dz_weight=jnp.asarray(wz),
        chi=background.comoving_distance(cosmo, zj),
        d_a=background.angular_diameter_distance(cosmo, zj),
        hubble=background.hubble(cosmo, zj),
        rho_crit=background.rho_crit(cosmo, zj),
        omega_m_z=(background.omega_m_z(cosmo, zj) if cb
                   else background.omega_m_total_z(cosmo, zj)),
        rho_m0=background.rho_m0(cosmo) if cb else background.rho_m_total(cosmo),
        h=h,
        ln_pk=ln_pk,
        sigma=sig,
        valid=validity_factor(cosmo),
        # Omega_b / Omega_m with all matter (class_sz's B12 P_200)
        f_b=omega_b / (background.omega_m_total0(cosmo) * h ** 2),
    )


def ln_pk_on_grid(k, pk, z_pk=None, z=None):
    """ln P on ``emulator.LN_K`` from a table P [n_zp, n_k] (Mpc^3) at k [n_k] (1/Mpc).

    In ln k: 4-point Lagrange in ln P between the table's nodes; outside [k_0, k_{n-1}] a
    power law P ~ k^n_eff with the local slope of the two end nodes (below k_0 that is the
    primordial n_s, the transfer function being 1 there; above k_max it is the usual
    linear-theory continuation, as for the emulator beyond 9.81/Mpc). Callers must supply
    k_max >= 10/Mpc so that sigma(R) of the lightest halos is not extrapolated, see
    ``TSZCosmology``. In z (if ``z_pk`` [n_zp] and target ``z`` [n_z] are given): 4-point
    Lagrange in ln(1+z) of ln P (1e-5 accuracy on CLASS's own z sampling). Returns
    [n_z, N_K] (or [n_zp, N_K] without z).
    """
    ln_p = jnp.log(jnp.asarray(pk, dtype=float))
    if z_pk is not None:
        zp = jnp.asarray(z_pk, dtype=float)
        ln_p = interp_nonuniform(jnp.log1p(zp), ln_p.T, jnp.log1p(jnp.asarray(z, dtype=float))).T
    return interp_nonuniform(jnp.log(jnp.asarray(k, dtype=float)), ln_p, emulator.LN_K)


def sigma8_from_table(k, pk0, h):
    """sigma8 = sigma(R = 8/h Mpc) [dimensionless] from P(k) [n_k] (Mpc^3) at k (1/Mpc)."""
    return _sigma.sigma8_from_ln_pk(ln_pk_on_grid(k, jnp.asarray(pk0)[None, :]), h)


def grids_from_tables(z, dz_weight, hubble, chi, d_a, omega_m_z, rho_m0, h, k, pk,
                      pk_z=None, pk_cb=None, rho_crit=None, f_b=None) -> CosmoGrids:
    """CosmoGrids from externally computed tables (e.g. a Boltzmann code through Cobaya).

    Pure JAX and traceable in every array argument. Shapes: n_z redshift nodes, n_k provider
    wavenumbers, n_zp provider redshifts of the P table.

    z, dz_weight [n_z] : nodes and weights of :func:`redshift_nodes`.
    hubble [n_z] : H(z) [km/s/Mpc];  chi [n_z] : comoving distance [Mpc];
    d_a [n_z] : angular-diameter distance [Mpc].
    omega_m_z [n_z], rho_m0 [] : Omega_m(z) and comoving mean density [Msun/Mpc^3] of the
        matter the mass function counts (class_sz with massive neutrinos: cdm + baryons;
        CCL: total matter).
    h [] : H0 / (100 km/s/Mpc).
    k [n_k] (1/Mpc, ascending), pk [n_zp, n_k] : linear total-matter P (Mpc^3), used in the
        2-halo term; rows at ``pk_z`` [n_zp] (interpolated onto ``z``), or at ``z`` if None.
    pk_cb [n_zp, n_k] : linear P for sigma(M) of the mass function (cdm + baryons), same grid;
        None: sigma(M) from ``pk``.
    rho_crit [n_z] : critical density [Msun/Mpc^3]; None: 3 H^2/(8 pi G) from ``hubble``.
    f_b [] : baryon fraction Omega_b/Omega_m, Omega_m all matter today (massive neutrinos
        included, as class_sz's B12 P_200; only the B12 profile uses it); None: unknown.

    P is moved onto ``emulator.LN_K`` by :func:`ln_pk_on_grid` (power-law continuation
    outside the supplied k range). No emulator box applies (``validity_factor(check_box=
    False)`` semantics): ``valid`` is NaN only if an input is non-finite, a density or
    distance is not positive, ``z`` leaves the range of ``pk_z``, or ``f_b`` (if given) is not
    in (0, 1). Cosmologies outside the lattice envelope of ``tsz.kernels`` are flagged there.
    """
    z = jnp.asarray(z, dtype=float)
    hubble = jnp.asarray(hubble, dtype=float)
    if rho_crit is None:
        rho_crit = RHO_CRIT0_H2 * (hubble / 100.0) ** 2
    zp = None if pk_z is None else jnp.asarray(pk_z, dtype=float)
    z_to = None if zp is None else z
    ln_pk = ln_pk_on_grid(k, pk, zp, z_to)
    ln_pk_cb = ln_pk if pk_cb is None else ln_pk_on_grid(k, pk_cb, zp, z_to)
    arrays = [hubble, chi, d_a, omega_m_z, rho_m0, h, rho_crit, ln_pk, ln_pk_cb, dz_weight]
    finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(jnp.asarray(a, dtype=float)))
                                for a in arrays]))
    positive = jnp.all(jnp.array([jnp.all(jnp.asarray(a, dtype=float) > 0)
                                  for a in (hubble, chi, d_a, omega_m_z, rho_m0, h, rho_crit)]))
    covered = True
    if zp is not None:
        # a relative tolerance: providers round their z sampling
        covered = (jnp.min(z) >= jnp.min(zp) - 1e-6) & (jnp.max(z) <= jnp.max(zp) * (1 + 1e-6))
    ok = finite & positive & covered
    if f_b is not None:
        f_b = jnp.asarray(f_b, dtype=float)
        ok = ok & (f_b > 0) & (f_b < 1)          # False for NaN too
    return CosmoGrids(
        z=z, dz_weight=jnp.asarray(dz_weight, dtype=float),
        chi=jnp.asarray(chi, dtype=float), d_a=jnp.asarray(d_a, dtype=float), hubble=hubble,
        rho_crit=jnp.asarray(rho_crit, dtype=float),
        omega_m_z=jnp.asarray(omega_m_z, dtype=float),
        rho_m0=jnp.asarray(rho_m0, dtype=float), h=jnp.asarray(h, dtype=float),
        ln_pk=ln_pk, sigma=_sigma.sigma_table(ln_pk_cb),
        valid=jnp.where(ok, 1.0, jnp.nan),
        f_b=f_b,
    )
