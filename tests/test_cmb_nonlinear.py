"""Pnl (HMcode-2016 boost network) and cl_TTTEEE (CMB networks) against CLASS at three
cosmologies, their traceability and validation, and the Cl that emulator-mode TSZCosmology
provides to a Cobaya likelihood.

CLASS references (classy, CLASS 3.4), computed once per session, N_ur = 3.046 massless
neutrinos (the networks' neutrino content):
* P_nl: ``non_linear: hmcode, hmcode_version: 2016, c_min: 3.13, eta_0: 0.603``,
  ``P_k_max_1/Mpc: 30`` (with 10, CLASS silently returns the linear P at z = 3 for the
  low-amplitude cosmology: HMcode needs sigma(R) of small halos; 30 and 100 agree to
  1e-4), ``z_max_pk: 3``.
* CMB: ``output: tCl,pCl,lCl, lensing: yes, l_max_scalars: 3000``, default precision (the
  high-precision settings, accurate_lensing and k_max_tau0_over_l_max = 6, move every ratio
  below by < 2e-4), linear lensing potential, and YHe = 0.25: the helium fraction the
  networks were trained with (with CLASS's BBN value, 0.2454 here, TT and EE differ by up
  to 1.0 % at ell ~ 2400, by 0.25 % with 0.25; BENCHMARKS.md).
"""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.cosmology.cmb import CMB_BOX
from classy_szlite_cobaya.cosmology.nonlinear import K_MAX_NL

REPO = Path(__file__).resolve().parents[1]
T2 = (2.7255e6) ** 2
COSMOS = [
    csl.CosmoParams(**csl.MASSLESS_LCDM),
    csl.CosmoParams(**csl.MASSLESS_LCDM,
                    omega_b=0.0235, omega_cdm=0.13, H0=72.0, tau_reio=0.08, n_s=0.98,
                    ln10_10_As=3.1),
    csl.CosmoParams(**csl.MASSLESS_LCDM,
                    omega_b=0.0212, omega_cdm=0.105, H0=65.0, tau_reio=0.04, n_s=0.95,
                    ln10_10_As=2.95),
]
Z_PK = np.array([0.0, 0.5, 1.0, 2.0, 3.0])


def _class_params(cp):
    return dict(omega_b=cp.omega_b, omega_cdm=cp.omega_cdm, h=cp.H0 / 100.0, n_s=cp.n_s,
                ln_A_s_1e10=cp.ln10_10_As, N_ur=3.046)


@pytest.fixture(scope="session")
def class_refs():
    """Per cosmology: (k, P_nl [z, k] for k <= 5/Mpc) and the lensed C_ell dict of CLASS."""
    classy = pytest.importorskip("classy")
    refs = []
    for cp in COSMOS:
        k = np.asarray(csl.Pnl(cp, 0.0)[0])
        k = k[(k <= 5.0) & (k > 1.01e-5)]  # the first grid node rounds below 1e-5
        c = classy.Class()
        c.set(dict(_class_params(cp), output="mPk", non_linear="hmcode",
                   hmcode_version="2016", c_min=3.13, eta_0=0.603, z_max_pk=3.0,
                   **{"P_k_max_1/Mpc": 30.0}))
        c.compute()
        pnl = np.array([[c.pk(kk, z) for kk in k] for z in Z_PK])
        c.struct_cleanup()
        c = classy.Class()
        c.set(dict(_class_params(cp), output="tCl,pCl,lCl", lensing="yes",
                   tau_reio=cp.tau_reio, YHe=0.25, l_max_scalars=3000))
        c.compute()
        cls = c.lensed_cl(2508)
        c.struct_cleanup()
        refs.append((k, pnl, cls))
    return refs


@pytest.mark.parametrize("i", range(3))
def test_pnl_vs_class_hmcode2016(class_refs, i):
    """<= 0.5 % for 1e-5 <= k <= 5/Mpc, z <= 3 (measured 0.26 %; the linear network alone
    is 0.23 % off CLASS, the boost 0.16 %)."""
    k, ref, _ = class_refs[i]
    _, p = csl.Pnl(COSMOS[i], Z_PK, k)
    err = np.abs(np.asarray(p) / ref - 1)
    print(f"cosmology {i}: max |Pnl/CLASS - 1| = {err.max():.2e}")
    assert err.max() < 5e-3
    # the boost matters here: at k = 5/Mpc, z = 0 it is > 5, so a linear P would fail
    assert ref[0, -1] / np.asarray(csl.Pk(COSMOS[i], 0.0, k[-1:])[1])[0] > 5


# Tolerances: the measured maxima (the three cosmologies here and the 60 held-out points of
# the correction's validation set; BENCHMARKS.md), rounded up: (ell range, TT, EE,
# TE / sqrt(TT EE), phi-phi). Below the targets (TT, EE 0.5 %, TE 1 %, phi-phi 1 %)
# everywhere but EE at ell < 30, where one of the 60 validation points reaches 0.54 %.
CMB_TOL = [((2, 29), 3e-3, 6e-3, 3e-3, 1e-3),
           ((30, 1000), 1e-3, 2.5e-3, 2.5e-3, 1e-3),
           ((1000, 2500), 1e-3, 2.5e-3, 2.5e-3, 1e-3)]


@pytest.mark.parametrize("i", range(3))
def test_cl_TTTEEE_vs_class(class_refs, i):
    _, _, L = class_refs[i]
    m = {k: np.asarray(v) for k, v in csl.cl_TTTEEE(COSMOS[i]).items()}
    ell = m["ell"]
    assert np.array_equal(ell, np.arange(2, 2509))
    rel = {"tt": m["tt"] / (T2 * L["tt"][2:]) - 1, "ee": m["ee"] / (T2 * L["ee"][2:]) - 1,
           "te": (m["te"] - T2 * L["te"][2:]) / (T2 * np.sqrt(L["tt"][2:] * L["ee"][2:])),
           "pp": m["pp"] / L["pp"][2:] - 1}
    for (lo, hi), *tols in CMB_TOL:
        sel = (ell >= lo) & (ell <= hi)
        for name, tol in zip(("tt", "ee", "te", "pp"), tols):
            err = np.abs(rel[name][sel]).max()
            print(f"cosmology {i}, ell {lo}-{hi}: {name} {err:.2e}")
            assert err < tol, (name, lo, hi, err)


def _corrected_errors(params, residual):
    """Per point, the corrected spectra's residual to CLASS (same definitions as the stored
    network residual, generate_cmb.py): stored residual minus the correction."""
    from classy_szlite_cobaya.cosmology import cmb
    corr = jax.jit(cmb.class_correction)
    out = []
    for x, r in zip(params, residual.astype(float)):
        c = corr(csl.CosmoParams(**csl.MASSLESS_LCDM, **dict(zip(cmb.CORRECTION_BOX, x))))
        out.append(r - np.array([np.asarray(c[s]) for s in ("tt", "te", "ee", "pp")]))
    return np.array(out)


def test_class_correction_on_held_out_points():
    """16 CLASS points of the correction's validation set (never used in training;
    tests/data/cmb_validation.npz, written by ``tools/class_cmb/train_cmb.py``): the corrected
    spectra against CLASS at the tolerances of CMB_TOL, and the bare networks fail them (so
    the correction is what meets them)."""
    d = np.load(REPO / "tests" / "data" / "cmb_validation.npz")
    assert [str(n) for n in d["names"]] == list(csl.cosmology.cmb.CORRECTION_BOX)
    err = _corrected_errors(d["params"], d["residual"])
    bare = np.abs(d["residual"].astype(float))
    ell = np.arange(2, 2509)
    for (lo, hi), *tols in CMB_TOL:
        sel = (ell >= lo) & (ell <= hi)
        for name, tol in zip(("tt", "ee", "te", "pp"), tols):     # CMB_TOL's order
            j = ("tt", "te", "ee", "pp").index(name)                # the residuals' order
            e = np.abs(err[:, j, sel]).max()
            print(f"ell {lo}-{hi}: {name} corrected {e:.2e}, networks {bare[:, j, sel].max():.2e}")
            assert e < tol, (name, lo, hi, e)
    assert bare[:, 3, ell > 1000].max() > 0.02          # the phi-phi deficit the GP removes
    assert bare[:, 1, ell < 30].max() > 0.02            # and the low-ell TE scatter
    assert bare[:, 2, ell < 30].max() > 0.02            # and EE's


def test_class_correction_box_and_far_limit():
    """The correction is trained inside the networks' box; far outside its own box (a
    Gaussian-process mean with no data nearby) it relaxes to its mean over the box."""
    from classy_szlite_cobaya.cosmology import cmb
    from classy_szlite_cobaya.cosmology.gp import gp_predict
    for name, (a, b) in cmb.CORRECTION_BOX.items():
        assert CMB_BOX[name][0] <= a < b <= CMB_BOX[name][1]
    far = csl.CosmoParams(**csl.MASSLESS_LCDM, omega_cdm=0.9, H0=25.0, tau_reio=0.7,
                          omega_b=0.039, n_s=1.29, ln10_10_As=4.9)
    c = cmb.class_correction(far)
    blocks = {(spec, a, e): (target, model) for spec, a, e, target, model in
              cmb.load_correction()["blocks"]}
    for spec in ("tt", "pp"):               # one whole-ell residual block each
        target, model = blocks[(spec, 2, 2508)]
        assert target == "residual"
        assert np.allclose(np.asarray(c[spec]), model["mean"], rtol=0, atol=1e-9)
        # ... and inside the box the GP term is not negligible
        inside = cmb.class_correction(COSMOS[0])[spec]
        assert np.abs(np.asarray(inside) - model["mean"]).max() > 1e-4


def test_cl_units_and_ell_convention():
    """C_ell (no ell(ell+1)/2pi) in muK^2: the first acoustic peak D_220 ~ 5700 muK^2;
    integer ell reproduce the full output, half-integers interpolate linearly."""
    cp = csl.CosmoParams(**csl.MASSLESS_LCDM)
    full = csl.cl_TTTEEE(cp)
    part = csl.cl_TTTEEE(cp, [220, 220.5, 221])
    d220 = 220 * 221 / (2 * np.pi) * float(full["tt"][218])
    assert 5000 < d220 < 6500
    for name in ("tt", "te", "ee", "pp"):
        a = np.asarray(full[name])[218:220]
        b = np.asarray(part[name])
        assert np.allclose(b[[0, 2]], a, rtol=1e-12)
        assert np.isclose(b[1], a.mean(), rtol=1e-12)


def test_pnl_is_pk_times_boost():
    cp = csl.CosmoParams(**csl.MASSLESS_LCDM)
    k, p = csl.Pnl(cp, [0.0, 1.0])
    _, pl = csl.Pk(cp, [0.0, 1.0])
    r = np.asarray(p) / np.asarray(pl)[:, :p.shape[1]]
    assert float(k[-1]) <= K_MAX_NL
    assert np.all(np.abs(r[:, np.asarray(k) < 1e-3] - 1) < 2e-3)  # linear scales
    assert np.all(r[:, -1] > 5)                                  # boosted at k ~ 10/Mpc
    # explicit k at the nodes == the default grid; c_min changes only small scales
    kk = np.asarray(k)[[100, 500, 680]]
    _, p2 = csl.Pnl(cp, [0.0, 1.0], kk)
    assert np.allclose(np.asarray(p2), np.asarray(p)[:, [100, 500, 680]], rtol=1e-10)
    _, p3 = csl.Pnl(cp, 0.0, kk, c_min=2.5)
    assert abs(float(p3[0]) / float(p[0, 100]) - 1) < 1e-3 < abs(float(p3[2]) / float(p[0, 680]) - 1)


def test_traceable_and_gradients_match_finite_differences():
    cp = csl.CosmoParams(**csl.MASSLESS_LCDM)
    eps = 1e-5
    f_cl = jax.jit(lambda tau: csl.cl_TTTEEE(cp._replace(tau_reio=tau), [10.0])["ee"][0])
    g = jax.grad(f_cl)(0.054)
    fd = (f_cl(0.054 + eps) - f_cl(0.054 - eps)) / (2 * eps)
    assert np.isclose(g, fd, rtol=1e-6)
    f_nl = jax.jit(lambda cm: csl.Pnl(cp, 0.5, [3.0], c_min=cm)[1][0])
    g = jax.grad(f_nl)(3.13)
    fd = (f_nl(3.13 + eps) - f_nl(3.13 - eps)) / (2 * eps)
    assert g > 0 and np.isclose(g, fd, rtol=1e-6)  # more concentrated halos, more power
    jit_cl = jax.jit(lambda c: csl.cl_TTTEEE(c, [100.0])["tt"])
    assert np.allclose(jit_cl(cp), csl.cl_TTTEEE(cp, [100.0])["tt"], rtol=1e-12)
    taus = jnp.array([0.05, 0.06])
    v = jax.vmap(lambda t: csl.cl_TTTEEE(cp._replace(tau_reio=t), [10.0])["ee"][0])(taus)
    assert v[1] > v[0]
    v = jax.vmap(lambda z: csl.Pnl(cp, z, [1.0])[1][0])(jnp.array([0.0, 1.0]))
    assert v[0] > v[1]


def test_validation_eager_and_traced():
    cp = csl.CosmoParams(**csl.MASSLESS_LCDM)
    for kw, msg in [(dict(z=5.5), "z = 5.5"), (dict(z=0.0, k=[20.0]), "k = 20.0"),
                    (dict(z=0.0, c_min=1.0), "c_min = 1.0"), (dict(z=0.0, eta_0=2.0), "eta_0")]:
        with pytest.raises(ValueError, match=msg):
            csl.Pnl(cp, **kw)
    with pytest.raises(ValueError, match="H0"):
        csl.Pnl(cp._replace(H0=90.0), 0.0)            # outside the matter-power box
    with pytest.raises(ValueError, match=r"tau_reio = 0.9 .*\[0.01, 0.8\]"):
        csl.cl_TTTEEE(cp._replace(tau_reio=0.9))
    with pytest.raises(ValueError, match=r"ell = 3000"):
        csl.cl_TTTEEE(cp, [100, 3000])
    with pytest.raises(ValueError, match="m_ncdm"):
        csl.cl_TTTEEE(cp._replace(m_ncdm=0.06))
    with pytest.raises(TypeError, match="tau_reio"):
        csl.cl_TTTEEE(cp._replace(tau_reio="0.05"))
    # the CMB box is wider than the matter-power box: H0 = 90 is a valid CMB cosmology
    assert np.all(np.isfinite(np.asarray(csl.cl_TTTEEE(cp._replace(H0=90.0), [100])["tt"])))
    assert CMB_BOX["H0"] == (20.0, 100.0)
    # traced: NaN at the invalid points only
    cl = jax.jit(lambda t, ell: csl.cl_TTTEEE(cp._replace(tau_reio=t), ell)["tt"])
    assert np.all(np.isnan(cl(0.9, jnp.array([100.0]))))
    out = np.asarray(cl(0.05, jnp.array([100.0, 3000.0])))
    assert np.isfinite(out[0]) and np.isnan(out[1])
    pnl = jax.jit(lambda z, k, cm: csl.Pnl(cp, z, k, c_min=cm)[1])
    out = np.asarray(pnl(jnp.array([1.0, 6.0]), jnp.array([1.0, 20.0]), 3.13))
    assert np.isfinite(out[0, 0]) and np.isnan(out[0, 1]) and np.all(np.isnan(out[1]))
    assert np.all(np.isnan(np.asarray(pnl(jnp.array([1.0]), jnp.array([1.0]), 5.0))))


# ------------------------------------------------------------------------------ Cobaya
def _cobaya_info(packages, **extra_params):
    import yaml
    info = yaml.safe_load((REPO / "input_yamls" / "tsz_cmb_mock.yaml").read_text())
    info["likelihood"]["cmb_mock.MockCMBGaussian"]["python_path"] = str(REPO / "input_yamls")
    info["packages_path"] = str(packages)
    info.pop("output")
    info["params"].update(extra_params)
    return info


def test_cobaya_evaluate_with_mock_cmb_likelihood(installed_ymap_packages):
    """cobaya evaluate with the y-map and a Gaussian mock CMB likelihood requesting Cl from
    emulator-mode TSZCosmology: the spectra it receives are cl_TTTEEE's, in Cobaya's
    layout and units (also with ell_factor)."""
    from cobaya.run import run
    info = _cobaya_info(installed_ymap_packages)
    _, sampler = run(info)
    model = sampler.model
    point = info["sampler"]["evaluate"]["override"]
    like = model.likelihood["cmb_mock.MockCMBGaussian"]
    cosmo = csl.CosmoParams(m_ncdm=0.0, fEDE=0.0,  # the YAML's fixed values
                            omega_b=point["omega_b"], omega_cdm=point["omega_cdm"],
                            H0=point["H0"], ln10_10_As=point["logA"], n_s=point["n_s"],
                            tau_reio=point["tau_reio"])
    ref = csl.cl_TTTEEE(cosmo, np.arange(2, 2501))
    got = like.last_cl
    assert np.array_equal(got["ell"], np.arange(2501))
    for name in ("tt", "te", "ee", "pp"):
        assert np.all(got[name][:2] == 0)
        assert np.allclose(got[name][2:], np.asarray(ref[name]), rtol=1e-10, atol=0)
    theory = model.theory["classy_szlite_cobaya.cobaya.TSZCosmology"]
    d = theory.get_Cl(ell_factor=True, units="FIRASK2")
    ell = np.arange(2, 2501)
    assert np.allclose(d["tt"][2:], ell * (ell + 1) / (2 * np.pi) * np.asarray(ref["tt"]) / 1e12,
                       rtol=1e-10)
    assert np.allclose(d["pp"][2:], (ell * (ell + 1)) ** 2 / (2 * np.pi) * np.asarray(ref["pp"]),
                       rtol=1e-10)
    # both likelihoods were evaluated at this point
    chi2 = {k: v for k, v in sampler.products()["sample"].data.iloc[0].items()
            if str(k).startswith("chi2__")}
    assert len(chi2) == 2 and all(np.isfinite(v) for v in chi2.values()), chi2


def test_cobaya_cl_refusals(installed_ymap_packages):
    from cobaya.log import LoggedError
    from cobaya.model import get_model
    # a fixed tau_reio outside the CMB networks' box is refused at initialisation
    info = _cobaya_info(installed_ymap_packages, tau_reio=0.9)
    info.pop("sampler")
    with pytest.raises(LoggedError, match="tau_reio"):
        get_model(info)
    # a sampled point outside it gets zero likelihood
    info = _cobaya_info(installed_ymap_packages)
    info.pop("sampler")
    model = get_model(info)
    point = {"omega_b": 0.0224, "omega_cdm": 0.12, "H0": 68.0, "logA": 3.05, "n_s": 0.965,
             "B": 1.41, "A_CIB": 0.66, "A_RS": 0.3, "A_IR": 2.0}
    assert np.isfinite(model.logpost({**point, "tau_reio": 0.055}))
    assert model.loglike({**point, "tau_reio": 0.85}, return_derived=False) == -np.inf
    # without tau_reio the CMB networks cannot run
    info = _cobaya_info(installed_ymap_packages)
    info.pop("sampler")
    info["params"].pop("tau_reio")
    with pytest.raises(LoggedError, match="tau_reio"):
        get_model(info)


@pytest.mark.parametrize("request_, message", [({"bb": 100}, "give only"),
                                               ({"tt": 3000}, r"\[2, 2508\]"),
                                               ({"tt": 2000.5}, r"\[2, 2508\]")])
def test_cobaya_cl_request_checked(request_, message):
    """Spectra the networks do not give, or ell beyond 2508, are refused at initialisation."""
    from cobaya.log import LoggedError
    from cobaya.model import get_model
    info = {"theory": {"classy_szlite_cobaya.cobaya.TSZCosmology": None},
            "likelihood": {"cmb": {"external": lambda _self=None: 0.0,
                                   "requires": {"Cl": request_}}},
            "params": {"omega_b": 0.0224, "omega_cdm": 0.12, "H0": 68.0, "logA": 3.05,
                       "n_s": 0.965, "tau_reio": 0.055}}
    with pytest.raises(LoggedError, match=message):
        get_model(info)


def test_provider_mode_leaves_cl_to_classy():
    """With cosmology_source: provider, Cl comes from classy (TSZCosmology does not offer it,
    so Cobaya sees one provider)."""
    pytest.importorskip("classy")
    from cobaya.model import get_model
    info = {"theory": {"classy": {"extra_args": {"N_ur": 3.046}},
                       "classy_szlite_cobaya.cobaya.TSZCosmology":
                           {"cosmology_source": "provider"}},
            "likelihood": {"cmb": {"external": lambda _self=None: 0.0,
                                   "requires": {"Cl": {"tt": 100}}}},
            "params": {"omega_b": 0.0224, "omega_cdm": 0.12, "H0": 68.0, "logA": 3.05,
                       "n_s": 0.965, "tau_reio": 0.055}}
    model = get_model(info)
    cmb = model.likelihood["cmb"]
    assert cmb.provider.requirement_providers["Cl"] is model.theory["classy"]
