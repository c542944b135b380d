r"""The Planck-style Compton-y power-spectrum likelihood (Planck 2015 y-map, Bolliet et al.
2018), as pure functions: data loading, covariance, Cholesky factor, model and ONE Gaussian
log-likelihood. The Cobaya likelihood (:class:`~classy_szlite_cobaya.cobaya.likelihood.
PlanckYMap2015`), the JAX posterior (:mod:`classy_szlite_cobaya.inference.posterior`) and the
plot (:mod:`classy_szlite_cobaya.plot`) all evaluate it through :class:`YMapLikelihood`.

Units: multipoles are dimensionless; C_ell is the dimensionless y power spectrum and every
data-space quantity is in "1e12 D_ell" units,

    D_ell = 1e12 ell (ell + 1) C_ell / (2 pi).

Model (per bin b):

    D_b = 1e12 ell_b (ell_b + 1) / (2 pi) [C^1h_b + C^2h_b]
          + A_CIB CIB_b + A_RS RS_b + A_IR IR_b + A_CN CN_b

Covariance (n x n):

    Cov = diag(error^2) + T / (4 pi f_sky),

T the 1-halo trispectrum in (1e12)^2 [ell(ell+1)/2pi] [ell'(ell'+1)/2pi] T_{ell ell'} units
(from the dataset's file, from the model at a fixed point, or none).

log L = -chi^2 / 2, chi^2 = |L^-1 (D - D_obs)|^2 with Cov = L L^T (the covariance is fixed, so
the normalisation is a constant and dropped).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

if TYPE_CHECKING:  # runtime imports are local: cobaya/__init__ imports this module
    from ..cobaya.datasets import DatasetManifest

__all__ = [
    "FOREGROUNDS",
    "REFERENCE_POINT",
    "YMapData",
    "YMapLikelihood",
    "load_ymap_data",
    "cut_ell",
    "d_ell_factor",
    "trispectrum_to_d_units",
    "covariance",
    "cholesky_inverse",
    "make_ymap_likelihood",
    "model_d_ell",
    "gaussian_log_likelihood",
    "ymap_log_likelihood",
    "log_likelihood",
    "log_likelihood_from_cl",
    "model_trispectrum",
]

#: Foreground templates, in the order of ``YMapData.foregrounds`` rows and amplitudes A_<name>.
FOREGROUNDS = ("CIB", "RS", "IR", "CN")
#: Point of the Planck 2015 reference trispectrum file (tSZ_params_ref_...): CosmoParams and
#: ProfileParamsA10 field names; ln10_10_As = ln(1e10 * 1.9e-9); massless neutrinos and no EDE
#: (the model trispectrum was validated against the file so).
REFERENCE_POINT = {
    "omega_b": 0.0224,
    "omega_cdm": 0.125,
    "H0": 69.0,
    "ln10_10_As": math.log(19.0),
    "n_s": 0.96,
    "m_ncdm": 0.0,
    "fEDE": 0.0,
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


# ------------------------------------------------------------------------------ data
def _columns(manifest: DatasetManifest, role: str, keys) -> list[int]:
    from ..cobaya.datasets import DatasetError

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
    keeping bins with ell_min <= ell <= ell_max. ``f_sky`` defaults to the manifest's.

    Raises DatasetError (a ValueError) for inconsistent files, ValueError if no bin is kept.
    """
    from ..cobaya.datasets import DatasetError, DatasetManifest, load_manifest

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


# ------------------------------------------------------------------------------ covariance
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


def cholesky_inverse(cov) -> np.ndarray:
    """L^-1 (n, n) with Cov = L L^T, L lower triangular, so chi^2 = |L^-1 r|^2.

    ValueError if ``cov`` is not a finite symmetric positive-definite matrix.
    """
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.all(np.isfinite(cov)):
        raise ValueError(f"Covariance must be a finite square matrix, got shape {cov.shape}.")
    try:
        chol = scipy.linalg.cholesky(cov, lower=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValueError(f"Covariance is not positive definite: {exc}") from exc
    # The covariance is fixed: keeping L^-1 makes chi2 one n x n mat-vec per step (jnp,
    # traceable) instead of a LAPACK triangular solve per step.
    return scipy.linalg.solve_triangular(chol, np.eye(cov.shape[0]), lower=True)


# ------------------------------------------------------------------------------ likelihood
def model_d_ell(cl_1h, cl_2h, amplitudes, d_factor, foregrounds):
    """Model 1e12 D_ell (n,) = d_factor (C^1h + C^2h) + amplitudes @ foregrounds (pure jnp).

    cl_1h, cl_2h : (n,) dimensionless C_ell; amplitudes : (4,) A_CIB, A_RS, A_IR, A_CN;
    d_factor : (n,) 1e12 ell(ell+1)/(2 pi); foregrounds : (4, n) templates [1e12 D_ell].
    """
    return d_factor * (cl_1h + cl_2h) + jnp.asarray(amplitudes) @ foregrounds


def gaussian_log_likelihood(d_model, d_obs, chol_inv):
    """-chi^2/2, chi^2 = |chol_inv (d_model - d_obs)|^2 (pure jnp; jit, grad, vmap).

    -inf where ``d_model`` is not finite (never NaN from a NaN model).
    """
    w = chol_inv @ (d_model - d_obs)
    # jnp.where, not an if: the same code runs under tracing (NUTS, optax, vmap).
    return jnp.where(jnp.all(jnp.isfinite(d_model)), -0.5 * (w @ w), -jnp.inf)


def ymap_log_likelihood(cl_1h, cl_2h, amplitudes, d_factor, foregrounds, d_obs, chol_inv):
    """Gaussian y-map log L = -chi^2/2 of a tSZ spectrum plus foregrounds (pure jnp).

    Arguments as :func:`model_d_ell`, plus d_obs (n,) [1e12 D_ell] and chol_inv (n, n) from
    :func:`cholesky_inverse`. Returns -inf where the model is not finite. Traceable.
    """
    return gaussian_log_likelihood(model_d_ell(cl_1h, cl_2h, amplitudes, d_factor, foregrounds),
                                   d_obs, chol_inv)


# Eager callers (Cobaya, once per step) pay one dispatch (~20 us) instead of one per op; nested
# in an outer jit it is inlined.
_ymap_log_likelihood_jit = jax.jit(ymap_log_likelihood)


class YMapLikelihood(NamedTuple):
    """A y-map likelihood ready to evaluate: the (cut) data, its fixed covariance (n, n) in
    (1e12 D_ell)^2, chol_inv = L^-1 (Cov = L L^T) and d_factor = 1e12 ell(ell+1)/(2 pi) (n,).
    Build with :func:`make_ymap_likelihood`."""

    data: YMapData
    cov: np.ndarray
    chol_inv: np.ndarray
    d_factor: np.ndarray

    def model_d_ell(self, cl_1h, cl_2h, amplitudes):
        """Model 1e12 D_ell (n,) at the data bins (see :func:`model_d_ell`)."""
        return model_d_ell(cl_1h, cl_2h, amplitudes, self.d_factor, self.data.foregrounds)

    def log_likelihood(self, cl_1h, cl_2h, amplitudes):
        """log L = -chi^2/2 of C^1h, C^2h (n,) dimensionless at ``data.ell`` and amplitudes
        (4,) in :data:`FOREGROUNDS` order; -inf for a non-finite model. Traceable; returns a
        0-d jax array (``float()`` it when eager)."""
        return _ymap_log_likelihood_jit(cl_1h, cl_2h, amplitudes, self.d_factor,
                                        self.data.foregrounds, self.data.d_ell, self.chol_inv)

    def chi2(self, cl_1h, cl_2h, amplitudes):
        """chi^2 = -2 log L."""
        return -2.0 * self.log_likelihood(cl_1h, cl_2h, amplitudes)


def make_ymap_likelihood(data: YMapData, trispectrum="file", f_sky: float | None = None
                         ) -> YMapLikelihood:
    """The likelihood of ``data`` with Cov = diag(error^2) + T / (4 pi f_sky).

    ``trispectrum``: ``"file"`` (``data.trispectrum``; ValueError if the dataset has none),
    ``"none"``/None (Gaussian errors only), or an (n, n) array in (1e12)^2 D_ell D_ell' units.
    ``f_sky`` defaults to ``data.f_sky``. ValueError if the covariance is not positive definite.
    """
    if isinstance(trispectrum, str):
        if trispectrum not in ("file", "none"):
            raise ValueError(f"trispectrum must be 'file', 'none' or an array, got {trispectrum!r}")
        if trispectrum == "file" and data.trispectrum is None:
            raise ValueError(f"trispectrum='file', but dataset '{data.name}' has no "
                             "trispectrum file; use 'model' or 'none'.")
        trispectrum = data.trispectrum if trispectrum == "file" else None
    if trispectrum is not None and np.shape(trispectrum) != (data.ell.size,) * 2:
        raise ValueError(f"trispectrum has shape {np.shape(trispectrum)}, expected "
                         f"{(data.ell.size,) * 2}.")
    cov = covariance(data.error, trispectrum, data.f_sky if f_sky is None else f_sky)
    return YMapLikelihood(data, cov, cholesky_inverse(cov), d_ell_factor(data.ell))


def log_likelihood(d_model, data_vector, cov) -> float:
    """log L = -chi^2/2, chi^2 = (d_model - data)^T Cov^{-1} (d_model - data), eager, for any
    covariance (the same :func:`gaussian_log_likelihood` as the y-map likelihood).

    Returns -inf if d_model is not finite; ValueError if cov is not positive definite.
    """
    return float(gaussian_log_likelihood(np.asarray(d_model, dtype=float),
                                         np.asarray(data_vector, dtype=float),
                                         cholesky_inverse(cov)))


def log_likelihood_from_cl(data: YMapData, cl_1h, cl_2h, *, A_CIB, A_RS, A_IR,
                           A_CN=0.9033, trispectrum="file", f_sky=None) -> float:
    """log L of dimensionless C^1h, C^2h (at ``data.ell``) and foreground amplitudes, without
    Cobaya: the same numbers as the Cobaya ``PlanckYMap2015``. ``trispectrum``, ``f_sky``: as
    :func:`make_ymap_likelihood`."""
    like = make_ymap_likelihood(data, trispectrum, f_sky)
    amps = np.array([A_CIB, A_RS, A_IR, A_CN], dtype=float)
    return float(like.log_likelihood(np.asarray(cl_1h, dtype=float),
                                     np.asarray(cl_2h, dtype=float), amps))


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
