r"""NUTS (numpyro) as a Cobaya sampler, on the pure-JAX posterior of the Cobaya model.

    sampler:
      classy_szlite_cobaya.samplers.nuts:
        warmup: 500          # adaptation steps (step size, mass matrix); not saved
        draws: 20000         # at most this many saved draws per chain
        check_every: 100     # draws per chunk: output written, convergence checked
        Rminus1_stop: 0.01

run by ``cobaya-run`` (``-r`` resumes, ``-f`` overwrites; ``mpirun -n N cobaya-run``: one
chain per MPI process). Every component must follow the JAX protocol of
:mod:`classy_szlite_cobaya.samplers.jax_model` (a component without it is refused, named).
Options (types checked; ValueError/TypeError naming the option): see ``NUTS.yaml``.

What it does:

* Posterior: :class:`~.jax_model.JaxModel` of the Cobaya model (priors, fixed and derived
  parameters from Cobaya). NUTS samples the unconstrained u (uniform priors via a sigmoid,
  Jacobian included); the draws are stored in theta.
* Start: Cobaya's ``ref`` (``model.prior.reference``), redrawn until the posterior is finite.
* Output: Cobaya's :class:`~cobaya.collection.SampleCollection` (``PREFIX.1.txt``, one per
  process), weight 1, minuslogpost, sampled, derived (Cobaya's own ``to_derived``),
  minuslogprior and chi2 columns as Cobaya writes them; ``cobaya.load_samples`` and GetDist
  read them. ``PREFIX.checkpoint`` holds the adapted step size and inverse mass matrix of each
  chain; ``PREFIX.progress`` one line per check.
* Stop rule: every ``check_every`` draws, the Gelman-Rubin R-1 of the means as Cobaya's mcmc
  computes it (:func:`rminus1_of_means`: largest |eigenvalue| of the between-chain covariance of
  the means in units of the mean within-chain covariance), over the last half of the draws of
  each chain (several processes) or over the last ``Rminus1_single_split - 1`` of
  ``Rminus1_single_split`` pieces of the one chain; converged when below ``Rminus1_stop`` at
  two consecutive checks, as Cobaya's mcmc. Reaching ``draws`` first ends the run with a
  warning and ``converged: False`` in the checkpoint.
* Divergences (numpyro's ``diverging``, all chains, after warmup) are counted and reported
  at each check; more than ``max_divergences`` (default 0) is a failed run: the draws so far
  are written, the checkpoint says ``converged: False``, and the run stops with an error.
* Resume: the draws covered by the last checkpoint are kept byte for byte; rows written after
  it (a chunk whose check did not finish, or a line cut by the kill) are dropped, the file is
  rewritten atomically, and the chain restarts at its last kept draw with the saved step size
  and mass matrix (no new warmup), so no kept draw is lost or repeated. A run killed before
  its first checkpoint starts again from scratch. Each chain ends with exactly ``draws`` draws
  when it reaches that number (the last chunk is shortened).
"""
from __future__ import annotations

import datetime
import math
import os
import re
from pathlib import Path

import numpy as np

from cobaya import mpi
from cobaya.collection import SampleCollection
from cobaya.conventions import Extension
from cobaya.functions import inverse_cholesky
from cobaya.log import LoggedError
from cobaya.sampler import Sampler
from cobaya.yaml import yaml_dump_file

from ..atomic import atomic_write

__all__ = ["NUTS", "rminus1_of_means"]


def rminus1_of_means(means, covs, ns=None) -> float:
    """Gelman-Rubin R-1 of the means across chains, as Cobaya's mcmc computes it.

    means (m, d), covs (m, d, d) of m >= 2 chains (or chain pieces), ns (m,) their lengths
    (weights of the within-chain covariance W; the between-chain covariance B of the means is
    unweighted, as in Cobaya). Returns max |eig(W^-1 B)|, computed on the correlation scale of
    B for stability; NaN if W is not positive definite.
    """
    means, covs = np.atleast_2d(means), np.asarray(covs, float)
    if covs.ndim == 2:
        covs = covs[:, None, None]
    w = np.average(covs, weights=ns, axis=0)
    b = np.atleast_2d(np.cov(means.T))
    d = np.sqrt(np.diag(b))
    corr_b = (b / d).T / d
    norm_w = (w / d).T / d
    try:
        linv = inverse_cholesky(norm_w)
    except np.linalg.LinAlgError:
        return math.nan
    return float(np.max(np.abs(np.linalg.eigvalsh(linv @ corr_b @ linv.T))))


def _int_option(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Option {name} must be an integer, got {value!r}")
    if value < lo:
        raise ValueError(f"Option {name} = {value} must be >= {lo}")
    return int(value)


def _float_option(name, value, lo, hi, lo_open=True, hi_open=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"Option {name} must be a number, got {value!r}")
    v = float(value)
    ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not (math.isfinite(v) and ok):
        raise ValueError(f"Option {name} = {value!r} must be in {'(' if lo_open else '['}"
                         f"{lo}, {hi}{')' if hi_open else ']'}")
    return v


class NUTS(Sampler):
    """No-U-Turn sampler (numpyro) on the JAX posterior of the Cobaya model; see the module
    docstring for the stop rule, divergences, output and resume."""

    # Stop-rule options may change at resume; the kernel's are those the saved adaptation was
    # made with.
    _at_resume_prefer_new = Sampler._at_resume_prefer_new + [
        "draws", "check_every", "Rminus1_stop", "Rminus1_single_split", "max_divergences"]
    _at_resume_prefer_old = Sampler._at_resume_prefer_old + [
        "warmup", "target_accept_prob", "max_tree_depth", "dense_mass"]

    # Option types only: the values live in NUTS.yaml.
    warmup: int
    draws: int
    check_every: int
    Rminus1_stop: float
    Rminus1_single_split: int
    target_accept_prob: float
    max_tree_depth: int
    dense_mass: bool
    max_divergences: int

    # Checkpoint state (restored by Cobaya's set_checkpoint_info on resume).
    converged: bool = False
    Rminus1_last: float = math.inf
    mpi_size: int | None = None
    adaptation: list | None = None
    saved_draws: list | None = None

    def initialize(self):
        try:
            self._check_options()
        except (TypeError, ValueError) as exc:
            raise LoggedError(self.log, "%s", exc) from None
        from .jax_model import JaxModel, JaxSupportError

        try:
            self.jax_model = JaxModel(self.model)
        except JaxSupportError as exc:
            raise LoggedError(self.log, "NUTS needs a pure-JAX posterior: %s", exc) from None
        if mpi.is_main_process() and self.output.is_resuming() and \
                max(self.mpi_size or 0, 1) != mpi.size():
            raise LoggedError(self.log, "Cannot resume a run with a different number of "
                              "chains: was %d and now is %d.", max(self.mpi_size or 0, 1),
                              mpi.size())
        mpi.sync_processes()
        resuming = self.output.is_resuming() and self._truncate_to_checkpoint()
        self.collection = SampleCollection(
            self.model, self.output, name=str(1 + mpi.rank()), resuming=resuming,
            sample_type="mcmc", is_batch=mpi.more_than_one_process())
        # Divergences of this chain so far (on resume: the checkpoint's count, so that a
        # resumed run is judged on all its draws).
        saved = getattr(self, "divergences", None)
        self.divergences = int(saved[mpi.rank()]) if (
            self.output.is_resuming() and isinstance(saved, list)
            and len(saved) == mpi.size()) else 0

    def _truncate_to_checkpoint(self) -> bool:
        """Cut this chain's file to the draws the last checkpoint covers (header and first
        ``saved_draws`` rows, byte for byte; atomic rewrite). Returns False, with the file
        removed, when there is nothing to keep (no checkpoint yet)."""
        fname, _ = self.output.prepare_collection(name=str(1 + mpi.rank()))
        saved = self.saved_draws
        keep = int(saved[mpi.rank()]) if (
            isinstance(saved, list) and len(saved) == mpi.size()
            and self.adaptation is not None) else 0
        try:
            with open(fname, encoding="utf-8") as f:
                lines = f.readlines()
        except FileNotFoundError:
            lines = []
        if keep == 0 or len(lines) < 1 + keep:
            if keep:
                self.log.warning("Chain file %s has %d draws, the checkpoint %d: starting "
                                 "this chain again.", fname, max(len(lines) - 1, 0), keep)
            if os.path.exists(fname):
                os.remove(fname)
            self.adaptation = None
            return False
        if len(lines) > 1 + keep:
            self.log.info("Dropping %d rows written after the last checkpoint of %s.",
                          len(lines) - 1 - keep, fname)
            atomic_write(fname, lambda tmp: Path(tmp).write_text("".join(lines[:1 + keep]),
                                                                 encoding="utf-8"))
        return True

    def _check_options(self):
        self.warmup = _int_option("warmup", self.warmup, 0)
        self.draws = _int_option("draws", self.draws, 1)
        self.check_every = _int_option("check_every", self.check_every, 1)
        self.Rminus1_single_split = _int_option("Rminus1_single_split",
                                                self.Rminus1_single_split, 2)
        self.max_tree_depth = _int_option("max_tree_depth", self.max_tree_depth, 1)
        self.max_divergences = _int_option("max_divergences", self.max_divergences, 0)
        self.Rminus1_stop = _float_option("Rminus1_stop", self.Rminus1_stop, 0.0, math.inf)
        self.target_accept_prob = _float_option("target_accept_prob",
                                                self.target_accept_prob, 0.0, 1.0)
        if not isinstance(self.dense_mass, bool):
            raise TypeError(f"Option dense_mass must be true or false, got {self.dense_mass!r}")

    # ------------------------------------------------------------------ run
    def run(self):
        import jax
        import jax.numpy as jnp
        from numpyro.infer.hmc import hmc

        if self.output.is_resuming() and self.converged:
            self.mpi_info("The run has converged already (checkpoint): nothing to do.")
            return
        jm = self.jax_model
        n_done = len(self.collection)
        state = self.adaptation[mpi.rank()] if n_done else None
        if n_done:
            theta0 = self.collection[self.collection.sampled_params].iloc[-1].to_numpy(float)
            self.log.info("Resuming from draw %d of this chain.", n_done)
        if mpi.share(n_done >= self.draws if mpi.is_main_process() else None):
            self.mpi_warning("The chains have reached draws = %d already: nothing to do (raise "
                             "'draws' to continue).", self.draws)
            return
        else:
            theta0 = self._initial_point()
        u0 = jax.jit(jm.to_unconstrained)(jnp.asarray(theta0, float))
        # jitted: numpyro's initialisation differentiates it outside any jit (one compiled
        # program instead of one per jnp operation).
        potential = jax.jit(lambda u: -jm.log_density_unconstrained(u))
        init_kernel, sample_kernel = hmc(potential, algo="NUTS")
        # A different stream for every restart point (a seeded run must not replay draws).
        key = jax.random.fold_in(jax.random.PRNGKey(int(self._rng.integers(2 ** 31 - 1))),
                                 n_done)
        kw = dict(dense_mass=self.dense_mass, target_accept_prob=self.target_accept_prob,
                  max_tree_depth=self.max_tree_depth, rng_key=key)
        if state is None:
            hmc_state = init_kernel(u0, self.warmup, **kw)
        else:
            # Continue with the adapted kernel: a new warmup would change the kernel
            # mid-chain and cost draws' worth of work.
            hmc_state = init_kernel(
                u0, 0, step_size=float(state["step_size"]),
                inverse_mass_matrix=jnp.asarray(state["inverse_mass_matrix"], float),
                adapt_step_size=False, adapt_mass_matrix=False, **kw)

        def chunk(st, n):
            def step(s, _):
                s = sample_kernel(s)
                return s, (s.z, s.diverging, s.num_steps)
            return jax.lax.scan(step, st, None, length=n)

        # One compilation per length (warmup, check_every); numpyro adapts while i < warmup.
        chunk = jax.jit(chunk, static_argnums=1)
        if state is None and self.warmup:
            self.mpi_info("NUTS warmup: %d steps per chain.", self.warmup)
            # In pieces of check_every steps (the same compiled program as the draws), so that a
            # long warmup reports its progress; numpyro's own step counter decides adaptation.
            n_div, done = 0, 0
            while done < self.warmup:
                n = min(self.check_every, self.warmup - done)
                hmc_state, (_, div, steps) = chunk(hmc_state, n)
                done, n_div = done + n, n_div + int(div.sum())
                self.log.info("Warmup %d/%d: step size %.3g, %.0f leapfrog steps per step, %d "
                              "divergences so far (not counted).", done, self.warmup,
                              float(hmc_state.adapt_state.step_size), float(np.mean(steps)),
                              n_div)
            self.log.info("Warmup done: step size %.3g, %d divergences during warmup (not "
                          "counted).", float(hmc_state.adapt_state.step_size), n_div)
        outputs = jax.jit(jax.vmap(lambda u: jm.evaluate(jm.from_unconstrained(u)[0])))
        while True:
            # Shortened last chunk: a chain ends with exactly `draws` draws.
            n_next = max(1, min(self.check_every, self.draws - len(self.collection)))
            hmc_state, (u, div, steps) = chunk(hmc_state, n_next)
            u = np.asarray(u)
            self.divergences += int(np.sum(div))
            self._save(u, outputs, float(np.mean(steps)))
            if self._check(hmc_state.adapt_state):
                return

    def _initial_point(self):
        import jax

        logpost = jax.jit(self.jax_model.logpost)
        for _ in range(1000):
            theta = self.model.prior.reference(random_state=self._rng)
            if np.isfinite(float(logpost(theta))):
                return theta
        raise LoggedError(self.log, "No point drawn from the reference pdf ('ref') in 1000 "
                          "tries has a finite posterior: set 'ref' inside the region where "
                          "the likelihood is valid.")

    def _save(self, u, outputs, mean_steps):
        jm = self.jax_model
        theta = np.asarray(jax_from_unconstrained(jm, u))
        post, lp, ll, out = (np.asarray(a) for a in outputs(u))
        for i in range(theta.shape[0]):
            derived = jm.derived(theta[i], ll[i], out[i])
            self.collection.add(theta[i], logpriors=[float(lp[i])], loglikes=ll[i],
                                derived=list(derived.values()))
        self.collection.out_update()
        self._mean_steps = float(mean_steps)

    def _check(self, adapt_state) -> bool:
        """Convergence check after a chunk, on all processes together; True: stop."""
        n = len(self.collection)
        if mpi.more_than_one_process():
            first = n // 2
            mean = self.collection.mean(first=first)
            cov = self.collection.cov(first=first)
            ns, means, covs = mpi.array_gather([n - first, mean, cov])
        else:
            m = self.Rminus1_single_split
            cut = n // m
            ranges = [(i * cut, (i + 1) * cut - 1) for i in range(1, m)]
            ns = np.full(m - 1, cut)
            means = np.array([self.collection.mean(first=a, last=b) for a, b in ranges])
            covs = np.array([self.collection.cov(first=a, last=b) for a, b in ranges])
        divergences = mpi.allgather(self.divergences)
        self.saved_draws = [int(x) for x in mpi.allgather(n)]
        adaptation = mpi.allgather({
            "step_size": float(adapt_state.step_size),
            "inverse_mass_matrix": np.asarray(adapt_state.inverse_mass_matrix).tolist()})
        rminus1 = math.nan
        if mpi.is_main_process():
            if min(ns) >= 2:
                rminus1 = rminus1_of_means(means, covs, ns)
            self.log.info("%d draws per chain; Gelman-Rubin R-1 of means across %s = %.4g "
                          "(stop below %g); divergences %s; %.1f leapfrog steps per draw.",
                          n, f"{mpi.size()} chains" if mpi.more_than_one_process()
                          else f"{self.Rminus1_single_split - 1} pieces of the chain",
                          rminus1, self.Rminus1_stop, divergences, self._mean_steps)
            converged = max(rminus1, self.Rminus1_last) < self.Rminus1_stop
            self.Rminus1_last = rminus1 if math.isfinite(rminus1) else math.inf
        else:
            converged = None
        converged, self.Rminus1_last = mpi.share((converged, self.Rminus1_last))
        total_div = int(sum(divergences))
        failed = total_div > self.max_divergences
        self.converged = bool(converged) and not failed
        self.adaptation = adaptation
        self._write_checkpoint(n, rminus1, divergences)
        if failed:
            raise LoggedError(
                self.log, "%d divergent transitions (more than max_divergences = %d): the "
                "draws do not represent the posterior and the run is NOT converged (draws so "
                "far written). Raise target_accept_prob (now %g), reparametrise the curved "
                "or funnel-like directions, or check the model for discontinuities.",
                total_div, self.max_divergences, self.target_accept_prob)
        if self.converged:
            self.mpi_info("Converged: R-1 of means < %g at two consecutive checks, %d draws "
                          "per chain, %d divergences.", self.Rminus1_stop, n, total_div)
            return True
        done = mpi.share(n >= self.draws if mpi.is_main_process() else None)
        if done:
            self.mpi_warning("Reached draws = %d per chain without convergence (R-1 of means "
                             "%.4g, stop %g): the run is NOT converged.", self.draws,
                             self.Rminus1_last, self.Rminus1_stop)
        return bool(done)

    def _write_checkpoint(self, n, rminus1, divergences):
        if not (mpi.is_main_process() and self.output):
            return
        # Atomic: a kill while writing must leave the previous checkpoint, which the resume
        # trusts, intact.
        info = {"sampler": {self.get_name(): {
            "converged": self.converged, "Rminus1_last": float(self.Rminus1_last),
            "mpi_size": mpi.size(), "adaptation": self.adaptation,
            "saved_draws": self.saved_draws,
            "divergences": [int(d) for d in divergences]}}}
        atomic_write(self.checkpoint_filename(),
                     lambda tmp: yaml_dump_file(tmp, info, error_if_exists=False))
        new = not self.output.is_resuming() and not getattr(self, "_progress_started", False)
        with open(self.progress_filename(), "w" if new else "a", encoding="utf-8") as f:
            if new:
                f.write("# N timestamp Rminus1_of_means divergences\n")
            f.write(f"{n} {datetime.datetime.now().isoformat()} {rminus1:.6g} "
                    f"{int(sum(divergences))}\n")
        self._progress_started = True

    # ------------------------------------------------------------------ products
    def samples(self, combined: bool = False, skip_samples: float = 0,
                to_getdist: bool = False):
        """The draws of this chain (SampleCollection); ``combined``: all chains concatenated;
        ``to_getdist``: one getdist.MCSamples of all chains. As Cobaya's mcmc."""
        collection = self.collection.skip_samples(skip_samples, inplace=False)
        if not (to_getdist or combined):
            return collection
        collections = mpi.gather(collection)
        if mpi.is_main_process():
            if to_getdist:
                collection = collections[0].to_getdist(combine_with=collections[1:])
            else:
                for c in collections[1:]:
                    collections[0]._append(c)
                collection = collections[0]
        return mpi.share_mpi(collection)

    def products(self, combined: bool = False, skip_samples: float = 0,
                 to_getdist: bool = False) -> dict:
        """``{"sample": ...}`` as :meth:`samples`."""
        return {"sample": self.samples(combined=combined, skip_samples=skip_samples,
                                       to_getdist=to_getdist)}

    @classmethod
    def output_files_regexps(cls, output, info=None, minimal=False):
        regexps = [output.collection_regexp(name=None)]
        if not minimal:
            regexps += [re.compile(output.prefix_regexp_str + re.escape(ext.lstrip(".")) + "$")
                        for ext in (Extension.checkpoint, Extension.progress)]
        return [(r, None) for r in regexps]


def jax_from_unconstrained(jm, u):
    """theta (n, d) from unconstrained draws u (n, d)."""
    import jax

    return jax.vmap(lambda x: jm.from_unconstrained(x)[0])(u)
