r"""Cobaya Theory components for the halo-model tSZ power spectrum, split slow/fast.

Two components, so Cobaya's mcmc can oversample or drag the profile parameters:

* :class:`TSZCosmology` (slow, ~10 ms/step): cosmology -> emulator P(k), background,
  sigma(R), mass function, bias and Limber kernels, packed in the factory closure of
  :func:`classy_szlite_cobaya.cl_yy_factory`. Provides ``tsz_factory`` and the derived
  parameters sigma8, Omega_m, S8 = sigma8 (Omega_m/0.3)^0.5, h = H0 / (100 km/s/Mpc),
  S_y = sigma8 Omega_m^0.40 h^-0.21 and ln_S_y; in emulator mode also logA = ln(10^10 A_s)
  and As (each only when it is not an input).
* :class:`TSZPowerSpectrum` (fast): pressure profile and mass bias B -> ``Cl_yy``; option
  ``profile: A10`` (default; P0, c500, gamma, alpha, beta, B; ~1-2 ms/step, lattice path) or
  ``profile: B12`` (Battaglia et al. 2012: the ProfileParamsB12 fields; direct path, ~70 ms/step
  on 2 CPU cores, BENCHMARKS.md); derived F = sigma8 (Omega_m/B)^0.40 h^-0.21 = S_y B^-0.40.

In emulator mode :class:`TSZCosmology` also provides ``Cl`` (CMB TT, TE, EE, phi-phi from the
CosmoPower networks of :func:`classy_szlite_cobaya.cl_TTTEEE`), only when a likelihood requests
it, so that a CMB likelihood can share the run without classy or camb (see
:meth:`TSZCosmology.get_Cl`).

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
tau_reio      tau_reio, tau (used only for ``Cl``)           --
m_ncdm        m_ncdm (per species, 3 degenerate), mnu (sum)  eV
w0            w0_fld, w, w0                                  --
wa            wa_fld, wa                                     --
fEDE          fEDE (early dark energy fraction at z_c)       --
log10z_c      log10z_c                                       --
thetai_scf    thetai_scf (initial field angle)               --
N_ur          N_ur (massless species beside 3 massive)       --
============  =============================================  =====================

Unset optional fields (tau_reio, m_ncdm, w0, wa, fEDE, log10z_c, thetai_scf, N_ur) keep the
CosmoParams defaults: classy_szlite's, three degenerate 0.02 eV neutrinos (N_ur 0.00441) and
fEDE = 0.001. Massless LambdaCDM without EDE (e.g. for ``Cl`` from the CMB networks) needs
``mnu: 0`` and ``fEDE: 0`` as fixed parameters.

The amplitude (emulator mode) is exactly one of: ln10_10_As under any alias above, or
``sigma8``, ``S_y`` = sigma8 Omega_m^0.40 h^-0.21, ``ln_S_y`` = ln S_y. For the latter three
ln10_10_As is computed exactly (no iteration) by
:func:`classy_szlite_cobaya.cosmo_from_amplitude` from one sigma8 evaluation at the other
parameters (the linear power is exactly proportional to A_s), and logA, As are derived; a
point whose ln10_10_As falls outside the emulator box gets zero likelihood. Because
d ln S_y / d logA = 1/2 at fixed other parameters, a flat prior on ln_S_y restricted to logA
in the box is the same prior as flat logA on the box (see README). In provider mode
``S_y``/``ln_S_y`` inputs are refused at initialisation (sigma8 as an input is the provider's
business: classy accepts it, camb does not).

Minimal input (see ``input_yamls/tsz.yaml``)::

    theory:
      classy_szlite_cobaya.cobaya.TSZCosmology:
        halo_model: {n_z: 100, n_m: 200}
      classy_szlite_cobaya.cobaya.TSZPowerSpectrum:

Provider mode (``cosmology_source: provider``; see ``input_yamls/tsz_classy.yaml``): the
cosmology comes from another Cobaya theory (classy, camb, or anything that provides the same
products), which then owns every cosmological input parameter under its own names; this
theory declares none (so Cobaya never sees a parameter claimed twice). It requests

* ``Pk_grid`` (linear, total matter; also cdm + baryons, ``delta_nonu``, for
  ``hmf_matter: cb``) up to ``provider_k_max`` [1/Mpc] and z covering the redshift nodes,
* ``Hubble`` and ``Omega_nu_massive`` at z = 0 and the nodes, ``comoving_radial_distance``
  and ``angular_diameter_distance`` at the nodes, and the parameter ``omegam`` (Omega_m
  today, all matter; a name classy and camb both provide),
* ``sigma8_z`` at z = 0 (``sigma8_from: provider``; ``computed`` integrates P(k, 0)),
* with ``profile: B12`` only, the parameter named by ``provider_omega_b`` (default
  ``omega_b``, classy's input; ``ombh2`` for camb), an input or derived parameter of the run
  holding omega_b = Omega_b h^2, for B12's baryon fraction f_b = omega_b / (omegam h^2)
  (Omega_m all matter today, massive neutrinos included: class_sz's convention),

and builds the same :class:`~classy_szlite_cobaya.cosmology.grids.CosmoGrids` with
:func:`~classy_szlite_cobaya.cosmology.grids.grids_from_tables`. h = H(0)/100. With massive
neutrinos, ``hmf_matter: cb`` (class_sz) takes sigma(M), rho_m0 and Omega_m(z) of the mass
function from cdm + baryons; ``total`` (CCL) from all matter. The 2-halo term always uses
total-matter P_lin. Derived sigma8 and Omega_m are total-matter quantities (CLASS's sigma8,
Omega_m). No emulator box applies; cosmologies outside the lattice envelope of
``tsz.kernels`` (h in [0.5, 0.95], Omega_m in [0.08, 0.7]) get zero likelihood.
"""
from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from typing import Any, NamedTuple

import jax
import numpy as np
from cobaya.log import LoggedError
from cobaya.theory import Theory
from cobaya.theories.cosmo import BoltzmannBase

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.params import check_cosmo, check_profile_fields, check_real
from classy_szlite_cobaya.profiles.interface import model_for
from classy_szlite_cobaya.constants import RHO_CRIT0_H2, T_CMB_K
from classy_szlite_cobaya.cosmology import S_Y_EXPONENTS, emulator, s_y
from classy_szlite_cobaya.cosmology.cmb import (ELL_MAX as CMB_ELL_MAX, SPECTRA as CMB_SPECTRA,
                                               check_cmb_cosmo)
from classy_szlite_cobaya.cosmology.grids import (grids_from_tables, ln_pk_on_grid,
                                                  redshift_nodes, sigma8_from_table)
from classy_szlite_cobaya.tsz.power_spectrum import check_ell, emulator_grids
from classy_szlite_cobaya.tsz.settings import make_settings

__all__ = ["TSZCosmology", "TSZPowerSpectrum", "TSZFactory", "COSMO_ALIASES",
           "cosmo_from_params", "F_EXPONENTS", "AMPLITUDE_INPUTS"]

#: CosmoParams field -> accepted Cobaya parameter names (first is the documented one).
COSMO_ALIASES = {
    "omega_b": ("omega_b", "ombh2"),
    "omega_cdm": ("omega_cdm", "omch2"),
    "H0": ("H0",),
    "ln10_10_As": ("logA", "ln10^{10}A_s", "ln10_10_As", "As", "A_s"),
    "n_s": ("n_s", "ns"),
    "tau_reio": ("tau_reio", "tau"),
    "m_ncdm": ("m_ncdm", "mnu"),
    "w0": ("w0_fld", "w", "w0"),
    "wa": ("wa_fld", "wa"),
    "fEDE": ("fEDE",),
    "log10z_c": ("log10z_c",),
    "thetai_scf": ("thetai_scf",),
    "N_ur": ("N_ur",),
}
#: Fields the theory cannot run without (tau_reio is optional and unused).
_REQUIRED_FIELDS = ("omega_b", "omega_cdm", "H0", "ln10_10_As", "n_s")
#: Names giving A_s itself rather than ln(10^10 A_s).
_LINEAR_AS = ("As", "A_s")
#: Names giving the sum of the three degenerate neutrino masses (CAMB's mnu) rather than the
#: mass of each species (CLASS's m_ncdm with deg_ncdm = 3).
_SUM_MNU = ("mnu",)
#: F = sigma8 (Omega_m / B)^a h^b = S_y B^-a (Bolliet et al. 2018): (a, b).
F_EXPONENTS = S_Y_EXPONENTS
#: Amplitude inputs accepted instead of ln10_10_As (emulator mode): ln10_10_As follows exactly.
AMPLITUDE_INPUTS = ("sigma8", "S_y", "ln_S_y")

_DERIVED_COSMO = ("sigma8", "Omega_m", "S8", "h", "S_y", "ln_S_y")
#: Emulator mode only: the primordial amplitude, derived when an AMPLITUDE_INPUTS is sampled.
_DERIVED_AMPLITUDE = ("logA", "As")
#: Accepted values of TSZPowerSpectrum's ``profile`` option.
PROFILES = ("A10", "B12")

# Jitted once per process: eager csl.derived re-dispatches every op (~30 ms vs ~1 ms).
_derived_jit = jax.jit(csl.derived)
# ln10_10_As from sigma8 / S_y / ln S_y (one sigma8 evaluation): NaN outside the box.
_amplitude_jit = jax.jit(csl.cosmo_from_amplitude)
# CMB spectra at every ell of the networks (validated eagerly before the call).
_cl_jit = jax.jit(csl.cl_TTTEEE)
# Provider tables -> CosmoGrids in two jitted steps: the provider's P(k, z) table is first
# moved onto (z nodes, LN_K) (small; recompiled in ~0.1 s when CLASS's k or z sampling gains
# a node between cosmologies), so the heavy step (sigma(R) by FFTLog, ~2 s to compile) always
# sees the same shapes and compiles once, at warm-up.
_ln_pk_jit = jax.jit(ln_pk_on_grid)
_grids_tables_jit = jax.jit(grids_from_tables)
_sigma8_table_jit = jax.jit(sigma8_from_table)
_K_GRID = np.exp(emulator.LN_K)

#: Accepted values of the options that pick the cosmology source and the mass-function matter.
COSMOLOGY_SOURCES = ("emulator", "provider")
HMF_MATTER = ("cb", "total")
SIGMA8_FROM = ("provider", "computed")
#: Below this k [1/Mpc] the provider's P may be continued as a power law (P ~ k^n_s, the
#: transfer function being ~1); its table must start at or below it.
PROVIDER_K_MIN_NEEDED = 1.0e-3


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
        elif name in _SUM_MNU:
            v = v / 3.0
        kw[field] = v
    return csl.CosmoParams(**kw)


def with_s_y(derived: dict) -> dict:
    """``derived`` (floats sigma8, Omega_m, h, ...) with S_y = sigma8 Omega_m^0.40 h^-0.21 and
    ln_S_y added."""
    sy = float(s_y(derived["sigma8"], derived["Omega_m"], derived["h"]))
    return dict(derived, S_y=sy, ln_S_y=math.log(sy) if sy > 0 else math.nan)


def halo_model_settings(options: dict | None):
    """Validated HaloModelSettings from the ``halo_model`` YAML block: a mapping (or null) of
    HaloModelSettings keywords, parsed by type (TypeError/ValueError naming the option)."""
    if options is None:
        return make_settings()
    if not isinstance(options, dict):
        raise TypeError(f"expected a mapping of HaloModelSettings options, got {options!r}")
    return make_settings(**options)


def fixed_input_values(provider, names) -> dict:
    """{name: value} of the model's fixed (constant) input parameters among ``names``.

    Read from the Cobaya model's parameterization (empty when the provider has no model, as
    for a component used on its own)."""
    par = getattr(getattr(provider, "model", None), "parameterization", None)
    constant = par.constant_params() if par is not None else {}
    return {n: constant[n] for n in names if n in constant}


class TSZFactory(NamedTuple):
    """What :class:`TSZCosmology` hands to the fast component.

    ell : (n_ell,) multipoles the closure computes, ascending
    evaluate : ``evaluate(profile) -> (C1h, C2h)``, dimensionless, (n_ell,) each, for the
        profile type requested (ProfileParamsA10 or ProfileParamsB12)
    cosmo : the CosmoParams it was built at (None in provider mode)
    derived : {"sigma8", "Omega_m", "S8", "h"} at this cosmology (what F needs), or None
    """

    ell: np.ndarray
    evaluate: Any
    cosmo: csl.CosmoParams | None
    derived: dict | None = None


class TSZCosmology(Theory):
    r"""Slow block: cosmology -> halo-model kernels (factory closure) and derived parameters.

    Provides ``tsz_factory`` (:class:`TSZFactory`) for the multipoles asked through
    ``must_provide(tsz_factory={"ell": [...], "profile": "A10" | "B12"})`` (union of all
    calls; one profile per model), and the derived
    sigma8, Omega_m, S8 = sigma8 sqrt(Omega_m/0.3), h = H0/100. Emulator mode only: ``Cl``
    (:meth:`get_Cl`) when requested, e.g. ``Cl: {tt: 2500, te: 2500, ee: 2500, pp: 2500}``
    (spectra tt, te, ee, pp; ell <= 2508); it needs tau_reio as an input parameter, and a
    fixed value outside the CMB networks' box (:data:`~classy_szlite_cobaya.cosmology.cmb.
    CMB_BOX`) is refused at initialisation, a sampled point outside it gets zero likelihood.
    Options (``TSZCosmology.yaml``): ``halo_model`` (HaloModelSettings keywords),
    ``cache_size`` (closures kept, keyed on cosmology values), ``speed``,
    ``cosmology_source`` (emulator | provider), and for provider mode ``hmf_matter``
    (cb | total), ``provider_k_max`` [1/Mpc], ``sigma8_from`` (provider | computed),
    ``provider_omega_b`` (name of the omega_b parameter, read for ``profile: B12`` only).
    Amplitude input (emulator mode): exactly one of logA (or an alias, module docstring),
    ``sigma8``, ``S_y``, ``ln_S_y``; for the last three logA and As are derived.
    Options are parsed by type (TypeError/ValueError at initialisation, naming the option).
    A fixed (constant) cosmological input outside ``csl.EMULATOR_BOX`` is refused at
    initialisation; a sampled point outside it (emulator mode), or outside the lattice
    envelope (either mode), makes ``calculate`` return False (zero likelihood).
    """

    # Option types only: the values live in TSZCosmology.yaml (checklist item 2).
    halo_model: dict | None
    cache_size: int
    cosmology_source: str
    hmf_matter: str
    provider_k_max: float
    sigma8_from: str
    provider_omega_b: str

    def initialize(self):
        try:
            self._settings = halo_model_settings(self.halo_model)
        except (TypeError, ValueError) as exc:
            raise LoggedError(self.log, "Option halo_model: %s", exc) from None
        if (isinstance(self.cache_size, bool) or not isinstance(self.cache_size, int)
                or self.cache_size < 1):
            raise LoggedError(self.log, "Option cache_size must be an integer >= 1, got %r.",
                              self.cache_size)
        for name, allowed in (("cosmology_source", COSMOLOGY_SOURCES),
                              ("hmf_matter", HMF_MATTER), ("sigma8_from", SIGMA8_FROM)):
            if getattr(self, name) not in allowed:
                raise LoggedError(self.log, "Option %s = %r not understood: use one of %s.",
                                  name, getattr(self, name), list(allowed))
        k_max = self.provider_k_max
        if isinstance(k_max, bool) or not isinstance(k_max, (int, float)) or not k_max >= 1.0:
            raise LoggedError(self.log, "Option provider_k_max must be a number >= 1 "
                              "[1/Mpc] (10 or more recommended), got %r.", k_max)
        if not isinstance(self.provider_omega_b, str) or not self.provider_omega_b:
            raise LoggedError(self.log, "Option provider_omega_b must be a parameter name "
                              "(e.g. omega_b for classy, ombh2 for camb), got %r.",
                              self.provider_omega_b)
        self._provider_mode = self.cosmology_source == "provider"
        s = self._settings
        self._z_nodes, self._z_weights = redshift_nodes(s.z_min, s.z_max, s.n_z)
        # z = 0 first: h = H(0)/100, rho_m0 and Omega_m today come from the provider there.
        self._z_req = np.concatenate([[0.0], self._z_nodes])
        self._options = self._settings._asdict()
        self._ell = np.empty(0)
        self._profile = None
        #: highest CMB multipole requested through ``Cl`` (0: Cl not requested)
        self._cl_lmax = 0
        self._names: dict[str, str] = {}
        self._amplitude: str | None = None
        self._closures: OrderedDict = OrderedDict()
        #: Number of factory closures built by ``calculate`` (warm-up excluded).
        self.n_builds = 0

    # ------------------------------------------------------------- parameters
    def get_can_support_params(self):
        # Provider mode: the Boltzmann code owns the cosmological parameters. Claiming them
        # here would take them away from it (Cobaya gives a parameter-agnostic theory such
        # as classy only the parameters no one else supports).
        # S_y / ln_S_y are claimed in both modes, so that provider mode can refuse them with
        # a clear message (initialize_with_params) rather than Cobaya's "no component".
        if self._provider_mode:
            return ["S_y", "ln_S_y"]
        return [a for aliases in COSMO_ALIASES.values() for a in aliases] + \
            list(AMPLITUDE_INPUTS)

    def get_can_provide_params(self):
        # An input among them (e.g. sampled sigma8) is left out of state["derived"].
        return list(_DERIVED_COSMO) + ([] if self._provider_mode else list(_DERIVED_AMPLITUDE))

    def get_requirements(self):
        """Provider mode: the cosmological tables (see the module docstring)."""
        if not self._provider_mode:
            return {}
        z_req, z_nodes = self._z_req.tolist(), self._z_nodes.tolist()
        pairs = [["delta_tot", "delta_tot"]]
        if self.hmf_matter == "cb":
            pairs.append(["delta_nonu", "delta_nonu"])
        req = {"Pk_grid": {"z": z_req, "k_max": float(self.provider_k_max),
                           "nonlinear": False, "vars_pairs": pairs},
               "Hubble": {"z": z_req},
               # Omega_m today (all matter) as a parameter, in the spelling classy (via its
               # renames) and camb both provide. (The z-dependent Omega_b/Omega_cdm products
               # clash in name with classy's derived parameters, which CLASS 3.4 lacks.)
               "omegam": None,
               "Omega_nu_massive": {"z": z_req},
               "comoving_radial_distance": {"z": z_nodes},
               "angular_diameter_distance": {"z": z_nodes}}
        if self.sigma8_from == "provider":
            req["sigma8_z"] = {"z": [0.0]}
        return req

    def initialize_with_params(self):
        if self._provider_mode:
            amp = [p for p in self.input_params if p in AMPLITUDE_INPUTS]
            if amp:
                raise LoggedError(self.log, "Amplitude input %s needs cosmology_source: "
                                  "emulator (it sets ln10_10_As of the embedded emulator). In "
                                  "provider mode sample the provider's amplitude (logA, As; "
                                  "classy also accepts sigma8) and output S_y / ln_S_y as "
                                  "derived parameters.", amp)
            # Nothing else is assigned to us; a parameter forced on us through
            # `input_params` would be silently unused.
            if self.input_params:
                raise LoggedError(self.log, "cosmology_source: provider takes every "
                                  "cosmological parameter from the provider; remove "
                                  "input parameters %s from this theory.", self.input_params)
            return
        given = set(self.input_params)
        names, problems = {}, []
        amplitude = [a for a in AMPLITUDE_INPUTS if a in given]
        for field, aliases in COSMO_ALIASES.items():
            present = [a for a in aliases if a in given]
            if field == "ln10_10_As" and amplitude:
                if present or len(amplitude) > 1:
                    problems.append(f"the amplitude is given more than once, as "
                                    f"{present + amplitude}: keep exactly one of "
                                    f"{list(aliases) + list(AMPLITUDE_INPUTS)}")
            elif len(present) > 1:
                problems.append(f"{field} is given twice, as {present}: keep one")
            elif present:
                names[field] = present[0]
            elif field in _REQUIRED_FIELDS:
                extra = f" or one of {list(AMPLITUDE_INPUTS)}" if field == "ln10_10_As" else ""
                problems.append(f"{field} is missing (give one of {list(aliases)}{extra})")
        if problems:
            raise LoggedError(self.log, "Cosmological input parameters: %s.",
                              "; ".join(problems))
        self._names = names
        #: the amplitude input among AMPLITUDE_INPUTS, or None (ln10_10_As given directly)
        self._amplitude = amplitude[0] if amplitude else None

    # ------------------------------------------------------------- requirements
    def get_can_provide_methods(self):
        # Cl comes from the emulator's CMB networks: in provider mode the Boltzmann code
        # provides it (two providers of Cl would be ambiguous to Cobaya).
        methods = dict(super().get_can_provide_methods())
        if self._provider_mode:
            methods.pop("Cl", None)
        return methods

    def must_provide(self, **requirements):
        super().must_provide(**requirements)
        if "Cl" in requirements:
            self._must_provide_cl(requirements["Cl"] or {})
        if "tsz_factory" in requirements:
            opts = requirements["tsz_factory"] or {}
            if "ell" not in opts:
                raise LoggedError(self.log, "tsz_factory must be requested with "
                                  "{'ell': [...]} (multipoles, > 0).")
            try:
                ell = np.asarray(check_ell(opts["ell"]))
            except (TypeError, ValueError) as exc:
                raise LoggedError(self.log, "tsz_factory ell: %s", exc) from None
            profile = opts.get("profile", "A10")
            if profile not in PROFILES:
                raise LoggedError(self.log, "tsz_factory profile = %r: use one of %s.",
                                  profile, list(PROFILES))
            if self._profile is not None and profile != self._profile:
                raise LoggedError(self.log, "tsz_factory requested for profiles %r and %r: "
                                  "one profile per model.", self._profile, profile)
            self._profile = profile
            union = np.union1d(self._ell, ell)
            if union.size != self._ell.size:
                self._ell = union
                self._closures.clear()  # closures hold the old multipoles
            if profile == "B12" and self._provider_mode:
                # B12's P_200 needs f_b = omega_b / (omegam h^2): omega_b from the run's
                # parameters (an input parameter satisfies it; CLASS 3.4 has no derived
                # baryon density, and Cobaya resolves the product Omega_b(z) to classy's
                # derived parameter of that name, so the z = 0 product cannot serve).
                return {self.provider_omega_b: None}

    def _must_provide_cl(self, spectra: dict):
        """Record a ``Cl`` request ``{spectrum: ell_max}`` (LoggedError if not emulated)."""
        if not isinstance(spectra, dict):
            raise LoggedError(self.log, "Cl must be requested as {spectrum: ell_max}, got %r.",
                              spectra)
        for name, lmax in spectra.items():
            if str(name).lower() not in CMB_SPECTRA:
                raise LoggedError(self.log, "Cl %r: the emulator's CMB networks give only %s "
                                  "(lensed TT, TE, EE and the lensing potential).", name,
                                  list(CMB_SPECTRA))
            if (isinstance(lmax, bool) or not isinstance(lmax, (int, np.integer))
                    or not 2 <= lmax <= CMB_ELL_MAX):
                raise LoggedError(self.log, "Cl %s up to ell = %r: the CMB networks cover "
                                  "integer ell in [2, %d].", name, lmax, CMB_ELL_MAX)
            self._cl_lmax = max(self._cl_lmax, int(lmax))

    def initialize_with_provider(self, provider):
        super().initialize_with_provider(provider)
        if self._cl_lmax and "tau_reio" not in self._names:
            raise LoggedError(self.log, "Cl is requested: the CMB networks need tau_reio; "
                              "give it (or tau) as an input parameter.")
        if self._cl_lmax:
            # Fields left at their CosmoParams defaults (classy_szlite's 3 x 0.02 eV and
            # fEDE = 0.001) are outside what the CMB networks know: every step would fail.
            at_default = [f for f in ("m_ncdm", "fEDE") if f not in self._names]
            if at_default:
                raise LoggedError(
                    self.log, "Cl is requested: the CMB networks know massless LambdaCDM "
                    "without EDE only, and %s would keep the CosmoParams defaults (%s). Fix "
                    "them, e.g. `mnu: 0` and `fEDE: 0`.", at_default,
                    ", ".join(f"{f} = {getattr(csl.CosmoParams(), f)}" for f in at_default))
        model = getattr(provider, "model", None)
        boltzmann = [t.get_name() for t in getattr(model, "theory", {}).values()
                     if isinstance(t, BoltzmannBase)]
        if boltzmann and not self._provider_mode and self.input_params:
            raise LoggedError(
                self.log, "TSZCosmology runs its embedded emulator (cosmology_source: "
                "emulator) next to %s, and takes the cosmological parameters %s away from "
                "it. Set `cosmology_source: provider` to take the cosmology from %s.",
                boltzmann, self.input_params, boltzmann[0])
        if not self._provider_mode:
            self._check_fixed(provider)
        if self._ell.size:
            self._warm_up(provider)
        if self._cl_lmax:
            # compile now, not in a step
            jax.block_until_ready(_cl_jit(csl.CosmoParams(**csl.MASSLESS_LCDM)))

    def _check_fixed(self, provider):
        # A fixed value outside the emulator box would give zero likelihood at every point:
        # refuse it now, naming it (sampled values outside still give zero likelihood).
        if self._amplitude is not None:
            for name, value in fixed_input_values(provider, [self._amplitude]).items():
                v = check_real(name, value)
                if not (np.isfinite(v) and (name == "ln_S_y" or v > 0)):
                    raise LoggedError(self.log, "Fixed parameter %s = %r is invalid: it must "
                                      "be finite%s.", name, value,
                                      "" if name == "ln_S_y" else " and > 0")
        for name, value in fixed_input_values(provider, self._names.values()).items():
            field = next(f for f, n in self._names.items() if n == name)
            try:
                check_real(name, value)
                # this field alone (the others at a point every network knows)
                one = csl.CosmoParams(**csl.MASSLESS_LCDM)._replace(
                    **{field: getattr(cosmo_from_params({name: value}, {field: name}), field)})
                check_cosmo(one)
                if self._cl_lmax:
                    check_cmb_cosmo(one)
            except (TypeError, ValueError) as exc:
                raise LoggedError(self.log, "Fixed parameter %s = %r is invalid: %s", name,
                                  value, exc) from None

    def _warm_up(self, provider):
        # Compile the grid build, the fast evaluation and derived() now (shared by every
        # later closure with the same ell and options), so that Cobaya's speed measurement
        # times steps, not XLA compilation. Two builds: the second one still traces a few ops.
        # Provider mode shares the kernel build and the fast path (same CosmoGrids shapes);
        # the provider-table step compiles at the first step (its shapes are not known yet).
        # The fixed inputs enter as at every step: a field fixed at its null value (mnu: 0,
        # fEDE: 0) leaves its correction out of the compiled program.
        fixed = fixed_input_values(provider, self._names.values()) if self._names else {}
        base = cosmo_from_params(fixed, {f: n for f, n in self._names.items() if n in fixed})
        for h0 in (67.0, 68.0):
            cosmo = base._replace(H0=h0)
            if self._provider_mode:
                # the provider path from emulator tables: same shapes as at every step
                g = emulator_grids(cosmo, self._settings)
                pk = np.exp(np.asarray(g.ln_pk))
                grids = self._grids(g.hubble, g.chi, g.d_a, g.omega_m_z, g.rho_m0, g.h, pk,
                                    pk if self.hmf_matter == "cb" else None,
                                    g.f_b if self._profile == "B12" else None)
                ev = csl.cl_yy_factory(grids, self._ell, profile=self._profile or "A10",
                                       **self._options)
            else:
                ev = csl.cl_yy_factory(cosmo, self._ell, profile=self._profile or "A10",
                                       **self._options)
                jax.block_until_ready(_derived_jit(cosmo))
                if self._amplitude is not None:
                    jax.block_until_ready(_amplitude_jit(cosmo, **{self._amplitude: 0.5}))
            jax.block_until_ready(ev(model_for(self._profile or "A10").params_type()))

    # ------------------------------------------------------------- computation
    def _cached(self, key, build):
        """``self._closures[key]``, made by ``build()`` on a miss (LRU, ``cache_size``)."""
        if key in self._closures:
            self._closures.move_to_end(key)
            return self._closures[key]
        value = self._closures[key] = build()
        while len(self._closures) > self.cache_size:
            self._closures.popitem(last=False)
        return value

    def _factory(self, cosmo_or_grids):
        ev = csl.cl_yy_factory(cosmo_or_grids, self._ell, profile=self._profile or "A10",
                               **self._options)
        self.n_builds += 1                 # counted once built (an invalid point raises first)
        return ev

    def _closure(self, cosmo: csl.CosmoParams):
        return self._cached(tuple(cosmo), lambda: self._factory(cosmo))

    def calculate(self, state, want_derived=True, **params):
        if self._provider_mode:
            return self._calculate_provider(state)
        cosmo = cosmo_from_params(params, self._names)
        if self._amplitude is not None:
            amp = _amplitude_jit(cosmo, **{self._amplitude: float(params[self._amplitude])})
            cosmo = cosmo._replace(ln10_10_As=float(amp.ln10_10_As))  # floats: cache key
            if not math.isfinite(cosmo.ln10_10_As):
                self.log.debug("No ln10_10_As in the emulator box gives %s = %r at %s: zero "
                               "likelihood.", self._amplitude, params[self._amplitude], params)
                return False
        try:
            # Eager validation inside: outside the emulator box -> ValueError.
            ev = self._closure(cosmo) if self._ell.size else None
        except ValueError as exc:
            self.log.debug("Invalid cosmology %s: %s", params, exc)
            return False
        derived = with_s_y({k: float(v) for k, v in _derived_jit(cosmo).items()})
        derived.update(logA=float(cosmo.ln10_10_As), As=1e-10 * math.exp(cosmo.ln10_10_As))
        if not all(map(math.isfinite, derived.values())):
            self.log.debug("Non-finite derived parameters %s at %s", derived, params)
            return False
        state["tsz_factory"] = None if ev is None else TSZFactory(self._ell, ev, cosmo, derived)
        if self._cl_lmax:
            try:
                check_cmb_cosmo(cosmo)
            except ValueError as exc:
                self.log.debug("Cosmology outside the CMB networks' box %s: %s", params, exc)
                return False
            cl = _cl_jit(cosmo)
            n = self._cl_lmax + 1
            # Cobaya's layout: index = ell from 0, zero below ell = 2; dimensionless here
            # (get_Cl applies the units).
            state["Cl"] = {"ell": np.arange(n)}
            for name in CMB_SPECTRA:
                arr = np.zeros(n)
                arr[2:] = np.asarray(cl[name], dtype=float)[:n - 2]
                if name != "pp":
                    arr /= (T_CMB_K * 1.0e6) ** 2
                state["Cl"][name] = arr
            if not all(np.all(np.isfinite(v)) for v in state["Cl"].values()):
                return False
        # Always filled (Cobaya stores them when asked for); inputs (e.g. sigma8) left out.
        state["derived"] = {k: v for k, v in derived.items() if k not in self.input_params}

    # ------------------------------------------------------------- provider mode
    def _provider_tables(self) -> dict:
        """The provider's cosmology at the nodes, as NumPy arrays (units as in
        :func:`grids_from_tables`); LoggedError if its P(k, z) table is too short."""
        p = self.provider
        tables = {}
        pairs = [("pk", ("delta_tot", "delta_tot"))]
        if self.hmf_matter == "cb":
            pairs.append(("pk_cb", ("delta_nonu", "delta_nonu")))
        for name, pair in pairs:
            k, z_pk, pk = (np.asarray(a, dtype=float) for a in
                           p.get_Pk_grid(var_pair=pair, nonlinear=False))
            order = np.argsort(z_pk)  # classy hands z descending
            tables.update(k=k, pk_z=z_pk[order])
            tables[name] = np.atleast_2d(pk)[order]
        k, z_pk = tables["k"], tables["pk_z"]
        z_lo = 0.0 if self.sigma8_from == "computed" else self._z_nodes[0]
        problems = []
        if k[-1] < 0.99 * self.provider_k_max:
            problems.append(f"its P(k) stops at k = {k[-1]:.3g}/Mpc, below provider_k_max = "
                            f"{self.provider_k_max:g}/Mpc")
        if k[0] > PROVIDER_K_MIN_NEEDED:
            problems.append(f"its P(k) starts at k = {k[0]:.3g}/Mpc, above "
                            f"{PROVIDER_K_MIN_NEEDED:g}/Mpc")
        if z_pk[0] > z_lo + 1e-6 or z_pk[-1] < self._z_nodes[-1] * (1 - 1e-6):
            problems.append(f"its P(k, z) covers z in [{z_pk[0]:.3g}, {z_pk[-1]:.3g}], not "
                            f"[{z_lo:.3g}, {self._z_nodes[-1]:.3g}] (halo_model z range)")
        if problems:
            raise LoggedError(
                self.log, "The cosmology provider cannot reach the k or z range the tSZ "
                "model needs: %s. Give it a larger k_max / z_max (e.g. classy "
                "`P_k_max_1/Mpc`, `z_max_pk`), or lower TSZCosmology's provider_k_max / "
                "halo_model z_max.", "; ".join(problems))
        hubble = np.asarray(p.get_Hubble(self._z_req), dtype=float)
        om_nu = np.asarray(p.get_Omega_nu_massive(self._z_req), dtype=float)
        # cdm + baryons dilute as (1+z)^3 exactly: Omega_cb(z) = Omega_cb,0 (1+z)^3 / E(z)^2
        om_cb0 = float(p.get_param("omegam")) - om_nu[0]
        om_cb = om_cb0 * (1.0 + self._z_req) ** 3 * (hubble[0] / hubble) ** 2
        om_tot = om_cb + om_nu
        tables.update(
            hubble=hubble, om_tot=om_tot, om_hmf=om_cb if self.hmf_matter == "cb" else om_tot,
            chi=np.asarray(p.get_comoving_radial_distance(self._z_nodes), dtype=float),
            d_a=np.asarray(p.get_angular_diameter_distance(self._z_nodes), dtype=float))
        if self.sigma8_from == "provider":
            tables["sigma8"] = np.atleast_1d(np.asarray(p.get_sigma8_z([0.0]), dtype=float))
        if self._profile == "B12":
            tables["omega_b"] = np.atleast_1d(float(p.get_param(self.provider_omega_b)))
        return tables

    def _grids(self, hubble, chi, d_a, om_hmf, rho_m0, h, pk, pk_cb, f_b=None):
        """CosmoGrids from tables at the z nodes, P [n_z, N_K] on emulator.LN_K."""
        # NumPy float64 throughout: the same jit signature at warm-up and at every step
        f = lambda a: None if a is None else np.asarray(a, dtype=float)
        return _grids_tables_jit(self._z_nodes, self._z_weights, f(hubble), f(chi), f(d_a),
                                 f(om_hmf), f(rho_m0), f(h), _K_GRID, f(pk), pk_cb=f(pk_cb),
                                 f_b=f(f_b))

    def _provider_closure(self, tab: dict):
        """(closure or None, derived parameters) from the provider's tables."""
        h = float(tab["hubble"][0]) / 100.0
        if self.sigma8_from == "provider":
            s8 = float(tab["sigma8"][0])
        else:
            i0 = int(np.argmin(np.abs(tab["pk_z"])))  # z = 0 row (checked present)
            s8 = float(_sigma8_table_jit(tab["k"], tab["pk"][i0], h))
        om = float(tab["om_tot"][0])
        derived = with_s_y({"sigma8": s8, "Omega_m": om, "S8": s8 * math.sqrt(om / 0.3),
                            "h": h})
        if not self._ell.size:
            return None, derived
        on_nodes = {name: np.exp(_ln_pk_jit(tab["k"], tab[name], tab["pk_z"], self._z_nodes))
                    for name in ("pk", "pk_cb") if name in tab}
        # B12: f_b = Omega_b / Omega_m, all matter today (om_tot[0] is the provider's omegam)
        f_b = tab["omega_b"][0] / (h ** 2 * om) if "omega_b" in tab else None
        grids = self._grids(tab["hubble"][1:], tab["chi"], tab["d_a"],
                            tab["om_hmf"][1:], tab["om_hmf"][0] * RHO_CRIT0_H2 * h ** 2,
                            h, on_nodes["pk"], on_nodes.get("pk_cb"), f_b)
        return self._factory(grids), derived

    def _calculate_provider(self, state):
        tab = self._provider_tables()
        # Cache key: the provider's products themselves (exact, cheap: a few 10 kB).
        digest = hashlib.blake2b(digest_size=20)
        for name in sorted(tab):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(tab[name]).tobytes())
        ev, derived = self._cached(digest.hexdigest(), lambda: self._provider_closure(tab))
        if ev is not None and not math.isfinite(float(ev.kernels.valid)):
            # Non-finite tables, or a cosmology outside the lattice envelope of tsz.kernels.
            self.log.debug("Provider cosmology outside what the halo-model lattice covers "
                           "(derived %s): zero likelihood.", derived)
            return False
        if not all(map(math.isfinite, derived.values())):
            return False
        state["tsz_factory"] = None if ev is None else TSZFactory(self._ell, ev, None, derived)
        state["derived"] = dict(derived)

    def get_tsz_factory(self) -> TSZFactory | None:
        """The :class:`TSZFactory` at the current cosmology."""
        return self.current_state["tsz_factory"]

    def get_Cl(self, ell_factor=False, units="FIRASmuK2"):
        r"""CMB spectra from the emulator's networks, in Cobaya's ``get_Cl`` convention
        (as classy/camb): ``{"ell": 0 ... ell_max, "tt", "te", "ee", "pp"}``, arrays indexed
        by ell, zero at ell < 2; TT, TE, EE lensed, phi-phi linear (see
        :func:`classy_szlite_cobaya.cl_TTTEEE`). ``units``: ``FIRASmuK2`` (default) or
        ``muK2`` (muK^2, T_cmb = 2.7255 K here), ``FIRASK2``/``K2`` (K^2), ``1``
        (dimensionless); phi-phi is always dimensionless. ``ell_factor=True`` multiplies
        TT, TE, EE by ell(ell+1)/2pi and phi-phi by [ell(ell+1)]^2/2pi."""
        try:
            cls = {k: np.array(v, copy=True) for k, v in self.current_state["Cl"].items()}
        except KeyError:
            raise LoggedError(self.log, "No Cl's were computed: request them with "
                              "Cl: {tt: ell_max, ...}.") from None
        factor = BoltzmannBase._cmb_unit_factor(self, units, T_CMB_K)
        ell = cls["ell"].astype(float)
        d_fac = ell * (ell + 1.0) / (2.0 * np.pi)
        for name in CMB_SPECTRA:
            cls[name] *= factor ** name.count("t") * factor ** name.count("e")
            if ell_factor:
                cls[name] *= d_fac ** 2 * 2.0 * np.pi if name == "pp" else d_fac
        return cls

    def get_jax_function(self):
        """Pure-JAX version of :meth:`calculate` for gradient samplers (the protocol of
        :mod:`classy_szlite_cobaya.samplers.jax_model`): ``fn(params, products) ->
        ({"tsz_factory": TSZFactory}, derived)``, ``params`` the input parameters of this
        theory by name. The factory closure is built from the (traced) CosmoParams by
        :func:`classy_szlite_cobaya.cl_yy_factory`; with every input fixed it is built once
        at trace time (the fast path). Emulator mode only; ``Cl`` is not provided."""
        import jax.numpy as jnp

        if self._provider_mode:
            raise LoggedError(self.log, "cosmology_source: provider takes P(k) from a "
                              "Boltzmann code, which has no JAX version: no pure-JAX "
                              "function (use cosmology_source: emulator under NUTS).")
        if self._cl_lmax:
            raise LoggedError(self.log, "Cl (CMB spectra) has no pure-JAX provider here yet.")
        names = dict(self._names)
        amplitude = self._amplitude
        handled = set(names.values()) | ({amplitude} if amplitude else set())
        unknown = sorted(set(self.input_params) - handled)
        if unknown:
            raise LoggedError(self.log, "Input parameters %s are not handled by the pure-JAX "
                              "function.", unknown)
        ell, profile, options = self._ell.copy(), self._profile or "A10", dict(self._options)

        def convert(name, value):
            if name in _LINEAR_AS:
                return jnp.log(1e10 * value)
            return value / 3.0 if name in _SUM_MNU else value

        def fn(params, products):
            cosmo = csl.CosmoParams(**{f: convert(n, params[n]) for f, n in names.items()})
            if amplitude is not None:
                # exact, traceable: NaN ln10_10_As outside the box (zero likelihood)
                cosmo = csl.cosmo_from_amplitude(cosmo, **{amplitude: params[amplitude]})
            d = csl.derived(cosmo)
            sy = s_y(d["sigma8"], d["Omega_m"], d["h"])
            derived = dict({k: d[k] for k in ("sigma8", "Omega_m", "S8", "h")}, S_y=sy,
                           ln_S_y=jnp.log(sy), logA=cosmo.ln10_10_As,
                           As=1e-10 * jnp.exp(cosmo.ln10_10_As))
            derived = {k: v for k, v in derived.items() if k not in self.input_params
                       and k in self.get_can_provide_params()}
            ev = csl.cl_yy_factory(cosmo, ell, profile=profile, **options) if ell.size else None
            return {"tsz_factory": TSZFactory(ell, ev, cosmo, d)}, derived

        return fn


#: LaTeX labels of the B12 fields in the default params block of ``profile: B12``.
_B12_PARAM_LATEX = {"P0": "P_0", "alpha_m_P0": r"\alpha_{m,P_0}", "alpha_z_P0": r"\alpha_{z,P_0}",
                    "xc": "x_c", "alpha_m_xc": r"\alpha_{m,x_c}", "alpha_z_xc": r"\alpha_{z,x_c}",
                    "beta": r"\beta", "alpha_m_beta": r"\alpha_{m,\beta}",
                    "alpha_z_beta": r"\alpha_{z,\beta}", "alpha": r"\alpha", "gamma": r"\gamma"}


class TSZPowerSpectrum(Theory):
    r"""Fast block: pressure profile + mass bias -> Cl_yy, using :class:`TSZCosmology`'s
    closure.

    Option ``profile``: ``A10`` (inputs P0, c500, gamma, alpha, beta, B) or ``B12`` (inputs
    the ProfileParamsB12 fields: P0, alpha_m_P0, alpha_z_P0, xc, alpha_m_xc, alpha_z_xc,
    beta, alpha_m_beta, alpha_z_beta, alpha, gamma, B); all dimensionless, fixed or sampled
    (see ``TSZPowerSpectrum.yaml``; with ``profile: B12`` the default params block holds the
    paper's values, fixed, and B sampled as for A10). Provides ``Cl_yy`` =
    ``{"ell", "1h", "2h"}``, dimensionless C_ell at the union of requested multipoles, and
    derived F = sigma8 (Omega_m / B)^0.40 h^-0.21.
    A fixed profile value outside its allowed ranges (``csl.params.PROFILE_TYPES``) is
    refused at initialisation; a sampled point outside them, or a non-finite C_ell, returns
    False (zero likelihood).
    """

    profile: str

    @classmethod
    def get_modified_defaults(cls, defaults, input_options=None):
        # The default params block (TSZPowerSpectrum.yaml) is A10's; B12 has other fields.
        if (input_options or {}).get("profile") == "B12":
            a10 = defaults.get("params", {})
            params = {f: {"value": float(getattr(csl.ProfileParamsB12(), f)),
                          "latex": _B12_PARAM_LATEX[f]}
                      for f in csl.ProfileParamsB12._fields if f != "B"}
            params["B"] = a10["B"]
            params["F"] = a10["F"]
            defaults = dict(defaults, params=params)
        return defaults

    def initialize(self):
        if self.profile not in PROFILES:
            raise LoggedError(self.log, "Option profile = %r not understood: use one of %s.",
                              self.profile, list(PROFILES))
        self._type = model_for(self.profile).params_type
        self._fields = self._type._fields
        self._ell = np.empty(0)

    # No parameter requirements: sigma8, Omega_m and h for F come with the factory. Asking
    # Cobaya for them would find two providers next to classy/camb (which also offer them).

    def must_provide(self, **requirements):
        super().must_provide(**requirements)
        if "Cl_yy" in requirements:
            opts = requirements["Cl_yy"] or {}
            if "ell" not in opts:
                raise LoggedError(self.log, "Cl_yy must be requested with {'ell': [...]}.")
            try:
                ell = np.asarray(check_ell(opts["ell"]))
            except (TypeError, ValueError) as exc:
                raise LoggedError(self.log, "Cl_yy ell: %s", exc) from None
            self._ell = np.union1d(self._ell, ell)
        if self._ell.size:
            # A list, so Cobaya can compare repeated requests.
            return {"tsz_factory": {"ell": self._ell.tolist(), "profile": self.profile}}
        return None

    def initialize_with_params(self):
        missing = [p for p in self._fields if p not in self.input_params]
        if missing:
            raise LoggedError(self.log, "Profile parameters %s are missing (give a value "
                              "or a prior for each).", missing)

    def initialize_with_provider(self, provider):
        super().initialize_with_provider(provider)
        # Fixed profile values outside PROFILE_RANGES would give zero likelihood everywhere.
        fixed = fixed_input_values(provider, self._fields)
        try:
            check_profile_fields(fixed, self._type)
        except (TypeError, ValueError) as exc:
            raise LoggedError(self.log, "Fixed profile parameter(s) %s: %s", fixed,
                              exc) from None

    def calculate(self, state, want_derived=True, **params):
        fac = self.provider.get_tsz_factory()
        if fac is None:
            raise LoggedError(self.log, "TSZCosmology was not asked for any multipole.")
        profile = self._type(**{k: float(params[k]) for k in self._fields})
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
            if fac.derived is None:
                raise LoggedError(self.log, "TSZCosmology did not pass sigma8, Omega_m, h.")
            s8, om, h = (fac.derived[k] for k in ("sigma8", "Omega_m", "h"))
            a, b = F_EXPONENTS
            state["derived"] = {"F": float(s8 * (om / params["B"]) ** a * h ** b)}

    def get_Cl_yy(self) -> dict:
        """``{"ell": (n,), "1h": (n,), "2h": (n,)}``: dimensionless C_ell^yy at ``ell``."""
        return self.current_state["Cl_yy"]

    def get_jax_function(self):
        """Pure-JAX version of :meth:`calculate` (protocol of
        :mod:`classy_szlite_cobaya.samplers.jax_model`): ``fn(params, products) ->
        ({"Cl_yy": {"ell", "1h", "2h"}}, {"F": F})`` from ``products["tsz_factory"]``."""
        ptype, fields = self._type, self._fields

        def fn(params, products):
            fac = products["tsz_factory"]
            cl1, cl2 = fac.evaluate(ptype(**{k: params[k] for k in fields}))
            d = fac.derived
            a, b = F_EXPONENTS
            f = d["sigma8"] * (d["Omega_m"] / params["B"]) ** a * d["h"] ** b
            return {"Cl_yy": {"ell": fac.ell, "1h": cl1, "2h": cl2}}, {"F": f}

        return fn
