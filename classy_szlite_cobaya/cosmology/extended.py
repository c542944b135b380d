r"""Extended cosmologies as ratios to the LambdaCDM emulator: massive neutrinos, w0-wa dark
energy and early dark energy (EDE), emulated from CAMB (``tools/camb_emulator``).

    ln P_X(k, z; theta) = ln P_lin^LCDM(k, z; omega_b, omega_cdm, h, n_s, A_s)
                          + ln R_w(k, z; omega_b, omega_cdm, H0, sum m_nu, w0, wa)
                          + ln R_EDE(k, z; omega_b, omega_cdm, H0, sum m_nu, fEDE, log10z_c,
                                     thetai_scf),     X = tot (all matter) or cb (cdm + baryons)

R_w is CAMB's P(massive nu + w0-wa, PPF) over CAMB's massless LambdaCDM at the same
omega_b, omega_cdm, H0 (N_eff = 3.046); R_EDE is CAMB's P(massive nu + EDE, w = -1) over the
same cosmology without EDE. The primordial spectrum cancels in both ratios (linear theory),
so A_s and n_s enter only through the LambdaCDM network. CAMB has no EDE with w0-wa, so the
two ratios are trained separately and multiplied: exact when one of the two is at its
null point, an approximation otherwise (see docs/physics.md).

Each ratio table (``generate.Z_GRID`` x ``generate.K_GRID``: 11 z in [0, 5], 140 ln-uniform
k in [1e-4, 10] /Mpc) is a Gaussian-process prediction on PCA components
(:func:`.gp.gp_predict`; fitted by ``tools/camb_emulator/train.py``) on the inputs of
:func:`transform_inputs` mapped to the unit cube.
Weights: ``cosmology/weights/emulator_<family>.npz`` (NumPy arrays only, no pickle), model
card ``cosmology/weights/MODEL_CARD.md``. The tables are interpolated (4-point Lagrange,
uniform grids) in z and ln k; outside [1e-4, 10] /Mpc the ratio is held at its end values.
"""
from __future__ import annotations

import functools
import os

import numpy as np
import jax.numpy as jnp

from ..constants import N_NCDM_SPECIES
from ..params import MASSLESS_LCDM, CosmoParams, concrete
from ..interpolation import interp_uniform
from . import emulator, growth
from .gp import gp_predict

__all__ = ["FAMILIES", "FAMILY_FIELDS", "NULL", "load_family", "family_inputs", "unit_inputs",
           "mean_features",
           "gp_tables", "ln_ratio", "linear_power_ratio", "linear_power"]


FAMILIES = ("w", "ede")
_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


def _path(family: str) -> str:
    return os.path.join(_WEIGHTS, f"emulator_{family}.npz")


@functools.lru_cache(maxsize=None)
def load_family(family: str) -> dict:
    """Arrays of one ratio emulator (NumPy; see the module docstring): ``u_train`` (n, d),
    ``ell`` (g, d) (or (d,): one group), ``pc_group`` (n_pc,) (group of each component;
    absent: all in group 0), ``alpha`` (n, n_pc), ``mean`` (n_out,), ``basis`` (n_pc, n_out), ``lo``,
    ``hi`` (d,) (box of the transformed inputs, :func:`transform_inputs`), ``names`` (d,), ``k`` (n_k,), ``z`` (n_z,)."""
    if family not in FAMILIES:
        raise ValueError(f"family = {family!r} is not one of {FAMILIES}")
    with np.load(_path(family), allow_pickle=False) as f:
        return {key: np.asarray(f[key]) for key in f.files}


#: family -> (column, scale c): the column holding wa is replaced by exp(c (w0 + wa)), the
#: early-time dark-energy density's exponent: the power ratio changes fastest as w0 + wa -> 0
#: and hardly at all for w0 + wa << 0, and this input makes that change near-uniform.
_EARLY_DE = {"w": (5, 2.0)}


#: families whose omega_cdm input (column 1) the GP sees as ln omega_cdm: the EDE imprint
#: changes fastest at small omega_cdm.
_LN_OMEGA_CDM = ("ede",)


def transform_inputs(family: str, x):
    """Physical inputs (..., d) -> the GP's inputs (before the unit-cube map)."""
    x = jnp.asarray(x, dtype=float)
    if family in _EARLY_DE:
        col, c = _EARLY_DE[family]
        x = x.at[..., col].set(jnp.exp(c * (x[..., col - 1] + x[..., col])))
    if family in _LN_OMEGA_CDM:
        x = x.at[..., 1].set(jnp.log(x[..., 1]))
    return x


def transformed_box(family: str, lo, hi):
    """(lo, hi) of the GP inputs for the physical box [lo, hi] (w0 + wa < 0 for w)."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    if family in _EARLY_DE:
        col, c = _EARLY_DE[family]
        lo[col], hi[col] = np.exp(c * (lo[col - 1] + lo[col])), 1.0
    if family in _LN_OMEGA_CDM:
        lo[1], hi[1] = np.log(lo[1]), np.log(hi[1])
    return lo, hi


def unit_inputs(model: dict, x):
    """Physical inputs x (..., d) of ``model['family']`` -> the GP's unit-cube inputs."""
    family = str(model["family"])
    return (transform_inputs(family, x) - model["lo"]) / (model["hi"] - model["lo"])


def mean_features(family: str, x, z_grid, n_k: int):
    """Physical mean (2 n_z n_k,) of the emulated outputs at physical inputs x (d,) in the
    order of ``generate.BOXES[family]``: for ``w``, 2 ln[D(z; x) / D(z; massless LambdaCDM)]
    (:func:`.growth.ln_growth`) for every k in the ln R_tot block and 0 in the cb - tot block;
    for ``ede``, 0 (its background is not modelled)."""
    x = jnp.asarray(x, dtype=float)
    n_z = len(z_grid)
    if family != "w":
        return jnp.zeros(2 * n_z * n_k)
    ob, oc, h0, mnu, w0, wa = (x[i] for i in range(6))
    # Every field explicit (the CosmoParams defaults are not the training conventions): the
    # CAMB runs have N_eff = 3.046 and no EDE; the reference is their massless, w = -1 twin.
    base = dict(omega_b=ob, omega_cdm=oc, H0=h0, **MASSLESS_LCDM)
    ext = CosmoParams(**dict(base, m_ncdm=mnu / N_NCDM_SPECIES, w0=w0, wa=wa))
    ref = CosmoParams(**base)
    g = 2.0 * (growth.ln_growth(ext, z_grid) - growth.ln_growth(ref, z_grid))
    return jnp.concatenate([jnp.repeat(g, n_k), jnp.zeros(n_z * n_k)])


def gp_tables(model: dict, x, with_mean: bool = True):
    """(ln R_tot, ln R_cb), each (n_z, n_k) on the model's grid, at physical inputs x (d,)
    ordered as ``model['names']``: GP mean of the PCA components plus the physical mean
    :func:`mean_features` of ``model['family']`` (``with_mean=False``: left out, e.g. at a
    point where it vanishes identically)."""
    family = str(model["family"])
    y = gp_predict(model, unit_inputs(model, x))
    if with_mean:
        y = y + mean_features(family, x, model["z"], len(model["k"]))
    n_z, n_k = len(model["z"]), len(model["k"])
    tot = y[: n_z * n_k].reshape(n_z, n_k)
    return tot, tot + y[n_z * n_k:].reshape(n_z, n_k)


def ln_ratio(model: dict, tables, z, ln_k):
    """Tables (n_z_grid, n_k_grid) of :func:`gp_tables` interpolated to redshifts z (n,) and
    ln k (m,) [ln(1/Mpc)]: (n, m). ln k outside the grid takes the end values."""
    zg, kg = model["z"], np.log(model["k"])
    ln_k = jnp.clip(jnp.asarray(ln_k, dtype=float), kg[0], kg[-1])
    z = jnp.asarray(z, dtype=float)
    in_k = interp_uniform(float(kg[0]), float(kg[1] - kg[0]), tables, ln_k)      # (n_zg, m)
    return interp_uniform(float(zg[0]), float(zg[1] - zg[0]), in_k.T, z).T       # (n, m)


#: family -> its own CosmoParams fields, the inputs after omega_b, omega_cdm, H0, Sum m_nu.
FAMILY_FIELDS = {"w": ("w0", "wa"), "ede": ("fEDE", "log10z_c", "thetai_scf")}
#: family -> {input column: value}: the null twin of a point, where the trained ratio is 0
#: by definition (massless, w = -1 for ``w``; no EDE for ``ede``).
NULL = {"w": {3: 0.0, 4: -1.0, 5: 0.0}, "ede": {4: 0.0}}


def family_inputs(family: str, cosmo):
    """Inputs (d,) of a family's emulator from CosmoParams, in ``generate.BOXES`` order:
    omega_b, omega_cdm, H0, Sum m_nu = 3 m_ncdm, then :data:`FAMILY_FIELDS` (w0, wa for
    ``w``; fEDE, log10z_c, thetai_scf for ``ede``)."""
    f = lambda v: jnp.asarray(v, dtype=float)
    return jnp.stack([f(cosmo.omega_b), f(cosmo.omega_cdm), f(cosmo.H0),
                      N_NCDM_SPECIES * f(cosmo.m_ncdm)]
                     + [f(getattr(cosmo, n)) for n in FAMILY_FIELDS[family]])


def linear_power_ratio(model: dict, x, z, ln_k):
    """(ln R_tot, ln R_cb) (n_z, n_k) at inputs x (d,) (order ``model['names']``), redshifts
    z and ln k: the emulated ratio minus the emulated ratio at the null twin of x
    (:data:`NULL`; zero there exactly)."""
    x = jnp.asarray(x, dtype=float)
    null = x
    for col, value in NULL[str(model["family"])].items():
        null = null.at[col].set(value)
    tot, cb = gp_tables(model, x)
    tot0, cb0 = gp_tables(model, null, with_mean=False)   # the physical mean is 0 at null
    return ln_ratio(model, tot - tot0, z, ln_k), ln_ratio(model, cb - cb0, z, ln_k)


def _at_null(family: str, cosmo) -> bool:
    """True if the family's own fields (m_ncdm, w0, wa for ``w``; fEDE for ``ede``) are
    concrete and at their null values."""
    # the null columns of NULL as fields (column 3 is Sum m_nu = 3 m_ncdm)
    names = ("omega_b", "omega_cdm", "H0", "m_ncdm") + FAMILY_FIELDS[family]
    fields = {names[col]: value for col, value in NULL[family].items()}
    values = [concrete(getattr(cosmo, f)) for f in fields]
    return all(v is not None and np.ndim(v) == 0 for v in values) and \
        tuple(float(v) for v in values) == tuple(fields.values())


def linear_power(cosmo, z):
    """(ln P_tot, ln P_cb) on ``emulator.LN_K`` at redshifts z (n_z,): arrays (n_z, N_K) of
    ln(P [Mpc^3]) for all matter and for cdm + baryons (no validation: the callers check the
    box, :data:`~classy_szlite_cobaya.params.EMULATOR_BOX`).

    Each family's ln R is its emulated ratio at the cosmology minus its emulated ratio at the
    null twin (:data:`NULL`): the trained target is exactly 0 there, and so is the correction,
    so flat massless LambdaCDM reproduces the LambdaCDM network exactly, and fEDE = 0 the
    massive-neutrino, w0-wa spectrum.
    """
    z = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    ln_p = emulator.linear_power(cosmo, z)
    ln_tot, ln_cb = ln_p, ln_p
    for family in FAMILIES:
        if _at_null(family, cosmo):
            # Concrete null fields: the correction is exactly 0 (see above), so it is not
            # built at all (LambdaCDM keeps its cost and compile time). Traced fields always
            # take the full path, so gradients with respect to them exist.
            continue
        r_tot, r_cb = linear_power_ratio(load_family(family), family_inputs(family, cosmo),
                                         z, emulator.LN_K)
        ln_tot, ln_cb = ln_tot + r_tot, ln_cb + r_cb
    return ln_tot, ln_cb
