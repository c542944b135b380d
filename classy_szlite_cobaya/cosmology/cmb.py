r"""CMB power spectra from the CosmoPower networks shipped in the ``cosmopower-jax`` wheel
(``cmb_tt``, ``cmb_te``, ``cmb_ee``, ``cmb_pp``; Spurio Mancini et al. 2022, trained on CLASS).

What the networks give, read from cosmopower-jax's source and checked against CLASS 3.4
(``lensed_cl``; BENCHMARKS.md): the **lensed** dimensionless C_ell^TT, C_ell^TE, C_ell^EE
(in units of T_cmb^2, i.e. CLASS's ``lensed_cl``, not D_ell) and the **linear-theory**
lensing-potential C_ell^phiphi (CLASS with ``non_linear`` off: HMcode or halofit lensing
differs from it by 30-40 % at ell = 2000), for every integer ell in [2, 2508]. TT and EE
are networks for log10 C_ell; TE (which changes sign) and log10 C_ell^phiphi are PCA
decompositions (512 and 64 components) predicted by a network. Flat LambdaCDM with
N_eff = 3.046 massless neutrinos (one 0.06 eV neutrino in CLASS moves TE by 1.5 % of
sqrt(TT EE) and EE by 2 %, away from the networks) and a fixed helium fraction
Y_He = 0.25 (measured: against CLASS with Y_He = 0.25, TT and EE agree to < 0.45 % at
30 <= ell <= 2500; with CLASS's BBN value, 0.245 for Planck-like omega_b, the damping tail
differs by up to 1.0 %; with 0.248 or 0.252, 0.53 % and 0.33 %).

Which CLASS settings they reproduce (CosmoPower does not publish its CMB training settings;
measured, docs/physics.md section 9): CLASS defaults for reionisation (``reio_camb`` from
tau_reio, width 0.5) with Y_He = 0.25, N_ur = 3.046, linear lensing, default precision.
Against that, the bare networks (:func:`network_spectra`) leave emulation errors that no
CLASS setting removes: EE and TE scatter ell by ell below ell = 30, and C_ell^phiphi falls
smoothly below CLASS above ell ~ 1000 (-3.5 % at 2500).

**CLASS correction.** :func:`cl_TTTEEE` therefore multiplies the networks by a correction
trained here on CLASS 3.4 runs with those settings (``tools/class_cmb``; weights
``weights/cmb_correction.npz``, model card ``weights/MODEL_CARD.md``): Gaussian-process
regressions on PCA components (:func:`.gp.gp_predict`) of the networks' residual,
ln(C^CLASS / C^network) for TT, EE, phi-phi and (C^TE,CLASS - C^TE,network) /
sqrt(C^TT C^EE)^network for TE, in blocks: one per spectrum over every ell, and, below
ell = 30, a block for EE and one for TE (there it emulates C^TE,CLASS / sqrt(C^TT C^EE)^network
itself, which is smooth in the parameters where the networks' error is not). The
correction is trained in :data:`CORRECTION_BOX` (Planck-like LambdaCDM, many sigma wide);
outside it, it relaxes to its mean over that box within about one GP length scale, so the
spectra stay smooth over the whole network box, with the accuracy measured only inside.
Measured accuracy: BENCHMARKS.md and the model card.

Inputs (in this order): omega_b, omega_cdm, h, tau_reio, n_s, ln(10^10 A_s); training box
:data:`CMB_BOX` (the CosmoPower CMB ranges, wider than the matter-power box in every
parameter). The networks' outputs are folded once into one linear output layer per
spectrum (standardisation and PCA basis included), so a call is 4 small dense networks.

Convention of :func:`cl_TTTEEE`: C_ell (no ell(ell+1)/2pi factor); TT, TE, EE in muK^2 with
T_cmb = 2.7255 K (Cobaya's ``FIRASmuK2``); C_ell^phiphi dimensionless (classy's
``lensed_cl()['pp']``).
"""
from __future__ import annotations

import functools
import os

import numpy as np
import jax.numpy as jnp

from ..constants import T_CMB_K
from ..params import LCDM_BOX, MASSLESS_HINT, CosmoParams, check_cosmo, validity_factor
from . import _range_check, emulator
from .gp import gp_predict

__all__ = ["cl_TTTEEE", "CMB_BOX", "ELL_MIN", "ELL_MAX", "SPECTRA", "check_cmb_cosmo",
           "cmb_validity_factor", "network_spectra", "class_correction", "load_correction",
           "corrected_spectra", "te_correlation", "MUK2",
           "CORRECTION_BOX"]

_INPUTS = ["omega_b", "omega_cdm", "h", "tau_reio", "n_s", "ln10^{10}A_s"]
#: Training box of the CosmoPower CMB networks (CosmoPower's CP_paper/CMB README), in
#: CosmoParams names; H0 in km/s/Mpc (the networks take h = H0/100 in [0.2, 1.0]).
CMB_BOX = {
    "omega_b": (0.005, 0.04),
    "omega_cdm": (0.001, 0.99),
    "H0": (20.0, 100.0),
    "tau_reio": (0.01, 0.8),
    "n_s": (0.7, 1.3),
    "ln10_10_As": (1.61, 5.0),
    "N_ur": LCDM_BOX["N_ur"],     # N_eff 3.044 ... 3.046, see params.LCDM_BOX
}
ELL_MIN, ELL_MAX = 2, 2508   #: multipoles the networks predict (every integer)
SPECTRA = ("tt", "te", "ee", "pp")
_PROBES = {"tt": "cmb_tt", "te": "cmb_te", "ee": "cmb_ee", "pp": "cmb_pp"}
# log10 outputs (the others are C_ell itself)
_LOG10 = ("tt", "ee", "pp")
#: (T_cmb [muK])^2: dimensionless C_ell -> muK^2
MUK2 = (T_CMB_K * 1.0e6) ** 2


@functools.lru_cache(maxsize=1)
def _networks() -> dict:
    """{spectrum: net} with ``w_u`` (n_hidden, 2507), ``b_u`` (2507,): the output layer,
    standardisation and (te, pp) PCA basis folded into one linear map, whose value is
    log10 C_ell (tt, ee, pp) or C_ell (te), dimensionless, at ell = 2 ... 2508."""
    nets = {}
    for name, probe in _PROBES.items():
        net = emulator.load_network(probe, _INPUTS)
        w = net["w_last"].T * net["f_std"][None, :]             # (n_hidden, n_features)
        b = net["b_last"][-1] * net["f_std"] + net["f_mean"]    # (n_features,)
        emu = net["emu"]
        if hasattr(emu, "pca_matrix"):                           # te, pp: PCA coefficients
            pca = np.asarray(emu.pca_matrix, dtype=float)        # (n_pca, n_ell)
            t_std = np.asarray(emu.training_std, dtype=float)
            t_mean = np.asarray(emu.training_mean, dtype=float)
            w, b = (w @ pca) * t_std[None, :], (b @ pca) * t_std + t_mean
        if w.shape[1] != ELL_MAX - ELL_MIN + 1:
            raise RuntimeError(f"cosmopower-jax {probe} gives {w.shape[1]} multipoles; this "
                               f"package expects ell = {ELL_MIN} ... {ELL_MAX}")
        net["w_u"], net["b_u"] = w, b
        nets[name] = net
    return nets


def check_cmb_cosmo(cosmo: CosmoParams, argument: str = "cosmo") -> None:
    """:func:`~classy_szlite_cobaya.params.check_cosmo` with the CMB networks' box
    (:data:`CMB_BOX`): TypeError unless ``cosmo`` is a CosmoParams of real numbers, ValueError
    naming the field, its value and the allowed range otherwise."""
    check_cosmo(cosmo, argument, box=CMB_BOX, model="the CosmoPower CMB networks",
                hint=MASSLESS_HINT)


def cmb_validity_factor(cosmo: CosmoParams):
    """1.0 where every (possibly traced) field of ``cosmo`` is inside what the CMB networks
    model (:func:`check_cmb_cosmo`), NaN elsewhere."""
    return validity_factor(cosmo, box=CMB_BOX)


def network_spectra(cosmo: CosmoParams) -> dict:
    """The bare networks' {tt, te, ee: muK^2; pp: dimensionless} at ell = 2 ... 2508, without
    the CLASS correction and without validation (training data of the correction)."""
    x = jnp.stack([jnp.asarray(cosmo.omega_b, dtype=float),
                   jnp.asarray(cosmo.omega_cdm, dtype=float),
                   jnp.asarray(cosmo.H0, dtype=float) / 100.0,
                   jnp.asarray(cosmo.tau_reio, dtype=float),
                   jnp.asarray(cosmo.n_s, dtype=float),
                   jnp.asarray(cosmo.ln10_10_As, dtype=float)], axis=-1)
    out = {}
    for name, net in _networks().items():
        y = emulator.hidden_layers(net, x) @ jnp.asarray(net["w_u"]) + net["b_u"]
        if name in _LOG10:
            y = jnp.exp(np.log(10.0) * y)
        out[name] = y if name == "pp" else y * MUK2
    return out


def te_correlation(spectra: dict):
    """C^TE / sqrt(C^TT C^EE) of a {tt, te, ee} dict (any common units): the target of the
    correction's "direct" blocks, the same definition in training and prediction."""
    return spectra["te"] / jnp.sqrt(spectra["tt"] * spectra["ee"])


_CORRECTION_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights",
                                "cmb_correction.npz")


@functools.lru_cache(maxsize=1)
def load_correction() -> dict:
    """``blocks``: list of (spectrum, first ell, last ell, target, GP model
    (:func:`.gp.gp_predict`)), whole-ell blocks first; ``lo``, ``hi``: the unit-cube map of
    the inputs (omega_b, omega_cdm, H0, tau_reio, n_s, ln10_10_As)."""
    with np.load(_CORRECTION_FILE, allow_pickle=False) as f:
        d = {key: np.asarray(f[key]) for key in f.files}
    blocks = []
    for b in (str(v) for v in d["blocks"]):
        model = {key: d[f"{b}_{key}"] for key in ("ell", "pc_group", "alpha", "mean", "basis")}
        a, e = (int(v) for v in d[f"{b}_ell_range"])
        blocks.append((str(d[f"{b}_spectrum"]), a, e, str(d[f"{b}_target"]),
                       model | {"u_train": d["u_train"]}))
    blocks.sort(key=lambda blk: blk[1] - blk[2])          # widest first: narrower ones replace
    return {"blocks": blocks, "lo": d["lo"], "hi": d["hi"]}


_INPUT_FIELDS = ("omega_b", "omega_cdm", "H0", "tau_reio", "n_s", "ln10_10_As")


def _correction_box() -> dict:
    # Read directly, not through load_correction's cache: a training process that imports
    # this module and then writes new weights validates those, not the ones found at import.
    with np.load(_CORRECTION_FILE, allow_pickle=False) as f:
        lo, hi = f["lo"], f["hi"]
    return {n: (float(a), float(b)) for n, a, b in zip(_INPUT_FIELDS, lo, hi)}


#: Box where the CLASS correction is trained (``tools/class_cmb/generate_cmb.py``); outside it
#: the correction relaxes smoothly (over about one GP length scale) to its mean over the box.
CORRECTION_BOX = _correction_box() if os.path.exists(_CORRECTION_FILE) else {}   # {}: retraining


def class_correction(cosmo: CosmoParams, net: dict | None = None) -> dict:
    """The GP correction of the networks towards CLASS (module docstring), no validation:
    {tt, ee, pp: ln(C^CLASS / C^network); te: (C^TE,CLASS - C^TE,network) /
    sqrt(C^TT C^EE)^network}, each (2507,) at ell = 2 ... 2508. ``net``: the networks'
    spectra at ``cosmo`` (:func:`network_spectra`) if already computed."""
    c = load_correction()
    x = jnp.stack([jnp.asarray(getattr(cosmo, n), dtype=float) for n in _INPUT_FIELDS], axis=-1)
    u = (x - c["lo"]) / (c["hi"] - c["lo"])
    out = {}
    for spec, a, e, target, model in c["blocks"]:
        y = gp_predict(model, u)
        if target == "direct":        # C^TE,CLASS / sqrt(C^TT C^EE)^network -> residual
            net = network_spectra(cosmo) if net is None else net
            y = y - te_correlation(net)[..., a - ELL_MIN:e - ELL_MIN + 1]
        if spec not in out:
            out[spec] = y
        else:
            out[spec] = out[spec].at[..., a - ELL_MIN:e - ELL_MIN + 1].set(y)
    return out


def corrected_spectra(cosmo: CosmoParams) -> dict:
    """:func:`network_spectra` with :func:`class_correction` applied, same units."""
    net = network_spectra(cosmo)
    r = class_correction(cosmo, net)
    return {"tt": net["tt"] * jnp.exp(r["tt"]), "ee": net["ee"] * jnp.exp(r["ee"]),
            "pp": net["pp"] * jnp.exp(r["pp"]),
            "te": net["te"] + r["te"] * jnp.sqrt(net["tt"] * net["ee"])}


def cl_TTTEEE(cosmo: CosmoParams, ell=None) -> dict:
    r"""Lensed CMB C_ell^TT, C_ell^TE, C_ell^EE [muK^2] and linear lensing-potential
    C_ell^phiphi [dimensionless]: the shipped CosmoPower networks times the CLASS correction
    (:func:`class_correction`; module docstring).

    Convention: C_ell itself (multiply by ell(ell+1)/2pi for D_ell; by [ell(ell+1)]^2/2pi
    for the usual phiphi plot), T_cmb = 2.7255 K (muK^2 = Cobaya's ``FIRASmuK2``), TT/TE/EE
    lensed, phiphi linear theory: classy's ``lensed_cl()`` times (T_cmb 1e6)^2 for TT/TE/EE.
    cosmo : CosmoParams inside :data:`CMB_BOX` (uses omega_b, omega_cdm, H0, tau_reio, n_s,
        ln10_10_As; the fixed fields at their defaults).
    ell : optional (n_ell,) multipoles in [2, 2508]; default every integer 2 ... 2508.
        Integers give the networks' values; between integers C_ell is interpolated linearly.
    Returns {"ell": (n_ell,), "tt", "te", "ee", "pp": (n_ell,) each}. Traceable
    (jit/grad/vmap in cosmo and ell). Eager: ValueError naming the CosmoParams field or
    ell, the bad value and the allowed range; TypeError for non-real input. Traced: every
    spectrum NaN for an invalid cosmology, NaN at the invalid ell.
    """
    check_cmb_cosmo(cosmo)
    ok = cmb_validity_factor(cosmo)
    cl = corrected_spectra(cosmo)
    if ell is None:
        ell_out = jnp.arange(ELL_MIN, ELL_MAX + 1)
        out = {name: cl[name] * ok for name in SPECTRA}
    else:
        ok_ell = _range_check("ell", ell, ELL_MIN, ELL_MAX)
        ell_out = jnp.asarray(ell, dtype=float)
        pos = jnp.clip(ell_out - ELL_MIN, 0.0, ELL_MAX - ELL_MIN)
        i0 = jnp.clip(jnp.floor(pos).astype(int), 0, ELL_MAX - ELL_MIN - 1)
        w = pos - i0
        out = {name: ((1.0 - w) * cl[name][..., i0] + w * cl[name][..., i0 + 1]) * ok * ok_ell
               for name in SPECTRA}
    return {"ell": ell_out, **out}
