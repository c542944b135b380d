"""Warm timings of cl_TTTEEE: the bare CosmoPower networks and the spectra with the CLASS
correction (what cl_TTTEEE returns), forward and gradient, at massless LambdaCDM.

All four spectra at every ell (2 ... 2508); gradient of sum(ln TT) + sum(ln EE) with respect
to the whole CosmoParams. Median of repeated warm (compiled) calls, wall clock, float64.
Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_cmb.py [--repeats 7]
"""
import argparse

import jax
import jax.numpy as jnp

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.cosmology import cmb
from bench_cl_yy import print_timings, timeit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    cosmo = csl.CosmoParams(**csl.MASSLESS_LCDM)
    rows = []
    for label, fn in (("networks alone (network_spectra)", cmb.network_spectra),
                      ("networks x CLASS correction (cl_TTTEEE)", csl.cl_TTTEEE)):
        fwd = jax.jit(fn)
        loss = jax.jit(jax.grad(lambda c: jnp.sum(jnp.log(fn(c)["tt"]))
                                + jnp.sum(jnp.log(fn(c)["ee"]))))
        rows.append((f"{label}, forward", timeit(lambda: fwd(cosmo), args.repeats)))
        rows.append((f"{label}, grad", timeit(lambda: loss(cosmo), args.repeats)))
    print_timings(rows, decimals=2)


if __name__ == "__main__":
    main()
