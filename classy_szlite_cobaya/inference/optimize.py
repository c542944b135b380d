r"""MAP / best fit of the y-map posterior with optax L-BFGS, from the same Cobaya YAML.

    classy-szlite-cobaya map input_yamls/tsz_profile.yaml [-p PACKAGES] [--starts 4]

Minimises -log posterior(theta(u)) over the unconstrained u (uniform prior [a, b]:
theta = a + (b - a) sigmoid(u)), WITHOUT the Jacobian, so the optimum is the maximum of the
posterior in theta (what Cobaya's ``minimize`` finds) and a bound can be approached but never
crossed. Several starts (the YAML's ``ref`` draws) guard against local optima. Reports
chi2 = -2 log L at the optimum, and each parameter whose optimum sits on a prior edge
(:func:`prior_edges`): there the prior, not the data, sets the value, which is then a bound.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import NamedTuple

import numpy as np

__all__ = ["MapResult", "find_map", "PriorEdge", "prior_edges", "format_map_parameters",
           "add_arguments", "run"]


class MapResult(NamedTuple):
    """theta (n,), names, logpost, chi2 = -2 log L, iterations of the best start, wall_s."""

    names: tuple
    theta: np.ndarray
    logpost: float
    chi2: float
    iterations: int
    wall_s: float


def _minimise(f, u0, maxiter: int, tol: float):
    import jax
    import jax.numpy as jnp
    import optax

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(f)

    def step(carry):
        u, state, _, it = carry
        value, grad = value_and_grad(u, state=state)
        updates, state = opt.update(grad, state, u, value=value, grad=grad, value_fn=f)
        return optax.apply_updates(u, updates), state, jnp.max(jnp.abs(grad)), it + 1

    def cont(carry):
        _, _, gmax, it = carry
        return (it < maxiter) & (gmax > tol)

    @jax.jit
    def solve(u0):
        init = (u0, opt.init(u0), jnp.asarray(jnp.inf), 0)
        u, _, _, it = jax.lax.while_loop(cont, step, init)
        return u, it

    return solve(jnp.asarray(u0, dtype=float))


def find_map(post, starts: int = 4, seed: int = 0, maxiter: int = 500, tol: float = 1e-7
             ) -> MapResult:
    """Maximum a posteriori of ``post`` (:class:`~.posterior.YMapPosterior`).

    ``starts`` L-BFGS runs from the ``ref`` centre and ``starts - 1`` ``ref`` draws; stops when
    max |d(-log post)/du| < tol or after ``maxiter`` iterations; returns the best.
    """
    import jax

    rng = np.random.default_rng(seed)
    f = lambda u: -post.log_posterior(post.from_unconstrained(u)[0])  # noqa: E731
    t0 = time.perf_counter()
    best = None
    for k in range(starts):
        theta0 = post.reference_point(rng if k else None)
        u, it = _minimise(f, post.to_unconstrained(theta0), maxiter, tol)
        val = float(f(u))
        if np.isfinite(val) and (best is None or val < best[0]):
            best = (val, u, int(it))
    if best is None:
        raise ValueError("No start reached a finite posterior.")
    val, u, it = best
    theta = np.asarray(post.from_unconstrained(u)[0])
    chi2 = float(jax.jit(post.chi2)(theta))
    return MapResult(tuple(post.names), theta, -val, chi2, it, time.perf_counter() - t0)


class PriorEdge(NamedTuple):
    """A MAP coordinate on a uniform prior's edge: parameter name, value, side ("lower" or
    "upper"), the edge value and the distance |value - edge| as a fraction of the width."""

    name: str
    value: float
    side: str
    edge: float
    fraction: float


def prior_edges(post, theta, rel_tol: float = 1e-3) -> list[PriorEdge]:
    """The coordinates of ``theta`` within ``rel_tol`` x (b - a) of an edge of their uniform
    prior [a, b] (``post.priors``, ``post.names``); normal priors have no edge. The
    optimiser's sigmoid map approaches an edge without reaching it, so an optimum "on" the
    edge shows as a value a tiny fraction of the width away (e.g. 4e-85 from 0)."""
    if not 0 < rel_tol < 0.5:
        raise ValueError(f"rel_tol must be in (0, 0.5), got {rel_tol!r}")
    out = []
    for name, prior, x in zip(post.names, post.priors, np.asarray(theta, dtype=float)):
        if prior.kind != "uniform":
            continue
        width = prior.b - prior.a
        for side, edge in (("lower", prior.a), ("upper", prior.b)):
            frac = abs(x - edge) / width
            if frac <= rel_tol:
                out.append(PriorEdge(name, float(x), side, float(edge), float(frac)))
    return out


def format_map_parameters(post, theta, rel_tol: float = 1e-3, near_tol: float = 1e-2
                          ) -> list[str]:
    """One line per parameter: name and value; for one on a prior edge (:func:`prior_edges`
    with ``rel_tol``) "at the lower prior edge 0" instead of a number such as 3.8e-85 that
    only says how close the sigmoid came; for one within ``near_tol`` of the width, the value
    and "near the lower prior edge 3"; then a summary line if any parameter is on an edge."""
    edges = {e.name: e for e in prior_edges(post, theta, rel_tol)}
    near = {e.name: e for e in prior_edges(post, theta, near_tol) if e.name not in edges}
    lines = []
    for name, x in zip(post.names, np.asarray(theta, dtype=float)):
        if (e := edges.get(name)) is not None:
            lines.append(f"  {name:<10} at the {e.side} prior edge {e.edge:g} "
                         f"(distance {e.fraction:.1e} of the prior width)")
        elif (e := near.get(name)) is not None:
            lines.append(f"  {name:<10} {x:<10.6g} near the {e.side} prior edge {e.edge:g} "
                         f"(distance {e.fraction:.1e} of the prior width)")
        else:
            lines.append(f"  {name:<10} {x:.6g}")
    if edges:
        lines.append(f"  {len(edges)} parameter(s) at a prior edge ({', '.join(edges)}): the "
                     f"prior, not the data, sets them; read them as bounds or widen the prior.")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("yaml", help="Cobaya input YAML (e.g. input_yamls/tsz_profile.yaml)")
    parser.add_argument("-p", "--packages-path", default=None,
                        help="Cobaya packages path with the installed data (as cobaya-run -p)")
    from ..cli import int_arg   # numeric options checked at parse time, before any fit

    parser.add_argument("--starts", type=int_arg(1), default=4,
                        help="number of L-BFGS starts (>= 1)")
    parser.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)
    parser.add_argument("--maxiter", type=int_arg(1), default=500,
                        help="L-BFGS iterations per start (>= 1)")
    return parser


def run(args: argparse.Namespace) -> MapResult:
    from .posterior import posterior_from_yaml

    post = posterior_from_yaml(args.yaml, args.packages_path)
    res = find_map(post, args.starts, args.seed, args.maxiter)
    print(f"{post}: MAP by optax L-BFGS ({args.starts} starts, {res.wall_s:.1f} s)")
    for line in format_map_parameters(post, res.theta):
        print(line)
    d = {k: float(v) for k, v in post.derived(res.theta).items()}
    print("  " + ", ".join(f"{k} = {v:.5g}" for k, v in d.items()))
    print(f"chi2 = {res.chi2:.4f} ({post.ell.size} bins); -log posterior = {-res.logpost:.4f}")
    return res


def main(argv=None) -> int:
    from ..cli import module_main
    return module_main(sys.modules[__name__], "python -m classy_szlite_cobaya.inference.optimize",
                       "MAP of the y-map posterior of a Cobaya YAML (optax L-BFGS)", argv)


if __name__ == "__main__":
    sys.exit(main())
