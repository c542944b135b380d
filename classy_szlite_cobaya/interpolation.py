"""Interpolation used throughout the package: one implementation per method.

* :func:`lagrange4_weights`, :func:`interp_uniform`: 4-point Lagrange (piecewise cubic) on a
  uniform grid (ln k tables of P_lin, ln R tables of sigma, the ln q lattice of the profile
  transform). Error O(h^4); continuous, with derivative jumps of O(h^3) where the stencil
  moves on by one node.
* :func:`interp_nonuniform`, :func:`interp_matrix`: the same 4-point Lagrange on ascending,
  non-uniform nodes, continued linearly outside them (provider P(k, z) tables; the emulator's
  k nodes folded into its last layer). The NumPy matrix form and the JAX form share one
  implementation.
* :func:`chebyshev_barycentric`: Chebyshev nodes (first kind) and the barycentric matrix onto
  arbitrary points (the z nodes of the emulator and sigma(R)).
* :func:`natural_cubic_spline`, :func:`eval_spline`: natural cubic spline continued linearly
  beyond its end knots with its end slopes. A natural spline has zero second derivative at
  its end knots, so the continuation is C^2 there (Tinker 2008 parameters in log10 Delta).

Libraries: ``jnp.interp`` is linear only and holds the end values constant outside the table
(a derivative kink); ``interpax`` estimates node derivatives instead of using the 4-point
stencil and would change every tabulated number; neither folds the weights into a matrix for
the emulator. The spline coefficients come from ``scipy.interpolate.CubicSpline``.

All JAX functions are traceable and differentiable in the tabulated values and in the points.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import jax.numpy as jnp

__all__ = ["lagrange4_weights", "lagrange4_end_slopes", "interp_uniform", "interp_nonuniform",
           "interp_matrix", "chebyshev_barycentric", "CubicSplineTable", "natural_cubic_spline",
           "eval_spline"]


def lagrange4_weights(f):
    """Weights of 4-point Lagrange interpolation at nodes -1, 0, 1, 2 for offset f in [0, 1]
    (a tuple of 4 arrays shaped like f; they sum to 1)."""
    return (-f * (f - 1) * (f - 2) / 6, (f + 1) * (f - 1) * (f - 2) / 2,
            -(f + 1) * f * (f - 2) / 2, (f + 1) * f * (f - 1) / 6)


def lagrange4_end_slopes(table, dx: float):
    """Derivatives d table / dx at the first and last nodes of a uniform grid of step dx, of
    the cubic through the first (last) 4 nodes: the end slopes of :func:`interp_uniform`.
    Returns (slope_lo, slope_hi) shaped ``table.shape[:-1]``."""
    t = table
    lo = (-11 * t[..., 0] + 18 * t[..., 1] - 9 * t[..., 2] + 2 * t[..., 3]) / (6 * dx)
    hi = (-2 * t[..., -4] + 9 * t[..., -3] - 18 * t[..., -2] + 11 * t[..., -1]) / (6 * dx)
    return lo, hi


def interp_uniform(x0: float, dx: float, table, x, linear_ends: bool = False):
    """4-point Lagrange interpolation of ``table[..., i]``, given on the uniform grid
    x_i = x0 + i dx (n >= 4 nodes), at ``x``: either 1-D (the same points for every leading
    index) or with the table's leading shape plus a trailing point axis.

    Outside [x_0, x_{n-1}]: ``linear_ends=False`` continues the end cubics (polynomial
    continuation); ``linear_ends=True`` continues linearly with the end slopes of the
    interpolant (:func:`lagrange4_end_slopes`), so the result is C^1 at the table's ends.
    """
    n = table.shape[-1]
    x_end = x0 + (n - 1) * dx
    xin = jnp.clip(x, x0, x_end) if linear_ends else x
    u = (xin - x0) / dx
    i = jnp.clip(jnp.floor(u).astype(int) - 1, 0, n - 4)
    w = lagrange4_weights(u - (i + 1))
    if jnp.ndim(x) == 1:
        take = lambda j: jnp.take(table, i + j, axis=-1)
    else:
        take = lambda j: jnp.take_along_axis(table, i + j, axis=-1)
    out = sum(wj * take(j) for j, wj in enumerate(w))
    if linear_ends:
        s_lo, s_hi = lagrange4_end_slopes(table, dx)
        s_lo, s_hi = s_lo[..., None], s_hi[..., None]
        out = out + s_lo * jnp.minimum(x - x0, 0.0) + s_hi * jnp.maximum(x - x_end, 0.0)
    return out


def _interp_nonuniform(xp, x_nodes, f_nodes, x, slope_baseline: int):
    """:func:`interp_nonuniform` written once for NumPy and jax.numpy (``xp``)."""
    n = x_nodes.shape[0]
    j = xp.clip(xp.searchsorted(x_nodes, x, side="right") - 2, 0, n - 4)
    idx = j[:, None] + xp.arange(4)[None, :]                        # [m, 4]
    xs = x_nodes[idx]
    inside = 0.0
    for a in range(4):
        wa = 1.0
        for b in range(4):
            if b != a:
                wa = wa * (x - xs[:, b]) / (xs[:, a] - xs[:, b])
        inside = inside + wa * xp.take(f_nodes, idx[:, a], axis=-1)
    k = slope_baseline
    s_lo = (f_nodes[..., 1] - f_nodes[..., 0]) / (x_nodes[1] - x_nodes[0])
    s_hi = (f_nodes[..., -1] - f_nodes[..., -1 - k]) / (x_nodes[-1] - x_nodes[-1 - k])
    below = f_nodes[..., :1] + s_lo[..., None] * (x - x_nodes[0])
    above = f_nodes[..., -1:] + s_hi[..., None] * (x - x_nodes[-1])
    return xp.where(x < x_nodes[0], below, xp.where(x > x_nodes[-1], above, inside))


def interp_nonuniform(x_nodes, f_nodes, x, slope_baseline: int = 1):
    """Interpolate ``f_nodes[..., i]`` given at ascending ``x_nodes`` [n] (n >= 4) at ``x`` [m].

    4-point Lagrange (piecewise cubic) inside [x_0, x_{n-1}]; outside, linear continuation:
    below with the secant slope of the first two nodes, above with the secant slope of the
    last node and the node ``slope_baseline`` before it. Traceable and differentiable in
    ``f_nodes`` (and ``x_nodes``). Returns ``f_nodes.shape[:-1] + (m,)``.
    """
    return _interp_nonuniform(jnp, jnp.asarray(x_nodes, dtype=float),
                              jnp.asarray(f_nodes, dtype=float), jnp.asarray(x, dtype=float),
                              slope_baseline)


def interp_matrix(x_nodes, x, slope_baseline: int = 1) -> np.ndarray:
    """NumPy matrix A [m, n] with ``interp_nonuniform(x_nodes, f, x) == A @ f`` for every
    f [n] (the interpolation is linear in f): for folding it into a linear map once."""
    xn = np.asarray(x_nodes, dtype=float)
    return _interp_nonuniform(np, xn, np.eye(len(xn)), np.asarray(x, dtype=float),
                              slope_baseline).T


def chebyshev_barycentric(a: float, b: float, n_nodes: int, x):
    """Chebyshev nodes of the first kind t_c [n_nodes] on [a, b] (descending) and the
    barycentric interpolation matrix M [len(x), n_nodes]: f(x_i) = sum_c M[i, c] f(t_c), exact
    for polynomials of degree < n_nodes (Berrut & Trefethen 2004, eq. 5.2 weights). NumPy;
    ``x`` must not coincide with a node."""
    x = np.asarray(x, dtype=float)
    k = np.arange(n_nodes)
    t = np.cos(np.pi * (k + 0.5) / n_nodes)
    nodes = 0.5 * (a + b) + 0.5 * (b - a) * t
    w = (-1.0) ** k * np.sin(np.pi * (k + 0.5) / n_nodes)
    m = w[None, :] / (x[:, None] - nodes[None, :])
    return nodes, m / m.sum(axis=1, keepdims=True)


class CubicSplineTable(NamedTuple):
    """Piecewise-cubic table: knots [n] and coefficients [4, n-1, ...] of
    y = c0 t^3 + c1 t^2 + c2 t + c3, t = x - knots[i] on [knots[i], knots[i+1]]."""
    knots: np.ndarray
    coef: np.ndarray


def natural_cubic_spline(x, y) -> CubicSplineTable:
    """Natural cubic spline (second derivative zero at both end knots) through (x, y), y with
    shape [n, ...] (several columns at once). NumPy; built once, evaluated by
    :func:`eval_spline`."""
    from scipy.interpolate import CubicSpline
    s = CubicSpline(np.asarray(x, dtype=float), np.asarray(y, dtype=float), axis=0,
                    bc_type="natural")
    return CubicSplineTable(np.asarray(s.x), np.asarray(s.c))


def eval_spline(spline: CubicSplineTable, x):
    """Spline value at ``x`` (any shape) -> ``x.shape + spline.coef.shape[2:]``.

    Inside the knots: the cubic pieces. Outside: the straight line through the end knot with
    the spline's end slope. For a natural spline this continuation is C^2 (the second
    derivative is zero at the end knots), so the value and its derivative have no kink at the
    knots' ends. Traceable and differentiable in x.
    """
    xk = spline.knots
    c = jnp.asarray(spline.coef)
    n = len(xk)
    h_last = xk[-1] - xk[-2]
    # end slopes (static); the cubic pieces reach the end values themselves
    c_np = spline.coef
    s_lo = c_np[2, 0]
    s_hi = (3 * c_np[0, -1] * h_last + 2 * c_np[1, -1]) * h_last + c_np[2, -1]
    x = jnp.asarray(x, dtype=float)
    xc = jnp.clip(x, xk[0], xk[-1])
    i = jnp.clip(jnp.searchsorted(jnp.asarray(xk), xc, side="right") - 1, 0, n - 2)
    t = (xc - jnp.asarray(xk)[i]).reshape(x.shape + (1,) * (c.ndim - 2))
    ci = c[:, i]
    inside = ((ci[0] * t + ci[1]) * t + ci[2]) * t + ci[3]
    extra = x.shape + (1,) * (c.ndim - 2)
    below = jnp.minimum(x - xk[0], 0.0).reshape(extra)
    above = jnp.maximum(x - xk[-1], 0.0).reshape(extra)
    return inside + jnp.asarray(s_lo) * below + jnp.asarray(s_hi) * above
