"""PlanckYMap2015: the maths against an independent numpy computation, the Cobaya wrapper with
a toy Cl_yy theory (no model, no CAMB), cuts, options and failure modes."""
from __future__ import annotations

import numpy as np
import pytest
from cobaya.component import ComponentNotInstalledError
from cobaya.log import LoggedError
from cobaya.model import get_model
from cobaya.theory import Theory

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.cobaya.likelihood import PlanckYMap2015
from classy_szlite_cobaya.likelihoods.ymap import (covariance, load_ymap_data, log_likelihood,
                                                   log_likelihood_from_cl, make_ymap_likelihood)

CLASS_NAME = "classy_szlite_cobaya.cobaya.likelihood.PlanckYMap2015"
FG = {"A_CIB": 0.66, "A_RS": 0.004, "A_IR": 2.04}
A_CN = 0.9033
F_SKY = 0.47


# ----------------------------------------------------------------------------- references
@pytest.fixture(scope="module")
def raw(installed_ymap_packages):
    """The installed files read directly with np.loadtxt (no project code)."""
    d = installed_ymap_packages / "data" / "planck2015_ymap"
    data = np.loadtxt(d / "data_ps-ell-y2-erry2_total-planck-collab-15.txt")
    fg = np.loadtxt(d / "data_fg-ell-cib_rs_ir_cn-total-planck-collab-15.txt")
    tri = np.loadtxt(d / "tSZ_trispectrum_ref_total-planck-collab-15_step_1.txt")
    ref = np.loadtxt(d / "tSZ_c_ell_ref_total-planck-collab-15_step_1.txt")
    ell = data[:, 0]
    # Toy tSZ spectrum: the reference 1-halo 1e12 D_ell turned back into C_ell.
    cl_ref = ref[:, 1] * 2 * np.pi / (ell * (ell + 1)) / 1e12
    return {"dir": d, "ell": ell, "d": data[:, 1], "err": data[:, 2], "fg": fg[:, 1:5],
            "tri": tri, "cl": cl_ref}


def numpy_loglike(raw, amp, fg_amps, keep=None, trispectrum=True, cl_2h_frac=0.1):
    """Independent -chi2/2: explicit D_ell, covariance, and np.linalg.solve."""
    keep = np.ones(raw["ell"].size, bool) if keep is None else keep
    ell = raw["ell"][keep]
    cl = amp * raw["cl"][keep] * (1 + cl_2h_frac)
    amps = [fg_amps["A_CIB"], fg_amps["A_RS"], fg_amps["A_IR"], fg_amps.get("A_CN", A_CN)]
    model = ell * (ell + 1) / (2 * np.pi) * 1e12 * cl + raw["fg"][keep] @ np.array(amps)
    cov = np.diag(raw["err"][keep] ** 2)
    if trispectrum:
        cov = cov + raw["tri"][np.ix_(keep, keep)] / (4 * np.pi * F_SKY)
    r = model - raw["d"][keep]
    return -0.5 * r @ np.linalg.solve(cov, r)


class ToyClyy(Theory):
    """Provides Cl_yy = amp * template at the requested multipoles (dimensionless C_ell)."""

    params = {"amp": None}
    template = None  # (ell, cl) arrays, set by the test
    extra_ell = ()  # multipoles another consumer might want: the theory serves a union
    nan = False

    def initialize(self):
        self.requested = []

    def must_provide(self, **requirements):
        if "Cl_yy" in requirements:
            self.requested.append(np.asarray(requirements["Cl_yy"]["ell"], dtype=float))

    def calculate(self, state, want_derived=True, **params):
        ell = np.unique(np.concatenate(self.requested + [np.asarray(self.extra_ell, float)]))
        cl = params["amp"] * np.interp(ell, *self.template)
        if self.nan:
            cl[3] = np.nan
        state["Cl_yy"] = {"ell": ell, "1h": cl, "2h": 0.1 * cl}

    def get_Cl_yy(self):
        return self.current_state["Cl_yy"]


def make_model(raw, packages, theory_cls=ToyClyy, params=None, **options):
    theory_cls.template = (raw["ell"], raw["cl"])
    info = {
        "theory": {"toy": {"external": theory_cls}},
        "likelihood": {CLASS_NAME: options or None},
        # A_CIB, A_RS, A_IR (sampled) and A_CN (fixed) come from the likelihood's defaults.
        "params": {"amp": {"prior": {"min": 0, "max": 3}}, **(params or {})},
        "packages_path": str(packages),
    }
    return get_model(info)


def loglike(model, **params):
    return float(model.loglikes(params)[0][0])


# ----------------------------------------------------------------------------- plain functions
def test_load_ymap_data(installed_ymap_packages, raw):
    data = load_ymap_data(raw["dir"])
    assert data.ell.shape == data.d_ell.shape == data.error.shape == (18,)
    assert data.foregrounds.shape == (4, 18) and data.trispectrum.shape == (18, 18)
    assert data.ell[0] == 10.0 and data.ell[-1] == 959.5 and data.f_sky == F_SKY
    np.testing.assert_array_equal(data.foregrounds.T, raw["fg"])
    np.testing.assert_array_equal(data.trispectrum, raw["tri"])
    cut = load_ymap_data(raw["dir"], ell_min=30, ell_max=500)
    keep = (raw["ell"] >= 30) & (raw["ell"] <= 500)
    np.testing.assert_array_equal(cut.ell, raw["ell"][keep])
    np.testing.assert_array_equal(cut.trispectrum, raw["tri"][np.ix_(keep, keep)])
    with pytest.raises(ValueError, match="No bin"):
        load_ymap_data(raw["dir"], ell_min=2000)


@pytest.mark.parametrize("trispectrum", ["file", "none"])
def test_plain_function_vs_numpy(raw, trispectrum):
    data = load_ymap_data(raw["dir"])
    cl = 0.8 * raw["cl"]
    got = log_likelihood_from_cl(data, cl, 0.1 * cl, **FG, A_CN=A_CN, trispectrum=trispectrum)
    want = numpy_loglike(raw, 0.8, FG, trispectrum=trispectrum == "file")
    assert np.isfinite(got) and got < 0
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_log_likelihood_edge_cases():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    d, m = np.array([1.0, 2.0]), np.array([1.5, 1.0])
    r = m - d
    np.testing.assert_allclose(log_likelihood(m, d, cov), -0.5 * r @ np.linalg.inv(cov) @ r)
    assert log_likelihood(np.array([np.nan, 1.0]), d, cov) == -np.inf
    with pytest.raises(ValueError, match="positive definite"):
        log_likelihood(m, d, np.array([[1.0, 2.0], [2.0, 1.0]]))
    np.testing.assert_allclose(covariance([1.0, 2.0], np.ones((2, 2)), 0.5),
                               np.diag([1.0, 4.0]) + 1 / (2 * np.pi))


def test_ymap_likelihood_object(raw):
    # The public object the Cobaya component, the JAX posterior and the plot all call.
    data = load_ymap_data(raw["dir"])
    like = make_ymap_likelihood(data)
    f = 1e12 * raw["ell"] * (raw["ell"] + 1) / (2 * np.pi)
    np.testing.assert_allclose(like.d_factor, f, rtol=1e-15)
    np.testing.assert_allclose(like.cov,
                               np.diag(raw["err"] ** 2) + raw["tri"] / (4 * np.pi * F_SKY))
    # chol_inv is L^-1 with Cov = L L^T: chol_inv Cov chol_inv^T = identity.
    np.testing.assert_allclose(like.chol_inv @ like.cov @ like.chol_inv.T, np.eye(18), atol=1e-10)
    cl = 0.8 * raw["cl"]
    amps = np.array([FG["A_CIB"], FG["A_RS"], FG["A_IR"], A_CN])
    got = float(like.log_likelihood(cl, 0.1 * cl, amps))
    np.testing.assert_allclose(got, numpy_loglike(raw, 0.8, FG), rtol=1e-10)
    np.testing.assert_allclose(float(like.chi2(cl, 0.1 * cl, amps)), -2 * got, rtol=1e-15)
    np.testing.assert_allclose(like.model_d_ell(cl, 0.1 * cl, amps),
                               f * 1.1 * cl + raw["fg"] @ amps, rtol=1e-13)
    # Traceable: grad wrt the amplitudes equals the analytic -r^T Cov^-1 template_i.
    import jax

    g = np.asarray(jax.grad(lambda a: like.log_likelihood(cl, 0.1 * cl, a))(amps))
    r = f * 1.1 * cl + raw["fg"] @ amps - raw["d"]
    np.testing.assert_allclose(g, -raw["fg"].T @ np.linalg.solve(like.cov, r), rtol=1e-9)
    bad = cl.copy()
    bad[2] = np.nan
    assert float(like.log_likelihood(bad, 0.1 * cl, amps)) == -np.inf
    # Gaussian-only and explicit-array covariances; bad modes and shapes are ValueErrors.
    np.testing.assert_allclose(make_ymap_likelihood(data, "none").cov, np.diag(raw["err"] ** 2))
    np.testing.assert_allclose(make_ymap_likelihood(data, raw["tri"], f_sky=0.2).cov,
                               np.diag(raw["err"] ** 2) + raw["tri"] / (4 * np.pi * 0.2))
    with pytest.raises(ValueError, match="'fil'"):
        make_ymap_likelihood(data, "fil")
    with pytest.raises(ValueError, match="shape"):
        make_ymap_likelihood(data, np.eye(3))
    with pytest.raises(ValueError, match="no trispectrum file"):
        make_ymap_likelihood(data._replace(trispectrum=None), "file")
    with pytest.raises(ValueError, match="positive definite"):
        make_ymap_likelihood(data, -1e3 * np.eye(18) * raw["err"].max() ** 2)


# ----------------------------------------------------------------------------- Cobaya
def test_defaults():
    defaults = PlanckYMap2015.get_defaults()
    for key in ("dataset", "path", "ell_min", "ell_max", "f_sky", "trispectrum",
                "trispectrum_point", "trispectrum_options", "speed"):
        assert key in defaults
    assert defaults["dataset"] == "planck2015_ymap" and defaults["trispectrum"] == "file"
    params = defaults["params"]
    for name in ("A_CIB", "A_RS", "A_IR"):
        assert params[name]["prior"] == {"min": 0, "max": 5}
    assert params["A_CN"]["value"] == A_CN


def test_cobaya_matches_numpy(installed_ymap_packages, raw):
    model = make_model(raw, installed_ymap_packages)
    np.testing.assert_array_equal(model.theory["toy"].requested[0], raw["ell"])
    for amp in (0.7, 1.0, 1.3):
        got = loglike(model, amp=amp, **FG)
        np.testing.assert_allclose(got, numpy_loglike(raw, amp, FG), rtol=1e-10)
    # The same number from the plain function, with the likelihood's own data and covariance.
    like = model.likelihood[CLASS_NAME]
    cl = 1.3 * raw["cl"]
    np.testing.assert_allclose(
        loglike(model, amp=1.3, **FG),
        log_likelihood_from_cl(like.data, cl, 0.1 * cl, **FG, A_CN=A_CN), rtol=1e-12)
    # ... and from the component's public pure likelihood: identical by construction.
    amps = np.array([FG["A_CIB"], FG["A_RS"], FG["A_IR"], A_CN])
    assert loglike(model, amp=1.3, **FG) == float(like.ymap.log_likelihood(cl, 0.1 * cl, amps))
    assert like.ymap.data is like.data and like.ymap.cov is like.cov


def test_ell_cuts_and_gaussian_only(installed_ymap_packages, raw):
    model = make_model(raw, installed_ymap_packages, ell_min=30, ell_max=500,
                       trispectrum="none")
    keep = (raw["ell"] >= 30) & (raw["ell"] <= 500)
    np.testing.assert_array_equal(model.theory["toy"].requested[0], raw["ell"][keep])
    np.testing.assert_allclose(loglike(model, amp=1.1, **FG),
                               numpy_loglike(raw, 1.1, FG, keep=keep, trispectrum=False),
                               rtol=1e-10)


def test_theory_serving_more_multipoles(installed_ymap_packages, raw):
    class WideToy(ToyClyy):
        extra_ell = (2.0, 100.0, 3000.0)

    model = make_model(raw, installed_ymap_packages, WideToy)
    np.testing.assert_allclose(loglike(model, amp=1.0, **FG), numpy_loglike(raw, 1.0, FG),
                               rtol=1e-10)


def test_sampled_a_cn_and_f_sky(installed_ymap_packages, raw):
    params = {"A_CN": {"prior": {"min": 0, "max": 2}}}
    model = make_model(raw, installed_ymap_packages, params=params)
    np.testing.assert_allclose(loglike(model, amp=1.0, **FG, A_CN=0.5),
                               numpy_loglike(raw, 1.0, dict(FG, A_CN=0.5)), rtol=1e-10)
    model = make_model(raw, installed_ymap_packages, f_sky=0.2)
    data = model.likelihood[CLASS_NAME].data
    np.testing.assert_allclose(model.likelihood[CLASS_NAME].cov,
                               np.diag(raw["err"] ** 2) + raw["tri"] / (4 * np.pi * 0.2))
    assert data.f_sky == 0.2


def test_nan_theory_gives_minus_inf(installed_ymap_packages, raw):
    class NanToy(ToyClyy):
        nan = True

    model = make_model(raw, installed_ymap_packages, NanToy)
    assert loglike(model, amp=1.0, **FG) == -np.inf


def test_model_trispectrum(installed_ymap_packages, raw, monkeypatch):
    calls = []

    def fake_trispectrum(cosmo, profile, ell, **options):
        calls.append((cosmo, profile, options))
        return 1e-20 * np.eye(ell.size)  # dimensionless T_ll'

    monkeypatch.setattr(csl, "cl_yy_trispectrum", fake_trispectrum, raising=False)
    model = make_model(raw, installed_ymap_packages, trispectrum="model",
                       trispectrum_point={"omega_cdm": 0.12, "B": 1.3},
                       trispectrum_options={"n_z": 50})
    cosmo, profile, options = calls[0]
    assert cosmo.omega_cdm == 0.12 and profile.B == 1.3 and options["n_z"] == 50
    assert options["z_min"] == 1e-5 and options["mass_unit"] == "Msun/h"  # defaults kept
    f = 1e12 * raw["ell"] * (raw["ell"] + 1) / (2 * np.pi)
    np.testing.assert_allclose(model.likelihood[CLASS_NAME].cov,
                               np.diag(raw["err"] ** 2 + 1e-20 * f**2 / (4 * np.pi * F_SKY)))
    # Default point: the reference file's, converted to CosmoParams names.
    calls.clear()
    make_model(raw, installed_ymap_packages, trispectrum="model")
    assert calls[0][0].H0 == 69.0 and np.isclose(calls[0][0].ln10_10_As, np.log(19.0))
    with pytest.raises(LoggedError, match="trispectrum_point"):
        make_model(raw, installed_ymap_packages, trispectrum="model",
                   trispectrum_point={"omega_cmd": 0.12})


@pytest.mark.parametrize("options, match", [
    ({"trispectrum": "fil"}, "trispectrum='fil' not understood"),
    ({"ell_mx": 500}, "ell_mx"),
    ({"dataset": "planck2051_ymap"}, "Unknown dataset 'planck2051_ymap'"),
    ({"ell_min": "30"}, "ell_min must be a number"),
    ({"ell_min": 5000}, "No bin"),
])
def test_bad_options_are_clear_errors(installed_ymap_packages, raw, options, match):
    with pytest.raises(LoggedError, match=match):
        make_model(raw, installed_ymap_packages, **options)


def test_missing_data_names_install_command(tmp_path, raw):
    with pytest.raises(ComponentNotInstalledError) as err:
        make_model(raw, tmp_path)
    msg = str(err.value)
    assert "not installed" in msg
    assert f"cobaya-install input_yamls/tsz.yaml -p {tmp_path}" in msg


def test_explicit_path_option(installed_ymap_packages, raw, tmp_path):
    model = make_model(raw, tmp_path, path=str(raw["dir"]))
    np.testing.assert_allclose(loglike(model, amp=1.0, **FG), numpy_loglike(raw, 1.0, FG),
                               rtol=1e-10)


@pytest.mark.slow
def test_model_trispectrum_real_model(installed_ymap_packages, raw):
    # The real csl.cl_yy_trispectrum at the reference point, with the reference-file
    # integration ranges (the YAML defaults): same shape as the class_sz file within 3%
    # (measured: a flat ratio 0.770-0.780; the level differs by cosmology/mass-function
    # conventions, e.g. the file's massive neutrinos), and a positive-definite covariance.
    model = make_model(raw, installed_ymap_packages, trispectrum="model")
    cov = model.likelihood[CLASS_NAME].cov
    tri = (cov - np.diag(raw["err"] ** 2)) * 4 * np.pi * F_SKY
    ratio = np.diag(tri) / np.diag(raw["tri"])
    assert 0.5 < ratio.mean() < 1.5
    np.testing.assert_allclose(ratio / ratio.mean(), 1.0, atol=0.03)
    assert np.isfinite(loglike(model, amp=1.0, **FG))


def test_bibtex_found_by_cobaya():
    # `cobaya-bib` reads <Class>.bibtex next to the component's module.
    import configparser
    import fnmatch
    from pathlib import Path

    from cobaya.bib import get_bib_component

    bib = get_bib_component("classy_szlite_cobaya.cobaya.PlanckYMap2015", "likelihood")
    for eprint in ("1502.01596", "1712.00788", "1001.3162"):  # Planck XXII, Bolliet, Tinker10
        assert f'eprint = "{eprint}"' in bib
    # Shipped as package data by a non-editable install too.
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parents[1] / "setup.cfg")
    globs = [g.strip() for g in cfg["options.package_data"]["classy_szlite_cobaya"].split(",")]
    assert any(fnmatch.fnmatch("cobaya/PlanckYMap2015.bibtex", g) for g in globs)
