"""Parameter pytrees and their validation.

``CosmoParams``, ``ProfileParamsA10`` and ``ProfileParamsB12`` are ``NamedTuple`` pytrees: every field may be a
Python float, a NumPy scalar or a JAX array (also a tracer), so ``jax.grad`` with respect to
the whole container returns a container of partial derivatives.

Validation follows one rule. In eager code (concrete values) a bad value raises
``ValueError`` naming the parameter, the value and its allowed range; a value of the wrong
type (a string, None, a bool, a complex number, a dict instead of the NamedTuple) raises
``TypeError`` naming the field or argument. Under tracing (``jit``, ``grad``,
``vmap``) values cannot be inspected, so the numerical core multiplies its outputs by
:func:`validity_factor`, which is NaN outside the allowed ranges: an invalid point gives a
non-finite result, never a silent extrapolation.

Units: H0 in km/s/Mpc; omega_b, omega_cdm are physical densities Omega h^2.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from .constants import N_UR_DEFAULT, N_UR_SEED

__all__ = [
    "CosmoParams",
    "ProfileParamsA10",
    "ProfileParamsB12",
    "PROFILE_TYPES",
    "EMULATOR_BOX",
    "MASSLESS_LCDM",
    "LCDM_BOX",
    "PROFILE_RANGES",
    "PROFILE_RANGES_B12",
    "check_cosmo",
    "check_profile",
    "check_profile_fields",
    "check_real",
    "concrete",
    "validity_factor",
]


class CosmoParams(NamedTuple):
    """Cosmological parameters, with the field names of classy_szlite.

    omega_b, omega_cdm : physical baryon / CDM densities Omega h^2 [dimensionless]
    H0 : Hubble constant [km/s/Mpc]
    tau_reio : optical depth to reionisation (used by the CMB spectra only)
    ln10_10_As : ln(10^10 A_s), primordial amplitude at k_pivot = 0.05/Mpc
    n_s : scalar spectral index
    fEDE, log10z_c, thetai_scf : early dark energy of the n = 3 axion-like potential
        (CAMB's ``EarlyQuintessence`` with ``use_zc``; CLASS's scf of the EDE papers): the
        fraction of the energy density in the field at its critical redshift z_c, log10 z_c,
        and the initial field angle. Enter the linear power through the CAMB-trained EDE
        ratio (``cosmology.extended``); the background (H, distances, growth mean) ignores
        EDE, which is negligible at z <= 5 (docs/physics.md section 10). fEDE = 0: no EDE.
    r : tensor-to-scalar ratio (no effect on the matter spectra; only 0 accepted)
    m_ncdm : mass of EACH of three degenerate massive neutrino species [eV] (CLASS's
        ``N_ncdm = 1, deg_ncdm = 3`` convention, T_ncdm = 0.71611 T_cmb): Sum m_nu =
        3 m_ncdm, in [0, 0.5] eV (:data:`EMULATOR_BOX`). Note: per species, not the sum.
        Default 0.02 eV (Sum 0.06 eV), as classy_szlite.
    N_ur : massless (ultra-relativistic) species beside the three massive ones, in
        [0.00441, 0.006395] (N_eff = 3.044 ... 3.046 in total; default 0.00441 as
        classy_szlite). The background uses it exactly; the networks (linear and non-linear
        power, CMB) are the N_eff = 3.046 ones throughout this range (docs/physics.md
        section 1 gives the size: <= 0.04 % in P_lin, <= 0.08 % in the CMB spectra).

    The defaults are classy_szlite's: Planck 2018 with three degenerate 0.02 eV neutrinos and
    fEDE = 0.001. Massless LambdaCDM without EDE (what the non-linear boost and CMB networks
    know) is ``CosmoParams(**MASSLESS_LCDM)``.
    w0, wa : dark-energy equation of state w(a) = w0 + wa (1 - a) (CPL; PPF perturbations,
        as CAMB), with w0 + wa < 0.
    """

    omega_b: Any = 0.02242
    omega_cdm: Any = 0.11933
    H0: Any = 67.66
    tau_reio: Any = 0.054
    ln10_10_As: Any = 3.047
    n_s: Any = 0.9665
    fEDE: Any = 0.001
    log10z_c: Any = 3.562
    thetai_scf: Any = 2.83
    r: Any = 0.0
    m_ncdm: Any = 0.02
    N_ur: Any = N_UR_SEED
    w0: Any = -1.0
    wa: Any = 0.0


class ProfileParamsA10(NamedTuple):
    """Arnaud et al. 2010 generalised-NFW pressure profile and hydrostatic mass bias.

    p(x) = P0 / [(c500 x)^gamma (1 + (c500 x)^alpha)^((beta - gamma)/alpha)],  x = r / r500.
    B = M_true / M_HSE = 1/(1 - b): a halo of true mass M carries the profile of mass M/B.
    All fields dimensionless. Allowed: the open ranges of :data:`PROFILE_RANGES` and
    beta > gamma (ValueError eager, NaN traced outside).
    """

    P0: Any = 8.130
    c500: Any = 1.156
    gamma: Any = 0.3292
    alpha: Any = 1.0620
    beta: Any = 5.4807
    B: Any = 1.0


class ProfileParamsB12(NamedTuple):
    """Battaglia et al. 2012 (ApJ 758, 75; "AGN feedback" fit, Delta = 200c) pressure profile
    and mass bias.

    P_th(r) = P_200 P0(M, z) (x/xc)^gamma [1 + (x/xc)^alpha]^(-beta),  x = r / R200c,
    A(M, z) = A (M / 1e14 Msun)^alpha_m_A (1 + z)^alpha_z_A  for A = P0, xc, beta,
    P_200 = G M 200 rho_crit(z) f_b / (2 R200c), f_b = Omega_b / Omega_m, M = M200c in Msun
    (the paper's eq. 11 and Table 1 fits; its mass unit is Msun, no h). Defaults: the paper's
    AGN-feedback values. B = M_true / M_profile as for A10: a halo of true mass M carries the
    profile of mass M/B. All fields dimensionless. Allowed: the open ranges of
    :data:`PROFILE_RANGES_B12` (ValueError eager, NaN traced outside).
    """

    P0: Any = 18.1
    alpha_m_P0: Any = 0.154
    alpha_z_P0: Any = -0.758
    xc: Any = 0.497
    alpha_m_xc: Any = -0.00865
    alpha_z_xc: Any = 0.731
    beta: Any = 4.35
    alpha_m_beta: Any = 0.0393
    alpha_z_beta: Any = 0.415
    alpha: Any = 1.0
    gamma: Any = -0.3
    B: Any = 1.0


#: Training box of the cosmopower-jax ``mpk_lin`` emulator (uniform priors), in CosmoParams
#: names; H0 in km/s/Mpc (the emulator takes h = H0/100 in [0.64, 0.82]). The networks that
#: know only flat LambdaCDM with massless neutrinos (the non-linear boost) use this box.
LCDM_BOX = {
    "omega_b": (0.01875, 0.02625),
    "omega_cdm": (0.05, 0.255),
    "H0": (64.0, 82.0),
    "n_s": (0.84, 1.1),
    "ln10_10_As": (1.61, 3.91),
    # N_eff 3.044 ... 3.046 (classy_szlite's N_ur and CAMB's N_eff): the networks' N_eff =
    # 3.046 is used throughout the range; measured with CAMB, docs/physics.md section 1.
    "N_ur": (N_UR_SEED, N_UR_DEFAULT),
}
#: The fields that make a CosmoParams massless flat LambdaCDM without EDE with N_eff = 3.046
#: (exactly the LambdaCDM networks' cosmology), the only cosmology of the networks that know
#: nothing else (non-linear boost, CMB): ``CosmoParams(**MASSLESS_LCDM)``.
MASSLESS_LCDM = {"m_ncdm": 0.0, "fEDE": 0.0, "N_ur": N_UR_DEFAULT, "w0": -1.0, "wa": 0.0}
#: Box of the linear matter power (LambdaCDM network x the CAMB-trained extensions, see
#: cosmology.extended): LCDM_BOX plus massive neutrinos (per species, Sum m_nu <= 0.5 eV),
#: w0-wa (with w0 + wa < 0) and early dark energy (fEDE = 0: none).
EMULATOR_BOX = dict(LCDM_BOX, m_ncdm=(0.0, 0.5 / 3.0), w0=(-2.0, -0.3), wa=(-2.0, 2.0),
                    fEDE=(0.0, 0.3), log10z_c=(3.0, 4.3), thetai_scf=(0.1, 3.1))
#: Redshift range the emulator was trained on.
EMULATOR_Z_RANGE = (0.0, 5.0)

#: Fields a model cannot vary unless its box lists them: their only accepted value.
_FIXED_FIELDS = {
    "fEDE": 0.0,
    "log10z_c": 3.562,
    "thetai_scf": 2.83,
    "r": 0.0,
    "m_ncdm": 0.0,
    "N_ur": N_UR_DEFAULT,
    "w0": -1.0,
    "wa": 0.0,
}
#: Said when a model that knows only massless LambdaCDM refuses a field.
MASSLESS_HINT = (" This model knows only massless LambdaCDM without EDE: use "
                 "CosmoParams(m_ncdm=0, fEDE=0, ...) (csl.MASSLESS_LCDM; the defaults are "
                 "classy_szlite's 3 x 0.02 eV neutrinos and fEDE = 0.001).")

#: Open ranges accepted for the profile parameters, plus beta > gamma. They are where the
#: profile transform on the default grid (x_out = 4, n_x = 513, innermost node 4e-6) is
#: accurate: at every corner of the box C_ell agrees with a 32x finer, 1e7x deeper x grid to
#: 1e-3 (tests/test_validation.py checks the corners). Beyond them the grid stops resolving
#: the profile (gamma towards 3, or small alpha with large beta and c500, put the pressure
#: inside the innermost node) and far outside the exponents overflow. P0 (C ~ P0^2,
#: covariance ~ P0^4) is bounded so that C_ell and its covariance stay far from under- and
#: overflow for every profile in the box. The mass bias range is set by the padding of the
#: profile-transform lattice (see ``tsz.kernels``).
PROFILE_RANGES = {
    "P0": (1.0e-3, 1.0e3),
    "c500": (0.1, 10.0),
    "gamma": (-5.0, 1.5),
    "alpha": (0.5, 10.0),
    "beta": (-5.0, 15.0),
    "B": (0.5, 4.0),
}


#: Open ranges accepted for the B12 fields (plus B as for A10: lattice padding). Measured at
#: the edges (one field at a time and the combinations small xc with steep cusp, large xc
#: with shallow outer slope, extreme M and z slopes of xc and beta; ell = 10 ... 5000):
#: C_ell on the default profile grid (x_out = 4, n_x = 513) agrees with an 8x finer grid
#: (n_x = 4097) to 1.3e-6. Far outside them the exponents overflow.
PROFILE_RANGES_B12 = {
    "P0": (1.0e-2, 1.0e4),
    "alpha_m_P0": (-1.0, 1.0),
    "alpha_z_P0": (-3.0, 3.0),
    "xc": (0.02, 5.0),
    "alpha_m_xc": (-0.3, 0.3),
    "alpha_z_xc": (-3.0, 3.0),
    "beta": (0.5, 20.0),
    "alpha_m_beta": (-0.3, 0.3),
    "alpha_z_beta": (-3.0, 3.0),
    "alpha": (0.3, 5.0),
    "gamma": (-1.5, 1.5),
    "B": (0.5, 4.0),
}

#: Profile pytree type -> its allowed ranges.
PROFILE_TYPES = {ProfileParamsA10: PROFILE_RANGES, ProfileParamsB12: PROFILE_RANGES_B12}


def concrete(x) -> np.ndarray | None:
    """Return ``x`` as a NumPy array if its value is known (not a JAX tracer), else None.

    No type check: call :func:`check_real` first on anything that comes from a user
    (``np.asarray("67", dtype=float)`` would quietly give 67.0).
    """
    try:
        return np.asarray(x, dtype=float)
    except Exception:  # jax.errors.TracerArrayConversionError and friends
        return None


def check_real(name: str, value) -> np.ndarray | None:
    """Raise ``TypeError`` naming ``name`` unless ``value`` is real-valued.

    Accepted: Python int and float, NumPy integer/floating scalars and arrays, JAX arrays and
    tracers of an integer or floating dtype, and sequences of real numbers. Refused: None,
    bool (also NumPy bool and boolean arrays: a flag is not a number), str/bytes, complex,
    and anything else. Returns the value as a float NumPy array when it is concrete, None
    when it is traced (its values are then checked by :func:`validity_factor`).
    """
    def refuse():
        raise TypeError(f"{name} = {value!r} ({type(value).__name__}): expected a real "
                        f"number (int or float) or an array of real numbers")
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        refuse()
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        if isinstance(value, numbers.Number) and not isinstance(value, numbers.Real):
            refuse()                                      # complex
        if not isinstance(value, numbers.Real):
            try:
                dtype = np.asarray(value).dtype
            except Exception:
                refuse()
    if dtype is not None and not (jnp.issubdtype(dtype, jnp.floating)
                                  or jnp.issubdtype(dtype, jnp.integer)):
        refuse()
    return concrete(value)


def _check_container(obj, cls, argument: str) -> None:
    if not isinstance(obj, cls):
        raise TypeError(f"{argument} must be a {cls.__name__} (fields {list(cls._fields)}), got "
                        f"{type(obj).__name__}; build it as {cls.__name__}(**values)")


def _fmt_range(lo, hi, closed=True):
    lb, rb = ("[", "]") if closed else ("(", ")")
    return f"{lb}{lo:g}, {hi:g}{rb}"


def check_cosmo(cosmo: CosmoParams, argument: str = "cosmo", *, box: dict | None = None,
                model: str = "the embedded linear-power emulator",
                hint: str = " For this cosmology use the Cobaya theory in provider mode "
                            "(cosmology_source: provider) with classy or camb.") -> None:
    """Raise ``TypeError`` if ``cosmo`` is not a CosmoParams of real numbers, ``ValueError``
    naming the field, its value and the allowed range if a concrete field is non-finite,
    outside ``box`` (default :data:`EMULATOR_BOX`; any emulator's box in CosmoParams names)
    or, for a field ``model`` does not vary, different from its only accepted value.

    Traced fields are only type-checked (see :func:`validity_factor` for the traced path).
    """
    box = EMULATOR_BOX if box is None else box
    _check_container(cosmo, CosmoParams, argument)
    for name, value in zip(cosmo._fields, cosmo):
        v = check_real(f"CosmoParams.{name}", value)
        if v is None:
            continue
        if not np.all(np.isfinite(v)):
            raise ValueError(f"CosmoParams.{name} = {value!r} is not finite")
        if name in box:
            lo, hi = box[name]
            if np.any(v < lo) or np.any(v > hi):
                raise ValueError(
                    f"CosmoParams.{name} = {float(np.max(v)) if np.any(v > hi) else float(np.min(v)):g} "
                    f"is outside the training box of {model}: allowed range "
                    f"{_fmt_range(lo, hi)}")
        elif name in _FIXED_FIELDS and np.any(v != _FIXED_FIELDS[name]):
            raise ValueError(
                f"CosmoParams.{name} = {float(np.ravel(v)[0]):g} is not modelled by {model}: "
                f"allowed value {_FIXED_FIELDS[name]:g}.{hint}")
    if "w0" in box and "wa" in box:
        w0, wa = concrete(cosmo.w0), concrete(cosmo.wa)
        if w0 is not None and wa is not None and np.any(w0 + wa >= 0.0):
            raise ValueError(f"CosmoParams.w0 + CosmoParams.wa = {float(np.max(w0 + wa)):g} "
                             f"must be < 0 (dark energy subdominant at early times) for "
                             f"{model}")


def check_profile(profile, argument: str = "profile") -> None:
    """Raise ``TypeError`` if ``profile`` is not a ProfileParamsA10 or ProfileParamsB12 of
    real numbers, ``ValueError`` if a concrete field is non-finite or outside its ranges
    (:data:`PROFILE_RANGES`, :data:`PROFILE_RANGES_B12`), or (A10) if beta <= gamma."""
    if not isinstance(profile, tuple(PROFILE_TYPES)):
        raise TypeError(f"{argument} must be a ProfileParamsA10 (fields "
                        f"{list(ProfileParamsA10._fields)}) or a ProfileParamsB12 (fields "
                        f"{list(ProfileParamsB12._fields)}), got {type(profile).__name__}; "
                        f"build it as ProfileParamsA10(**values)")
    check_profile_fields(profile._asdict(), type(profile))


def check_profile_fields(values: dict, cls=ProfileParamsA10) -> None:
    """:func:`check_profile` for some of the fields of profile type ``cls``,
    ``{name: value}`` (e.g. the fixed values of a Cobaya input); for A10, beta > gamma is
    checked when both are given and concrete."""
    ranges = PROFILE_TYPES[cls]
    for name, value in values.items():
        if name not in ranges:
            raise ValueError(f"unknown {cls.__name__} parameter {name!r}; allowed "
                             f"{list(ranges)}")
        v = check_real(f"{cls.__name__}.{name}", value)
        if v is None:
            continue
        lo, hi = ranges[name]
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{cls.__name__}.{name} = {value!r} is not finite (allowed "
                             f"range {_fmt_range(lo, hi, closed=False)})")
        if np.any(v <= lo) or np.any(v >= hi):
            bad = float(np.ravel(v)[np.argmax(np.ravel((v <= lo) | (v >= hi)))])
            raise ValueError(
                f"{cls.__name__}.{name} = {bad!r} is outside the allowed range "
                f"{_fmt_range(lo, hi, closed=False)}")
    if cls is ProfileParamsA10 and "beta" in values and "gamma" in values:
        v_b, v_g = concrete(values["beta"]), concrete(values["gamma"])
        if v_b is not None and v_g is not None and np.any(v_b <= v_g):
            raise ValueError(f"ProfileParamsA10.beta = {values['beta']!r} must exceed gamma = "
                             f"{values['gamma']!r} (outer slope steeper than inner)")


def validity_factor(cosmo: CosmoParams | None = None,
                    profile: ProfileParamsA10 | ProfileParamsB12 | None = None,
                    check_box: bool = True, box: dict | None = None):
    """1.0 where every (possibly traced) parameter is valid, NaN elsewhere.

    Multiply an output by it so that an invalid traced point yields NaN instead of an
    extrapolated number. ``box`` is the emulator box (default :data:`EMULATOR_BOX`), as in
    :func:`check_cosmo`; ``check_box=False`` skips it and the fixed fields (provider mode).
    """
    box = EMULATOR_BOX if box is None else box
    ok = jnp.asarray(True)
    if cosmo is not None:
        for name, value in zip(cosmo._fields, cosmo):
            v = jnp.asarray(value)
            ok = ok & jnp.all(jnp.isfinite(v))
            if check_box and name in box:
                lo, hi = box[name]
                ok = ok & jnp.all((v >= lo) & (v <= hi))
            elif check_box and name in _FIXED_FIELDS:
                ok = ok & jnp.all(v == _FIXED_FIELDS[name])
        if check_box and "w0" in box and "wa" in box:
            ok = ok & jnp.all(jnp.asarray(cosmo.w0) + jnp.asarray(cosmo.wa) < 0.0)
    if profile is not None:
        ranges = PROFILE_TYPES[type(profile)]
        for name, value in zip(profile._fields, profile):
            v = jnp.asarray(value)
            lo, hi = ranges[name]
            ok = ok & jnp.all(jnp.isfinite(v) & (v > lo) & (v < hi))
        if isinstance(profile, ProfileParamsA10):
            ok = ok & jnp.all(jnp.asarray(profile.beta) > jnp.asarray(profile.gamma))
    return jnp.where(ok, 1.0, jnp.nan)
