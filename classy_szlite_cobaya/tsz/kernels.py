r"""Cosmology-only kernels of C_ell^yy (the factory's "slow" half), for any profile of
``profiles.interface``.

Lattice path (self-similar profiles, A10): everything but the profile transform factorises.
With true mass M, mass bias B and q = k R_Delta (docs/physics.md sections 3-4):

    y_ell(M, z) = Y(z) (M/B)^p G(q),   ln q = L_ell + a(z) + (1/3) ln M - (1/3) ln B,
    G(q) = int_0^{x_out} dx x^2 sinc(q x) p(x),     L_ell = ln(ell + 1/2),
    a(z) = ln[(3 / (4 pi Delta_c rho_crit(z)))^(1/3) / D_A(z)],
    Y(z), p and Delta_c from the profile (A10: p = 5/3 + alpha_P, Delta_c = 500).

Changing the mass variable from ln M to t = L_ell + a(z) + (1/3) ln M (d ln M = 3 dt) and
integrating on the lattice t = L_ell + k Delta (Delta = Delta ln M / 3, k integer) makes every
mass-dependent factor a function of (z, k) alone: node k of redshift z_a is the mass
ln M = 3 (k Delta - a(z_a)) for every ell. The ell dependence is then only a shift of the
profile transform, G_ell[k] = G(exp(L_ell + k Delta) B^(-1/3)), and both halo terms are small
matrix products:

    C1h_ell = B^(-2p) sum_k K1[ell, k] G_ell[k]^2,            K1 = D1 @ W1,
    C2h_ell = sum_a A2[ell, a] (B^(-p) sum_k W2[a, k] G_ell[k])^2,   p = 5/3 + alpha_P,

with W1[a, k] = w_z dV/dz Y^2 n M^(2p) w_k and W2[a, k] = Y n b M^p w_k built once per
cosmology on a window of ``n_win`` lattice nodes that covers every z (D1 = 1, or the optional
1-halo damping, and A2 = w_z dV/dz P_lin(k_Limber) carry the (ell, z) factors).
The integral over [M_lo, M_hi] uses the piecewise-linear interpolant of the integrand between
lattice nodes (trapezoid with exact partial end cells); the mass function and bias are
evaluated directly at the lattice masses. G_ell is read off one extended lattice of G by
4-point interpolation (one offset per ell, B included), so no per-point table look-up remains
in the profile-dependent part.

Direct path (:class:`DirectTables`, every profile; the only one for B12, whose shape depends
on M and z): a fixed (z, ln M) grid, n_m nodes uniform in ln M between the limits (trapezoid),
the mass function and bias tabulated once per cosmology; per profile the shape on
[n_z, n_m, n_x], one product with the Filon matrix on the extended lattice, and 4-point
interpolation in ln q for each ell (``tsz.covariance``).

Units: masses in Msun (converted from Msun/h when ``mass_unit = "Msun/h"``), lengths in Mpc,
dn/dlnM in Mpc^-3, C_ell dimensionless.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from ..constants import C_KM_S, NU_PER_GAMMA, OMEGA_GAMMA_H2, RHO_CRIT0_H2
from ..cosmology import emulator
from ..cosmology.grids import CosmoGrids, redshift_nodes
from ..halos.mass_definition import ln_radius_coefficient
from ..halos.mass_function import mass_tables
from ..interpolation import interp_uniform
from ..params import PROFILE_TYPES
from ..profiles.a10 import MODEL as A10
from ..profiles.interface import ProfileModel
from ..profiles.transform import filon_matrix, profile_x_grid
from .settings import HaloModelSettings

__all__ = ["Layout", "TszKernels", "DirectTables", "get_layout", "build_kernels",
           "build_direct", "ln_q_offset"]

# Cosmologies bracketing every plausible input (wider than the emulator box, so provider mode
# fits too): the lattice must cover ln q for all of them because its size is static.
_ENVELOPE_H = (0.5, 0.7, 0.95)
_ENVELOPE_OM = (0.08, 0.3, 0.7)
_MARGIN = 0.25                    # extra ln q on each side of the envelope


def _np_a_of_z(z, h, om, delta_c):
    """a(z) = ln_radius_coefficient - ln D_A for the envelope (NumPy; the same formula)."""
    orad = OMEGA_GAMMA_H2 * (1 + NU_PER_GAMMA) / h ** 2
    e = lambda zz: np.sqrt(orad * (1 + zz) ** 4 + om * (1 + zz) ** 3 + 1 - om - orad)
    xg, wg = np.polynomial.legendre.leggauss(48)
    zz = np.asarray(z)[:, None] * 0.5 * (xg + 1)
    chi = C_KM_S / (100 * h) * np.asarray(z) * np.sum(0.5 * wg / e(zz), axis=1)
    d_a = chi / (1 + np.asarray(z))
    rho_c = RHO_CRIT0_H2 * h ** 2 * e(np.asarray(z)) ** 2
    return ln_radius_coefficient(delta_c, rho_c) - np.log(d_a)


def ln_q_offset(model: ProfileModel, grids: CosmoGrids):
    """a(z) [n_z]: ln q = ln(ell + 1/2) + a(z) + (1/3) ln M for the profile's R_Delta
    (q = (ell + 1/2) R_Delta / D_A, M in Msun)."""
    return ln_radius_coefficient(model.delta_c, grids.rho_crit) - jnp.log(grids.d_a)


class Layout:
    """Static geometry of the lattice for one (ell, settings, profile model): sizes, offsets,
    Filon matrix on the extended ln q lattice.

    Hashable by (ell, settings, model) so jitted functions can take it as a static argument.
    """

    def __init__(self, ell: tuple, settings: HaloModelSettings, model: ProfileModel = A10):
        self.key = (ell, settings, model)
        self.model = model
        self.ell = np.asarray(ell, dtype=float)
        self.settings = s = settings
        self.n_ell = len(ell)
        self.ln_m_step = (math.log(s.m_max) - math.log(s.m_min)) / (s.n_m - 1)
        self.delta = self.ln_m_step / 3.0
        self.band = s.n_m + 1                       # lattice nodes touched per (ell, z)
        z, _ = redshift_nodes(s.z_min, s.z_max, s.n_z)
        a_env = np.array([_np_a_of_z(z, h, om, model.delta_c)
                          for h in _ENVELOPE_H for om in _ENVELOPE_OM])
        ln_h = np.log(_ENVELOPE_H)
        unit_shift = (-ln_h.max(), -ln_h.min()) if s.mass_unit == "Msun/h" else (0.0, 0.0)
        # A(z) = a(z) + ln(M_lo)/3: lattice position (x Delta) of the lowest mass, per z
        a_lo = a_env.min() + (math.log(s.m_min) + unit_shift[0]) / 3
        # highest first-window node over the envelope: max over cosmologies of min over z
        a_first = a_env.min(axis=1).max() + (math.log(s.m_min) + unit_shift[1]) / 3
        span = (a_env.max(axis=1) - a_env.min(axis=1)).max()
        self.n_win = int(math.ceil(span / self.delta)) + self.band + 3
        big_l = np.log(self.ell + 0.5)
        b_lo, b_hi = PROFILE_TYPES[model.params_type]["B"]
        # extended lattice ln q_e = t0 + e Delta holding G(q) for every ell, window node and B
        q_lo = big_l.min() + a_lo - math.log(b_hi) / 3 - _MARGIN
        q_hi = big_l.max() + a_first + self.n_win * self.delta - math.log(b_lo) / 3 + _MARGIN
        self.t0 = (math.floor(q_lo / self.delta) - 2) * self.delta
        self.n_ext = int(math.ceil((q_hi - self.t0) / self.delta)) + 4
        self.q_ext = np.exp(self.t0 + np.arange(self.n_ext) * self.delta)
        self.x = profile_x_grid(s.x_out, s.n_x)
        self.filon = filon_matrix(self.q_ext, self.x)
        self.z_nodes = z

    @functools.lru_cache(maxsize=16)
    def filon_device(self):
        """The Filon matrix as a device array, transferred once (not a jit constant)."""
        import jax
        with jax.ensure_compile_time_eval():
            return jnp.asarray(self.filon)

    @functools.lru_cache(maxsize=16)
    def x_device(self):
        import jax
        with jax.ensure_compile_time_eval():
            return jnp.asarray(self.x)

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Layout) and self.key == other.key


@functools.lru_cache(maxsize=16)
def get_layout(ell: tuple, settings: HaloModelSettings, model: ProfileModel = A10) -> Layout:
    """Cached :class:`Layout` (the Filon matrix is built once per ell set, settings and
    profile model)."""
    return Layout(ell, settings, model)


class TszKernels(NamedTuple):
    """Per-cosmology kernels (shapes in brackets; n_win window nodes of the lattice).

    k1 [n_ell, n_win] 1-halo kernel; w2 [n_z, n_win] 2-halo kernel (the same for every ell);
    kappa_min [] lattice index of the first window node; a2 [n_ell, n_z] = w_z dV/dz
    P_lin(k_Limber); filon [n_ext, n_x] profile-transform matrix on the extended lattice;
    x [n_x] profile nodes (r/r500); valid [] 1.0 or NaN.
    """
    k1: jnp.ndarray
    w2: jnp.ndarray
    kappa_min: jnp.ndarray
    a2: jnp.ndarray
    filon: jnp.ndarray
    x: jnp.ndarray
    valid: jnp.ndarray


def _hat_cdf(u):
    """Integral of the unit hat function (support [-1, 1]) from -inf to u."""
    u = jnp.clip(u, -1.0, 1.0)
    return jnp.where(u < 0, 0.5 * (1 + u) ** 2, 1.0 - 0.5 * (1 - u) ** 2)


def limber_ln_pk(grids: CosmoGrids, ell):
    """ln P_lin((ell+1/2)/chi_a, z_a) [n_ell, n_z]; outside the tabulated ln k range,
    continued linearly in ln k with the end slopes of the interpolant (C^1 at the ends; for
    the emulator the table is already a straight line above 9.81/Mpc)."""
    lk = emulator.LN_K
    ln_k = jnp.log((jnp.asarray(ell)[None, :] + 0.5) / grids.chi[:, None])      # [n_z, n_ell]
    ln_p = interp_uniform(lk[0], lk[1] - lk[0], grids.ln_pk, ln_k, linear_ends=True)
    return ln_p.T


def mass_limits_msun(grids: CosmoGrids, settings: HaloModelSettings):
    """(ln M_lo, ln M_hi) in ln Msun, converting from Msun/h if asked."""
    shift = -jnp.log(grids.h) if settings.mass_unit == "Msun/h" else 0.0
    return math.log(settings.m_min) + shift, math.log(settings.m_max) + shift


def volume_element(grids: CosmoGrids):
    """dV/(dz dOmega) = c chi^2 / H(z) [Mpc^3]."""
    return C_KM_S * grids.chi ** 2 / grids.hubble


def _place(rows, shift, n_win: int):
    """Rows [n_z, band] written at column ``shift[a]`` of zero rows [n_z, n_win]."""
    zero = jnp.zeros(n_win, dtype=rows.dtype)
    return jax.vmap(lambda r, s0: jax.lax.dynamic_update_slice(zero, r, (s0,)))(rows, shift)


@functools.partial(jax.jit, static_argnames=("layout",))
def _build(grids: CosmoGrids, layout: Layout):
    """K1, W2, first window node, A2 and the validity flag for one cosmology.

    The mass function and bias are evaluated directly at the lattice masses of each redshift's
    band, ln M = 3 (k Delta - a(z)) for the ``band`` nodes k = kappa(z) + j that carry weight
    (no interpolation in mass), then written into the common window at offset
    kappa(z) - kappa_min. The band values are materialised first (optimisation barrier):
    XLA would otherwise fuse the mass function into the placement and recompute it per
    window node."""
    s, model = layout.settings, layout.model
    ell = jnp.asarray(layout.ell)
    dlt = layout.delta
    ln_lo, ln_hi = mass_limits_msun(grids, s)
    a_z = ln_q_offset(model, grids)
    pos = (a_z + ln_lo / 3.0) / dlt                                    # M_lo in lattice units
    kappa = jnp.floor(pos).astype(int)                                 # first node <= M_lo, per z
    kappa_min = jnp.min(kappa)
    k_band = kappa[:, None] + jnp.arange(layout.band)[None, :]         # [n_z, band]
    ln_m = 3.0 * dlt * k_band - 3.0 * a_z[:, None]
    v = k_band - pos[:, None]                                          # (t - t(M_lo)) / Delta
    wt = 3.0 * dlt * (_hat_cdf(s.n_m - 1 - v) - _hat_cdf(-v))          # d ln M weights
    # the band's end nodes may lie past the limits (zero weight): keep them finite
    ln_m = jnp.clip(ln_m, ln_lo - 2 * layout.ln_m_step, ln_hi + 2 * layout.ln_m_step)
    ln_n, ln_b = mass_tables(grids, ln_m, model.delta_c)
    yz = model.amplitude(grids)
    p = model.mass_exponent
    dv = volume_element(grids) * grids.dz_weight                       # [n_z]
    b1 = (dv * yz ** 2)[:, None] * wt * jnp.exp(ln_n + 2 * p * ln_m)   # n M^(2p)
    w2 = yz[:, None] * wt * jnp.exp(ln_n + ln_b + p * ln_m)            # n b M^p
    b1, w2 = jax.lax.optimization_barrier((b1, w2))
    shift = kappa - kappa_min
    b1, w2 = _place(b1, shift, layout.n_win), _place(w2, shift, layout.n_win)
    damp = jnp.ones((len(layout.ell), s.n_z))
    if s.damping_1h:
        damp = 1.0 - jnp.exp(-((ell[:, None] + 0.5) / grids.chi[None, :] / s.k_damp) ** 2)
    k1 = damp @ b1                                                     # [n_ell, n_win]
    a2 = dv[None, :] * jnp.exp(limber_ln_pk(grids, ell))
    ok = jnp.all(shift + layout.band <= layout.n_win)
    return k1, w2, kappa_min, a2, grids.valid * jnp.where(ok, 1.0, jnp.nan)


def build_kernels(grids: CosmoGrids, layout: Layout) -> TszKernels:
    """Lattice kernels K1, W2, A2 for one cosmology (see module docstring); self-similar
    profiles only. Traceable in ``grids``."""
    if not layout.model.self_similar:
        raise ValueError(f"the ln q lattice needs a self-similar profile; {layout.model.name} "
                         f"uses the direct path (build_direct)")
    k1, w2, kappa_min, a2, valid = _build(grids, layout)
    return TszKernels(k1=k1, w2=w2, kappa_min=kappa_min, a2=a2, filon=layout.filon_device(),
                      x=layout.x_device(), valid=valid)


class DirectTables(NamedTuple):
    """Per-cosmology tables of the direct (z, ln M) quadrature (shapes in brackets).

    ln_m [n_m] ln(M/Msun), uniform between the limits; z [n_z]; a_z [n_z] ln q offset
    (:func:`ln_q_offset`); yz [n_z] the profile amplitude Y(z); w1 [n_z, n_m] 1-halo measure
    w_z dV/dz n w_M; w2 [n_z, n_m] 2-halo measure n b w_M; a2 [n_ell, n_z] = w_z dV/dz
    P_lin(k_Limber); filon [n_ext, n_x]; x [n_x]; valid [] 1.0 or NaN.
    """
    ln_m: jnp.ndarray
    z: jnp.ndarray
    a_z: jnp.ndarray
    yz: jnp.ndarray
    w1: jnp.ndarray
    w2: jnp.ndarray
    a2: jnp.ndarray
    filon: jnp.ndarray
    x: jnp.ndarray
    valid: jnp.ndarray


@functools.partial(jax.jit, static_argnames=("layout",))
def _build_direct(grids: CosmoGrids, layout: Layout):
    s, model = layout.settings, layout.model
    ln_lo, ln_hi = mass_limits_msun(grids, s)
    ln_m = ln_lo + (ln_hi - ln_lo) * jnp.linspace(0.0, 1.0, s.n_m)
    wm = jnp.full(s.n_m, (ln_hi - ln_lo) / (s.n_m - 1)).at[jnp.array([0, -1])].mul(0.5)
    ln_n, ln_b = mass_tables(grids, ln_m, model.delta_c)
    n = jnp.exp(ln_n)
    dv = grids.dz_weight * volume_element(grids)
    a2 = dv[None, :] * jnp.exp(limber_ln_pk(grids, jnp.asarray(layout.ell)))
    return (ln_m, grids.z, ln_q_offset(model, grids), model.amplitude(grids),
            dv[:, None] * n * wm[None, :], n * jnp.exp(ln_b) * wm[None, :], a2, grids.valid)


def build_direct(grids: CosmoGrids, layout: Layout) -> DirectTables:
    """:class:`DirectTables` for one cosmology and the layout's profile model. Traceable in
    ``grids``."""
    ln_m, z, a_z, yz, w1, w2, a2, valid = _build_direct(grids, layout)
    return DirectTables(ln_m=ln_m, z=z, a_z=a_z, yz=yz, w1=w1, w2=w2, a2=a2,
                        filon=layout.filon_device(), x=layout.x_device(), valid=valid)
