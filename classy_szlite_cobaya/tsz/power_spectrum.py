"""C_ell^yy: the profile-dependent ("fast") half and the public entry points.

    C1h_ell = B^(-2p) sum_k K1[ell, k] G_ell[k]^2,
    C2h_ell = sum_z A2[ell, z] (B^(-p) sum_k W2[z, k] G_ell[k])^2,   p = 5/3 + alpha_P,

with G_ell[k] = G(exp(L_ell + k Delta) B^(-1/3)) the transform of the truncated profile on
the lattice window (see ``kernels``). Per call: p(x) on n_x nodes, one matrix-vector product
with the Filon matrix, a 4-point interpolation per ell (B included), one small matrix product
and two contractions. Output: dimensionless C_ell.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..cosmology.grids import CosmoGrids, grids_from_emulator
from ..params import (CosmoParams, ProfileParamsA10, check_cosmo, check_profile, check_real,
                      validity_factor)
from ..profiles.a10 import pressure_shape
from ..interpolation import lagrange4_weights
from .kernels import P_MASS, Layout, TszKernels, build_kernels, get_layout
from .settings import HaloModelSettings, make_settings

__all__ = ["cl_yy", "cl_yy_factory", "cl_yy_from_kernels", "profile_windows", "profile_transform_ext",
           "prepare", "check_ell", "grids_for", "kernels_for", "emulator_grids"]


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


def prepare(ell, **options) -> tuple[Layout, HaloModelSettings]:
    """Validate ell and options; return the cached lattice layout and the settings."""
    settings = make_settings(**options)
    return get_layout(check_ell(ell), settings), settings


def profile_transform_ext(kern: TszKernels, profile: ProfileParamsA10):
    """G(q) [dimensionless] on the extended lattice ln q_e = t0 + e Delta (no mass bias)."""
    return kern.filon @ pressure_shape(kern.x, profile)


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
    bp = jnp.asarray(profile.B) ** (-P_MASS)
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


def kernels_for(cosmo_or_grids, layout: Layout) -> TszKernels:
    """Kernels from CosmoParams (embedded emulator) or from ready CosmoGrids."""
    return build_kernels(grids_for(cosmo_or_grids, layout), layout)


_grids_jit = jax.jit(grids_from_emulator, static_argnums=(1, 2, 3, 4))


def emulator_grids(cosmo: CosmoParams, settings: HaloModelSettings):
    """CosmoGrids from the embedded emulator at the redshift options of ``settings``
    (jitted once per option set; no argument checks: invalid points give NaN)."""
    s = settings
    return _grids_jit(cosmo, s.z_min, s.z_max, s.n_z, s.n_z_pk)


def cl_yy_factory(cosmo, ell, **options):
    """Build cosmology and halo grids once; return ``ev(profile) -> (cl_1h, cl_2h)``.

    cosmo : CosmoParams (embedded emulator) or CosmoGrids (another cosmology source).
    ell : multipoles (n_ell,), concrete, > 0.
    options : see :class:`~classy_szlite_cobaya.tsz.settings.HaloModelSettings`.
    The closure works under ``jax.jit``, ``jax.grad``, ``jax.jacfwd`` and ``jax.vmap`` (over a
    batch of profiles); compiled code is shared by all closures with the same ell and options.
    Returns dimensionless C_ell arrays of shape (n_ell,).
    """
    layout, _ = prepare(ell, **options)
    kern = kernels_for(cosmo, layout)

    def ev(profile: ProfileParamsA10):
        check_profile(profile)
        return cl_yy_from_kernels(kern, profile, layout)

    ev.kernels = kern
    ev.layout = layout
    return ev


def cl_yy(cosmo: CosmoParams, profile: ProfileParamsA10, ell, **options):
    """Halo-model tSZ power spectrum (C1h, C2h), dimensionless, shape (n_ell,) each.

    Full pipeline: emulator -> background -> sigma(R) -> mass function and bias -> profile
    transform -> Limber integrals; differentiable in every field of ``cosmo`` and ``profile``.
    Options as in :class:`~classy_szlite_cobaya.tsz.settings.HaloModelSettings`
    (z_min, z_max, n_z, m_min, m_max, n_m, mass_unit, x_out, n_x, damping_1h, k_damp).
    """
    layout, _ = prepare(ell, **options)
    check_cosmo(cosmo)
    check_profile(profile)
    return _pipeline(cosmo, profile, layout)


def _pipeline(cosmo: CosmoParams, profile: ProfileParamsA10, layout: Layout):
    """The full pipeline without eager argument checks (for batched tracing, where invalid
    points give NaN through the validity factors)."""
    kern = build_kernels(emulator_grids(cosmo, layout.settings), layout)
    return cl_yy_from_kernels(kern, profile, layout)
