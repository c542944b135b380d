r"""Planck-style Compton-y power-spectrum likelihood (Planck 2015 y-map, Bolliet et al. 2018).

Units: multipoles are dimensionless; C_ell is the dimensionless y power spectrum and every
data-space quantity is in "1e12 D_ell" units,

    D_ell = 1e12 ell (ell + 1) C_ell / (2 pi).

Model (per bin b):

    D_b = 1e12 ell_b (ell_b + 1) / (2 pi) [C^1h_b + C^2h_b]
          + A_CIB CIB_b + A_RS RS_b + A_IR IR_b + A_CN CN_b

Covariance (n x n):

    Cov = diag(error^2) + T / (4 pi f_sky),

T the 1-halo trispectrum in (1e12)^2 [ell(ell+1)/2pi] [ell'(ell'+1)/2pi] T_{ell ell'} units:
read from the dataset's reference file (``trispectrum: file``), computed once by the model at a
chosen point (``trispectrum: model``), or left out (``trispectrum: none``).

log L = -chi^2 / 2, chi^2 = (D - D_obs)^T Cov^{-1} (D - D_obs) via a Cholesky factor (the
covariance is fixed, so the normalisation is a constant and dropped).

The maths lives in plain functions (:func:`load_ymap_data`, :func:`covariance`,
:func:`model_d_ell`, :func:`log_likelihood`, :func:`log_likelihood_from_cl`) usable without
Cobaya; :class:`PlanckYMap2015` is the Cobaya wrapper. The per-step Gaussian log-likelihood is
ONE jnp function, :func:`ymap_log_likelihood`, called both by :meth:`PlanckYMap2015.logp` and by
the JAX posterior of :mod:`classy_szlite_cobaya.inference.posterior` (so the two cannot drift
apart). Data: installed by
``cobaya-install <input.yaml> -p PACKAGES`` into ``<PACKAGES>/data/<dataset>/``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from cobaya.component import ComponentNotInstalledError
from cobaya.likelihoods.base_classes import InstallableLikelihood
from cobaya.log import LoggedError, get_logger

from .datasets import DatasetError, DatasetManifest, load_manifest
from .install import DataInstallError, dataset_dir, install_dataset, verify_dataset

__all__ = [
    "FOREGROUNDS",
    "TRISPECTRUM_MODES",
    "YMapData",
    "load_ymap_data",
    "cut_ell",
    "d_ell_factor",
    "trispectrum_to_d_units",
    "covariance",
    "model_d_ell",
    "log_likelihood",
    "log_likelihood_from_cl",
    "ymap_log_likelihood",
    "model_trispectrum",
    "PlanckYMap2015",
]

#: Foreground templates, in the order of ``YMapData.foregrounds`` rows and amplitudes A_<name>.
FOREGROUNDS = ("CIB", "RS", "IR", "CN")
#: Accepted values of the ``trispectrum`` option.
TRISPECTRUM_MODES = ("file", "model", "none")
#: Point of the Planck 2015 reference trispectrum file (tSZ_params_ref_...): CosmoParams and
#: ProfileParamsA10 field names; ln10_10_As = ln(1e10 * 1.9e-9).
REFERENCE_POINT = {
    "omega_b": 0.0224,
    "omega_cdm": 0.125,
    "H0": 69.0,
    "ln10_10_As": math.log(19.0),
    "n_s": 0.96,
    "B": 1.41,
}


class YMapData(NamedTuple):
    """A y-map power-spectrum dataset (n bins), all in 1e12 D_ell units.

    ell : (n,) bin-centre multipoles
    d_ell : (n,) measured 1e12 D_ell (tSZ + foregrounds)
    error : (n,) Gaussian error of d_ell
    foregrounds : (4, n) CIB, RS, IR, CN templates (rows in :data:`FOREGROUNDS` order)
    trispectrum : (n, n) reference 1-halo trispectrum in (1e12)^2 D_ell D_ell' units, or None
    f_sky : observed sky fraction
    name : dataset name
    """

    ell: np.ndarray
    d_ell: np.ndarray
    error: np.ndarray
    foregrounds: np.ndarray
    trispectrum: np.ndarray | None
    f_sky: float
    name: str


def _columns(manifest: DatasetManifest, role: str, keys) -> list[int]:
    cols = manifest.file(role).columns
    if not isinstance(cols, dict) or any(k not in cols for k in keys):
        raise DatasetError(
            f"{manifest.source}: files.{role}.columns must give the column index of {list(keys)}."
        )
    return [int(cols[k]) for k in keys]


def load_ymap_data(
    directory: str | os.PathLike,
    dataset: str | os.PathLike | DatasetManifest = "planck2015_ymap",
    *,
    ell_min: float | None = None,
    ell_max: float | None = None,
    f_sky: float | None = None,
) -> YMapData:
    """Read a y-map dataset from ``directory`` (files and columns as its manifest says),
    keeping bins with ell_min <= ell <= ell_max. ``f_sky`` defaults to the manifest's."""
    manifest = dataset if isinstance(dataset, DatasetManifest) else load_manifest(dataset)
    directory = Path(directory)
    path = lambda role: directory / manifest.file(role).name  # noqa: E731

    table = np.loadtxt(path("data"), ndmin=2)
    i_ell, i_d, i_err = _columns(manifest, "data", ("ell", "d_ell", "error"))
    ell, d_ell, error = table[:, i_ell], table[:, i_d], table[:, i_err]

    fg_table = np.loadtxt(path("foregrounds"), ndmin=2)
    i_fg = _columns(manifest, "foregrounds", ("ell",) + FOREGROUNDS)
    if fg_table.shape[0] != ell.size or not np.allclose(fg_table[:, i_fg[0]], ell):
        raise DatasetError(f"{path('foregrounds')}: multipoles differ from the data file's.")
    foregrounds = fg_table[:, i_fg[1:]].T

    trispectrum = None
    if "trispectrum" in manifest.files:
        trispectrum = np.loadtxt(path("trispectrum"), ndmin=2)
        if trispectrum.shape != (ell.size, ell.size):
            raise DatasetError(
                f"{path('trispectrum')}: shape {trispectrum.shape}, "
                f"expected {(ell.size, ell.size)}."
            )
    data = YMapData(ell, d_ell, error, foregrounds, trispectrum,
                    float(f_sky if f_sky is not None else manifest.f_sky), manifest.name)
    return cut_ell(data, ell_min, ell_max)


def cut_ell(data: YMapData, ell_min: float | None = None, ell_max: float | None = None) -> YMapData:
    """Keep the bins with ell_min <= ell <= ell_max (None: no cut on that side)."""
    keep = np.ones(data.ell.size, dtype=bool)
    if ell_min is not None:
        keep &= data.ell >= ell_min
    if ell_max is not None:
        keep &= data.ell <= ell_max
    if not keep.any():
        raise ValueError(
            f"No bin of '{data.name}' has {ell_min} <= ell <= {ell_max} "
            f"(bins span {data.ell.min()} ... {data.ell.max()})."
        )
    tri = None if data.trispectrum is None else data.trispectrum[np.ix_(keep, keep)]
    return data._replace(ell=data.ell[keep], d_ell=data.d_ell[keep], error=data.error[keep],
                         foregrounds=data.foregrounds[:, keep], trispectrum=tri)


def d_ell_factor(ell) -> np.ndarray:
    """1e12 ell (ell + 1) / (2 pi): converts dimensionless C_ell to 1e12 D_ell."""
    ell = np.asarray(ell, dtype=float)
    return 1e12 * ell * (ell + 1.0) / (2.0 * np.pi)


def trispectrum_to_d_units(ell, t_cl) -> np.ndarray:
    """Dimensionless T_{ell ell'} -> (1e12)^2 [ell(ell+1)/2pi][ell'(ell'+1)/2pi] T_{ell ell'}."""
    f = d_ell_factor(ell)
    return np.outer(f, f) * np.asarray(t_cl, dtype=float)


def covariance(error, trispectrum=None, f_sky: float = 0.47) -> np.ndarray:
    """Cov = diag(error^2) + T / (4 pi f_sky), all in 1e12 D_ell units (T may be None)."""
    error = np.asarray(error, dtype=float)
    cov = np.diag(error**2)
    if trispectrum is not None:
        cov = cov + np.asarray(trispectrum, dtype=float) / (4.0 * np.pi * f_sky)
    return cov


def model_d_ell(ell, cl_1h, cl_2h, foregrounds, A_CIB, A_RS, A_IR, A_CN) -> np.ndarray:
    """Model 1e12 D_ell = 1e12 ell(ell+1)/(2pi) (C^1h + C^2h) + sum_i A_i template_i.

    ``foregrounds`` is (4, n), rows CIB, RS, IR, CN (1e12 D_ell); C_ell dimensionless.
    """
    amps = np.array([A_CIB, A_RS, A_IR, A_CN], dtype=float)
    tsz = d_ell_factor(ell) * (np.asarray(cl_1h, dtype=float) + np.asarray(cl_2h, dtype=float))
    return tsz + amps @ np.asarray(foregrounds, dtype=float)


def _cholesky(cov) -> np.ndarray:
    """Lower Cholesky factor; ValueError if cov is not symmetric positive definite."""
    try:
        return scipy.linalg.cholesky(np.asarray(cov, dtype=float), lower=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValueError(f"Covariance is not positive definite: {exc}") from exc


def _log_likelihood_chol(d_model, data_vector, chol) -> float:
    # chi2 = |L^-1 delta|^2 with Cov = L L^T: one triangular solve, no explicit inverse.
    delta = np.asarray(d_model, dtype=float) - np.asarray(data_vector, dtype=float)
    if not np.all(np.isfinite(delta)):
        return -np.inf
    w = scipy.linalg.solve_triangular(chol, delta, lower=True)
    return -0.5 * float(w @ w)


def log_likelihood(d_model, data_vector, cov) -> float:
    """log L = -chi^2/2, chi^2 = (d_model - data)^T Cov^{-1} (d_model - data) (Cholesky).

    Returns -inf if d_model is not finite; ValueError if cov is not positive definite.
    """
    return _log_likelihood_chol(d_model, data_vector, _cholesky(cov))


def log_likelihood_from_cl(data: YMapData, cl_1h, cl_2h, *, A_CIB, A_RS, A_IR,
                           A_CN=0.9033, trispectrum="file", f_sky=None) -> float:
    """log L of dimensionless C^1h, C^2h (at ``data.ell``) and foreground amplitudes, without
    Cobaya: the same numbers as :class:`PlanckYMap2015`.

    ``trispectrum``: ``"file"`` (``data.trispectrum``), ``"none"``/None, or an (n, n) array in
    (1e12)^2 D_ell D_ell' units. ``f_sky`` defaults to ``data.f_sky``.
    """
    if isinstance(trispectrum, str):
        if trispectrum not in ("file", "none"):
            raise ValueError(f"trispectrum must be 'file', 'none' or an array, got {trispectrum!r}")
        trispectrum = data.trispectrum if trispectrum == "file" else None
    cov = covariance(data.error, trispectrum, data.f_sky if f_sky is None else f_sky)
    d_model = model_d_ell(data.ell, cl_1h, cl_2h, data.foregrounds, A_CIB, A_RS, A_IR, A_CN)
    return log_likelihood(d_model, data.d_ell, cov)


def ymap_log_likelihood(cl_1h, cl_2h, amplitudes, d_factor, foregrounds, d_obs, chol_inv):
    """Gaussian y-map log L = -chi^2/2 of a tSZ spectrum plus foregrounds (pure jnp).

    cl_1h, cl_2h : (n,) dimensionless C_ell at the data bins
    amplitudes : (4,) A_CIB, A_RS, A_IR, A_CN;  foregrounds : (4, n) templates [1e12 D_ell]
    d_factor : (n,) 1e12 ell(ell+1)/(2 pi);  d_obs : (n,) data [1e12 D_ell]
    chol_inv : (n, n) L^-1 with Cov = L L^T, so chi^2 = |L^-1 (D_model - D_obs)|^2.
    Returns -inf where the model is not finite. Traceable (jit, grad, vmap); the single
    implementation shared by the Cobaya likelihood and the JAX posterior.
    """
    d_model = d_factor * (cl_1h + cl_2h) + jnp.asarray(amplitudes) @ foregrounds
    w = chol_inv @ (d_model - d_obs)
    chi2 = w @ w
    # jnp.where, not an if: the same code runs under tracing (NUTS, optax, vmap).
    return jnp.where(jnp.all(jnp.isfinite(d_model)), -0.5 * chi2, -jnp.inf)


# Cobaya calls it eagerly once per step: jitted, one dispatch (~20 us) instead of one per op.
_ymap_log_likelihood_jit = jax.jit(ymap_log_likelihood)


def model_trispectrum(ell, point: dict | None = None, options: dict | None = None) -> np.ndarray:
    """1-halo trispectrum from the model, in (1e12)^2 D_ell D_ell' units.

    Calls ``classy_szlite_cobaya.cl_yy_trispectrum(cosmo, profile, ell, **options)``, which
    returns the dimensionless (n, n) T_{ell ell'}; ``point`` holds CosmoParams and
    ProfileParamsA10 field values (default: the reference-file point, :data:`REFERENCE_POINT`).
    """
    import classy_szlite_cobaya as csl

    fn = getattr(csl, "cl_yy_trispectrum", None)
    if fn is None:
        raise NotImplementedError("classy_szlite_cobaya.cl_yy_trispectrum is not available.")
    point = dict(REFERENCE_POINT if point is None else point)
    unknown = set(point) - set(csl.CosmoParams._fields) - set(csl.ProfileParamsA10._fields)
    if unknown:
        raise ValueError(
            f"Unknown trispectrum_point keys {sorted(unknown)}; use CosmoParams fields "
            f"{csl.CosmoParams._fields} or ProfileParamsA10 fields {csl.ProfileParamsA10._fields}."
        )
    cosmo = csl.CosmoParams(**{k: v for k, v in point.items() if k in csl.CosmoParams._fields})
    profile = csl.ProfileParamsA10(
        **{k: v for k, v in point.items() if k in csl.ProfileParamsA10._fields})
    ell = np.asarray(ell, dtype=float)
    t_cl = np.asarray(fn(cosmo, profile, ell, **(options or {})), dtype=float)
    if t_cl.shape != (ell.size, ell.size):
        raise ValueError(
            f"cl_yy_trispectrum returned shape {t_cl.shape}, expected {(ell.size,) * 2}.")
    return trispectrum_to_d_units(ell, t_cl)


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
            self._data = load_ymap_data(directory, manifest, ell_min=self.ell_min,
                                        ell_max=self.ell_max, f_sky=self.f_sky)
        except (DatasetError, ValueError) as exc:
            raise LoggedError(self.log, "%s", exc) from None

        if self.trispectrum == "file":
            if self._data.trispectrum is None:
                raise LoggedError(self.log, "trispectrum: file, but dataset '%s' has no "
                                  "trispectrum file; use 'model' or 'none'.", manifest.name)
            tri = self._data.trispectrum
        elif self.trispectrum == "model":
            try:
                # Computed once here (slow), so sampling only pays for the Cholesky solve.
                # Cobaya replaces a dict option wholesale; merge so that giving one key
                # (e.g. n_z) keeps the default integration ranges.
                options = {**(self.get_defaults().get("trispectrum_options") or {}),
                           **(self.trispectrum_options or {})}
                tri = model_trispectrum(self._data.ell, self.trispectrum_point, options)
            except (NotImplementedError, ValueError, TypeError) as exc:
                raise LoggedError(self.log, "trispectrum: model failed: %s", exc) from None
        else:
            tri = None
        self._cov = covariance(self._data.error, tri, self._data.f_sky)
        try:
            chol = _cholesky(self._cov)
        except ValueError as exc:
            raise LoggedError(self.log, "%s", exc) from None
        # The covariance is fixed: keep L^-1 (Cov = L L^T) so chi2 = |L^-1 delta|^2 is one
        # 18x18 mat-vec per step instead of a LAPACK call (~5 vs ~25 us).
        self._chol_inv = scipy.linalg.solve_triangular(chol, np.eye(chol.shape[0]), lower=True)
        self._d_factor = d_ell_factor(self._data.ell)
        self._select_cache = {}
        self.log.info("Dataset '%s': %d bins, %g <= ell <= %g, trispectrum: %s, f_sky = %g",
                      manifest.name, self._data.ell.size, self._data.ell.min(),
                      self._data.ell.max(), self.trispectrum, self._data.f_sky)

    def get_requirements(self):
        return {"Cl_yy": {"ell": self._data.ell}}

    # ---------------------------------------------------------------- evaluation
    @property
    def data(self) -> YMapData:
        """The (cut) dataset in use."""
        return self._data

    @property
    def cov(self) -> np.ndarray:
        """The covariance in use, (n, n), in (1e12 D_ell)^2 units."""
        return self._cov

    def _select(self, ell_theory):
        # The theory may serve a union of several consumers' multipoles: pick ours. Cached on
        # the multipole values, as the theory serves the same ell at every step.
        ell_theory = np.asarray(ell_theory, dtype=float)
        key = ell_theory.tobytes()
        if (idx := self._select_cache.get(key)) is not None:
            return idx
        if np.array_equal(ell_theory, self._data.ell):
            idx = slice(None)
        else:
            idx = np.abs(ell_theory[None, :] - self._data.ell[:, None]).argmin(axis=1)
            if not np.allclose(ell_theory[idx], self._data.ell, rtol=1e-9, atol=0):
                raise LoggedError(self.log, "The theory's Cl_yy lacks some requested "
                                  "multipoles %s (it has %s).", self._data.ell, ell_theory)
        self._select_cache[key] = idx
        return idx

    def logp(self, **params_values):
        cl = self.provider.get_Cl_yy()
        idx = self._select(cl["ell"])
        cl_1h = np.asarray(cl["1h"], dtype=float)[idx]
        cl_2h = np.asarray(cl["2h"], dtype=float)[idx]
        if not (np.all(np.isfinite(cl_1h)) and np.all(np.isfinite(cl_2h))):
            self.log.debug("Non-finite Cl_yy from the theory at %s: logp = -inf", params_values)
            return -np.inf
        amps = np.array([params_values[f"A_{fg}"] for fg in FOREGROUNDS], dtype=float)
        return float(_ymap_log_likelihood_jit(cl_1h, cl_2h, amps, self._d_factor,
                                              self._data.foregrounds, self._data.d_ell,
                                              self._chol_inv))
