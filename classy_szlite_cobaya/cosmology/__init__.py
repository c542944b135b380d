"""Cosmology stage: emulator P_lin(k, z), background, sigma(R).

Public, traceable helpers re-exported by the package: :func:`Pk`, :func:`Pnl` (HMcode-2016
boost network, ``cosmology.nonlinear``), :func:`cl_TTTEEE` (CMB networks, ``cosmology.cmb``),
:func:`distances`, :func:`derived`, :func:`cosmo_from_amplitude` (the primordial amplitude
that gives a requested sigma8 or S_y). Units: k in 1/Mpc, P in Mpc^3, H in km/s/Mpc, distances
in Mpc, CMB C_ell in muK^2.
"""
from __future__ import annotations

import math

import numpy as np
import jax.numpy as jnp

from ..params import CosmoParams, check_cosmo, validity_factor
from ..interpolation import interp_uniform
from . import background, emulator, extended, sigma
from ..params import EMULATOR_BOX, EMULATOR_Z_RANGE, check_real

__all__ = ["Pk", "Pnl", "cl_TTTEEE", "distances", "derived", "sigma8", "S_Y_EXPONENTS",
           "s_y", "cosmo_from_amplitude"]

#: (a, b) of S_y = sigma8 Omega_m^a h^b, the cosmological part of the amplitude the tSZ power
#: spectrum measures, F = sigma8 (Omega_m / B)^a h^b = S_y B^-a (Bolliet et al. 2018).
S_Y_EXPONENTS = (0.40, -0.21)


def _range_check(name: str, value, lo: float, hi: float):
    """Eager: TypeError unless real, ValueError naming the first value outside [lo, hi].
    Returns the factor (1.0 inside, NaN outside or non-finite), elementwise, for the traced
    path; for concrete input it is all ones."""
    v = check_real(name, value)
    if v is not None:
        bad = ~np.isfinite(v) | (v < lo) | (v > hi)
        if np.any(bad):
            raise ValueError(f"{name} = {float(np.ravel(v)[np.argmax(np.ravel(bad))])!r} is "
                             f"outside the allowed range [{lo:g}, {hi:g}]")
    x = jnp.asarray(value, dtype=float)
    return jnp.where(jnp.isfinite(x) & (x >= lo) & (x <= hi), 1.0, jnp.nan)


def _z_factor(z):
    """Elementwise validity of redshifts: the emulator's range [0, 5]."""
    return _range_check("z", z, *EMULATOR_Z_RANGE)


def Pk(cosmo: CosmoParams, z, k=None):
    """Linear matter power spectrum P_lin(k, z) [Mpc^3] from the embedded emulator.

    z : scalar or (n_z,) redshifts in [0, 5] (the emulator's training range).
    k : optional (n_k,) wavenumbers [1/Mpc] in [1e-5, 50] (``emulator.K_MIN``,
        ``emulator.K_MAX``); default the internal uniform grid.
    Returns (k, P) with P of shape (n_z, n_k) (z axis dropped for scalar z).
    Eager: ValueError naming z or k, the bad value and the range; TypeError for non-real
    input. Traced: P is NaN in the rows of invalid z, the columns of invalid k, everywhere
    for an invalid cosmology.
    """
    check_cosmo(cosmo)
    ok_z = jnp.atleast_1d(_z_factor(z))
    ok = validity_factor(cosmo) * ok_z[:, None]
    zz = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    ln_pk = extended.linear_power(cosmo, zz)[0]
    if k is None:
        k_out, ln_p = jnp.exp(jnp.asarray(emulator.LN_K)), ln_pk
    else:
        ok = ok * jnp.atleast_1d(_range_check("k", k, emulator.K_MIN, emulator.K_MAX))[None, :]
        k_out = jnp.asarray(k, dtype=float)
        lk = emulator.LN_K
        ln_p = interp_uniform(lk[0], lk[1] - lk[0], ln_pk, jnp.log(jnp.atleast_1d(k_out)))
    p = jnp.exp(ln_p) * ok
    return k_out, (p[0] if np.ndim(z) == 0 else p)


def distances(cosmo: CosmoParams, z):
    """Background at z: dict with H [km/s/Mpc], chi (comoving distance) [Mpc], D_A [Mpc].

    z : scalar or array of redshifts in [0, 5]. Eager: ValueError naming z outside it;
    traced: NaN at invalid z (elementwise) and everywhere for an invalid cosmology.
    """
    check_cosmo(cosmo)
    ok = validity_factor(cosmo) * _z_factor(z)
    z = jnp.asarray(z, dtype=float)
    return {"H": background.hubble(cosmo, z) * ok,
            "chi": background.comoving_distance(cosmo, z) * ok,
            "D_A": background.angular_diameter_distance(cosmo, z) * ok}


def sigma8(cosmo: CosmoParams):
    """sigma8 = sigma(R = 8/h Mpc, z = 0) of all matter [dimensionless] (no validation;
    traceable)."""
    return sigma.sigma8_from_ln_pk(extended.linear_power(cosmo, jnp.zeros(1))[0],
                                   jnp.asarray(cosmo.H0) / 100.0)


def derived(cosmo: CosmoParams):
    """Derived parameters: dict with sigma8, Omega_m, S8 = sigma8 sqrt(Omega_m/0.3), h.
    sigma8 and Omega_m are of all matter (massive neutrinos included, CLASS's Omega_m).

    Eager: ValueError/TypeError for an invalid cosmology; traced: every output NaN there.
    """
    check_cosmo(cosmo)
    ok = validity_factor(cosmo)
    s8 = sigma8(cosmo) * ok
    om = background.omega_m_total0(cosmo) * ok
    return {"sigma8": s8, "Omega_m": om, "S8": s8 * jnp.sqrt(om / 0.3),
            "h": jnp.asarray(cosmo.H0) / 100.0 * ok}


def s_y(sigma8_value, omega_m, h):
    """S_y = sigma8 Omega_m^a h^b, (a, b) = :data:`S_Y_EXPONENTS` (dimensionless; elementwise,
    traceable, no validation)."""
    a, b = S_Y_EXPONENTS
    return sigma8_value * omega_m ** a * h ** b


_AMPLITUDES = ("sigma8", "S_y", "ln_S_y")


def cosmo_from_amplitude(cosmo: CosmoParams, *, sigma8=None, S_y=None, ln_S_y=None):
    r"""``cosmo`` with ln10_10_As set so that sigma8 (or S_y = sigma8 Omega_m^0.40 h^-0.21,
    or ln S_y) takes the requested value at its other parameters. Exactly one of ``sigma8``,
    ``S_y``, ``ln_S_y`` (scalars, dimensionless, > 0 for sigma8 and S_y); ``cosmo``'s own
    ln10_10_As is ignored.

    Exact, not iterated: the linear power is exactly proportional to A_s (``emulator.
    linear_power``), so sigma8 ~ A_s^(1/2) and, with sigma8_ref the value at
    ln10_10_As = ``emulator.LN10_10_AS_REF`` (one evaluation),

        ln10_10_As = LN10_10_AS_REF + 2 ln(sigma8 / sigma8_ref)

    (S_y: sigma8 = S_y Omega_m^-0.40 h^0.21; Omega_m and h do not depend on A_s).
    Returns a CosmoParams. Eager: TypeError for non-real input or not exactly one amplitude;
    ValueError naming the amplitude, its value and the range the emulator box allows at these
    other parameters if the resulting ln10_10_As is outside [1.61, 3.91] (or if another field
    is outside :data:`~classy_szlite_cobaya.EMULATOR_BOX`). Traced (jit/grad/vmap):
    ln10_10_As is NaN at such a point.
    """
    given = {k: v for k, v in (("sigma8", sigma8), ("S_y", S_y), ("ln_S_y", ln_S_y))
             if v is not None}
    if len(given) != 1:
        raise TypeError(f"cosmo_from_amplitude takes exactly one of {list(_AMPLITUDES)}, "
                        f"got {sorted(given) or 'none'}")
    (name, value), = given.items()
    ref = cosmo._replace(ln10_10_As=emulator.LN10_10_AS_REF) \
        if isinstance(cosmo, CosmoParams) else cosmo
    check_cosmo(ref)                       # the other fields (TypeError/ValueError)
    v = check_real(name, value)
    if v is not None and (not np.all(np.isfinite(v)) or (name != "ln_S_y" and np.any(v <= 0))):
        raise ValueError(f"{name} = {value!r} must be finite" +
                         ("" if name == "ln_S_y" else " and > 0"))
    h = jnp.asarray(ref.H0, dtype=float) / 100.0
    s8_ref = _sigma8(ref)          # (the argument `sigma8` shadows the function)
    x = jnp.asarray(value, dtype=float)
    # ln(amplitude / its value at the reference A_s); S_y / S_y,ref = sigma8 / sigma8_ref
    if name == "sigma8":
        ln_ratio = jnp.log(x / s8_ref)
    else:
        ln_sy_ref = jnp.log(s_y(s8_ref, background.omega_m_total0(ref), h))
        ln_ratio = (x if name == "ln_S_y" else jnp.log(x)) - ln_sy_ref
    ln_as = emulator.LN10_10_AS_REF + 2.0 * ln_ratio
    lo, hi = EMULATOR_BOX["ln10_10_As"]
    out = check_real("ln10_10_As", ln_as)
    if out is not None and not (np.isfinite(out) and lo <= out <= hi):
        # the amplitude's range at these other parameters, from the box edges of ln10_10_As
        def at(edge):               # d ln(amplitude) / d ln10_10_As = 1/2
            shift = (edge - float(out)) / 2.0
            return float(x) + shift if name == "ln_S_y" else float(x) * math.exp(shift)
        raise ValueError(f"{name} = {float(x):g} needs ln10_10_As = {float(out):.4g}, outside the "
                         f"training box of the embedded cosmopower-jax mpk_lin emulator "
                         f"[{lo:g}, {hi:g}]: at these other parameters {name} must lie in "
                         f"[{at(lo):.6g}, {at(hi):.6g}]")
    ok = jnp.isfinite(ln_as) & (ln_as >= lo) & (ln_as <= hi)
    return ref._replace(ln10_10_As=jnp.where(ok, ln_as, jnp.nan) * validity_factor(ref))


_sigma8 = sigma8


# After the helpers above, which these modules import from the package.
from .nonlinear import Pnl  # noqa: E402
from .cmb import cl_TTTEEE  # noqa: E402
