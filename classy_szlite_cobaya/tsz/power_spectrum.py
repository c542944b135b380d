"""C_ell^yy: the profile-dependent ("fast") half and the public entry points.

Self-similar profiles (A10), lattice path:

    C1h_ell = B^(-2p) sum_k K1[ell, k] G_ell[k]^2,
    C2h_ell = sum_z A2[ell, z] (B^(-p) sum_k W2[z, k] G_ell[k])^2,   p = 5/3 + alpha_P,

with G_ell[k] = G(exp(L_ell + k Delta) B^(-1/3)) the transform of the truncated profile on
the lattice window (see ``kernels``). Per call: p(x) on n_x nodes, one matrix-vector product
with the Filon matrix, a 4-point interpolation per ell (B included), one small matrix product
and two contractions.

Profiles whose shape depends on M and z (B12), direct path (:func:`direct_y`): y_ell(M_w, z_a)
on the (z, ln M) grid of ``kernels.DirectTables``, then
C1h = sum_{a,w} w1 y^2, C2h = sum_a A2 (sum_w w2 y)^2. Per call: p(x; M/B, z) on
[n_z, n_m, n_x], one [n_z n_m, n_x] x [n_x, n_ext] matrix product, 4-point interpolation.
The profile type picks the path; the numerics see only ``profiles.interface.ProfileModel``.
Output: dimensionless C_ell.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..cosmology.grids import CosmoGrids, grids_from_emulator
from ..params import (CosmoParams, ProfileParamsA10, check_cosmo, check_profile, check_real,
                      validity_factor)
from ..profiles.interface import model_for
from ..interpolation import interp_uniform, lagrange4_weights
from .kernels import (DirectTables, Layout, TszKernels, build_direct, build_kernels,
                      get_layout)
from .settings import HaloModelSettings, make_settings

__all__ = ["cl_yy", "cl_yy_factory", "cl_yy_from_kernels", "profile_windows", "profile_transform_ext",
           "prepare", "check_ell", "grids_for", "kernels_for", "emulator_grids", "direct_y",
           "cl_yy_direct_from_tables"]


def check_ell(ell) -> tuple:
    """Validated multipoles as a tuple of floats (they set the static grid layout).

    ell : real numbers (int/float scalars or a 1-D array), concrete, finite and > 0;
    TypeError for strings, booleans, None, complex; ValueError naming the first bad value.
    """
    e = check_real("ell", ell)
    if e is None:
        raise ValueError("ell must be concrete (it fixes the grid layout); trace the "
                         "parameters, not the multipoles")
    e = np.atleast_1d(e)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"ell must be a non-empty 1-D array, got shape {e.shape}")
    bad = ~np.isfinite(e) | (e <= 0)
    if np.any(bad):
        raise ValueError(f"ell must be finite and > 0 (allowed range (0, inf)); got "
                         f"ell = {float(e[np.argmax(bad)])!r}")
    return tuple(float(v) for v in e)


def prepare(ell, profile="A10", **options) -> tuple[Layout, HaloModelSettings]:
    """Validate ell and options; return the cached layout (for the profile model of
    ``profile``: a pytree, its type or its name) and the settings."""
    settings = make_settings(**options)
    return get_layout(check_ell(ell), settings, model_for(profile)), settings


def profile_transform_ext(kern, profile: ProfileParamsA10):
    """G(q) [dimensionless] of a self-similar profile on the extended lattice
    ln q_e = t0 + e Delta (no mass bias)."""
    return kern.filon @ model_for(profile).shape(kern.x, profile)


def direct_y(tab: DirectTables, profile, layout: Layout):
    """y_ell(M_w, z_a) [n_ell, n_z, n_m] on the direct grid, for true masses M_w (the profile
    of M_w / B), times the validity flags (NaN if a q leaves the extended lattice)."""
    model = layout.model
    ln_mp = tab.ln_m - jnp.log(profile.B)                                  # profile mass
    t = (jnp.log(jnp.asarray(layout.ell) + 0.5)[:, None, None] + tab.a_z[None, :, None]
         + ln_mp[None, None, :] / 3.0)                                     # ln q
    if model.self_similar:
        g = profile_transform_ext(tab, profile)
        gq = interp_uniform(layout.t0, layout.delta, g, t.ravel()).reshape(t.shape)
    else:
        gq = _shape_dependent_transform(tab, profile, layout, ln_mp, t)
    y = (tab.yz[None, :, None] * jnp.exp(model.mass_exponent * ln_mp)[None, None, :] * gq)
    inside = ((jnp.min(t) > layout.t0 + layout.delta)
              & (jnp.max(t) < layout.t0 + (layout.n_ext - 3) * layout.delta))
    ok = tab.valid * validity_factor(profile=profile) * jnp.where(inside, 1.0, jnp.nan)
    return y * ok


def _mass_stencil(n_m: int, n_shape: int):
    """Static 4-point Lagrange stencil from ``n_shape`` uniform nodes onto ``n_m`` uniform
    nodes over the same interval: first coarse index [n_m] (int) and weights [n_m, 4]."""
    pos = np.linspace(0.0, n_shape - 1.0, n_m)
    base = np.clip(np.floor(pos).astype(int) - 1, 0, n_shape - 4)
    w = np.stack(lagrange4_weights(pos - base - 1.0), axis=-1)
    return base, w


def _shape_dependent_transform(tab: DirectTables, profile, layout: Layout, ln_mp, t):
    """G(q; M, z) [n_ell, n_z, n_m] of a profile whose shape depends on M and z, at ln q = t.

    The shape is evaluated on n_m_shape mass nodes (all n_m nodes if 0) and every z node,
    transformed onto the extended ln q lattice by one matrix product with the Filon matrix,
    then read off by 4-point Lagrange interpolation in ln q and (n_m_shape > 0) in ln M."""
    n_m, n_s = layout.settings.n_m, layout.settings.n_m_shape
    if n_s == 0 or n_s >= n_m:
        shape = layout.model.shape(tab.x[None, None, :], profile, ln_mp[None, :, None],
                                   tab.z[:, None, None])                   # [n_z, n_m, n_x]
        g = shape @ tab.filon.T                                            # [n_z, n_m, n_ext]
        return jnp.moveaxis(interp_uniform(layout.t0, layout.delta, g,
                                           jnp.moveaxis(t, 0, -1)), -1, 0)
    ln_ms = ln_mp[0] + (ln_mp[-1] - ln_mp[0]) * jnp.linspace(0.0, 1.0, n_s)
    shape = layout.model.shape(tab.x[None, None, :], profile, ln_ms[None, :, None],
                               tab.z[:, None, None])                       # [n_z, n_s, n_x]
    g = shape @ tab.filon.T                                                # [n_z, n_s, n_ext]
    base_m, w_m = _mass_stencil(n_m, n_s)
    pos = (t - layout.t0) / layout.delta                                   # [n_ell, n_z, n_m]
    base_e = jnp.floor(pos).astype(int) - 1
    w_e = jnp.stack(lagrange4_weights(pos - base_e - 1.0), axis=-1)        # [..., 4]
    zi = jnp.arange(t.shape[1])[None, :, None, None, None]
    ci = jnp.asarray(base_m[:, None] + np.arange(4))[None, None, :, :, None]
    ei = base_e[..., None, None] + jnp.arange(4)
    ei = jnp.clip(ei, 0, layout.n_ext - 1)   # out-of-lattice points are flagged NaN anyway
    vals = g[zi, ci, ei]                                                   # [l, z, m, 4m, 4e]
    return jnp.einsum("lzmke,mk,lzme->lzm", vals, jnp.asarray(w_m), w_e)


def _direct_cl(tab: DirectTables, profile, layout: Layout):
    y = direct_y(tab, profile, layout)
    cl1 = jnp.einsum("iam,am->i", y ** 2, tab.w1)
    inner = jnp.einsum("iam,am->ia", y, tab.w2)
    return cl1, jnp.sum(tab.a2 * inner ** 2, axis=1)


_direct_cl_jit = jax.jit(_direct_cl, static_argnames=("layout",))


def cl_yy_direct_from_tables(tab: DirectTables, profile, layout: Layout):
    """(C1h, C2h) [n_ell] by direct (z, ln M) quadrature from prebuilt tables (jitted)."""
    return _direct_cl_jit(tab, profile, layout)


def profile_windows(kern: TszKernels, profile: ProfileParamsA10, layout: Layout):
    """G_ell[v] = G(exp(L_ell + (kappa_min + v) Delta) B^(-1/3)), shape [n_ell, n_win], and a
    flag (1.0 or NaN) saying whether every window lies inside the extended lattice."""
    g_ext = profile_transform_ext(kern, profile)
    pos = ((jnp.log(jnp.asarray(layout.ell) + 0.5) - jnp.log(profile.B) / 3.0 - layout.t0)
           / layout.delta + kern.kappa_min)
    base = jnp.floor(pos)
    w = lagrange4_weights(pos - base)                                      # one offset per ell
    start = base.astype(int) - 1
    ok = jnp.all(start >= 0) & jnp.all(start + layout.n_win + 3 <= layout.n_ext)
    seg = jax.vmap(lambda s0: jax.lax.dynamic_slice(g_ext, (s0,), (layout.n_win + 3,)))(start)
    g = sum(w[j][:, None] * seg[:, j:j + layout.n_win] for j in range(4))
    return g, jnp.where(ok, 1.0, jnp.nan)


def _evaluate(kern: TszKernels, profile: ProfileParamsA10, layout: Layout):
    g, inside = profile_windows(kern, profile, layout)
    bp = jnp.asarray(profile.B) ** (-layout.model.mass_exponent)
    cl1 = bp ** 2 * jnp.sum(kern.k1 * g ** 2, axis=1)
    inner = bp * (g @ kern.w2.T)                                      # [n_ell, n_z]
    cl2 = jnp.sum(kern.a2 * inner ** 2, axis=1)
    ok = kern.valid * inside * validity_factor(profile=profile)
    return cl1 * ok, cl2 * ok


_evaluate_jit = jax.jit(_evaluate, static_argnames=("layout",))


def cl_yy_from_kernels(kern: TszKernels, profile: ProfileParamsA10, layout: Layout):
    """(C1h, C2h) [n_ell] from prebuilt kernels: the jitted fast path."""
    return _evaluate_jit(kern, profile, layout)


def grids_for(cosmo_or_grids, layout: Layout):
    """CosmoGrids from CosmoParams (validated; embedded emulator) or ready CosmoGrids as is
    (TypeError for anything else, e.g. a dict of parameters)."""
    if isinstance(cosmo_or_grids, CosmoGrids):
        return cosmo_or_grids
    if not isinstance(cosmo_or_grids, CosmoParams):
        raise TypeError(f"cosmo must be a CosmoParams (embedded emulator) or a CosmoGrids, "
                        f"got {type(cosmo_or_grids).__name__}; build it as CosmoParams(**values)")
    check_cosmo(cosmo_or_grids)
    return emulator_grids(cosmo_or_grids, layout.settings)


def kernels_for(cosmo_or_grids, layout: Layout):
    """The factory's per-cosmology half from CosmoParams (embedded emulator) or ready
    CosmoGrids: lattice :class:`TszKernels` for a self-similar profile, else
    :class:`DirectTables`."""
    grids = grids_for(cosmo_or_grids, layout)
    if layout.model.self_similar:
        return build_kernels(grids, layout)
    return build_direct(grids, layout)


def _evaluate_any(kern, profile, layout: Layout):
    """(C1h, C2h) from :func:`kernels_for`'s output, on the layout's path."""
    if layout.model.self_similar:
        return cl_yy_from_kernels(kern, profile, layout)
    return cl_yy_direct_from_tables(kern, profile, layout)


def _check_profile_for(profile, layout: Layout):
    check_profile(profile)
    if not isinstance(profile, layout.model.params_type):
        raise TypeError(f"profile is a {type(profile).__name__}, but this factory was built "
                        f"for {layout.model.params_type.__name__} (cl_yy_factory(..., "
                        f"profile={type(profile).__name__!r}))")


_grids_jit = jax.jit(grids_from_emulator, static_argnums=(1, 2, 3, 4))


def emulator_grids(cosmo: CosmoParams, settings: HaloModelSettings):
    """CosmoGrids from the embedded emulator at the redshift options of ``settings``
    (jitted once per option set; no argument checks: invalid points give NaN)."""
    s = settings
    return _grids_jit(cosmo, s.z_min, s.z_max, s.n_z, s.n_z_pk)


def cl_yy_factory(cosmo, ell, profile="A10", **options):
    """Build cosmology and halo grids once; return ``ev(profile) -> (cl_1h, cl_2h)``.

    cosmo : CosmoParams (embedded emulator) or CosmoGrids (another cosmology source).
    ell : multipoles (n_ell,), concrete, > 0.
    profile : which profile the closure takes: "A10" (default; ProfileParamsA10, lattice
        path) or "B12" (ProfileParamsB12, direct path, needs ``grids.f_b``), or the type or
        an instance. The closure raises TypeError for the other type.
    options : see :class:`~classy_szlite_cobaya.tsz.settings.HaloModelSettings`.
    The closure works under ``jax.jit``, ``jax.grad``, ``jax.jacfwd`` and ``jax.vmap`` (over a
    batch of profiles); compiled code is shared by all closures with the same ell and options.
    Returns dimensionless C_ell arrays of shape (n_ell,).
    """
    layout, _ = prepare(ell, profile, **options)
    kern = kernels_for(cosmo, layout)

    def ev(profile):
        _check_profile_for(profile, layout)
        return _evaluate_any(kern, profile, layout)

    ev.kernels = kern
    ev.layout = layout
    return ev


def cl_yy(cosmo: CosmoParams, profile, ell, **options):
    """Halo-model tSZ power spectrum (C1h, C2h), dimensionless, shape (n_ell,) each.

    profile : ProfileParamsA10 (lattice path) or ProfileParamsB12 (direct path).

    Full pipeline: emulator -> background -> sigma(R) -> mass function and bias -> profile
    transform -> Limber integrals; differentiable in every field of ``cosmo`` and ``profile``.
    Options as in :class:`~classy_szlite_cobaya.tsz.settings.HaloModelSettings`
    (z_min, z_max, n_z, m_min, m_max, n_m, mass_unit, x_out, n_x, damping_1h, k_damp).
    """
    check_profile(profile)
    layout, _ = prepare(ell, profile, **options)
    check_cosmo(cosmo)
    return _pipeline(cosmo, profile, layout)


def _pipeline(cosmo: CosmoParams, profile, layout: Layout):
    """The full pipeline without eager argument checks (for batched tracing, where invalid
    points give NaN through the validity factors)."""
    grids = emulator_grids(cosmo, layout.settings)
    kern = build_kernels(grids, layout) if layout.model.self_similar else build_direct(grids, layout)
    return _evaluate_any(kern, profile, layout)
