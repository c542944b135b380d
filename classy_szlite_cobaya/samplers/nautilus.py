r"""Nautilus importance nested sampling (Lange 2023, arXiv:2306.16923) as a Cobaya sampler.

Generic: works for any Cobaya model whose sampled parameters have 1-d priors with an
inverse CDF (every ``scipy.stats`` continuous distribution Cobaya builds from ``prior:``).

Input (all options optional, defaults shown by ``cobaya-doc`` / the class attributes)::

    sampler:
      classy_szlite_cobaya.samplers.nautilus:
        n_live: 2000          # live points (int > n_dim): bound-building resolution
        n_eff: 10000          # STOP when the effective sample size reaches this
        f_live: 0.01          # exploration ends when the live set holds < f_live of Z
        discard_exploration: true
        seed: null

What it computes. With :math:`u \in [0, 1)^d` and :math:`\theta_i = F_i^{-1}(u_i)`
(``ppf`` of Cobaya's frozen 1-d prior of parameter i), nautilus samples

.. math:: Z = \int \mathcal{L}(\theta)\, \prod_i \pi_i(\theta_i)\, d\theta
          = \int_{[0,1)^d} \mathcal{L}(\theta(u))\, du ,

where :math:`\ln\mathcal{L}` = sum of the likelihoods' log-likelihoods + any external
(``prior:`` block) log-priors, i.e. Cobaya's log-posterior minus its separable 1-d
log-prior. Points where Cobaya returns a non-finite log-posterior (theory failure,
external prior -inf) get :math:`\mathcal{L} = 0`; they carry zero weight.

Stopping. Exploration (bound building) stops once the live set holds less than
``f_live`` of the evidence; sampling then continues until nautilus' effective sample
size :math:`N_\mathrm{eff} = (\sum w)^2 / \sum w^2` (per-shell estimate) reaches
``n_eff``, or ``n_like_max`` likelihood calls in total are spent (then a warning: not
converged). Monte-Carlo precision at the stop: a posterior mean is known to about
:math:`\sigma/\sqrt{N_\mathrm{eff}}`, and :math:`\sigma_{\ln Z} \le 1/\sqrt{N_\mathrm{eff}}`
from the shells' importance weights (reported as ``logZstd``; it excludes the error of the
bounds' own volume estimates). With ``discard_exploration: true`` (default) the points
drawn while the bounds were still being built are dropped at the end, as the nautilus
docs recommend for an unbiased posterior and evidence; ``n_eff`` then counts only the
kept points.

Output (``output:`` prefix ``PREFIX``):

- ``PREFIX.1.txt``: weighted sample (Cobaya ``SampleCollection``, ``sample_type: nested``;
  weights are the importance weights scaled so the largest is 1; points with weight
  < 1e-30, which GetDist would drop on loading, are left out), with all derived
  parameters, log-priors and chi2's. Read it with ``cobaya.load_samples(PREFIX)`` or
  GetDist (``loadMCSamples(PREFIX)``: no burn-in is removed, the updated YAML says nested).
- ``PREFIX.logZ``: ``logZ``, ``logZstd``, ``n_eff``, ``n_like``; also logged, and in
  :meth:`Nautilus.products`.
- ``PREFIX.nautilus.h5``: nautilus checkpoint, rewritten after every batch of
  likelihood calls (needs ``h5py``). ``cobaya-run --resume`` continues an interrupted run
  from it (a batch in flight is recomputed with the same random state); ``n_eff``,
  ``n_like_max`` and ``progress_interval`` may be changed when resuming (e.g. to ask for
  more samples), other options may not.

MPI: not parallelised. Under ``mpirun`` with more than one process it refuses to start
(every process would run its own copy of the same sampler); run it in one process.
nautilus' multiprocessing ``pool`` is not offered either: it forks the process, and JAX
(used by this package's theories) warns that forking its multithreaded runtime can deadlock.
"""
import math
import numbers
import os
import re
import time
from typing import Any

import numpy as np

from cobaya import mpi
from cobaya.collection import SampleCollection
from cobaya.conventions import Extension
from cobaya.log import LoggedError
from cobaya.sampler import Sampler
from cobaya.yaml import yaml_dump_file

_CHECKPOINT_EXT = ".nautilus.h5"
_MIN_WEIGHT_RATIO = 1e-30


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> int | None:
    """``value`` as an int >= ``minimum`` (integral floats such as 1e4 accepted), or None if
    allowed; else TypeError/ValueError naming the option."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (
            not isinstance(value, numbers.Integral) and not float(value).is_integer()):
        raise TypeError(f"nautilus sampler option '{name}' must be an integer"
                        f"{' or null' if allow_none else ''}, got {value!r}.")
    value = int(value)
    if value < minimum:
        raise ValueError(f"nautilus sampler option '{name}' must be >= {minimum}, got {value}.")
    return value


def _check_real(name: str, value: Any, low: float, high: float = math.inf,
                low_open: bool = True) -> float:
    """``value`` as a float in (low, high) (or [low, high) if not ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"nautilus sampler option '{name}' must be a number, got {value!r}.")
    value = float(value)
    ok = (value > low if low_open else value >= low) and value < high
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high})"
        raise ValueError(f"nautilus sampler option '{name}' must be in {interval}, got {value}.")
    return value


class Nautilus(Sampler):
    r"""Cobaya wrapper of ``nautilus.Sampler`` (importance nested sampling): weighted
    posterior sample + log-evidence. See the module docstring for the options, the
    stopping rule and the output files."""

    # Read by GetDist/Cobaya from the updated YAML: no burn-in removal for this sample.
    sampler_type: str = "nested"
    # Number of live points (int > number of sampled parameters).
    n_live: int = 2000
    # Stop when nautilus' effective sample size reaches this (real > 0).
    n_eff: float = 10000
    # End exploration once the live set holds less than this fraction of Z (0 < f_live < 1).
    f_live: float = 0.01
    # Drop the points drawn while the bounds were being built (unbiased posterior and Z).
    discard_exploration: bool = True
    # Cap on the total number of likelihood calls (incl. those before a resume); null: none.
    n_like_max: int | None = None
    # nautilus internals (see nautilus.Sampler): networks per bound, points per batch
    # (null: 100; >= 2), enlargement of the ellipsoids per dimension (>= 1), split threshold
    # (>= 1), minimum points per ellipsoid (null: n_dim + 50).
    n_networks: int = 4
    n_batch: int | None = None
    enlarge_per_dim: float = 1.1
    split_threshold: float = 100
    n_points_min: int | None = None
    # Seconds between progress lines in the log (> 0).
    progress_interval: float = 60
    # Seed (int) for a reproducible run; null: random.
    seed: int | None = None
    # Likelihood calls in batches through the model's pure-JAX posterior (jax.vmap of
    # samplers.jax_model.JaxModel; every component must provide one): "auto" uses it when
    # available and Cobaya's model.logposterior otherwise; true requires it; false never.
    jax: bool | str = "auto"

    _at_resume_prefer_new = Sampler._at_resume_prefer_new + [
        "n_eff", "n_like_max", "progress_interval"]

    def initialize(self):
        """Checks the options and the model's priors, builds the nautilus sampler (resuming
        from the checkpoint when Cobaya resumes)."""
        if mpi.size() > 1:
            raise LoggedError(
                self.log, "The nautilus sampler is not MPI-parallelised: run it in a single "
                "process (without mpirun); %d MPI processes were started.", mpi.size())
        try:
            import nautilus
        except ImportError as excpt:
            raise LoggedError(self.log, "The nautilus sampler needs the 'nautilus-sampler' "
                              "package: pip install nautilus-sampler") from excpt
        self._check_options()
        self._params = list(self.model.parameterization.sampled_params())
        n_dim = len(self._params)
        if n_dim < 2:
            raise ValueError(f"nautilus needs at least 2 sampled parameters; this model has "
                             f"{n_dim} ({self._params}).")
        if self.n_live <= n_dim:
            raise ValueError(f"nautilus sampler option 'n_live' must be > the number of "
                             f"sampled parameters ({n_dim}), got {self.n_live}.")
        self._ppfs = self._prior_ppfs()
        self._n_derived = len(self.model.parameterization.derived_params())
        self._n_priors = len(self.model.prior)
        self._n_likes = len(self.model.likelihood)
        self._n_blob = self._n_derived + self._n_priors + self._n_likes
        filepath = None
        resume = False
        if self.output:
            filepath = self.nautilus_checkpoint_filename()
            resume = bool(self.output.is_resuming())
            if resume and not os.path.exists(filepath):
                self.log.info("No nautilus checkpoint at '%s': starting anew.", filepath)
        # nautilus wants an int seed; derive it from Cobaya's seeded generator.
        seed = int(self._rng.integers(2**63 - 1))
        loglike, vectorized = self._loglike, False
        self._jax = self._jax_model()
        if self._jax is not None:
            loglike, vectorized = self._loglike_batch, True
            self.mpi_info("Likelihood calls in batches through the pure-JAX posterior.")
        # Built in run(): Cobaya's --force removes old output files (the checkpoint among
        # them) after initialize(), which would delete a checkpoint created here.
        self._build = dict(prior=self._prior_transform, likelihood=loglike, n_dim=n_dim,
                           n_live=self.n_live, n_networks=self.n_networks,
                           n_batch=self.n_batch, enlarge_per_dim=self.enlarge_per_dim,
                           split_threshold=self.split_threshold,
                           n_points_min=self.n_points_min, pass_dict=False,
                           vectorized=vectorized, blobs_dtype=float, seed=seed,
                           filepath=filepath, resume=resume)
        self._nautilus = None
        self.collection = None
        self.logZ, self.logZstd = np.nan, np.nan
        self.n_eff_reached, self.n_like, self.converged = 0.0, 0, False

    def _check_options(self):
        self.n_live = _check_int("n_live", self.n_live, 1)
        self.n_eff = _check_real("n_eff", self.n_eff, 0.0)
        self.f_live = _check_real("f_live", self.f_live, 0.0, 1.0)
        if not isinstance(self.discard_exploration, bool):
            raise TypeError("nautilus sampler option 'discard_exploration' must be true or "
                            f"false, got {self.discard_exploration!r}.")
        self.n_like_max = _check_int("n_like_max", self.n_like_max, 1, allow_none=True)
        self.n_networks = _check_int("n_networks", self.n_networks, 0)
        # One-point batches would make nautilus squeeze the blob array to 1-d.
        self.n_batch = _check_int("n_batch", self.n_batch, 2, allow_none=True)
        self.enlarge_per_dim = _check_real("enlarge_per_dim", self.enlarge_per_dim, 1.0,
                                           low_open=False)
        self.split_threshold = _check_real("split_threshold", self.split_threshold, 1.0,
                                           low_open=False)
        self.n_points_min = _check_int("n_points_min", self.n_points_min, 1, allow_none=True)
        self.progress_interval = _check_real("progress_interval", self.progress_interval, 0.0)
        if not (isinstance(self.jax, bool) or self.jax == "auto"):
            raise TypeError("nautilus sampler option 'jax' must be true, false or 'auto', got "
                            f"{self.jax!r}.")
        # 'seed' is checked by Cobaya's Sampler base class, which seeds self._rng from it.

    def _prior_ppfs(self) -> list:
        """Inverse CDFs of the sampled parameters' 1-d priors; ValueError if one has none
        (or a non-finite / decreasing one inside (0, 1))."""
        probe = np.array([1e-6, 0.25, 0.5, 0.75, 1 - 1e-6])
        ppfs = []
        for name, pdf in zip(self._params, self.model.prior.pdf):
            ppf = getattr(pdf, "ppf", None)
            bad = not callable(ppf)
            if not bad:
                try:
                    values = np.asarray(ppf(probe), dtype=float)
                    bad = (values.shape != probe.shape or not np.all(np.isfinite(values))
                           or np.any(np.diff(values) < 0))
                except Exception:  # any failure of a user-supplied distribution
                    bad = True
            if bad:
                raise ValueError(
                    f"nautilus sampler: the prior of parameter '{name}' ({pdf!r}) cannot be "
                    "inverted (no finite, non-decreasing inverse CDF 'ppf' on (0, 1)); use a "
                    "scipy.stats 1-d continuous distribution for it.")
            ppfs.append(ppf)
        return ppfs

    def _prior_transform(self, u: np.ndarray) -> np.ndarray:
        """Unit cube point(s) (d,) or (n, d) -> sampled parameters, same shape, in Cobaya's
        order (a batch when the likelihood is vectorised)."""
        u = np.asarray(u, dtype=float)
        return np.stack([ppf(u[..., i]) for i, ppf in enumerate(self._ppfs)], axis=-1)

    def _loglike(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """ln L for nautilus (log-likelihoods + external log-priors) and the blob
        [derived..., logpriors..., loglikes...]; -inf and NaNs where Cobaya's log-posterior
        is not finite."""
        blob = np.full(self._n_blob, np.nan)
        if not np.all(np.isfinite(x)):  # ppf at the unit-cube edge of an unbounded prior
            return -np.inf, blob
        result = self.model.logposterior(x)
        if not np.isfinite(result.logpost):
            return -np.inf, blob
        blob[:] = np.concatenate([result.derived, result.logpriors, result.loglikes])
        return float(result.logpost - result.logpriors[0]), blob

    def _jax_model(self):
        """(JaxModel, batched jitted evaluate) per option ``jax``, or None."""
        if self.jax is False:
            return None
        from .jax_model import JaxModel, JaxSupportError
        try:
            jm = JaxModel(self.model)
        except JaxSupportError as excpt:
            if self.jax is True:
                raise LoggedError(self.log, "nautilus option jax: true, but %s", excpt)
            self.log.debug("No pure-JAX posterior (%s): calls go through Cobaya.", excpt)
            return None
        import jax
        return jm, jax.jit(jax.vmap(jm.evaluate))

    def _loglike_batch(self, x: np.ndarray):
        """:meth:`_loglike` for a batch x (n, d), through the pure-JAX posterior. Batches are
        padded to a power of two (>= 16) so that only a few shapes are ever compiled."""
        jm, evaluate = self._jax
        x = np.atleast_2d(np.asarray(x, dtype=float))
        n = len(x)
        size = max(16, 1 << (n - 1).bit_length())
        padded = np.concatenate([x, np.repeat(x[:1], size - n, axis=0)])
        finite = np.all(np.isfinite(padded), axis=1)
        padded[~finite] = padded[np.argmax(finite)] if finite.any() else 0.5
        post, lp, ll, out = (np.asarray(a, dtype=float) for a in evaluate(padded))
        logl = np.full(n, -np.inf)
        blobs = np.full((n, self._n_blob), np.nan)
        for i in range(n):
            if not (finite[i] and np.isfinite(post[i])):
                continue
            derived = jm.derived(x[i], ll[i], out[i])
            blobs[i] = np.concatenate([list(derived.values()), [lp[i]], ll[i]])
            logl[i] = post[i] - lp[i]
        return logl, blobs

    def nautilus_checkpoint_filename(self) -> str | None:
        if not self.output:
            return None
        return os.path.join(self.output.folder, self.output.prefix + _CHECKPOINT_EXT)

    def run(self):
        """Runs nautilus until ``n_eff`` (or ``n_like_max``), logging progress every
        ``progress_interval`` s, then writes the weighted sample and the evidence."""
        import nautilus
        self._nautilus = nautilus.Sampler(**self._build)
        if self._nautilus.n_like:
            self.mpi_info("Resuming nautilus from '%s' (%d likelihood calls done).",
                          self._build["filepath"], self._nautilus.n_like)
        sampler = self._nautilus
        n_like_max = np.inf if self.n_like_max is None else self.n_like_max
        self.mpi_info("Running nautilus: n_live = %d, target n_eff = %g, f_live = %g.",
                      self.n_live, self.n_eff, self.f_live)
        t0 = time.time()
        while True:
            # Chunks of progress_interval seconds: nautilus' loop continues where it left.
            done = sampler.run(f_live=self.f_live, n_eff=self.n_eff, n_like_max=n_like_max,
                               discard_exploration=self.discard_exploration,
                               timeout=self.progress_interval, verbose=False)
            self.log.info("%s: %d likelihood calls, n_eff = %.0f, log(Z) = %s (%.0f s)",
                          "sampling" if sampler.explored else "exploring", sampler.n_like,
                          sampler.n_eff, "%.3f" % sampler.log_z if sampler.log_z is not None
                          else "n/a", time.time() - t0)
            if done or sampler.n_like >= n_like_max:
                break
        self.converged = bool(done)
        if not done:
            self.log.warning("Stopped at n_like_max = %d likelihood calls before reaching "
                             "n_eff = %g (n_eff = %.0f): not converged. Resume with a "
                             "larger n_like_max to continue.", n_like_max, self.n_eff,
                             sampler.n_eff)
        self._process_results()

    def _process_results(self):
        sampler = self._nautilus
        self.n_eff_reached = float(sampler.n_eff)
        self.n_like = int(sampler.n_like)
        self.logZ = float(sampler.log_z)
        self.logZstd = 1.0 / math.sqrt(self.n_eff_reached) if self.n_eff_reached else np.inf
        points, log_w, _, blobs = sampler.posterior(return_blobs=True)
        blobs = np.asarray(blobs, dtype=float).reshape(len(points), self._n_blob)
        weights = np.exp(log_w - np.max(log_w))
        # GetDist drops points below this weight ratio on loading anyway (its
        # min_weight_ratio); dropping them here keeps the files and both readers identical
        # (they carry < n_points * 1e-30 of the mass).
        keep = np.flatnonzero(weights >= _MIN_WEIGHT_RATIO)
        nd, npr = self._n_derived, self._n_priors
        self.collection = SampleCollection(self.model, self.output, name="1",
                                           sample_type="nested")
        for i in keep:
            self.collection.add(points[i], derived=blobs[i, :nd],
                                logpriors=blobs[i, nd:nd + npr],
                                loglikes=blobs[i, nd + npr:], weight=weights[i])
        self.collection.out_update()
        if self.output:
            yaml_dump_file(self.evidence_filename(),
                           {"logZ": self.logZ, "logZstd": self.logZstd,
                            "n_eff": self.n_eff_reached, "n_like": self.n_like,
                            "converged": self.converged},
                           comment="log-evidence (nautilus)", error_if_exists=False)
        self.log.info("Finished: log(Z) = %.4f +- %.4f, n_eff = %.0f, %d likelihood calls, "
                      "%d weighted points.", self.logZ, self.logZstd, self.n_eff_reached,
                      self.n_like, len(keep))

    def evidence_filename(self) -> str | None:
        if not self.output:
            return None
        return os.path.join(self.output.folder, self.output.prefix + Extension.evidence)

    def samples(self, combined: bool = False, skip_samples: float = 0,
                to_getdist: bool = False):
        """The weighted posterior sample (``SampleCollection``, or ``getdist.MCSamples`` with
        ``to_getdist``). ``combined`` is accepted for compatibility (one process only);
        ``skip_samples`` must be 0 (dropping leading points would bias a nested sample)."""
        if skip_samples:
            raise ValueError("skip_samples must be 0 for a nested-sampling sample.")
        if to_getdist:
            return self.collection.to_getdist()
        return self.collection

    def products(self, combined: bool = False, skip_samples: float = 0,
                 to_getdist: bool = False) -> dict:
        """``{"sample", "logZ", "logZstd", "n_eff", "n_like", "converged"}``."""
        return {"sample": self.samples(combined=combined, skip_samples=skip_samples,
                                       to_getdist=to_getdist),
                "logZ": self.logZ, "logZstd": self.logZstd, "n_eff": self.n_eff_reached,
                "n_like": self.n_like, "converged": self.converged}

    @classmethod
    def output_files_regexps(cls, output, info=None, minimal=False):
        checkpoint = [(re.compile(re.escape(output.prefix + _CHECKPOINT_EXT) + "$"), None)]
        if minimal:
            return checkpoint
        return checkpoint + [
            (output.collection_regexp(name=None), None),
            (re.compile(re.escape(output.prefix + Extension.evidence) + "$"), None)]

    @classmethod
    def get_version(cls):
        import nautilus
        return nautilus.__version__
