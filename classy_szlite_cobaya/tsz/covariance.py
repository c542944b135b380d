"""1-halo trispectrum and the C_ell^yy covariance (docs/physics.md section 5).

T_ll' = int dz dV/dzdOmega int dlnM dn/dlnM |y_l|^2 |y_l'|^2,
Cov_ll' = delta_ll' 2 C_l^2 / ((2l + 1) Delta_l f_sky) + T_ll' / (4 pi f_sky).

The trispectrum pairs y_l and y_l' of the same halo, so it does not reduce to the per-ell
lattice of ``kernels``; it is integrated on the direct (z, ln M) grid instead
(``kernels.DirectTables``: trapezoid in ln M, the same Gauss-Legendre z nodes), with G(q) of
the *same* truncated profile read off the extended ln q lattice by 4-point interpolation
(``power_spectrum.direct_y``, for A10 and B12 alike). The same direct quadrature gives C1h
and C2h (:func:`cl_yy_direct`), for A10 an independent check of the lattice
(tests/test_tsz_internal.py).
All outputs dimensionless (C_ell units, T in C_ell^2 units).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..params import check_profile, check_real
from .kernels import build_direct
from .power_spectrum import (_direct_cl_jit, _evaluate_any, grids_for, kernels_for, prepare,
                             direct_y)

__all__ = ["cl_yy_trispectrum", "cl_yy_covariance", "cl_yy_direct"]


def _tri(tab, profile, layout):
    y2 = direct_y(tab, profile, layout) ** 2
    return jnp.einsum("iam,am,jam->ij", y2, tab.w1, y2)


_tri_jit = jax.jit(_tri, static_argnames=("layout",))


def _setup(cosmo, profile, ell, options):
    check_profile(profile)
    layout, _ = prepare(ell, profile, **options)
    return layout, grids_for(cosmo, layout)


def cl_yy_trispectrum(cosmo, profile, ell, **options):
    """1-halo trispectrum T_ll' [n_ell, n_ell] (dimensionless, C_ell^2 units).

    cosmo : CosmoParams (embedded emulator) or CosmoGrids; profile : ProfileParamsA10 or
    ProfileParamsB12. Options as for ``cl_yy``.
    """
    layout, grids = _setup(cosmo, profile, ell, options)
    return _tri_jit(build_direct(grids, layout), profile, layout)


def cl_yy_direct(cosmo, profile, ell, **options):
    """(C1h, C2h) by direct quadrature on the (z, ln M) grid (for A10 a check of the lattice;
    for B12 the same path ``cl_yy`` takes)."""
    layout, grids = _setup(cosmo, profile, ell, options)
    return _direct_cl_jit(build_direct(grids, layout), profile, layout)


def cl_yy_covariance(cosmo, profile, ell, delta_ell, f_sky: float, **options):
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
    check_profile(profile)
    layout, _ = prepare(ell, profile, **options)
    d = check_real("delta_ell", delta_ell)
    if d is None or d.shape not in ((), (layout.n_ell,)):
        raise ValueError(f"delta_ell must be a concrete scalar or an array of shape "
                         f"({layout.n_ell},) matching ell, got {delta_ell!r}")
    bad = ~np.isfinite(d) | (d <= 0)
    if np.any(bad):
        raise ValueError(f"delta_ell = {float(np.ravel(d)[np.argmax(np.ravel(bad))])!r}: bin "
                         f"widths must be finite and > 0 (allowed range (0, inf))")
    grids = grids_for(cosmo, layout)
    tab = build_direct(grids, layout)
    kern = tab if not layout.model.self_similar else kernels_for(grids, layout)
    cl1, cl2 = _evaluate_any(kern, profile, layout)
    cl = cl1 + cl2
    ell_a = jnp.asarray(layout.ell)
    gauss = 2.0 * cl ** 2 / ((2.0 * ell_a + 1.0) * jnp.asarray(d) * f_sky)
    return jnp.diag(gauss) + _tri_jit(tab, profile, layout) / (4.0 * jnp.pi * f_sky)
