"""Fourier transform of the truncated pressure profile as a fixed linear map.

G(q) = int_0^{x_out} dx x^2 sinc(q x) p(x) = (1/q) int_0^{x_out} dx f(x) sin(q x),  f = x p(x).

The transform is linear in p, so G = W @ p(x_i) with a matrix W built once per grid
(Filon-type quadrature: f is taken piecewise linear between log-spaced nodes x_i and each
piece is integrated against sin(q x) exactly; the first piece runs linearly from f(0) = 0).
This is exact for every q, oscillating tail included, needs no FFTLog bias or padding, and is
exactly differentiable in every profile parameter (the parameters only enter p(x_i)).
Measured against scipy quadrature in tests/test_profile_transform.py.

Why not mcfit here: the truncation at x_out is a step; FFTLog of a step rings, and the
small-q end needs bias/padding tuning (class_sz's FFTLog path is 3% off, docs/physics.md section 3).
mcfit is used for sigma(R), where the integrand is smooth.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["profile_x_grid", "filon_matrix"]

X_MIN_FRACTION = 1.0e-6   #: innermost node / x_out: its cell holds < 1e-6 of G at q = 1e3


@functools.lru_cache(maxsize=8)
def profile_x_grid(x_out: float, n_x: int) -> np.ndarray:
    """Log-spaced nodes x_i in (0, x_out], x_0 = X_MIN_FRACTION x_out (x = r/r500)."""
    return np.geomspace(X_MIN_FRACTION * x_out, x_out, n_x)


def _e_moments(theta, m_max=2):
    """E_m(theta) = int_0^1 t^m e^{i theta t} dt for m = 0..m_max.

    Power series for |theta| < 2 (no cancellation), upward recursion
    E_m = [e^{i theta} - m E_{m-1}] / (i theta) above (stable there)."""
    theta = np.asarray(theta, dtype=float)
    small = np.abs(theta) < 2.0
    th = np.where(small, 1.0, theta)
    eith = np.exp(1j * th)
    rec = [(eith - 1.0) / (1j * th)]
    for m in range(1, m_max + 1):
        rec.append((eith - m * rec[-1]) / (1j * th))
    it = 1j * np.where(small, theta, 0.0)
    ser = [np.zeros_like(it) for _ in range(m_max + 1)]
    term = np.ones_like(it)          # (i theta)^n / n!
    for n in range(40):
        for m in range(m_max + 1):
            ser[m] = ser[m] + term / (n + m + 1)
        term = term * it / (n + 1)
    return [np.where(small, s_, r_) for s_, r_ in zip(ser, rec)]


def filon_matrix(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """W (n_q, n_x) such that G(q) ~= W @ p(x) (x = r/r500, q = k r500, both dimensionless).

    Simpson-Filon rule: f = x p(x) is interpolated by a quadratic on each pair of pieces
    [x_{2j}, x_{2j+2}] (n_x odd) and every quadratic is integrated against sin(q x) exactly;
    the innermost piece [0, x_0] is linear from f(0) = 0. Interpolation error O(h^3), so
    no resonance between the node spacing and the oscillation at large q.
    """
    q = np.asarray(q, dtype=float)[:, None]
    x = np.asarray(x, dtype=float)
    if len(x) % 2 == 0:
        raise ValueError(f"filon_matrix needs an odd number of nodes, got {len(x)}")
    w = np.zeros((q.shape[0], len(x)), dtype=complex)
    # innermost piece, linear from (0, 0) to (x_0, f_0): int_0^{x0} (x/x0) e^{iqx} dx
    _, e1, _ = _e_moments(q[:, 0] * x[0])
    w[:, 0] += x[0] * e1
    a, mid, b = x[:-2:2], x[1:-1:2], x[2::2]
    h = b - a
    tau = (mid - a) / h
    e0, e1, e2 = _e_moments(q * h)
    pref = h * np.exp(1j * q * a)
    # Lagrange basis on t in [0, 1] with nodes 0, tau, 1 as c0 + c1 t + c2 t^2
    for node_offset, (c0, c1, c2) in enumerate((
            (1.0, -(1.0 + tau) / tau, 1.0 / tau),
            (0.0, -1.0 / (tau * (tau - 1.0)), 1.0 / (tau * (tau - 1.0))),
            (0.0, -tau / (1.0 - tau), 1.0 / (1.0 - tau)))):
        w[:, node_offset:len(x) - 2 + node_offset:2] += pref * (c0 * e0 + c1 * e1 + c2 * e2)
    return w.imag * x[None, :] / q
