"""Cobaya Theory components TSZCosmology (slow) + TSZPowerSpectrum (fast): defaults, the model
end to end with the Planck y-map likelihood, closure caching, invalid points, config errors."""
from __future__ import annotations

import configparser
import fnmatch
import importlib.resources
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from cobaya.log import LoggedError
from cobaya.model import get_model

import classy_szlite_cobaya as csl
from helpers import YAML_LCDM  # noqa: E402
from classy_szlite_cobaya.cobaya import TSZCosmology, TSZPowerSpectrum
from classy_szlite_cobaya.cobaya.likelihood import load_ymap_data, log_likelihood_from_cl
from classy_szlite_cobaya.cobaya.theory import TSZFactory

REPO = Path(__file__).resolve().parents[1]
COSMO_NAME = "classy_szlite_cobaya.cobaya.TSZCosmology"
FAST_NAME = "classy_szlite_cobaya.cobaya.TSZPowerSpectrum"
LIKE_NAME = "classy_szlite_cobaya.cobaya.PlanckYMap2015"
# Reference point of the Planck 2015 trispectrum file (ln10^10 A_s = ln 19 = 2.9444).
REF = dict(omega_b=0.0224, omega_cdm=0.125, H0=69.0, logA=2.9444, n_s=0.96, B=1.41,
           A_CIB=0.66, A_RS=0.004, A_IR=2.04)


def main_info(packages, name: str = "tsz_logA.yaml") -> dict:
    """input_yamls/``name`` as a model info (no sampler, no output); default the main job's
    logA version (the points below give logA)."""
    info = yaml.safe_load((REPO / "input_yamls" / name).read_text())
    info.pop("sampler"), info.pop("output")
    info["packages_path"] = str(packages)
    return info


@pytest.fixture(scope="module")
def model(installed_ymap_packages):
    return get_model(main_info(installed_ymap_packages))


@pytest.fixture(scope="module")
def main_model(installed_ymap_packages):
    """input_yamls/tsz.yaml itself (ln_S_y sampled, logA derived)."""
    return get_model(main_info(installed_ymap_packages, "tsz.yaml"))


# ----------------------------------------------------------------------------- defaults
def test_defaults_keys_and_shipped_yaml():
    d = TSZCosmology.get_defaults()
    assert {"halo_model", "cache_size", "speed", "params"} <= set(d)
    assert set(d["params"]) == {"sigma8", "Omega_m", "S8", "h", "S_y", "ln_S_y"}
    assert all(v["derived"] for v in d["params"].values())
    f = TSZPowerSpectrum.get_defaults()
    assert {"speed", "params"} <= set(f)
    assert set(f["params"]) == {"P0", "c500", "gamma", "alpha", "beta", "B", "F"}
    assert f["params"]["F"]["derived"] and f["params"]["B"]["prior"] == {"min": 1.0, "max": 2.0}
    assert f["speed"] > d["speed"] > 0  # fast block declared faster than the slow one
    for cls in (TSZCosmology, TSZPowerSpectrum):
        assert "1712.00788" in cls.get_bibtex()
        # Defaults live in the YAML only (checklist item 2): no option values on the class.
        assert not cls.get_class_options()
    # The YAML files are package data (found through importlib.resources) and setup.cfg's
    # package_data pattern ships them in a wheel.
    pkg = importlib.resources.files("classy_szlite_cobaya.cobaya")
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["classy_szlite_cobaya"].split(",")]
    for name in ("TSZCosmology.yaml", "TSZPowerSpectrum.yaml", "TSZCosmology.bibtex"):
        assert (pkg / name).is_file()
        assert any(fnmatch.fnmatch(f"cobaya/{name}", p) for p in patterns)


# ----------------------------------------------------------------------------- model
def plain_loglike(packages, point, **options):
    """log L at ``point`` without Cobaya: csl factory + the likelihood's plain functions."""
    data = load_ymap_data(Path(packages) / "data" / "planck2015_ymap")
    cosmo = csl.CosmoParams(**YAML_LCDM,
                            omega_b=point["omega_b"], omega_cdm=point["omega_cdm"],
                            H0=point["H0"], ln10_10_As=point["logA"], n_s=point["n_s"])
    cl1, cl2 = csl.cl_yy_factory(cosmo, data.ell, **options)(csl.ProfileParamsA10(B=point["B"]))
    return log_likelihood_from_cl(data, cl1, cl2, A_CIB=point["A_CIB"], A_RS=point["A_RS"],
                                  A_IR=point["A_IR"], A_CN=0.9033)


def test_loglike_finite_with_derived(model, installed_ymap_packages):
    loglikes, derived = model.loglikes(REF)
    assert np.isfinite(loglikes).all()
    d = dict(zip(model.parameterization.derived_params(), derived))
    assert set(d) >= {"sigma8", "Omega_m", "S8", "h", "F"}
    ref = {k: float(v) for k, v in csl.derived(csl.CosmoParams(**YAML_LCDM,
        omega_b=0.0224, omega_cdm=0.125, H0=69.0, ln10_10_As=2.9444, n_s=0.96)).items()}
    for k in ("sigma8", "Omega_m", "S8", "h"):
        assert d[k] == pytest.approx(ref[k], rel=1e-10)
    assert d["F"] == pytest.approx(ref["sigma8"] * (ref["Omega_m"] / 1.41) ** 0.40
                                   * ref["h"] ** -0.21, rel=1e-12)
    # Same number as the likelihood's plain function on the model's own C_ell.
    assert loglikes[0] == pytest.approx(plain_loglike(installed_ymap_packages, REF), rel=1e-10)
    cl = model.provider.get_Cl_yy()
    assert set(cl) == {"ell", "1h", "2h"} and np.all(cl["1h"] > 0) and np.all(cl["2h"] > 0)


def test_fast_step_reuses_closure(model):
    cosmo = model.theory[COSMO_NAME]
    model.loglikes(REF)
    n0 = cosmo.n_builds
    # Profile and foreground moves: no rebuild (Cobaya's cache + the closure cache).
    for b, a_cib in ((1.3, 0.5), (1.6, 0.8), (1.2, 1.0)):
        assert np.isfinite(model.loglikes({**REF, "B": b, "A_CIB": a_cib})[0]).all()
    assert cosmo.n_builds == n0
    # Even with Cobaya's cache bypassed, an unchanged cosmology reuses the closure.
    model.loglikes({**REF, "B": 1.5}, cached=False)
    assert cosmo.n_builds == n0
    # A cosmology move rebuilds exactly once.
    model.loglikes({**REF, "H0": 70.0})
    model.loglikes({**REF, "H0": 70.0, "B": 1.7})
    assert cosmo.n_builds == n0 + 1


def test_blocking_slow_cosmology_fast_profile(model):
    blocks, _ = model.get_param_blocking_for_sampler(split_fast_slow=True)
    slow = {"omega_b", "omega_cdm", "H0", "logA", "n_s"}
    assert set(blocks[0]) == slow
    assert {"B"} in [set(b) for b in blocks[1:]]


def _mcmc_drag_steps(model, oversample_power):
    """(blocks, factors, dragging interpolation steps) as Cobaya's mcmc sets them up with
    ``drag: true`` (mcmc.py set_proposer_blocking): dragging needs factors differing by >= 2
    and round(fast factor * n_fast / n_slow) >= 2."""
    blocks, factors = model.get_param_blocking_for_sampler(
        split_fast_slow=True, oversample_power=oversample_power)
    i_fast = factors.index(max(factors))
    n_slow = sum(len(b) for b in blocks[:i_fast])
    n_fast = sum(len(b) for b in blocks[i_fast:])
    return blocks, factors, round(factors[i_fast] * n_fast / n_slow)


@pytest.mark.parametrize("speeds", [None, (109.0, 855.0, 3170.0)],
                         ids=["declared", "measured-2core"])
def test_tsz_yaml_blocking_drags_fast_params(main_model, speeds):
    """tsz_mcmc.yaml's mcmc settings give a real slow/fast split: cosmology slow (factor 1), B and
    the foregrounds fast, oversampled and dragged, with the declared speeds and with the ones
    Cobaya measured on a 2-core machine (where Cobaya's default oversample_power 0.4 floored
    the fast factor to 1 and disabled dragging)."""
    mcmc = yaml.safe_load((REPO / "input_yamls" / "tsz_mcmc.yaml").read_text())["sampler"]["mcmc"]
    assert mcmc["drag"] is True
    names = (COSMO_NAME, FAST_NAME, LIKE_NAME)
    model = main_model
    comps = {c.get_name(): c for c in model.components}
    saved = {n: comps[n].speed for n in names}
    try:
        if speeds is not None:
            for n, v in zip(names, speeds):
                comps[n].set_measured_speed(v)
        blocks, factors, steps = _mcmc_drag_steps(model, mcmc["oversample_power"])
        if speeds is not None:  # what disabled dragging, at Cobaya's default power
            assert set(model.get_param_blocking_for_sampler(
                split_fast_slow=True, oversample_power=0.4)[1]) == {1}
    finally:
        for n, v in saved.items():
            comps[n].set_measured_speed(v)
    slow = {"omega_b", "omega_cdm", "H0", "ln_S_y", "n_s"}
    fast = {"B", "A_CIB", "A_RS", "A_IR"}
    assert set(blocks[0]) == slow and factors[0] == 1
    assert set().union(*blocks[1:]) == fast and all(f > 1 for f in factors[1:])
    assert max(factors) / min(factors) >= 2 and steps >= 2


@pytest.mark.parametrize("bad", [{"H0": 90.0}, {"omega_cdm": 0.3}, {"logA": float("nan")},
                                 {"B": float("nan")}, {"B": 10.0}])
def test_invalid_points_give_minus_inf(model, bad):
    # loglikes() bypasses the prior, so the theory itself must reject the point.
    loglikes, _ = model.loglikes({**REF, **bad})
    assert loglikes[0] == -np.inf
    assert np.isfinite(model.loglikes(REF)[0]).all()  # and the model still works


def test_nan_cl_gives_false():
    """Non-finite C_ell (JAX flags invalid traced points with NaN) -> calculate is False."""
    theory = TSZPowerSpectrum()
    nan = np.full(3, np.nan)

    class Provider:
        def get_tsz_factory(self):
            return TSZFactory(np.array([10.0, 20.0, 30.0]), lambda p: (nan, nan), None)

    theory.provider = Provider()
    params = {k: getattr(csl.ProfileParamsA10(), k) for k in csl.ProfileParamsA10._fields}
    assert theory.calculate({}, want_derived=False, **params) is False


def test_alias_ln10As_same_as_logA(model, installed_ymap_packages):
    # Cobaya only samples valid Python names, so ln10^{10}A_s comes fixed (or as
    # `value: 'lambda logA: logA'` of a sampled logA); the theory reads either spelling.
    info = main_info(installed_ymap_packages)
    del info["params"]["logA"]
    info["params"]["ln10^{10}A_s"] = REF["logA"]
    other = get_model(info)
    point = {k: v for k, v in REF.items() if k != "logA"}
    assert other.loglikes(point)[0][0] == pytest.approx(model.loglikes(REF)[0][0], rel=1e-12)


# ----------------------------------------------------------------------------- config errors
def _info(packages, **cosmo_opts):
    info = main_info(packages)
    info["theory"][COSMO_NAME] = cosmo_opts
    return info


def test_halo_model_typo_is_clear_error(installed_ymap_packages):
    with pytest.raises(LoggedError, match=r"halo_model.*n_zz.*allowed"):
        get_model(_info(installed_ymap_packages, halo_model={"n_zz": 50}))
    with pytest.raises(LoggedError, match=r"n_x = 100"):
        get_model(_info(installed_ymap_packages, halo_model={"n_x": 100}))
    # A typo in the option name itself is caught by Cobaya, with a suggestion.
    with pytest.raises(LoggedError, match=r"halo_modle.*did you mean.*halo_model"):
        get_model(_info(installed_ymap_packages, halo_modle={"n_z": 50}))


def test_missing_or_doubled_cosmology_is_clear_error(installed_ymap_packages):
    info = main_info(installed_ymap_packages)
    del info["params"]["H0"]
    with pytest.raises(LoggedError, match=r"H0 is missing"):
        get_model(info)
    info = main_info(installed_ymap_packages)
    info["params"]["ln10^{10}A_s"] = 3.0
    with pytest.raises(LoggedError, match=r"given twice"):
        get_model(info)


def test_cobaya_ell_union_served(model):
    """The fast component serves exactly the likelihood's 18 multipoles, ascending."""
    like = model.likelihood[LIKE_NAME]
    cl = model.provider.get_Cl_yy()
    assert np.array_equal(cl["ell"], np.sort(like.data.ell))
    assert math.isfinite(model.loglikes(REF)[0][0])


# ----------------------------------------------------------------------------- amplitude
def _amplitude_info(packages, name: str, prior: dict) -> dict:
    """tsz_logA.yaml with the amplitude ``name`` sampled instead of logA; logA, As derived."""
    info = main_info(packages)
    info["params"].pop("logA")
    info["params"][name] = {"prior": prior}
    info["params"].update(logA={"derived": True}, As={"derived": True})
    return info


def test_sigma8_input_reproduces_sigma8_and_logA_run(model, installed_ymap_packages):
    """sigma8 as the amplitude input: the derived logA gives back the requested sigma8 to
    1e-10 (one sigma8 evaluation, no iteration) and the same log-likelihood as the logA run at
    that logA."""
    s8_model = get_model(_amplitude_info(installed_ymap_packages, "sigma8",
                                         {"min": 0.3, "max": 2.0}))
    point = {k: v for k, v in REF.items() if k != "logA"}
    for s8 in (0.45, 0.81, 1.1):
        loglikes, derived = s8_model.loglikes({**point, "sigma8": s8})
        d = dict(zip(s8_model.parameterization.derived_params(), derived))
        assert "sigma8" not in d and d["As"] == pytest.approx(1e-10 * math.exp(d["logA"]),
                                                             rel=1e-14)
        cosmo = csl.CosmoParams(**YAML_LCDM,
                                omega_b=point["omega_b"], omega_cdm=point["omega_cdm"],
                                H0=point["H0"], n_s=point["n_s"], ln10_10_As=d["logA"])
        assert float(csl.derived(cosmo)["sigma8"]) == pytest.approx(s8, rel=1e-10)
        ref_loglikes, ref_derived = model.loglikes({**point, "logA": d["logA"]})
        assert loglikes[0] == pytest.approx(ref_loglikes[0], rel=1e-10)
        ref_d = dict(zip(model.parameterization.derived_params(), ref_derived))
        assert ref_d["sigma8"] == pytest.approx(s8, rel=1e-10)
    # sigma8 no logA in the emulator box reaches: zero likelihood, not an extrapolation
    assert s8_model.loglikes({**point, "sigma8": 1.8})[0][0] == -np.inf
    assert np.isfinite(s8_model.loglikes({**point, "sigma8": 0.81})[0][0])


def test_ln_S_y_input_same_logp_as_logA(model, main_model):
    """tsz.yaml (ln_S_y sampled) and tsz_logA.yaml at the corresponding logA: same log
    posterior up to the constant prior-volume ratio (1e-10), same derived parameters; S_y
    derived in the logA run is exp(ln_S_y)."""
    point = {k: v for k, v in REF.items() if k != "logA"}
    offsets = []
    for ln_sy in (-1.2, -0.78, -0.3):
        lp = main_model.logposterior({**point, "ln_S_y": ln_sy}, as_dict=True)
        logA = lp["derived"]["logA"]
        assert 1.61 < logA < 3.91
        lp_a = model.logposterior({**point, "logA": logA}, as_dict=True)
        assert lp_a["derived"]["ln_S_y"] == pytest.approx(ln_sy, abs=1e-10)
        assert lp_a["derived"]["S_y"] == pytest.approx(math.exp(ln_sy), rel=1e-10)
        for k in ("sigma8", "Omega_m", "S8", "F"):
            assert lp["derived"][k] == pytest.approx(lp_a["derived"][k], rel=1e-10)
        like, like_a = (sum(x["loglikes"].values()) for x in (lp, lp_a))
        assert like == pytest.approx(like_a, rel=1e-10)
        offsets.append(lp["logpost"] - lp_a["logpost"])
    # the flat priors differ by the constant log(width logA / width ln S_y) only
    assert offsets[0] == pytest.approx(math.log(2.3 / (0.62 + 2.46)), rel=1e-10)
    assert np.ptp(offsets) < 1e-10
    # ln S_y inside its prior but no logA in the box reaches it: zero likelihood
    assert main_model.loglikes({**point, "ln_S_y": 0.6})[0][0] == -np.inf


def test_amplitude_given_twice_is_clear_error(installed_ymap_packages):
    info = _amplitude_info(installed_ymap_packages, "S_y", {"min": 0.1, "max": 1.0})
    info["params"]["sigma8"] = 0.8
    with pytest.raises(LoggedError, match=r"amplitude is given more than once.*S_y"):
        get_model(info)
    info = main_info(installed_ymap_packages)
    info["params"]["ln_S_y"] = -0.8
    with pytest.raises(LoggedError, match=r"amplitude is given more than once.*logA"):
        get_model(info)


@pytest.mark.parametrize("name,extended", [
    ("tsz_mnu.yaml", {"mnu": 0.15}),
    ("tsz_w.yaml", {"w": -0.9}),
    ("tsz_ede.yaml", {"fEDE": 0.1, "log10z_c": 3.8, "thetai_scf": 2.0}),
])
def test_extended_cosmology_yamls_evaluate(installed_ymap_packages, name, extended):
    """The extended-cosmology jobs build and give a finite posterior at their reference point;
    the extension parameter reaches the theory (the likelihood changes with it)."""
    model = get_model(main_info(installed_ymap_packages, name))
    point = model.prior.reference(random_state=np.random.default_rng(1))
    point = dict(zip(model.parameterization.sampled_params(), point))
    base = model.logposterior(point)
    assert np.isfinite(base.logpost)
    moved = model.logposterior({**point, **extended})
    assert np.isfinite(moved.logpost) and moved.loglike != base.loglike
