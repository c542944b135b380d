"""Bad input: a ValueError naming the parameter and the allowed range in eager calls, a
TypeError for a value of the wrong type; a non-finite output (never silent extrapolation)
under tracing; Cobaya refuses invalid fixed values at initialisation."""
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import classy_szlite_cobaya as csl

ELL = np.array([10.0, 100.0, 1000.0])
P = csl.ProfileParamsA10()


@pytest.mark.parametrize("ell", [np.array([0.0, 10.0]), np.array([-5.0]), np.array([np.nan, 10.0])])
def test_bad_ell(ell):
    with pytest.raises(ValueError, match=r"ell must be finite and > 0.*\(0, inf\)"):
        csl.cl_yy(csl.CosmoParams(), P, ell)


@pytest.mark.parametrize("field,value,pattern", [
    ("omega_cdm", 0.30, r"omega_cdm = 0\.3 .*allowed range \[0\.05, 0\.255\]"),
    ("H0", 60.0, r"H0 = 60 .*allowed range \[64, 82\]"),
    ("ln10_10_As", 4.5, r"ln10_10_As .*\[1\.61, 3\.91\]"),
    ("n_s", float("nan"), r"n_s .*not finite"),
    ("fEDE", 0.35, r"fEDE = 0\.35 .*allowed range \[0, 0\.3\]"),
    ("log10z_c", 2.5, r"log10z_c = 2\.5 .*allowed range \[3, 4\.3\]"),
    ("thetai_scf", -0.1, r"thetai_scf = -0\.1 .*allowed range \[0\.1, 3\.1\]"),
    ("m_ncdm", 0.2, r"m_ncdm = 0\.2 .*allowed range \[0, 0\.166667\]"),
    ("w0", -0.2, r"w0 = -0\.2 .*allowed range \[-2, -0\.3\]"),
    ("wa", 1.5, r"w0 \+ CosmoParams\.wa = 0\.5 must be < 0"),
    ("N_ur", 3.5, r"N_ur = 3\.5 .*allowed range \[0\.00441, 0\.006395"),
])
def test_bad_cosmology_raises_naming_parameter(field, value, pattern):
    bad = csl.CosmoParams()._replace(**{field: value})
    for call in (lambda: csl.cl_yy(bad, P, ELL), lambda: csl.cl_yy_factory(bad, ELL),
                 lambda: csl.derived(bad)):
        with pytest.raises(ValueError, match=pattern):
            call()


@pytest.mark.parametrize("field,value,pattern", [
    ("P0", -1.0, r"P0 = -1\.0 is outside the allowed range \(0\.001, 1000\)"),
    ("B", 7.0, r"B = 7\.0 is outside the allowed range \(0\.5, 4\)"),
    ("gamma", float("nan"), r"gamma .*not finite"),
])
def test_bad_profile_raises(field, value, pattern):
    ev = csl.cl_yy_factory(csl.CosmoParams(), ELL)
    with pytest.raises(ValueError, match=pattern):
        ev(P._replace(**{field: value}))


@pytest.mark.parametrize("option,value,pattern", [
    ("z_max", 6.0, r"z_max = 6.*<= 5"), ("mass_unit", "kg", r"mass_unit = 'kg'"),
    ("n_x", 512, r"n_x = 512: need an odd"),
    ("n_z_pk", 2, r"n_z_pk = 2: need 0 \(no interpolation\) or 4 <= n_z_pk"),
    ("bogus", 1, r"unknown option\(s\) \['bogus'\]"),
])
def test_bad_options(option, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        csl.cl_yy(csl.CosmoParams(), P, ELL, **{option: value})


def test_traced_out_of_box_cosmology_gives_nan_not_extrapolation():
    f = jax.jit(lambda oc: csl.cl_yy(csl.CosmoParams(omega_cdm=oc), P, ELL)[0])
    assert np.all(np.isfinite(f(0.12)))
    assert np.all(np.isnan(f(0.30)))          # outside the emulator box


def test_traced_bad_profile_gives_nan():
    ev = csl.cl_yy_factory(csl.CosmoParams(), ELL)
    f = jax.jit(lambda b: ev(P._replace(B=b))[0])
    assert np.all(np.isfinite(f(1.3))) and np.all(np.isnan(f(5.0)))
    g = jax.grad(lambda p0: jnp.sum(ev(P._replace(P0=p0))[0]))(-1.0)
    assert np.isnan(g)


# ----------------------------------------------------------------------------- z and k
C = csl.CosmoParams()


def test_traced_distances_and_pk_nan_outside_z_and_k():
    chi = np.asarray(jax.jit(lambda z: csl.distances(C, z)["chi"])(jnp.array([-0.1, 0.5, 5.1])))
    assert np.isnan(chi[0]) and np.isnan(chi[2]) and np.isfinite(chi[1]) and chi[1] > 0
    h = jax.jit(lambda z: csl.distances(C, z)["H"])(jnp.array([-0.1, 5.0]))
    assert np.isnan(h[0]) and np.isfinite(h[1])
    p = np.asarray(jax.jit(lambda k: csl.Pk(C, 0.5, k)[1])(jnp.array([1e-8, 1e-5, 0.1, 50.0, 1e5])))
    assert np.isnan(p[[0, 4]]).all() and np.isfinite(p[1:4]).all()
    p = np.asarray(jax.jit(lambda z: csl.Pk(C, z, jnp.array([0.1, 1.0]))[1])(jnp.array([-1.0, 1.0, 6.0])))
    assert np.isnan(p[[0, 2]]).all() and np.isfinite(p[1]).all()
    g = jax.grad(lambda z: csl.distances(C, z)["chi"])(-0.1)
    assert np.isnan(g)


@pytest.mark.parametrize("call,pattern", [
    (lambda: csl.distances(C, -0.1), r"z = -0\.1 is outside the allowed range \[0, 5\]"),
    (lambda: csl.distances(C, [1.0, float("nan")]), r"z = nan is outside .*\[0, 5\]"),
    (lambda: csl.Pk(C, 5.5), r"z = 5\.5 is outside"),
    (lambda: csl.Pk(C, 0.5, [1e-8, 1.0]), r"k = 1e-08 is outside the allowed range \[1e-05, 50\]"),
    (lambda: csl.Pk(C, 0.5, [1.0, 1e5]), r"k = 100000\.0 is outside"),
])
def test_eager_z_k_out_of_range(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_traced_derived_all_nan_at_invalid_point():
    f = jax.jit(lambda h0: csl.derived(C._replace(H0=h0)))
    bad, good = f(100.0), f(70.0)
    assert set(bad) == {"sigma8", "Omega_m", "S8", "h"}
    assert all(np.isnan(v) for v in bad.values())
    assert all(np.isfinite(v) for v in good.values())
    assert float(good["h"]) == pytest.approx(0.7, rel=1e-15)


# ----------------------------------------------------------------------------- typed options
@pytest.mark.parametrize("option,value,exc,pattern", [
    ("damping_1h", "False", TypeError, r"damping_1h = 'False'.*True or False"),
    ("damping_1h", "True", TypeError, r"damping_1h"),
    ("damping_1h", 1, TypeError, r"damping_1h = 1 "),
    ("k_damp", float("nan"), ValueError, r"k_damp = nan.*finite"),
    ("k_damp", float("inf"), ValueError, r"k_damp = inf.*finite"),
    ("k_damp", "0.1", TypeError, r"k_damp = '0\.1'"),
    ("z_min", None, TypeError, r"z_min = None"),
    ("x_out", True, TypeError, r"x_out = True"),
    ("m_max", float("inf"), ValueError, r"m_max = inf"),
    ("n_z", 100.7, ValueError, r"n_z = 100\.7.*integer"),
    ("n_z", "60", TypeError, r"n_z = '60'.*integer"),
    ("n_z", None, TypeError, r"n_z = None"),
    ("n_z", True, TypeError, r"n_z = True"),
    ("n_m", 10 ** 9, ValueError, r"n_m = 1000000000.*n_m <= 20000"),
    ("mass_unit", 3, TypeError, r"mass_unit = 3"),
])
def test_options_parsed_by_type(option, value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        csl.cl_yy(C, P, ELL, **{option: value})


def test_options_accepted_types():
    from classy_szlite_cobaya.tsz.settings import make_settings
    s = make_settings(n_z=np.int64(60), n_m=200.0, damping_1h=np.bool_(True), k_damp=np.float32(0.5))
    assert (s.n_z, s.n_m, s.damping_1h) == (60, 200, True)
    assert type(s.n_z) is int and type(s.n_m) is int and type(s.k_damp) is float
    assert make_settings(damping_1h=False).damping_1h is False


@pytest.mark.parametrize("delta_ell,exc,pattern", [
    (0.0, ValueError, r"delta_ell = 0\.0: bin widths must be finite and > 0"),
    (-5.0, ValueError, r"delta_ell = -5\.0"),
    (np.array([5.0, np.nan, 5.0]), ValueError, r"delta_ell = nan"),
    (np.array([5.0, 5.0]), ValueError, r"shape \(3,\) matching ell"),
    ("5", TypeError, r"delta_ell = '5'"),
    (True, TypeError, r"delta_ell = True"),
])
def test_covariance_delta_ell(delta_ell, exc, pattern):
    with pytest.raises(exc, match=pattern):
        csl.cl_yy_covariance(C, P, ELL, delta_ell=delta_ell, f_sky=0.47)


@pytest.mark.parametrize("f_sky,exc", [(0.0, ValueError), (1.5, ValueError), ("0.5", TypeError),
                                       (True, TypeError), (float("nan"), ValueError)])
def test_covariance_f_sky(f_sky, exc):
    with pytest.raises(exc, match="f_sky"):
        csl.cl_yy_covariance(C, P, ELL, delta_ell=5.0, f_sky=f_sky)


@pytest.mark.parametrize("ell", [["10", "100"], np.array(["10"]), [True, False], True, None,
                                 np.array([10 + 1j])])
def test_ell_must_be_real(ell):
    with pytest.raises(TypeError, match=r"ell = "):
        csl.cl_yy(C, P, ell)


def test_nan_ell_message_names_bad_value():
    with pytest.raises(ValueError, match=r"got ell = nan"):
        csl.cl_yy(C, P, np.array([10.0, np.nan]))
    with pytest.raises(ValueError, match=r"got ell = -3\.0"):
        csl.cl_yy(C, P, np.array([10.0, 20.0, -3.0]))


@pytest.mark.parametrize("call,pattern", [
    (lambda: csl.cl_yy(csl.CosmoParams(H0="67"), P, ELL), r"CosmoParams\.H0 = '67'"),
    (lambda: csl.cl_yy(C, P._replace(B="1.2"), ELL), r"ProfileParamsA10\.B = '1\.2'"),
    (lambda: csl.cl_yy(C, P._replace(P0=None), ELL), r"ProfileParamsA10\.P0 = None"),
    (lambda: csl.cl_yy(C, P._replace(B=True), ELL), r"ProfileParamsA10\.B = True"),
    (lambda: csl.cl_yy(dict(C._asdict()), P, ELL), r"cosmo must be a CosmoParams"),
    (lambda: csl.cl_yy_factory(dict(C._asdict()), ELL), r"cosmo must be a CosmoParams"),
    (lambda: csl.cl_yy(C, dict(P._asdict()), ELL), r"profile must be a ProfileParamsA10"),
    (lambda: csl.cl_yy_factory(C, ELL)(dict(P._asdict())), r"profile must be a ProfileParamsA10"),
    (lambda: csl.derived(dict(C._asdict())), r"cosmo must be a CosmoParams"),
    (lambda: csl.Pk(C._replace(n_s="0.96"), 0.0), r"CosmoParams\.n_s"),
    (lambda: csl.distances(C, "1.0"), r"z = '1\.0'"),
])
def test_wrong_types_raise_typeerror_at_entry(call, pattern):
    with pytest.raises(TypeError, match=pattern):
        call()


# ----------------------------------------------------------------------------- profile box
@pytest.fixture(scope="module")
def ev_default():
    return csl.cl_yy_factory(C, ELL)


@pytest.mark.parametrize("field,value", [("gamma", -1000.0), ("P0", 1e300), ("alpha", 1e-3),
                                         ("beta", 1e4), ("c500", 1e4)])
def test_extreme_profiles_refused_not_nan(ev_default, field, value):
    """Once 'valid' extremes that gave NaN or meaningless numbers are now outside the box."""
    with pytest.raises(ValueError, match=rf"ProfileParamsA10\.{field} = .*allowed range"):
        ev_default(P._replace(**{field: value}))


@pytest.mark.parametrize("field", ["P0", "c500", "gamma", "alpha", "beta"])
def test_profile_box_edges(ev_default, field):
    lo, hi = csl.params.PROFILE_RANGES[field]
    if field == "beta":
        lo = P.gamma                               # beta > gamma binds first
    f = jax.jit(lambda v: ev_default(P._replace(**{field: v}))[0])
    for inside in (lo + 1e-9 * max(1.0, abs(lo)), hi - 1e-9 * max(1.0, abs(hi))):
        c1, c2 = ev_default(P._replace(**{field: inside}))
        assert np.all(np.isfinite(c1)) and np.all(c1 > 0) and np.all(np.isfinite(c2))
        assert np.all(np.isfinite(f(inside)))
    for outside in (lo - 1e-9 * max(1.0, abs(lo)), hi + 1e-9 * max(1.0, abs(hi))):
        with pytest.raises(ValueError, match=rf"{field} = "):
            ev_default(P._replace(**{field: outside}))
        assert np.all(np.isnan(f(outside)))


def test_profile_box_corners_accurate(monkeypatch):
    """The claim of PROFILE_RANGES: at every corner of the box (P0 scales C exactly, so it is
    held at its default) C_ell on the default grid agrees with a 32x finer grid whose
    innermost node is 1e7x deeper, to 1e-3."""
    from classy_szlite_cobaya.profiles import transform
    ell = np.geomspace(2.0, 1e4, 6)
    ev = csl.cl_yy_factory(C, ell)
    monkeypatch.setattr(transform, "X_MIN_FRACTION", 1e-13)
    transform.profile_x_grid.cache_clear()
    try:
        ref = csl.cl_yy_factory(C, ell, n_x=16385)
    finally:
        transform.profile_x_grid.cache_clear()
    r = csl.params.PROFILE_RANGES
    shrink = lambda lo, hi: (lo + 1e-9 * abs(lo), hi - 1e-9 * abs(hi))
    worst = 0.0
    for c500, gamma, alpha, beta_hi, b in itertools.product(
            shrink(*r["c500"]), shrink(*r["gamma"]), shrink(*r["alpha"]), (False, True),
            shrink(*r["B"])):
        beta = r["beta"][1] * (1 - 1e-9) if beta_hi else gamma + 1e-3
        p = csl.ProfileParamsA10(c500=c500, gamma=gamma, alpha=alpha, beta=beta, B=b)
        a, e = np.concatenate(ev(p)), np.concatenate(ref(p))
        assert np.all(np.isfinite(a)) and np.all(a > 0), p
        worst = max(worst, float(np.max(np.abs(a / e - 1))))
    assert worst < 1e-3


# ----------------------------------------------------------------------------- Cobaya
def _cobaya_info(packages, theory_opts=None, **params):
    import yaml
    from pathlib import Path
    info = yaml.safe_load((Path(__file__).resolve().parents[1] / "input_yamls" / "tsz.yaml")
                          .read_text())
    info.pop("sampler"), info.pop("output")
    info["packages_path"] = str(packages)
    if theory_opts is not None:
        info["theory"]["classy_szlite_cobaya.cobaya.TSZCosmology"] = theory_opts
    info["params"].update(params)
    return info


@pytest.mark.parametrize("theory_opts,params,pattern", [
    (None, {"B": 10.0}, r"B = 10\.0 is outside the allowed range \(0\.5, 4\)"),
    (None, {"B": float("nan")}, r"B = nan is not finite"),
    (None, {"gamma": -1000.0}, r"gamma = -1000\.0 is outside"),
    (None, {"H0": 90.0}, r"H0 = 90.*allowed range \[64, 82\]"),
    (None, {"A_CN": float("nan")}, r"A_CN = nan.*allowed range"),
    ({"halo_model": {"k_damp": float("nan")}}, {}, r"k_damp = nan.*finite"),
    ({"halo_model": {"damping_1h": "False"}}, {}, r"damping_1h = 'False'"),
    ({"halo_model": {"n_z": 100.7}}, {}, r"n_z = 100\.7"),
    ({"cache_size": True}, {}, r"cache_size"),
])
def test_cobaya_refuses_invalid_fixed_values(installed_ymap_packages, theory_opts, params,
                                             pattern):
    from cobaya.log import LoggedError
    from cobaya.model import get_model
    with pytest.raises(LoggedError, match=pattern):
        get_model(_cobaya_info(installed_ymap_packages, theory_opts, **params))
