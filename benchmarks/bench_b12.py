"""Warm timings of the B12 factory (direct path) next to A10's (lattice path).

ell = geomspace(10, 5000, 18) (the Planck y-map range and beyond), default HaloModelSettings
(n_z = 100, n_m = 200, n_x = 513, n_m_shape = 16), B12 with the shape at every mass node,
and one reduced setting. Median of repeated warm (compiled)
calls, wall clock, float64. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_b12.py [--repeats 5]
"""
import argparse

import jax
import jax.numpy as jnp
import numpy as np

import classy_szlite_cobaya as csl
from bench_cl_yy import print_timings, timeit

ELL = np.geomspace(10, 5000, 18)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cosmo = csl.CosmoParams()
    rows = []
    a10, b12 = csl.ProfileParamsA10(B=1.25), csl.ProfileParamsB12(B=1.25)
    for label, opts, profiles in (
            ("default (n_z 100, n_m 200, n_x 513, n_m_shape 16)", {}, (("A10", a10), ("B12", b12))),
            ("shape at every mass node (n_m_shape 0)", dict(n_m_shape=0), (("B12", b12),)),
            ("n_z 50, n_m 100, n_x 257", dict(n_z=50, n_m=100, n_x=257),
             (("A10", a10), ("B12", b12)))):
        for name, prof in profiles:
            ev = csl.cl_yy_factory(cosmo, ELL, profile=name, **opts)
            fwd = lambda: ev(prof)
            grad = jax.jit(jax.grad(lambda p: jnp.sum(jnp.log(sum(ev(p))))))
            g = lambda: grad(prof)
            rows.append((f"{name} factory forward, {label}", timeit(fwd, args.repeats)))
            rows.append((f"{name} factory grad (all {len(prof)} fields), {label}",
                         timeit(g, args.repeats)))
    print_timings(rows)


if __name__ == "__main__":
    main()
