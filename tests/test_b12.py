"""Battaglia et al. 2012 pressure profile: against an independent CCL computation (1-halo),
autodiff vs finite differences for every field (factory path), the public functions and the
eager/traced validation rule, a Cobaya evaluate run with ``profile: B12``."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import classy_szlite_cobaya as csl
from helpers import max_rel

COSMO = csl.CosmoParams(**csl.MASSLESS_LCDM)   # as the CCL reference
PROFILE = csl.ProfileParamsB12(B=1.2)


def test_b12_one_halo_matches_ccl():
    """CCL reference (tests/ccl_b12.py: B12 profile on CCL's HaloProfilePressure, CCL's
    FFTLog transform, Tinker08 at M200c, CCL's 1-halo integral, background and sigma(M)).
    Identical settings on both sides: linear P(k) of the embedded emulator, M200c in
    [1e10, 3.5e15] Msun (no h), truncation at 4 R200c, B = 1.2, Limber on the same 40
    Gauss-Legendre nodes in ln z over [0.005, 3]. Measured: -0.6% ... -0.2% over
    10 <= ell <= 5000 (BENCHMARKS.md); asserted 1% (the issue's bar is 2%). pyccl is in the
    test extra: without it this test fails, never skips. ~15 s."""
    from ccl_b12 import ccl_cl_1h_b12
    ell = np.geomspace(10, 5000, 12)
    ref = ccl_cl_1h_b12(COSMO, PROFILE, ell, n_z=40, x_out=4.0, m_min=1e10, m_max=3.5e15)
    mine = np.asarray(csl.cl_yy(COSMO, PROFILE, ell, n_z=40, x_out=4.0, m_min=1e10,
                                m_max=3.5e15)[0])
    print("B12 vs CCL 1-halo:", np.round(mine / ref - 1, 4))
    assert max_rel(mine, ref) < 0.01


SMALL = dict(n_z=16, n_m=40, n_x=129)          # gradient checks need no production accuracy


@pytest.fixture(scope="module")
def ev_small():
    return csl.cl_yy_factory(COSMO, np.geomspace(10, 5000, 6), profile="B12", **SMALL)


def test_b12_factory_gradient_matches_finite_differences(ev_small):
    """d C_ell / d field for every ProfileParamsB12 field: jacfwd (whole pytree) and grad of
    sum ln C vs central differences (step 1e-4 max(|x|, 0.05)), <= 1e-6 relative."""
    f = lambda p: sum(ev_small(p))
    jac = jax.jacfwd(f)(PROFILE)
    grad = jax.grad(lambda p: jnp.sum(jnp.log(f(p))))(PROFILE)
    c0 = np.asarray(f(PROFILE))
    worst = {}
    for field in csl.ProfileParamsB12._fields:
        x0 = float(getattr(PROFILE, field))
        h = 1e-4 * max(abs(x0), 0.05)
        fd = (np.asarray(f(PROFILE._replace(**{field: x0 + h})))
              - np.asarray(f(PROFILE._replace(**{field: x0 - h})))) / (2 * h)
        err = np.max(np.abs(np.asarray(getattr(jac, field)) - fd)) / np.max(np.abs(fd))
        fd_log = np.sum(fd / c0)
        err_g = abs(float(getattr(grad, field)) - fd_log) / np.sum(np.abs(fd / c0))
        worst[field] = (err, err_g)
    print({k: (f"{a:.1e}", f"{b:.1e}") for k, (a, b) in worst.items()})
    assert max(max(v) for v in worst.values()) < 1e-6


def test_b12_public_functions_and_validation(ev_small):
    ell = np.array([30.0, 300.0, 3000.0])
    c1, c2 = csl.cl_yy(COSMO, PROFILE, ell, **SMALL)
    d1, d2 = csl.cl_yy_direct(COSMO, PROFILE, ell, **SMALL)
    f1, f2 = csl.cl_yy_factory(COSMO, ell, profile=csl.ProfileParamsB12, **SMALL)(PROFILE)
    assert max_rel(c1, d1) < 1e-12 and max_rel(c2, f2) < 1e-12 and max_rel(c1, f1) < 1e-12
    # the shape on n_m_shape = 16 mass nodes (default) vs at every one of the 40 mass nodes
    e1, e2 = csl.cl_yy(COSMO, PROFILE, ell, **SMALL, n_m_shape=0)
    print("n_m_shape 16 vs 0:", max_rel(c1, e1), max_rel(c2, e2))
    assert max_rel(c1, e1) < 1e-5 and max_rel(c2, e2) < 1e-5
    assert np.all(np.asarray(c1) > 0) and np.all(np.asarray(c2) > 0)
    # P0 enters squared; a heavier mass bias lowers the power
    twice = csl.cl_yy(COSMO, PROFILE._replace(P0=2 * 18.1), ell, **SMALL)
    assert max_rel(twice[0], 4 * c1) < 1e-12
    assert np.all(np.asarray(csl.cl_yy(COSMO, PROFILE._replace(B=1.5), ell, **SMALL)[0]) < c1)
    t = np.asarray(csl.cl_yy_trispectrum(COSMO, PROFILE, ell, **SMALL))
    assert np.allclose(t, t.T, rtol=1e-12) and np.all(t > 0)
    cov = np.asarray(csl.cl_yy_covariance(COSMO, PROFILE, ell, 10.0, 0.5, **SMALL))
    gauss = 2 * np.asarray(c1 + c2) ** 2 / ((2 * ell + 1) * 10.0 * 0.5)
    assert np.allclose(np.diag(cov), gauss + np.diag(t) / (4 * np.pi * 0.5), rtol=1e-10)
    # the factory is built for one profile type
    with pytest.raises(TypeError, match="built for ProfileParamsB12"):
        ev_small(csl.ProfileParamsA10())
    with pytest.raises(TypeError, match="built for ProfileParamsA10"):
        csl.cl_yy_factory(COSMO, ell, **SMALL)(PROFILE)
    with pytest.raises(ValueError, match=r"ProfileParamsB12\.xc = 50\.0 is outside"):
        csl.cl_yy(COSMO, PROFILE._replace(xc=50.0), ell, **SMALL)
    with pytest.raises(TypeError, match=r"ProfileParamsB12\.beta"):
        csl.cl_yy(COSMO, PROFILE._replace(beta="4"), ell, **SMALL)
    with pytest.raises(ValueError, match="profile = 'C12'"):
        csl.cl_yy_factory(COSMO, ell, profile="C12")
    out = jax.jit(lambda x: sum(ev_small(PROFILE._replace(xc=x))))(50.0)
    assert np.all(np.isnan(np.asarray(out)))


def test_cobaya_evaluate_with_b12_profile():
    """A Cobaya run (evaluate sampler) with TSZPowerSpectrum ``profile: B12``: the default
    params block becomes the B12 fields, the likelihood sees the B12 C_ell."""
    from cobaya.run import run
    from classy_szlite_cobaya.cobaya import TSZPowerSpectrum
    ell = [30.0, 300.0, 3000.0]
    defaults = TSZPowerSpectrum.get_modified_defaults(TSZPowerSpectrum.get_defaults(),
                                                      input_options={"profile": "B12"})
    assert set(defaults["params"]) == set(csl.ProfileParamsB12._fields) | {"F"}
    seen = {}

    def like(_self=None):
        cl = _self.provider.get_Cl_yy()
        seen["cl"] = cl["1h"] + cl["2h"]
        return -0.5 * float(np.sum(np.log(seen["cl"]) ** 2)) * 1e-6

    info = {
        "theory": {"classy_szlite_cobaya.cobaya.TSZCosmology": {"halo_model": SMALL},
                   "classy_szlite_cobaya.cobaya.TSZPowerSpectrum": {"profile": "B12"}},
        "likelihood": {"toy": {"external": like, "requires": {"Cl_yy": {"ell": ell}}}},
        "params": {"omega_b": 0.02242, "omega_cdm": 0.11933, "H0": 67.66, "logA": 3.047,
                   "n_s": 0.9665, "mnu": 0.0, "fEDE": 0.0, "N_ur": COSMO.N_ur,
                   "B": {"prior": {"min": 1.0, "max": 2.0}, "ref": 1.2}},
        "sampler": {"evaluate": {"override": {"B": 1.2}}},
    }
    _, sampler = run(info)
    ref = sum(csl.cl_yy(COSMO, PROFILE, ell, **SMALL))
    assert max_rel(seen["cl"], ref) < 1e-10
    assert np.isfinite(sampler.products()["sample"]["F"].iloc[0])
