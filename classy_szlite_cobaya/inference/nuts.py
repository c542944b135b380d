r"""NUTS (numpyro) on the y-map posterior, chains written in Cobaya's GetDist format.

    classy-szlite-cobaya nuts input_yamls/tsz_profile.yaml [-p PACKAGES] [--chains 2]
        [--warmup 500] [--samples 1000] [--seed 0] [-o PREFIX] [--dense-mass]
        [--rminus1-stop 0.01 [--chunk 100]] [--max-minutes M]
        [--precondition auto|flow|laplace|none [--flow-steps 1500] [--flow-restarts 2]
         [--flow-beta 1]
         [--global-moves K] [--global-scale S]] [--ridge-moves K]
        [--chain-method parallel|sequential|vectorized] [--max-tree-depth 8 10]

Defaults: the chains run in parallel, one CPU device (thread) each. Preconditioning
(``auto``): at fixed cosmology the starting metric is the Laplace approximation at the mode
of the unconstrained posterior (:func:`.optimize.laplace`), which spares the first
adaptation window the badly scaled identity metric (the foreground amplitudes are ~10x
narrower than the prior-dominated cosmology in u); with the cosmology sampled, whose
posterior is a curved ridge no metric fits, NUTS samples through a normalising flow fitted
by SVI (NeuTra, :mod:`.flow`). After each NUTS transition (after warmup) come global
independence Metropolis-Hastings moves (:mod:`.global_moves`, flowMC-style):
``--global-moves`` proposed by the flow (default 16 with the flow) and ``--ridge-moves``
proposed along the F ridge, the prior-dominated parameters from their priors
(:mod:`.ridge`; default 16 when the cosmology is sampled). The ridge moves reach the
corners of the prior box that the flow misses, so no region holds a chain. Measured on
tsz.yaml (2 cores): max R-1 after ~28 min 0.225 (Laplace metric), 0.034 (flow),
0.0084-0.0135 (flow + flow moves); with the ridge moves R-1 < 0.01 in 12-19 min (4 of 4
runs, BENCHMARKS.md).

NUTS samples the unconstrained vector u (uniform priors through a sigmoid, see
:mod:`.posterior`), whose log density includes the Jacobian; the chains store theta. Files at
the YAML's ``output`` prefix (or ``-o``), as Cobaya writes them:

* ``PREFIX.1.txt``, ``PREFIX.2.txt``, ...: columns weight (= 1), minuslogpost (-log posterior
  of theta, Cobaya's normalisation), sampled parameters, derived sigma8, Omega_m, S8, h, F,
  minuslogprior, chi2 (= -2 log L);
* ``PREFIX.paramnames`` (derived names end in ``*``), ``PREFIX.ranges`` (uniform priors);
* ``PREFIX.updated.yaml``: the Cobaya input with defaults, for ``classy-szlite-cobaya plot``.

Library: numpyro rather than blackjax, measured on tsz_profile.yaml (2 chains, 500 warmup +
1000 draws, 2-core CPU): 5.7 vs 1.8 effective samples per second with a diagonal mass matrix
(4.1 vs 1.6 dense); numpyro also gives the progress bar, sequential/vectorised chains and the
R-hat/ESS diagnostics used here. Reproduce: ``benchmarks/run_long_inference.py libraries``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["NutsResult", "run_nuts", "laplace_metric", "use_cpu_devices", "write_getdist",
           "diagnostics", "add_arguments", "check_options", "resolve_moves", "run"]


class NutsResult(NamedTuple):
    """Draws after warmup. theta (chains, draws, n_params); logpost, loglike (chains, draws);
    derived (chains, draws, 5) in DERIVED_NAMES order; wall_s: warmup + sampling seconds
    (compilation included); num_steps: mean leapfrog steps per draw; divergences: count;
    global_accept_rate, ridge_accept_rate: accepted flow / ridge moves per proposal (nan
    without them)."""

    names: tuple
    theta: np.ndarray
    logpost: np.ndarray
    loglike: np.ndarray
    derived: np.ndarray
    wall_s: float
    num_steps: float
    divergences: int
    global_accept_rate: float = float("nan")
    ridge_accept_rate: float = float("nan")


def diagnostics(theta: np.ndarray) -> dict:
    """Split-R-hat minus 1 and effective sample size per parameter of (chains, draws, n)."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    n = theta.shape[2]
    ess = np.array([effective_sample_size(theta[:, :, i]) for i in range(n)])
    if theta.shape[0] > 1:
        rm1 = np.array([split_gelman_rubin(theta[:, :, i]) for i in range(n)]) - 1.0
    else:
        rm1 = np.full(n, np.nan)
    return {"ess": ess, "rminus1": rm1}


def run_nuts(post, chains: int = 2, warmup: int = 500, samples: int = 1000, seed: int = 0,
             progress_bar: bool = True, dense_mass: bool = False,
             chain_method: str = "sequential", init_theta=None, max_tree_depth=10,
             inverse_mass_matrix=None, rminus1_stop: float | None = None, chunk: int = 100,
             max_seconds: float | None = None, log=None, reparam=None,
             global_moves: int = 0, global_scale: float = 1.0, ridge=None,
             ridge_moves: int = 0) -> NutsResult:
    """Run NUTS on ``post`` (:class:`~.posterior.YMapPosterior`).

    Chains start from draws of the YAML's ``ref`` distributions (or ``init_theta``,
    (chains, n)). ``inverse_mass_matrix``: starting metric in u ((n, n) with
    ``dense_mass``, else (n,)), e.g. from :func:`~.optimize.laplace`; adaptation refines it.
    ``max_tree_depth``: int, or (warmup, sampling) pair. ``chain_method``: "sequential"
    (one after another), "vectorized" (chains vmapped in one program) or "parallel" (one
    XLA device per chain; on a CPU call :func:`use_cpu_devices` before JAX starts, else
    numpyro falls back to sequential).

    Stopping: ``samples`` draws per chain, or, with ``rminus1_stop`` (>= 2 chains), draws in
    blocks of ``chunk`` until the max over parameters of split R-hat - 1 (numpyro's
    ``split_gelman_rubin``, per parameter; not Cobaya's R-1 of means, which
    :mod:`classy_szlite_cobaya.samplers.nuts` uses)
    of the sampled parameters is below it, at most ``samples`` draws; ``max_seconds`` (wall
    time from the start, warmup included) stops before a block that would overrun it.
    ``log``: callable for one-line progress reports (e.g. ``print``).

    ``reparam``: a bijection z -> (u, log|det du/dz|) such as :class:`~.flow.FlowReparam`
    (NeuTra); NUTS then samples z with log p_z = log p_u(u(z)) + log|det du/dz| (the same
    posterior in other coordinates) and the chains start from unit-normal draws of z (the
    flow's approximate posterior draws; ``init_theta`` is not used).
    ``global_moves`` > 0 (needs ``reparam``): after each NUTS transition, that many
    independence Metropolis-Hastings moves with z' ~ N(0, ``global_scale``^2 1), the flow
    as a global proposal (:class:`~.global_moves.GlobalMovesNUTS`). ``ridge_moves`` > 0:
    then that many independence moves proposed by ``ridge`` (:class:`~.ridge.RidgeProposal`,
    built for the same ``reparam``).
    """
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    for name, value, lo in (("chains", chains, 1), ("warmup", warmup, 0),
                            ("samples", samples, 1), ("chunk", chunk, 1), ("seed", seed, 0),
                            ("global_moves", global_moves, 0), ("ridge_moves", ridge_moves, 0),
                            *(("max_tree_depth", d, 1) for d in np.atleast_1d(max_tree_depth))):
        _check_count(name, value, lo)
    if not (np.isfinite(global_scale) and global_scale > 0):
        raise ValueError(f"global_scale must be a finite number > 0, got {global_scale!r}")
    if max_seconds is not None and np.isnan(max_seconds):
        raise ValueError(f"max_seconds must be a number (or None), got {max_seconds!r}")
    rng = np.random.default_rng(seed)
    if rminus1_stop is not None and chains < 2:
        raise ValueError(f"rminus1_stop = {rminus1_stop} needs chains >= 2, got {chains}")
    if global_moves and reparam is None:
        raise ValueError("global_moves (--global-moves) needs the flow (reparam / "
                         "--precondition flow)")
    if ridge_moves and (ridge is None or ridge.reparam is not reparam):
        raise ValueError("ridge_moves (--ridge-moves) needs a RidgeProposal (ridge) built "
                         "for the sampler's coordinates (its reparam is run_nuts's)")
    if reparam is None:
        if init_theta is None:
            init_theta = np.stack([post.reference_point(rng) for _ in range(chains)])
        x0 = np.stack([post.to_unconstrained(t) for t in np.atleast_2d(init_theta)])

        def to_u(x):
            return x, 0.0
    else:
        x0 = rng.standard_normal((chains, len(post.names)))
        to_u = reparam
    x0 = jnp.asarray(x0[0] if chains == 1 else x0)   # numpyro: one chain takes unbatched values

    def potential(x):
        u, logdet = to_u(x)
        return -(post.log_density_unconstrained(u) + logdet)

    if inverse_mass_matrix is not None:
        inverse_mass_matrix = jnp.asarray(inverse_mass_matrix, dtype=float)
    kernel = NUTS(potential_fn=potential, dense_mass=dense_mass, max_tree_depth=max_tree_depth,
                  inverse_mass_matrix=inverse_mass_matrix)
    fields = ("num_steps", "diverging")
    proposals = []                                   # (kind, proposal, moves per transition)
    if global_moves:
        from .global_moves import NormalProposal

        proposals.append(("flow", NormalProposal(potential, global_scale), global_moves))
    if ridge_moves:
        proposals.append(("ridge", ridge, ridge_moves))
    moves = [(kind, k) for kind, _, k in proposals]
    if proposals:
        from .global_moves import GlobalMovesNUTS

        kernel = GlobalMovesNUTS(kernel, potential, [(p, k) for _, p, k in proposals])
        fields = ("hmc.num_steps", "hmc.diverging", "global_accepts")
    block = samples if rminus1_stop is None and max_seconds is None else min(chunk, samples)
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=block, num_chains=chains,
                chain_method=chain_method, progress_bar=progress_bar)
    to_theta = jax.jit(jax.vmap(jax.vmap(lambda x: post.from_unconstrained(to_u(x)[0])[0])))
    t0 = time.perf_counter()
    mcmc.warmup(jax.random.PRNGKey(seed), init_params=x0, extra_fields=fields)
    thetas, steps, divs, accepts = [], [], [], []
    while True:
        t_block = time.perf_counter()
        mcmc.run(mcmc.post_warmup_state.rng_key, extra_fields=fields)
        mcmc.post_warmup_state = mcmc.last_state
        x = np.asarray(mcmc.get_samples(group_by_chain=True)).reshape(chains, block, -1)
        thetas.append(np.asarray(to_theta(x)))
        extra = mcmc.get_extra_fields(group_by_chain=True)
        steps.append(np.asarray(extra[fields[0]]))
        divs.append(np.asarray(extra[fields[1]]))
        if moves:
            accepts.append(np.asarray(extra["global_accepts"]))
        now = time.perf_counter()
        n_done = block * len(thetas)
        rm1 = np.nan
        if chains > 1:
            rm1 = float(np.max(diagnostics(np.concatenate(thetas, 1))["rminus1"]))
        if log is not None:
            rates = "".join(f", {m} moves accepted {r:.3f}"
                            for m, r in _accept_rates(accepts[-1:], moves).items())
            log(f"  {n_done} draws/chain, {now - t0:.0f} s, max split R-hat - 1 {rm1:.4f}, "
                f"mean leapfrog "
                f"steps {np.mean(steps[-1]):.0f}{rates}")
        if n_done + block > samples or (rminus1_stop is not None and rm1 < rminus1_stop):
            break
        if max_seconds is not None and now - t0 + (now - t_block) > max_seconds:
            break
    theta = np.concatenate(thetas, axis=1)
    wall = time.perf_counter() - t0
    rates = _accept_rates(accepts, moves)

    # Columns at the stored draws (theta is already mapped, block by block, above).
    @jax.jit
    def columns(th):
        return post.log_prior(th), post.log_likelihood(th), post.derived_vector(th)

    shape = theta.shape[:2]
    lprior, lL, der = (np.asarray(a) for a in jax.lax.map(
        columns, jnp.asarray(theta.reshape(-1, theta.shape[-1])), batch_size=64))
    return NutsResult(tuple(post.names), theta,
                      (lprior + lL).reshape(shape), lL.reshape(shape),
                      der.reshape(*shape, -1), wall,
                      float(np.mean(np.concatenate(steps, axis=-1))),
                      int(np.sum(np.concatenate(divs, axis=-1))),
                      rates.get("flow", float("nan")), rates.get("ridge", float("nan")))


def _check_count(name: str, value, lo: int) -> None:
    """``value`` must be an integer (int or NumPy integer; not bool, not 2.0) >= ``lo``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {lo}, got {value!r} "
                        f"({type(value).__name__})")
    if value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value}")


def _accept_rates(accepts, moves) -> dict:
    """kind -> accepted moves per proposal, from blocks of the "global_accepts" field
    (chains, draws, len(moves)); ``moves``: the (kind, k) pairs of the kernel (none: {})."""
    if not moves:
        return {}
    acc = np.concatenate(accepts, axis=1)
    return {m: float(np.mean(acc[..., j]) / k) for j, (m, k) in enumerate(moves)}


def laplace_metric(post, dense_mass: bool, laplace_result=None) -> np.ndarray:
    """Starting inverse mass matrix for :func:`run_nuts`: the Laplace covariance in u
    (``laplace_result``, or :func:`~.optimize.laplace` of ``post``), (n, n) if
    ``dense_mass`` else its diagonal (n,)."""
    from .optimize import laplace

    cov = (laplace(post) if laplace_result is None else laplace_result).cov_u
    return cov if dense_mass else np.diag(cov)


def use_cpu_devices(n: int) -> None:
    """Expose ``n`` CPU devices to XLA so that ``chain_method="parallel"`` runs the chains in
    separate threads. Must run before JAX's first computation (it sets XLA_FLAGS)."""
    import numpyro

    numpyro.set_host_device_count(n)


def write_getdist(prefix: str | os.PathLike, post, result: NutsResult) -> list[Path]:
    """Write ``PREFIX.{1..n}.txt``, ``.paramnames``, ``.ranges``, ``.updated.yaml``."""
    from cobaya.yaml import yaml_dump

    from .posterior import DERIVED_NAMES

    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = list(result.names)
    cols = ["weight", "minuslogpost", *names, *DERIVED_NAMES, "minuslogprior", "chi2"]
    written = []
    for c in range(result.theta.shape[0]):
        n = result.theta.shape[1]
        data = np.column_stack([np.ones(n), -result.logpost[c], result.theta[c],
                                result.derived[c], -(result.logpost[c] - result.loglike[c]),
                                -2.0 * result.loglike[c]])
        path = Path(f"{prefix}.{c + 1}.txt")
        # Cobaya's header: '#' then the column names, right-aligned like the numbers.
        header = " ".join(f"{s:>20}" for s in cols)[1:]
        np.savetxt(path, data, fmt="%20.12e", delimiter=" ", header=header, comments="#")
        written.append(path)
    latex = {"sigma8": r"\sigma_8", "Omega_m": r"\Omega_\mathrm{m}", "S8": "S_8", "h": "h",
             "F": "F", "minuslogprior": r"-\log\pi", "chi2": r"\chi^2"}
    lines = [f"{n}\t{post.latex.get(n, n)}" for n in names]
    lines += [f"{n}*\t{latex[n]}" for n in (*DERIVED_NAMES, "minuslogprior", "chi2")]
    Path(f"{prefix}.paramnames").write_text("\n".join(lines) + "\n")
    Path(f"{prefix}.ranges").write_text(
        "".join(f"{n} {lo!r} {hi!r}\n" for n, (lo, hi) in post.ranges().items()))
    info = dict(post.info)
    info["output"] = str(prefix)
    info["sampler"] = {"nuts (classy_szlite_cobaya.inference.nuts)": None}
    Path(f"{prefix}.updated.yaml").write_text(yaml_dump(info))
    written += [Path(f"{prefix}.{e}") for e in ("paramnames", "ranges", "updated.yaml")]
    return written


#: Largest NUTS tree depth accepted on the command line: 2^30 leapfrog steps (~10^9 gradient
#: evaluations) per draw is far beyond any useful run, and a typo must not start one.
MAX_TREE_DEPTH = 30
#: Seeds are NumPy and JAX PRNG seeds: non-negative, below 2^32 (the flow fits use seed + i).
MAX_SEED = 2**32 - 1


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of the ``nuts`` command. Every numeric value is checked by its argparse type
    (:func:`~classy_szlite_cobaya.cli.int_arg`, :func:`~classy_szlite_cobaya.cli.float_arg`),
    so a bad one stops the command at once, before the posterior is built or anything is
    fitted; :func:`check_options` adds the checks that combine options."""
    from ..cli import float_arg, int_arg

    parser.add_argument("yaml", help="Cobaya input YAML (e.g. input_yamls/tsz_profile.yaml)")
    parser.add_argument("-p", "--packages-path", default=None,
                        help="Cobaya packages path with the installed data (as cobaya-run -p)")
    parser.add_argument("-o", "--output", default=None,
                        help="chain prefix (default: the YAML's 'output')")
    parser.add_argument("--chains", type=int_arg(1), default=2, help="number of chains (>= 1)")
    parser.add_argument("--warmup", type=int_arg(0), default=500,
                        help="adaptation steps per chain (>= 0)")
    parser.add_argument("--samples", type=int_arg(1), default=1000,
                        help="stored draws per chain (>= 1)")
    parser.add_argument("--seed", type=int_arg(0, MAX_SEED), default=0,
                        help=f"random seed, 0 to {MAX_SEED}")
    parser.add_argument("--dense-mass", action="store_true",
                        help="adapt a dense mass matrix (default diagonal)")
    parser.add_argument("--precondition", choices=("auto", "flow", "laplace", "none"),
                        default="auto",
                        help="flow: NUTS samples through a normalising flow fitted by SVI "
                             "(NeuTra, inference/flow.py); laplace: starting metric = the "
                             "Laplace covariance at the mode; none: numpyro's identity; auto "
                             "(default): flow when the cosmology is sampled, else laplace")
    parser.add_argument("--flow-steps", type=int_arg(1), default=1500,
                        help="SVI steps of the flow fit (default 1500)")
    parser.add_argument("--flow-restarts", type=int_arg(1), default=2,
                        help="fit this many flows (seeds seed, seed+1, ...) and keep the one "
                             "with the best importance efficiency (default 2)")
    parser.add_argument("--flow-beta", type=float_arg(0.0, 1.0, lo_open=True), default=1.0,
                        help="fit the flow to posterior^beta, beta in (0, 1] (< 1: a wider "
                             "flow that covers the tails; NUTS's target is unchanged; "
                             "default 1)")
    parser.add_argument("--global-moves", type=int_arg(0), default=None, metavar="K",
                        help="with the flow: K independence moves z' ~ N(0, s^2) after each "
                             "NUTS transition, the flow as a global proposal "
                             "(inference/global_moves.py); 0: NUTS alone (default: 16 with "
                             "the flow)")
    parser.add_argument("--global-scale", type=float_arg(0.0, lo_open=True), default=1.0,
                        metavar="S",
                        help="width s > 0 of the global proposal in the flow's base space "
                             "(default 1)")
    parser.add_argument("--ridge-moves", type=int_arg(0), default=None, metavar="K",
                        help="K independence moves per NUTS transition along the F ridge "
                             "(priors for the weakly constrained parameters, a Student-t for "
                             "ln F and the foregrounds, inference/ridge.py); 0: none "
                             "(default: 16 when the cosmology with its amplitude is sampled)")
    parser.add_argument("--chain-method", choices=("parallel", "sequential", "vectorized"),
                        default="parallel",
                        help="parallel: one CPU thread per chain (default); sequential: one "
                             "after another; vectorized: vmapped in one program")
    parser.add_argument("--max-tree-depth", type=int_arg(1, MAX_TREE_DEPTH), nargs=2,
                        default=(8, 10), metavar=("WARMUP", "SAMPLING"),
                        help="largest NUTS tree depth (2^depth - 1 leapfrog steps) during "
                             f"warmup and sampling, 1 to {MAX_TREE_DEPTH} (default 8 10)")
    parser.add_argument("--rminus1-stop", type=float_arg(0.0, lo_open=True), default=None,
                        help="draw in blocks of --chunk until max split R-hat - 1 < this (> 0; needs "
                             "--chains >= 2; then --samples is the most per chain)")
    parser.add_argument("--chunk", type=int_arg(1), default=100,
                        help="draws per block (>= 1, default 100)")
    parser.add_argument("--max-minutes", type=float_arg(0.0, lo_open=True), default=None,
                        help="stop drawing before a block would overrun this wall time "
                             "(> 0; set-up included: Laplace, flow fit, warmup)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def check_options(args: argparse.Namespace) -> None:
    """Checks that combine options and need no YAML (ValueError naming the options); the
    single values were checked by their argparse types."""
    if args.rminus1_stop is not None and args.chains < 2:
        raise ValueError(f"--rminus1-stop {args.rminus1_stop} needs --chains >= 2 (R-1 "
                         f"compares chains), got --chains {args.chains}")
    if args.global_moves and args.precondition in ("laplace", "none"):
        raise ValueError(f"--global-moves {args.global_moves} needs the flow, got "
                         f"--precondition {args.precondition} (use flow, or auto with the "
                         "cosmology sampled)")


def resolve_moves(args: argparse.Namespace, post) -> tuple[str, int, int]:
    """(precondition, global moves, ridge moves) for ``post``: ``auto`` and the defaults
    resolved as documented in :func:`add_arguments`; ValueError, before anything is fitted,
    for moves the posterior cannot have (flow moves without the flow, ridge moves without
    the amplitude sampled)."""
    from .ridge import sampled_amplitude

    precondition = args.precondition
    if precondition == "auto":
        precondition = "laplace" if post.fast else "flow"
    global_moves = args.global_moves
    if global_moves is None:
        global_moves = 16 if precondition == "flow" else 0
    elif global_moves and precondition != "flow":
        raise ValueError(f"--global-moves {global_moves} needs the flow, but --precondition "
                         f"{args.precondition} chose {precondition} for {args.yaml} (its "
                         "cosmology is fixed); pass --precondition flow or --global-moves 0")
    ridge_moves = args.ridge_moves
    if ridge_moves is None:
        ridge_moves = 16 if not post.fast and sampled_amplitude(post) else 0
    elif ridge_moves and not sampled_amplitude(post):
        raise ValueError(f"--ridge-moves {ridge_moves} needs the amplitude (logA or A_s) "
                         f"sampled, and {args.yaml} samples only {list(post.names)}; pass "
                         "--ridge-moves 0")
    return precondition, global_moves, ridge_moves


def run(args: argparse.Namespace) -> NutsResult:
    from .posterior import DERIVED_NAMES, posterior_from_yaml

    check_options(args)
    t_start = time.perf_counter()
    chain_method = args.chain_method
    if chain_method == "parallel":
        use_cpu_devices(args.chains)       # effective only before JAX's first computation
        import jax
        if jax.local_device_count() < args.chains:
            print(f"chain_method parallel needs {args.chains} devices, JAX has "
                  f"{jax.local_device_count()} (already started): running sequentially")
            chain_method = "sequential"
    post = posterior_from_yaml(args.yaml, args.packages_path)
    prefix = args.output or post.output_prefix
    if not prefix:
        raise ValueError("No output prefix: set 'output' in the YAML or pass -o PREFIX.")
    precondition, global_moves, ridge_moves = resolve_moves(args, post)
    print(f"{post}; NUTS: {args.chains} chains ({chain_method}) x ({args.warmup} warmup + "
          f"{args.samples} draws)", flush=True)
    imm = reparam = lap = None
    if precondition == "laplace" or (ridge_moves and precondition == "none"):
        from .optimize import laplace

        t = time.perf_counter()
        lap = laplace(post)
        print(f"Laplace approximation at the mode of the unconstrained posterior "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
        if precondition == "laplace":
            imm = laplace_metric(post, args.dense_mass, lap)
    if precondition == "flow":
        from .flow import best_flow

        reparam, effs = best_flow(post, restarts=args.flow_restarts, steps=args.flow_steps,
                                  beta=args.flow_beta, seed=args.seed)
        print(f"NeuTra flow: Laplace + {args.flow_restarts} x {args.flow_steps} SVI steps in "
              f"{reparam.wall_s:.1f} s; importance efficiency of each fit "
              f"{', '.join(f'{e:.3f}' for e in effs)} (the best is used), its -ELBO "
              f"{np.mean(reparam.losses[:10]):.2f} -> {np.mean(reparam.losses[-100:]):.2f}",
              flush=True)
    ridge = None
    if ridge_moves:
        from .flow import affine_reparam
        from .ridge import fit_ridge

        t = time.perf_counter()
        source = reparam if reparam is not None else affine_reparam(lap)
        draws = 1024
        ridge = fit_ridge(post, source, draws=draws, seed=args.seed, reparam=reparam)
        print(f"Ridge proposal fitted to {draws} weighted {'flow' if reparam else 'Laplace'} "
              f"draws ({time.perf_counter() - t:.1f} s): ln F, "
              + ", ".join(post.names[i] for i in ridge.i_block[1:]) + " ~ Student-t; "
              + ", ".join(post.names[i] for i in ridge.i_others) + " ~ prior", flush=True)
    res = run_nuts(post, args.chains, args.warmup, args.samples, args.seed,
                   progress_bar=not args.no_progress, dense_mass=args.dense_mass,
                   chain_method=chain_method, max_tree_depth=tuple(args.max_tree_depth),
                   inverse_mass_matrix=imm, rminus1_stop=args.rminus1_stop, chunk=args.chunk,
                   # the budget includes the set-up (posterior, Laplace, flow) already spent
                   max_seconds=None if args.max_minutes is None else
                   60.0 * args.max_minutes - (time.perf_counter() - t_start),
                   log=lambda m: print(m, flush=True), reparam=reparam,
                   global_moves=global_moves, global_scale=args.global_scale, ridge=ridge,
                   ridge_moves=ridge_moves)
    files = write_getdist(prefix, post, res)
    d = diagnostics(res.theta)
    print(f"wall {res.wall_s:.1f} s (warmup + sampling, compilation included); "
          f"mean leapfrog steps {res.num_steps:.1f}; divergences {res.divergences}"
          + (f"; flow moves accepted {res.global_accept_rate:.3f} of {global_moves} per "
             f"draw" if global_moves else "")
          + (f"; ridge moves accepted {res.ridge_accept_rate:.3f} of {ridge_moves} per "
             f"draw" if ridge_moves else ""))
    print(f"{'param':<10} {'mean':>11} {'sd':>11} {'Rhat-1':>9} {'ESS':>8} {'ESS/s':>8}")
    for i, n in enumerate(res.names):
        x = res.theta[:, :, i]
        print(f"{n:<10} {x.mean():11.5g} {x.std():11.5g} {d['rminus1'][i]:9.4f} "
              f"{d['ess'][i]:8.0f} {d['ess'][i] / res.wall_s:8.2f}")
    for j, n in enumerate(DERIVED_NAMES):
        x = res.derived[:, :, j]
        print(f"{n:<10} {x.mean():11.5g} {x.std():11.5g}")
    print(f"max split R-hat - 1 = {np.nanmax(d['rminus1']):.4f} across {res.theta.shape[0]} chains; "
          f"min ESS/s = {d['ess'].min() / res.wall_s:.2f}")
    print(f"best chi2 = {np.min(-2 * res.loglike):.3f}; wrote {', '.join(map(str, files))}")
    return res


def main(argv=None) -> int:
    from ..cli import module_main
    return module_main(sys.modules[__name__], "python -m classy_szlite_cobaya.inference.nuts",
                       "NUTS on the y-map posterior of a Cobaya YAML; GetDist chains", argv)


if __name__ == "__main__":
    sys.exit(main())
