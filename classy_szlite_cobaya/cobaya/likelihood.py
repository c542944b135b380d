r"""Cobaya wrapper of the Planck 2015 y-map power-spectrum likelihood (Bolliet et al. 2018).

The maths (data loading, covariance, Cholesky factor, model D_ell and the one jnp Gaussian
log-likelihood) lives in :mod:`classy_szlite_cobaya.likelihoods.ymap`; :class:`PlanckYMap2015`
parses the Cobaya options, finds and checks the installed data, builds the
:class:`~classy_szlite_cobaya.likelihoods.ymap.YMapLikelihood` once (``self.ymap``) and calls
its ``log_likelihood`` at each step. Data: installed by
``cobaya-install <input.yaml> -p PACKAGES`` into ``<PACKAGES>/data/<dataset>/``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cobaya.component import ComponentNotInstalledError
from cobaya.likelihoods.base_classes import InstallableLikelihood
from cobaya.log import LoggedError, get_logger

from ..likelihoods.ymap import (FOREGROUNDS, REFERENCE_POINT, YMapData,  # noqa: F401
                                YMapLikelihood, covariance, cut_ell, d_ell_factor,
                                load_ymap_data, log_likelihood, log_likelihood_from_cl,
                                make_ymap_likelihood, model_trispectrum, ymap_log_likelihood)
from .datasets import DatasetError, DatasetManifest, load_manifest
from .install import DataInstallError, dataset_dir, install_dataset, verify_dataset

# The pure functions are re-exported here for callers that imported them from this module.
__all__ = [
    "FOREGROUNDS",
    "TRISPECTRUM_MODES",
    "YMapData",
    "YMapLikelihood",
    "load_ymap_data",
    "covariance",
    "log_likelihood",
    "log_likelihood_from_cl",
    "ymap_log_likelihood",
    "model_trispectrum",
    "PlanckYMap2015",
]

#: Accepted values of the ``trispectrum`` option.
TRISPECTRUM_MODES = ("file", "model", "none")


class PlanckYMap2015(InstallableLikelihood):
    r"""Planck 2015 y-map power spectrum (18 bins, 10 <= ell <= 959.5), Bolliet et al. 2018.

    Needs ``Cl_yy`` from a theory: ``get_Cl_yy()`` -> ``{"ell", "1h", "2h"}``, dimensionless
    C_ell at (at least) the requested bin multipoles. Options and parameters: see
    ``PlanckYMap2015.yaml``. Data: ``cobaya-install <input.yaml> -p PACKAGES``.
    """

    # The data check needs the ``dataset`` option, which Cobaya's class-level check in
    # InstallableLikelihood.__init__ cannot see; install_options stays empty so that check is
    # skipped, and initialize() checks the dataset actually selected (same error class).
    install_options = {}

    # Option types (values live in PlanckYMap2015.yaml).
    dataset: str
    path: str | None
    ell_min: float | None
    ell_max: float | None
    f_sky: float | None
    trispectrum: str
    trispectrum_point: dict | None
    trispectrum_options: dict | None

    # ---------------------------------------------------------------- installation (Cobaya)
    @classmethod
    def _default_manifest(cls) -> DatasetManifest:
        # Cobaya's install hooks are classmethods and never see the user's options, so they
        # act on the class's default dataset; other datasets: python -m ...cobaya.install NAME.
        return load_manifest(cls.get_defaults()["dataset"])

    @classmethod
    def get_path(cls, path):
        """``<packages_path>/data/<dataset>``; idempotent, as Cobaya requires."""
        name = cls._default_manifest().name
        p = Path(path)
        if p.name == name and p.parent.name == "data":
            return str(p)
        return str(dataset_dir(p, cls._default_manifest()))

    @classmethod
    def is_installed(cls, **kwargs):
        """True if every file of the default dataset is in place with its sha256."""
        if not kwargs.get("data", True):
            return True
        path = kwargs.get("path")
        if path in (None, "global"):
            return False
        manifest = cls._default_manifest()
        problems = verify_dataset(manifest, cls.get_path(path))
        if problems:
            log = get_logger(cls.get_qualified_class_name())
            (log.error if kwargs.get("show_error") else log.info)(
                "Dataset '%s' not (correctly) installed: %s", manifest.name, "; ".join(problems))
        return not problems

    @classmethod
    def install(cls, path=None, data=True, no_progress_bars=False, **kwargs):
        """Download the default dataset into ``<path>/data/<dataset>``, verified by sha256
        (base URL: ``$CLASSY_SZLITE_COBAYA_DATA_URL`` or the manifest's)."""
        if not data:
            return True
        log = get_logger(cls.get_qualified_class_name())
        manifest = cls._default_manifest()
        try:
            install_dataset(manifest, cls.get_path(path), force=bool(kwargs.get("force")),
                            logger=log)
        except DataInstallError as exc:
            log.error("%s", exc)
            return False
        return True

    # ---------------------------------------------------------------- set-up
    def _install_hint(self, manifest: DatasetManifest) -> str:
        pkgs = self.packages_path or "PACKAGES"
        if manifest.name == self._default_manifest().name:
            return (f"Install it with `cobaya-install <your input yaml> -p {pkgs}` (e.g. "
                    f"`cobaya-install input_yamls/tsz.yaml -p {pkgs}`), or "
                    f"`cobaya-install {self.get_qualified_class_name()} -p {pkgs}`.")
        return (f"Install it with `python -m classy_szlite_cobaya.cobaya.install "
                f"{self.dataset} -p {pkgs}`.")

    def initialize(self):
        if self.trispectrum not in TRISPECTRUM_MODES:
            raise LoggedError(self.log, "Option trispectrum=%r not understood: use one of %s.",
                              self.trispectrum, list(TRISPECTRUM_MODES))
        for name in ("ell_min", "ell_max", "f_sky"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise LoggedError(self.log, "Option %s must be a number or null, got %r.",
                                  name, value)
        if self.f_sky is not None and not 0 < self.f_sky <= 1:
            raise LoggedError(self.log, "Option f_sky must be in (0, 1], got %r.", self.f_sky)
        try:
            manifest = load_manifest(self.dataset)
        except DatasetError as exc:
            raise LoggedError(self.log, "Option dataset: %s", exc) from None

        if self.path is not None:
            directory = Path(os.path.expanduser(self.path))
        elif self.packages_path:
            directory = dataset_dir(self.packages_path, manifest)
        else:
            raise ComponentNotInstalledError(
                self.log, "No packages path set, so the data of dataset '%s' cannot be found. "
                "%s Then pass `-p PACKAGES` to cobaya-run or set `packages_path` in the input.",
                manifest.name, self._install_hint(manifest))
        if problems := verify_dataset(manifest, directory):
            raise ComponentNotInstalledError(
                self.log, "The data of dataset '%s' is not installed in %s (%s). %s",
                manifest.name, directory, "; ".join(problems[:2]), self._install_hint(manifest))

        try:
            data = load_ymap_data(directory, manifest, ell_min=self.ell_min,
                                  ell_max=self.ell_max, f_sky=self.f_sky)
        except (DatasetError, ValueError) as exc:
            raise LoggedError(self.log, "%s", exc) from None

        if self.trispectrum == "model":
            try:
                # Computed once here (slow), so sampling only pays for the Cholesky solve.
                # Cobaya replaces a dict option wholesale; merge so that giving one key
                # (e.g. n_z) keeps the default integration ranges.
                options = {**(self.get_defaults().get("trispectrum_options") or {}),
                           **(self.trispectrum_options or {})}
                tri = model_trispectrum(data.ell, self.trispectrum_point, options)
            except (NotImplementedError, ValueError, TypeError) as exc:
                raise LoggedError(self.log, "trispectrum: model failed: %s", exc) from None
        else:
            tri = self.trispectrum  # "file" or "none"
        try:
            self._ymap = make_ymap_likelihood(data, tri)
        except ValueError as exc:
            raise LoggedError(self.log, "%s", exc) from None
        self._select_cache = {}
        self.log.info("Dataset '%s': %d bins, %g <= ell <= %g, trispectrum: %s, f_sky = %g",
                      manifest.name, data.ell.size, data.ell.min(), data.ell.max(),
                      self.trispectrum, data.f_sky)

    def get_requirements(self):
        return {"Cl_yy": {"ell": self._ymap.data.ell}}

    def initialize_with_provider(self, provider):
        super().initialize_with_provider(provider)
        # A fixed non-finite or negative amplitude would give -inf at every point: refuse it.
        from .theory import fixed_input_values
        for name, v in fixed_input_values(provider, [f"A_{fg}" for fg in FOREGROUNDS]).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < np.inf:
                raise LoggedError(self.log, "Fixed parameter %s = %r is invalid: allowed range "
                                  "[0, inf) (a finite foreground amplitude).", name, v)

    # ---------------------------------------------------------------- evaluation
    @property
    def ymap(self) -> YMapLikelihood:
        """The pure likelihood in use (data, covariance, Cholesky factor): what the JAX
        posterior and the plot evaluate, so they cannot differ from this component."""
        return self._ymap

    @property
    def data(self) -> YMapData:
        """The (cut) dataset in use."""
        return self._ymap.data

    @property
    def cov(self) -> np.ndarray:
        """The covariance in use, (n, n), in (1e12 D_ell)^2 units."""
        return self._ymap.cov

    def _select(self, ell_theory):
        # The theory may serve a union of several consumers' multipoles: pick ours. Cached on
        # the multipole values, as the theory serves the same ell at every step.
        ell_theory = np.asarray(ell_theory, dtype=float)
        ell = self._ymap.data.ell
        key = ell_theory.tobytes()
        if (idx := self._select_cache.get(key)) is not None:
            return idx
        if np.array_equal(ell_theory, ell):
            idx = slice(None)
        else:
            idx = np.abs(ell_theory[None, :] - ell[:, None]).argmin(axis=1)
            if not np.allclose(ell_theory[idx], ell, rtol=1e-9, atol=0):
                raise LoggedError(self.log, "The theory's Cl_yy lacks some requested "
                                  "multipoles %s (it has %s).", ell, ell_theory)
        self._select_cache[key] = idx
        return idx

    def cl_at_data(self, cl: dict) -> tuple[np.ndarray, np.ndarray]:
        """(C^1h, C^2h), (n,) each, at the data bins, from a theory's ``Cl_yy`` dict
        ``{"ell", "1h", "2h"}`` (which may hold more multipoles); LoggedError if it lacks
        some of the bins."""
        idx = self._select(cl["ell"])
        return (np.asarray(cl["1h"], dtype=float)[idx], np.asarray(cl["2h"], dtype=float)[idx])

    def logp(self, **params_values):
        cl_1h, cl_2h = self.cl_at_data(self.provider.get_Cl_yy())
        if not (np.all(np.isfinite(cl_1h)) and np.all(np.isfinite(cl_2h))):
            self.log.debug("Non-finite Cl_yy from the theory at %s: logp = -inf", params_values)
            return -np.inf
        amps = np.array([params_values[f"A_{fg}"] for fg in FOREGROUNDS], dtype=float)
        return float(self._ymap.log_likelihood(cl_1h, cl_2h, amps))

    def get_jax_function(self):
        """Pure-JAX version of :meth:`logp` (protocol of
        :mod:`classy_szlite_cobaya.samplers.jax_model`): ``fn(params, products) -> (log L,
        {})`` with ``products["Cl_yy"]`` as :meth:`get_Cl_yy` returns it and ``params`` the
        foreground amplitudes; the same :class:`YMapLikelihood` as :meth:`logp`."""
        import jax.numpy as jnp

        names = [f"A_{fg}" for fg in FOREGROUNDS]

        def fn(params, products):
            cl = products["Cl_yy"]
            idx = self._select(cl["ell"])  # the theory's multipoles are concrete
            amps = jnp.stack([jnp.asarray(params[n], float) for n in names])
            return self._ymap.log_likelihood(jnp.asarray(cl["1h"])[idx],
                                             jnp.asarray(cl["2h"])[idx], amps), {}

        return fn
