"""1-halo trispectrum and the C_ell^yy covariance (docs/physics.md section 5).

T_ll' = int dz dV/dzdOmega int dlnM dn/dlnM |y_l|^2 |y_l'|^2,
Cov_ll' = delta_ll' 2 C_l^2 / ((2l + 1) Delta_l f_sky) + T_ll' / (4 pi f_sky).

The trispectrum pairs y_l and y_l' of the same halo, so it does not reduce to the per-ell
lattice of ``kernels``; it is integrated on a fixed (z, ln M) grid instead (trapezoid in ln M,
the same Gauss-Legendre z nodes), with G(q) of the *same* truncated profile read off the
lattice by 4-point interpolation. The same direct quadrature gives C1h and C2h
(:func:`cl_yy_direct`), an independent check of the lattice (tests/test_tsz_internal.py).
All outputs dimensionless (C_ell units, T in C_ell^2 units).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..cosmology.grids import CosmoGrids
from ..interpolation import interp_uniform
from ..params import ProfileParamsA10, check_profile, check_real, validity_factor
from .kernels import (P_MASS, Layout, TszKernels, build_kernels, limber_ln_pk, mass_limits_msun,
                      mass_tables, volume_element, y_prefactor)
from .power_spectrum import cl_yy_from_kernels, grids_for, prepare, profile_transform_ext

__all__ = ["cl_yy_trispectrum", "cl_yy_covariance", "cl_yy_direct", "halo_grid_terms"]


def halo_grid_terms(grids: CosmoGrids, kern: TszKernels, profile: ProfileParamsA10,
                    layout: Layout):
    """y_ell(M_w, z_a) [n_ell, n_z, n_m], the 1-halo measure w_z dV n w_M [n_z, n_m] and
    the 2-halo measure b w_M n [n_z, n_m] on the direct (z, ln M) grid; ``kern`` (the same
    cosmology's kernels) supplies the profile-transform matrix and the validity flag."""
    s = layout.settings
    g = profile_transform_ext(kern, profile)
    ln_lo, ln_hi = mass_limits_msun(grids, s)
    ln_m = ln_lo + (ln_hi - ln_lo) * jnp.linspace(0.0, 1.0, s.n_m)
    wm = jnp.full(s.n_m, (ln_hi - ln_lo) / (s.n_m - 1)).at[jnp.array([0, -1])].mul(0.5)
    ln_n, ln_b = mass_tables(grids, ln_m)
    a_z = jnp.log((3.0 / (4 * jnp.pi * 500 * grids.rho_crit)) ** (1 / 3) / grids.d_a)
    t = (jnp.log(jnp.asarray(layout.ell) + 0.5)[:, None, None] + a_z[None, :, None]
         + (ln_m[None, None, :] - jnp.log(profile.B)) / 3.0)              # ln q of M/B
    gq = interp_uniform(layout.t0, layout.delta, g, t.ravel()).reshape(t.shape)
    y = (y_prefactor(grids)[None, :, None] * jnp.exp(P_MASS * (ln_m - jnp.log(profile.B)))[None, None, :]
         * gq)
    n = jnp.exp(ln_n)
    w1 = (grids.dz_weight * volume_element(grids))[:, None] * n * wm[None, :]
    w2 = n * jnp.exp(ln_b) * wm[None, :]
    ok = kern.valid * validity_factor(profile=profile)
    ok = ok * jnp.where((jnp.min(t) > layout.t0 + layout.delta)
                        & (jnp.max(t) < layout.t0 + (layout.n_ext - 3) * layout.delta), 1.0, jnp.nan)
    return y * ok, w1, w2


def _tri(grids, kern, profile, layout):
    y, w1, _ = halo_grid_terms(grids, kern, profile, layout)
    y2 = y ** 2
    return jnp.einsum("iam,am,jam->ij", y2, w1, y2)


def _direct(grids, kern, profile, layout):
    y, w1, w2 = halo_grid_terms(grids, kern, profile, layout)
    cl1 = jnp.einsum("iam,am->i", y ** 2, w1)
    inner = jnp.einsum("iam,am->ia", y, w2)
    a2 = (grids.dz_weight * volume_element(grids))[None, :] * jnp.exp(
        limber_ln_pk(grids, jnp.asarray(layout.ell)))
    return cl1, jnp.sum(a2 * inner ** 2, axis=1)


_tri_jit = jax.jit(_tri, static_argnames=("layout",))
_direct_jit = jax.jit(_direct, static_argnames=("layout",))


def cl_yy_trispectrum(cosmo, profile: ProfileParamsA10, ell, **options):
    """1-halo trispectrum T_ll' [n_ell, n_ell] (dimensionless, C_ell^2 units).

    cosmo : CosmoParams (embedded emulator) or CosmoGrids. Options as for ``cl_yy``.
    """
    layout, _ = prepare(ell, **options)
    grids = grids_for(cosmo, layout)
    check_profile(profile)
    return _tri_jit(grids, build_kernels(grids, layout), profile, layout)


def cl_yy_direct(cosmo, profile: ProfileParamsA10, ell, **options):
    """(C1h, C2h) by direct quadrature on the (z, ln M) grid (slower; for validation)."""
    layout, _ = prepare(ell, **options)
    grids = grids_for(cosmo, layout)
    check_profile(profile)
    return _direct_jit(grids, build_kernels(grids, layout), profile, layout)


def cl_yy_covariance(cosmo, profile: ProfileParamsA10, ell, delta_ell, f_sky: float, **options):
    """Covariance of binned C_ell^yy [n_ell, n_ell]: Gaussian + 1-halo trispectrum.

    delta_ell : bin widths, a positive finite real number or an (n_ell,) array of them (a zero
        width would give infinite variance); f_sky : observed sky fraction, a real number in
        (0, 1]. Other arguments and options as for ``cl_yy``; the same truncated profile and
        grids. TypeError for non-real input, ValueError naming the bad value otherwise.
    """
    f = check_real("f_sky", f_sky)
    if f is None or f.ndim != 0 or not (0.0 < float(f) <= 1.0):
        raise ValueError(f"f_sky = {f_sky!r}: a concrete number in the allowed range (0, 1]")
    f_sky = float(f)
    layout, _ = prepare(ell, **options)
    d = check_real("delta_ell", delta_ell)
    if d is None or d.shape not in ((), (layout.n_ell,)):
        raise ValueError(f"delta_ell must be a concrete scalar or an array of shape "
                         f"({layout.n_ell},) matching ell, got {delta_ell!r}")
    bad = ~np.isfinite(d) | (d <= 0)
    if np.any(bad):
        raise ValueError(f"delta_ell = {float(np.ravel(d)[np.argmax(np.ravel(bad))])!r}: bin "
                         f"widths must be finite and > 0 (allowed range (0, inf))")
    grids = grids_for(cosmo, layout)
    check_profile(profile)
    kern = build_kernels(grids, layout)
    cl1, cl2 = cl_yy_from_kernels(kern, profile, layout)
    cl = cl1 + cl2
    ell_a = jnp.asarray(layout.ell)
    gauss = 2.0 * cl ** 2 / ((2.0 * ell_a + 1.0) * jnp.asarray(d) * f_sky)
    return jnp.diag(gauss) + _tri_jit(grids, kern, profile, layout) / (4.0 * jnp.pi * f_sky)
