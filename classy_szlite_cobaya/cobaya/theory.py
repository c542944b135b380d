r"""Cobaya Theory components for the halo-model tSZ power spectrum, split slow/fast.

Two components, so Cobaya's mcmc can oversample or drag the profile parameters:

* :class:`TSZCosmology` (slow, ~50 ms/step): cosmology -> emulator P(k), background,
  sigma(R), mass function, bias and Limber kernels, packed in the factory closure of
  :func:`classy_szlite_cobaya.cl_yy_factory`. Provides ``tsz_factory`` and the derived
  parameters sigma8, Omega_m, S8 = sigma8 (Omega_m/0.3)^0.5 and h = H0 / (100 km/s/Mpc).
* :class:`TSZPowerSpectrum` (fast, ~1-2 ms/step): A10 pressure profile (P0, c500, gamma,
  alpha, beta) and mass bias B -> ``Cl_yy``; derived F = sigma8 (Omega_m/B)^0.40 h^-0.21.

``get_Cl_yy()`` returns ``{"ell": ell, "1h": C1h, "2h": C2h}``: dimensionless C_ell^yy
(not D_ell) at the union of the multipoles requested by every consumer, ``ell`` ascending.

Input cosmology, with the aliases accepted for each (Cobaya/CAMB/CLASS spellings):

============  =============================================  =====================
field         accepted names                                 units
============  =============================================  =====================
omega_b       omega_b, ombh2                                 Omega_b h^2
omega_cdm     omega_cdm, omch2                               Omega_c h^2
H0            H0                                             km/s/Mpc
ln10_10_As    logA, ln10^{10}A_s, ln10_10_As (or As, A_s)    ln(10^10 A_s)
n_s           n_s, ns                                        --
tau_reio      tau_reio, tau (accepted, unused)               --
============  =============================================  =====================

Minimal input (see ``input_yamls/tsz.yaml``)::

    theory:
      classy_szlite_cobaya.cobaya.TSZCosmology:
        halo_model: {n_z: 100, n_m: 200}
      classy_szlite_cobaya.cobaya.TSZPowerSpectrum:
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, NamedTuple

import jax
import numpy as np
from cobaya.log import LoggedError
from cobaya.theory import Theory

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.tsz.power_spectrum import check_ell
from classy_szlite_cobaya.tsz.settings import make_settings

__all__ = ["TSZCosmology", "TSZPowerSpectrum", "TSZFactory", "COSMO_ALIASES",
           "cosmo_from_params", "F_EXPONENTS"]

#: CosmoParams field -> accepted Cobaya parameter names (first is the documented one).
COSMO_ALIASES = {
    "omega_b": ("omega_b", "ombh2"),
    "omega_cdm": ("omega_cdm", "omch2"),
    "H0": ("H0",),
    "ln10_10_As": ("logA", "ln10^{10}A_s", "ln10_10_As", "As", "A_s"),
    "n_s": ("n_s", "ns"),
    "tau_reio": ("tau_reio", "tau"),
}
#: Fields the theory cannot run without (tau_reio is optional and unused).
_REQUIRED_FIELDS = ("omega_b", "omega_cdm", "H0", "ln10_10_As", "n_s")
#: Names giving A_s itself rather than ln(10^10 A_s).
_LINEAR_AS = ("As", "A_s")
#: F = sigma8 (Omega_m / B)^a h^b (Bolliet et al. 2018): (a, b).
F_EXPONENTS = (0.40, -0.21)

_DERIVED_COSMO = ("sigma8", "Omega_m", "S8", "h")
_PROFILE_FIELDS = csl.ProfileParamsA10._fields

# Jitted once per process: eager csl.derived re-dispatches every op (~30 ms vs ~1 ms).
_derived_jit = jax.jit(csl.derived)


def cosmo_from_params(values: dict, names: dict | None = None) -> csl.CosmoParams:
    """CosmoParams from Cobaya parameter values under any accepted alias.

    ``names`` maps field -> the parameter name to read (default: the first alias present in
    ``values``); A_s given linearly (As, A_s) is converted to ln(10^10 A_s).
    """
    if names is None:
        names = {f: next((a for a in al if a in values), None) for f, al in COSMO_ALIASES.items()}
    kw = {}
    for field, name in names.items():
        if name is None:
            continue
        v = float(values[name])
        if name in _LINEAR_AS:
            # log of a non-positive A_s: NaN, which check_cosmo rejects as non-finite.
            v = math.log(1e10 * v) if v > 0 else math.nan
        kw[field] = v
    return csl.CosmoParams(**kw)


def halo_model_settings(options: dict | None):
    """Validated HaloModelSettings from the ``halo_model`` YAML block (ValueError if bad)."""
    return make_settings(**dict(options or {}))


class TSZFactory(NamedTuple):
    """What :class:`TSZCosmology` hands to the fast component.

    ell : (n_ell,) multipoles the closure computes, ascending
    evaluate : ``evaluate(ProfileParamsA10) -> (C1h, C2h)``, dimensionless, (n_ell,) each
    cosmo : the CosmoParams it was built at
    """

    ell: np.ndarray
    evaluate: Any
    cosmo: csl.CosmoParams


class TSZCosmology(Theory):
    r"""Slow block: cosmology -> halo-model kernels (factory closure) and derived parameters.

    Provides ``tsz_factory`` (:class:`TSZFactory`) for the multipoles asked through
    ``must_provide(tsz_factory={"ell": [...]})`` (union of all calls), and the derived
    sigma8, Omega_m, S8 = sigma8 sqrt(Omega_m/0.3), h = H0/100.
    Options (``TSZCosmology.yaml``): ``halo_model`` (HaloModelSettings keywords),
    ``cache_size`` (closures kept, keyed on cosmology values), ``speed``.
    An invalid cosmology (outside ``csl.EMULATOR_BOX``) makes ``calculate`` return False.
    """

    # Option types only: the values live in TSZCosmology.yaml (checklist item 2).
    halo_model: dict | None
    cache_size: int

    def initialize(self):
        try:
            self._settings = halo_model_settings(self.halo_model)
        except (TypeError, ValueError) as exc:
            raise LoggedError(self.log, "Option halo_model: %s", exc) from None
        if not isinstance(self.cache_size, int) or self.cache_size < 1:
            raise LoggedError(self.log, "Option cache_size must be an integer >= 1, got %r.",
                              self.cache_size)
        self._options = self._settings._asdict()
        self._ell = np.empty(0)
        self._names: dict[str, str] = {}
        self._closures: OrderedDict = OrderedDict()
        #: Number of factory closures built by ``calculate`` (warm-up excluded).
        self.n_builds = 0

    # ------------------------------------------------------------- parameters
    def get_can_support_params(self):
        return [a for aliases in COSMO_ALIASES.values() for a in aliases]

    def get_can_provide_params(self):
        return list(_DERIVED_COSMO)

    def initialize_with_params(self):
        given = set(self.input_params)
        names, problems = {}, []
        for field, aliases in COSMO_ALIASES.items():
            present = [a for a in aliases if a in given]
            if len(present) > 1:
                problems.append(f"{field} is given twice, as {present}: keep one")
            elif present:
                names[field] = present[0]
            elif field in _REQUIRED_FIELDS:
                problems.append(f"{field} is missing (give one of {list(aliases)})")
        if problems:
            raise LoggedError(self.log, "Cosmological input parameters: %s.",
                              "; ".join(problems))
        self._names = names

    # ------------------------------------------------------------- requirements
    def must_provide(self, **requirements):
        super().must_provide(**requirements)
        if "tsz_factory" in requirements:
            opts = requirements["tsz_factory"] or {}
            if "ell" not in opts:
                raise LoggedError(self.log, "tsz_factory must be requested with "
                                  "{'ell': [...]} (multipoles, > 0).")
            try:
                ell = np.asarray(check_ell(opts["ell"]))
            except ValueError as exc:
                raise LoggedError(self.log, "tsz_factory ell: %s", exc) from None
            union = np.union1d(self._ell, ell)
            if union.size != self._ell.size:
                self._ell = union
                self._closures.clear()  # closures hold the old multipoles

    def initialize_with_provider(self, provider):
        super().initialize_with_provider(provider)
        if self._ell.size:
            self._warm_up()

    def _warm_up(self):
        # Compile the grid build, the fast evaluation and derived() now (shared by every
        # later closure with the same ell and options), so that Cobaya's speed measurement
        # times steps, not XLA compilation. Two builds: the second one still traces a few ops.
        for h0 in (67.0, 68.0):
            ev = csl.cl_yy_factory(csl.CosmoParams(H0=h0), self._ell, **self._options)
            jax.block_until_ready(ev(csl.ProfileParamsA10()))
            jax.block_until_ready(_derived_jit(csl.CosmoParams(H0=h0)))

    # ------------------------------------------------------------- computation
    def _closure(self, cosmo: csl.CosmoParams):
        key = tuple(cosmo)
        if key in self._closures:
            self._closures.move_to_end(key)
            return self._closures[key]
        ev = csl.cl_yy_factory(cosmo, self._ell, **self._options)
        self.n_builds += 1
        self._closures[key] = ev
        while len(self._closures) > self.cache_size:
            self._closures.popitem(last=False)
        return ev

    def calculate(self, state, want_derived=True, **params):
        cosmo = cosmo_from_params(params, self._names)
        try:
            # Eager validation inside: outside the emulator box -> ValueError.
            ev = self._closure(cosmo) if self._ell.size else None
        except ValueError as exc:
            self.log.debug("Invalid cosmology %s: %s", params, exc)
            return False
        derived = {k: float(v) for k, v in _derived_jit(cosmo).items()}
        if not all(map(math.isfinite, derived.values())):
            self.log.debug("Non-finite derived parameters %s at %s", derived, params)
            return False
        state["tsz_factory"] = None if ev is None else TSZFactory(self._ell, ev, cosmo)
        # Always filled: the fast component reads sigma8, Omega_m, h for F.
        state["derived"] = derived

    def get_tsz_factory(self) -> TSZFactory | None:
        """The :class:`TSZFactory` at the current cosmology."""
        return self.current_state["tsz_factory"]


class TSZPowerSpectrum(Theory):
    r"""Fast block: A10 profile + mass bias -> Cl_yy, using :class:`TSZCosmology`'s closure.

    Inputs P0, c500, gamma, alpha, beta, B (dimensionless; fixed or sampled, see
    ``TSZPowerSpectrum.yaml``). Provides ``Cl_yy`` = ``{"ell", "1h", "2h"}``, dimensionless
    C_ell at the union of requested multipoles, and derived
    F = sigma8 (Omega_m / B)^0.40 h^-0.21.
    A profile outside ``csl.params.PROFILE_RANGES`` or a non-finite C_ell returns False.
    """

    def initialize(self):
        self._ell = np.empty(0)

    def get_requirements(self):
        # Derived parameters of the slow block, for F.
        return {"sigma8": None, "Omega_m": None, "h": None}

    def must_provide(self, **requirements):
        super().must_provide(**requirements)
        if "Cl_yy" in requirements:
            opts = requirements["Cl_yy"] or {}
            if "ell" not in opts:
                raise LoggedError(self.log, "Cl_yy must be requested with {'ell': [...]}.")
            self._ell = np.union1d(self._ell, np.atleast_1d(np.asarray(opts["ell"], float)))
        if self._ell.size:
            # A list, so Cobaya can compare repeated requests.
            return {"tsz_factory": {"ell": self._ell.tolist()}}
        return None

    def initialize_with_params(self):
        missing = [p for p in _PROFILE_FIELDS if p not in self.input_params]
        if missing:
            raise LoggedError(self.log, "Profile parameters %s are missing (give a value "
                              "or a prior for each).", missing)

    def calculate(self, state, want_derived=True, **params):
        fac = self.provider.get_tsz_factory()
        if fac is None:
            raise LoggedError(self.log, "TSZCosmology was not asked for any multipole.")
        profile = csl.ProfileParamsA10(**{k: float(params[k]) for k in _PROFILE_FIELDS})
        try:
            cl1, cl2 = fac.evaluate(profile)  # ValueError: profile out of range
        except ValueError as exc:
            self.log.debug("Invalid profile %s: %s", params, exc)
            return False
        cl1, cl2 = np.asarray(cl1, dtype=float), np.asarray(cl2, dtype=float)
        if not (np.all(np.isfinite(cl1)) and np.all(np.isfinite(cl2))):
            # JAX does not raise on NaN: the model flags invalid traced points with NaN.
            self.log.debug("Non-finite C_ell at %s", params)
            return False
        state["Cl_yy"] = {"ell": fac.ell, "1h": cl1, "2h": cl2}
        if want_derived:
            s8, om, h = self.provider.get_param(["sigma8", "Omega_m", "h"])
            a, b = F_EXPONENTS
            state["derived"] = {"F": float(s8 * (om / params["B"]) ** a * h ** b)}

    def get_Cl_yy(self) -> dict:
        """``{"ell": (n,), "1h": (n,), "2h": (n,)}``: dimensionless C_ell^yy at ``ell``."""
        return self.current_state["Cl_yy"]
