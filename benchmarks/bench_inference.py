"""Inference-path timings (issue 5): vmap throughput of the full pipeline, posterior gradients.

Writes (or replaces) its own section of BENCHMARKS.md (``bench_cl_yy.write_section``); the
rest of the file is left as it is.

    python benchmarks/bench_inference.py [--repeats 5] [--out BENCHMARKS.md] [-p PACKAGES]

Throughput = batch size / median warm wall time of one jitted ``cl_yy_batch`` call (full
pipeline: emulator -> sigma(R) -> halo model -> C_ell), spectra per second, ell =
geomspace(2, 5000, 30), n_z = 100, n_m = 200, cosmologies drawn inside the emulator box.
"""
import argparse
import sys
from pathlib import Path

import jax
import numpy as np

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.inference import cl_yy_batch

sys.path.insert(0, str(Path(__file__).parent))
from bench_cl_yy import machine, timeit, write_section  # noqa: E402

ELL = np.geomspace(2, 5000, 30)
OPTS = dict(n_z=100, n_m=200)


def batch(n, rng):
    box = csl.EMULATOR_BOX
    lo = lambda k, f=0.25: box[k][0] + f * (box[k][1] - box[k][0])  # noqa: E731
    u = lambda k: rng.uniform(lo(k), lo(k, 0.75), n)  # noqa: E731 (central half of the box)
    cosmos = csl.CosmoParams(omega_b=u("omega_b"), omega_cdm=u("omega_cdm"), H0=u("H0"),
                             ln10_10_As=rng.uniform(2.9, 3.2, n), n_s=u("n_s"))
    profiles = csl.ProfileParamsA10(B=rng.uniform(1.1, 1.6, n))
    return cosmos, profiles


def posterior_rows(packages, repeats):
    from classy_szlite_cobaya.inference import posterior_from_yaml

    rows = []
    for name in ("tsz_profile", "tsz"):
        post = posterior_from_yaml(Path("input_yamls") / f"{name}.yaml", packages)
        u = post.to_unconstrained(post.reference_point())
        vg = jax.jit(jax.value_and_grad(post.log_density_unconstrained))
        f = jax.jit(post.log_density_unconstrained)
        rows.append((f"log posterior, {name}.yaml ({len(post.names)} params)",
                     1e3 * timeit(lambda: f(u), repeats)))
        rows.append((f"value and gradient, {name}.yaml", 1e3 * timeit(lambda: vg(u), repeats)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("-p", "--packages-path", default=None,
                    help="installed y-map data: adds posterior/gradient timings")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    lines = ["## Inference (issue #5)", "",
             "Produced by `python benchmarks/bench_inference.py` (median of warm calls, wall clock).",
             "", f"- Machine: {machine()}",
             "- Full pipeline under `jax.vmap` (`classy_szlite_cobaya.inference.cl_yy_batch`, vmap in "
             "chunks of 64 points: a 1024-point vmap needs ~45 GB), "
             "ell = geomspace(2, 5000, 30), n_z = 100 (emulator at n_z_pk = 16), n_m = 200, one jitted call per batch",
             "", "| batch (cosmologies) | call [ms] | per spectrum [ms] | spectra / s |",
             "| --- | --- | --- | --- |"]
    for n in (1, 64, 1024):
        cosmos, profiles = batch(n, rng)
        t = timeit(lambda: cl_yy_batch(cosmos, profiles, ELL, **OPTS),
                  args.repeats if n < 1024 else max(1, args.repeats // 2))
        lines.append(f"| {n} | {1e3 * t:.1f} | {1e3 * t / n:.2f} | {n / t:.0f} |")
        print(lines[-1], flush=True)
    if args.packages_path:
        lines += ["", "Posterior (18 Planck bins) as NUTS uses it, unconstrained coordinates:", "",
                  "| quantity | median [ms] |", "| --- | --- |"]
        for name, ms in posterior_rows(args.packages_path, 20):
            lines.append(f"| {name} | {ms:.2f} |")
            print(lines[-1], flush=True)
    write_section(args.out, "bench_inference", "\n".join(lines))


if __name__ == "__main__":
    main()
