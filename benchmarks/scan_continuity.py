"""Derivative-continuity scan of C_ell^yy across the emulator box.

For each scanned parameter p (omega_b, H0, omega_cdm, ln10_10_As) the script follows lines
along p through the 2^5 = 32 corners of ``EMULATOR_BOX`` (16 distinct lines: each joins two
corners) and through 4 interior points (20 lines per parameter), 200 points per line, inset by
``INSET`` of the box width from every edge so each point is valid. At every point it takes
g = d ln C_ell / d p of C = C1h + C2h by forward mode (``jax.jvp`` of ``csl.cl_yy``, vmapped in
chunks, compiled once) at the multipoles ``ELL``.

Two jump ratios per line and multipole, reported as the maximum over points:

* first difference (the issue's definition): R1_i = |g_{i+1} - g_i| / median_j |g_{j+1} - g_j|,
  the median over the ``WINDOW`` neighbouring differences on each side (j != i). A jump of g
  (a kink of C) makes one difference stand out; a smooth g gives R1 of order 1 to a few.
* second difference: R2_i = |g_{i+1} - 2 g_i + g_{i-1}| / median_j of the same over the
  neighbouring window. It also sees kinks of g (C not C^2), so it is larger than R1.

Usage: python benchmarks/scan_continuity.py [--points 200] [--json out.json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import platform
import time

import numpy as np
import jax
import jax.numpy as jnp

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.params import EMULATOR_BOX

ORDER = ("omega_b", "omega_cdm", "H0", "n_s", "ln10_10_As")     # the 5 box dimensions
SCANNED = ("omega_b", "H0", "omega_cdm", "ln10_10_As")
ELL = (30.5, 200.5, 959.5, 2500.5)
INSET = 1e-6            # fraction of the box width kept from every edge
WINDOW = 10             # neighbours on each side for the local median
CHUNK = 50              # vmap batch (points per compiled call)
INTERIOR = (0.5, 0.25, 0.75, 0.4)   # interior points: every other coordinate at this fraction
PROFILE = csl.ProfileParamsA10(B=1.25)


def _lines(param, n_points):
    """Parameter vectors [n_lines, n_points, 5] for lines along ``param``."""
    k = ORDER.index(param)
    lo = np.array([EMULATOR_BOX[n][0] for n in ORDER])
    hi = np.array([EMULATOR_BOX[n][1] for n in ORDER])
    w = hi - lo
    lo_in, hi_in = lo + INSET * w, hi - INSET * w
    t = np.linspace(lo_in[k], hi_in[k], n_points)
    others = [i for i in range(5) if i != k]
    bases = []
    for corner in itertools.product((0, 1), repeat=4):
        base = lo_in.copy()
        for i, c in zip(others, corner):
            base[i] = hi_in[i] if c else lo_in[i]
        bases.append(base)
    for f in INTERIOR:
        bases.append(lo + f * w)
    out = np.repeat(np.array(bases)[:, None, :], n_points, axis=1)
    out[:, :, k] = t[None, :]
    return out


def _cosmo(theta):
    return csl.CosmoParams(**{n: theta[i] for i, n in enumerate(ORDER)})


def make_dlnc(ell):
    """Jitted, vmapped theta [n, 5], tangent [5] -> d ln C / d p [n, n_ell]."""
    def total(theta):
        c1, c2 = csl.cl_yy(_cosmo(theta), PROFILE, ell)
        return c1 + c2

    def one(theta, tangent):
        c, dc = jax.jvp(total, (theta,), (tangent,))
        return dc / c

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def _local_ratio(d):
    """|d_i| / median of |d_j| over the WINDOW neighbours on each side (j != i); d [..., n]."""
    a = np.abs(d)
    n = a.shape[-1]
    r = np.empty_like(a)
    for i in range(n):
        j = np.r_[max(0, i - WINDOW):i, i + 1:min(n, i + WINDOW + 1)]
        med = np.median(a[..., j], axis=-1)
        r[..., i] = a[..., i] / np.maximum(med, 1e-300)
    return r


def jump_ratios(g):
    """(R1, R2, argmax of R1) for g [n_points, n_ell]: maxima over points and multipoles."""
    r1 = _local_ratio(np.diff(g, axis=0).T)            # [n_ell, n-1]
    r2 = _local_ratio(np.diff(g, 2, axis=0).T)         # [n_ell, n-2]
    return float(r1.max()), float(r2.max()), np.unravel_index(np.argmax(r1), r1.shape)


def scan(n_points=200, ell=ELL):
    f = make_dlnc(ell)
    results = {}
    t_start = time.perf_counter()
    for param in SCANNED:
        k = ORDER.index(param)
        tangent = jnp.zeros(5).at[k].set(1.0)
        lines = _lines(param, n_points)
        flat = lines.reshape(-1, 5)
        pad = (-len(flat)) % CHUNK
        flat_p = np.concatenate([flat, np.repeat(flat[-1:], pad, axis=0)])
        g = np.concatenate([np.asarray(f(jnp.asarray(flat_p[i:i + CHUNK]), tangent))
                            for i in range(0, len(flat_p), CHUNK)])[:len(flat)]
        g = g.reshape(lines.shape[0], n_points, len(ell))
        per_line = []
        for li in range(lines.shape[0]):
            if not np.all(np.isfinite(g[li])):
                raise RuntimeError(f"non-finite derivative on line {li} of {param}")
            r1, r2, (ie, ip) = jump_ratios(g[li])
            per_line.append(dict(r1=r1, r2=r2, ell=ell[ie], point=lines[li, ip].tolist(),
                                 g_jump=float(abs(g[li, ip + 1, ie] - g[li, ip, ie])
                                              / abs(g[li, ip, ie]))))
        results[param] = per_line
        worst = max(per_line, key=lambda d: d["r1"])
        print(f"{param:11s} R1 median {np.median([d['r1'] for d in per_line]):9.3g} "
              f"max {worst['r1']:9.3g} (rel. jump {worst['g_jump']:.2e} at ell {worst['ell']}, "
              f"{dict(zip(ORDER, np.round(worst['point'], 6)))})  R2 median "
              f"{np.median([d['r2'] for d in per_line]):9.3g} max "
              f"{max(d['r2'] for d in per_line):9.3g}   [{time.perf_counter() - t_start:.0f} s]",
              flush=True)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--json", default=None, help="write the per-line results here")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{jax.device_count()} {jax.default_backend()} device(s), Python "
          f"{platform.python_version()}, JAX {jax.__version__}; package {csl.__file__}")
    t0 = time.perf_counter()
    res = scan(args.points)
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(ell=ELL, inset=INSET, window=WINDOW, points=args.points,
                           results=res), fh)


if __name__ == "__main__":
    main()
