"""Long inference runs of issue 5 (not in CI; the short versions are tests/test_inference.py).

    python benchmarks/run_long_inference.py profile   -p PACKAGES   # (a) NUTS vs Cobaya mcmc
    python benchmarks/run_long_inference.py full      -p PACKAGES   # (b) full-pipeline NUTS
    python benchmarks/run_long_inference.py libraries -p PACKAGES   # numpyro vs blackjax ESS/s

(a) tsz_profile.yaml (fixed cosmology): NUTS (numpyro, 2 chains) and Cobaya's mcmc (the
    YAML's sampler, Rminus1_stop tightened to --cobaya-rminus1); pass criteria: posterior
    means within 0.2 sigma and standard deviations within 10% for every sampled parameter;
    prints ESS/s of both (ESS: numpyro's estimator on the weight-expanded Cobaya chain after
    30% burn-in; wall time of each whole run).
(b) tsz_logA.yaml (cosmology + B + foregrounds, full pipeline; the inference module's YAML
    reader needs logA sampled): ``classy-szlite-cobaya nuts``
    with its defaults (2 parallel chains, NUTS through a NeuTra flow fitted by SVI, diagonal
    metric adapted in the flow's space, global independence moves proposed by the flow and
    along the F ridge),
    blocks of 100 draws until R-1 < --rminus1 (0.01) or the --minutes (30) budget would be
    overrun; prints F, sigma8, Omega_m. Chains at --out. Further options go to the nuts
    command, e.g. ``full -p PACKAGES --ridge-moves 0`` (the runs before the ridge moves).
(libraries) the same NUTS problem (tsz_profile.yaml, 2 chains, --warmup/--samples) with
    numpyro and with blackjax's window adaptation + NUTS: min ESS / wall seconds.

Outputs: text on stdout (paste into the issue's note) and chains under --out (default
chains/long_inference/).
"""
import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def ess_1d(x):
    from numpyro.diagnostics import effective_sample_size

    return float(effective_sample_size(np.asarray(x)[None, :]))


def profile(args):
    from cobaya.run import run as cobaya_run

    from classy_szlite_cobaya.inference import posterior_from_yaml
    from classy_szlite_cobaya.inference.nuts import diagnostics, run_nuts, write_getdist

    from classy_szlite_cobaya.inference.nuts import laplace_metric

    post = posterior_from_yaml(REPO / "input_yamls/tsz_profile.yaml", args.packages_path)
    t0 = time.perf_counter()
    # the CLI's defaults: Laplace starting metric (diagonal), chains in parallel
    res = run_nuts(post, chains=2, warmup=args.warmup, samples=args.samples, seed=args.seed,
                   progress_bar=False, chain_method="parallel",
                   inverse_mass_matrix=laplace_metric(post, dense_mass=False))
    res = res._replace(wall_s=time.perf_counter() - t0)
    write_getdist(Path(args.out) / "nuts_profile", post, res)
    d = diagnostics(res.theta)
    nuts = res.theta.reshape(-1, res.theta.shape[2])
    print(f"NUTS: wall {res.wall_s:.1f} s, max split R-hat - 1 {np.max(d['rminus1']):.4f}, "
          f"min ESS {d['ess'].min():.0f}, min ESS/s {d['ess'].min() / res.wall_s:.2f}", flush=True)

    info = yaml.safe_load((REPO / "input_yamls/tsz_profile.yaml").read_text())
    info["sampler"]["mcmc"]["Rminus1_stop"] = args.cobaya_rminus1
    info["output"] = str(Path(args.out) / "cobaya_profile")
    t0 = time.perf_counter()
    _, sampler = cobaya_run(info, packages_path=str(args.packages_path), force=True)
    wall_c = time.perf_counter() - t0
    chain = sampler.products()["sample"]
    n0 = int(0.3 * len(chain))
    w = chain["weight"].to_numpy()[n0:].astype(int)
    cob = np.column_stack([np.repeat(chain[n].to_numpy()[n0:], w) for n in post.names])
    ess_c = np.array([ess_1d(cob[:, i]) for i in range(cob.shape[1])])
    print(f"Cobaya mcmc: wall {wall_c:.1f} s, {len(chain)} accepted rows, "
          f"min ESS {ess_c.min():.0f}, min ESS/s {ess_c.min() / wall_c:.2f}")

    ok = True
    print(f"{'param':<7} {'NUTS mean':>11} {'Cobaya mean':>12} {'dmean/sd':>9} "
          f"{'NUTS sd':>9} {'Cobaya sd':>10} {'sd ratio':>9} {'ESS/s NUTS':>11} {'ESS/s cob':>10}")
    for i, n in enumerate(post.names):
        m1, m2, s1, s2 = nuts[:, i].mean(), cob[:, i].mean(), nuts[:, i].std(), cob[:, i].std()
        dm, r = (m1 - m2) / s2, s1 / s2
        ok &= abs(dm) < 0.2 and abs(r - 1) < 0.1
        print(f"{n:<7} {m1:11.4g} {m2:12.4g} {dm:9.3f} {s1:9.4g} {s2:10.4g} {r:9.3f} "
              f"{d['ess'][i] / res.wall_s:11.2f} {ess_c[i] / wall_c:10.2f}")
    print("PASS" if ok else "FAIL", "(means within 0.2 sigma, sd within 10%)")


def full(args):
    from classy_szlite_cobaya import cli

    # The CLI path users run: one CPU device per chain (parallel chains), the default
    # preconditioning (a NeuTra flow when the cosmology is sampled); stops at R-1 < --rminus1
    # or before overrunning --minutes.
    t0 = time.perf_counter()
    argv = ["nuts", str(REPO / "input_yamls/tsz_logA.yaml"), "-p", str(args.packages_path),
            "-o", str(Path(args.out) / "nuts_full"), "--chains", str(args.chains),
            "--warmup", str(args.warmup), "--samples", str(args.samples), "--seed",
            str(args.seed), "--rminus1-stop", str(args.rminus1),
            "--max-minutes", str(args.minutes - 1.0), "--no-progress", *args.nuts_args]
    print("classy-szlite-cobaya " + " ".join(argv[1:]), flush=True)
    rc = cli.main(argv)
    print(f"exit {rc}; total wall (set-up, Laplace, warmup, sampling, output): "
          f"{time.perf_counter() - t0:.0f} s", flush=True)


def libraries(args):
    import blackjax
    from numpyro.diagnostics import effective_sample_size
    from numpyro.infer import MCMC, NUTS

    from classy_szlite_cobaya.inference import posterior_from_yaml

    post = posterior_from_yaml(REPO / "input_yamls/tsz_profile.yaml", args.packages_path)
    ld = post.log_density_unconstrained
    rng = np.random.default_rng(args.seed)
    u0 = np.stack([post.to_unconstrained(post.reference_point(rng)) for _ in range(2)])
    to_theta = jax.jit(jax.vmap(jax.vmap(lambda u: post.from_unconstrained(u)[0])))

    def report(name, u, wall):
        th = np.asarray(to_theta(u))
        ess = min(effective_sample_size(th[:, :, i]) for i in range(th.shape[2]))
        print(f"{name:<9} wall {wall:6.1f} s  min ESS {ess:5.0f}  ESS/s {ess / wall:5.2f}",
              flush=True)

    for dense in (False, True):
        t = time.perf_counter()
        m = MCMC(NUTS(potential_fn=lambda u: -ld(u), dense_mass=dense), num_warmup=args.warmup,
                 num_samples=args.samples, num_chains=2, chain_method="sequential",
                 progress_bar=False)
        m.run(jax.random.PRNGKey(args.seed), init_params=jnp.asarray(u0))
        report(f"numpyro {'dense' if dense else 'diag'}", m.get_samples(group_by_chain=True),
               time.perf_counter() - t)
        t = time.perf_counter()
        out = []
        for c in range(2):
            k1, k2 = jax.random.split(jax.random.PRNGKey(args.seed + c))
            warm = blackjax.window_adaptation(blackjax.nuts, ld, is_mass_matrix_diagonal=not dense)
            (state, params), _ = warm.run(k1, jnp.asarray(u0[c]), num_steps=args.warmup)
            kernel = jax.jit(blackjax.nuts(ld, **params).step)

            def step(st, k):
                st, _ = kernel(k, st)
                return st, st.position

            out.append(jax.lax.scan(step, state, jax.random.split(k2, args.samples))[1])
        report(f"blackjax {'dense' if dense else 'diag'}", jnp.stack(out), time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=("profile", "full", "libraries"))
    ap.add_argument("-p", "--packages-path", required=True)
    ap.add_argument("--out", default="chains/long_inference")
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cobaya-rminus1", type=float, default=0.01)
    ap.add_argument("--rminus1", type=float, default=0.01, help="full: R-1 stop")
    ap.add_argument("--minutes", type=float, default=30.0, help="full: wall-time budget")
    args, args.nuts_args = ap.parse_known_args()   # full: the rest goes to the nuts CLI
    if args.nuts_args and args.what != "full":
        ap.error(f"unrecognized arguments: {' '.join(args.nuts_args)}")
    if args.what != "libraries":
        from classy_szlite_cobaya.inference.nuts import use_cpu_devices

        use_cpu_devices(args.chains)     # parallel chains: before JAX's first computation
    defaults = {"profile": (1000, 4000), "full": (300, 4000), "libraries": (500, 1000)}
    args.warmup = args.warmup or defaults[args.what][0]
    args.samples = args.samples or defaults[args.what][1]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    {"profile": profile, "full": full, "libraries": libraries}[args.what](args)


if __name__ == "__main__":
    main()
