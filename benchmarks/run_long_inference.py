"""NUTS library comparison on the y-map posterior (not in CI).

    python benchmarks/run_long_inference.py libraries -p PACKAGES [--warmup 500 --samples 1000]

The same NUTS problem (tsz_profile.yaml's unconstrained posterior,
``classy_szlite_cobaya.inference.posterior_from_yaml``; 2 chains run one after another from
``ref`` draws) with numpyro's NUTS and with blackjax's window adaptation + NUTS (``pip install
blackjax``, not a dependency), diagonal and dense metric: min over parameters of ESS / wall
seconds (compilation included). Output: text on stdout.

The long runs of the retired ``classy-szlite-cobaya nuts`` command (``profile``: NUTS vs
Cobaya mcmc; ``full``: full-pipeline NUTS with flow and ridge moves) are gone with it; their
numbers stay in BENCHMARKS.md. Sampling now goes through ``cobaya-run`` (samplers.nuts,
samplers.nautilus).
"""
import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

REPO = Path(__file__).resolve().parents[1]


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
    ap.add_argument("what", choices=("libraries",))
    ap.add_argument("-p", "--packages-path", required=True)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    libraries(args)


if __name__ == "__main__":
    main()
