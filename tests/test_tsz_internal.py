"""Internal consistency and physics sanity of the halo model."""
import jax.numpy as jnp
import numpy as np
import pytest

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.cosmology import emulator
from helpers import max_rel

ELL = np.geomspace(2, 5000, 20)
COSMO = csl.CosmoParams()


@pytest.fixture(scope="module")
def ev():
    return csl.cl_yy_factory(COSMO, ELL)


def test_lattice_agrees_with_direct_quadrature():
    """The ln q lattice (fast path) and a direct (z, ln M) quadrature with table look-ups."""
    p = csl.ProfileParamsA10(B=1.4, beta=5.0)
    a = csl.cl_yy(COSMO, p, ELL)
    d = csl.cl_yy_direct(COSMO, p, ELL)
    print("lattice vs direct:", max_rel(a[0], d[0]), max_rel(a[1], d[1]))
    assert max_rel(a[0], d[0]) < 1e-4 and max_rel(a[1], d[1]) < 1e-4


def test_amplitude_scalings(ev):
    base = ev(csl.ProfileParamsA10())
    twice = ev(csl.ProfileParamsA10(P0=2 * 8.130))
    assert max_rel(twice[0], 4 * base[0]) < 1e-12 and max_rel(twice[1], 4 * base[1]) < 1e-12
    heavier = ev(csl.ProfileParamsA10(B=1.5))
    assert np.all(np.asarray(heavier[0]) < np.asarray(base[0]))
    assert np.all(np.asarray(heavier[1]) < np.asarray(base[1]))


def test_one_halo_dominates_at_high_ell(ev):
    c1, c2 = ev(csl.ProfileParamsA10())
    assert np.all(np.asarray(c1[ELL > 300] > 5 * c2[ELL > 300]))


def test_damping_option_suppresses_low_ell_only():
    ell = np.array([2.0, 12.0, 1000.0])
    a = csl.cl_yy(COSMO, csl.ProfileParamsA10(), ell)[0]
    b = csl.cl_yy(COSMO, csl.ProfileParamsA10(), ell, damping_1h=True)[0]
    r = np.asarray(b / a)
    assert r[0] < 0.97 and 0.97 < r[1] < 1.0 and abs(r[2] - 1) < 1e-4


def test_trispectrum_and_covariance():
    ell = np.array([10.0, 50.0, 200.0, 800.0])
    p = csl.ProfileParamsA10(B=1.3)
    t = np.asarray(csl.cl_yy_trispectrum(COSMO, p, ell))
    assert np.allclose(t, t.T, rtol=1e-12) and np.all(t > 0)
    cov = np.asarray(csl.cl_yy_covariance(COSMO, p, ell, delta_ell=np.full(4, 5.0), f_sky=0.47))
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    cl = np.asarray(sum(csl.cl_yy(COSMO, p, ell)))
    gauss = 2 * cl ** 2 / ((2 * ell + 1) * 5.0 * 0.47)
    assert np.allclose(np.diag(cov) - np.diag(t) / (4 * np.pi * 0.47), gauss, rtol=1e-10)
    # Cauchy-Schwarz for a 1-halo trispectrum (an integral of |y_l|^2 |y_l'|^2)
    assert np.all(t ** 2 <= np.outer(np.diag(t), np.diag(t)) * (1 + 1e-12))
    # the truncation option reaches the trispectrum (same profile as cl_yy)
    t6 = np.asarray(csl.cl_yy_trispectrum(COSMO, p, ell, x_out=6.0))
    assert np.max(np.abs(t6 / t - 1)) > 1e-3


def test_folded_emulator_reproduces_cosmopower_jax():
    """Interpolation folded into the network's last layer == interpolating its output."""
    from classy_szlite_cobaya.cosmology.emulator import _network
    from classy_szlite_cobaya.interpolation import interp_matrix
    emu = _network()["emu"]
    ln_k = np.log(np.asarray(emu.modes))
    assert np.allclose(interp_matrix(ln_k, ln_k, 10), np.eye(len(ln_k)), atol=1e-12)
    x = np.array([[0.0224, 0.12, 0.7, 0.96, 3.0, 0.5]])
    ref = np.log(np.asarray(emu.predict(x)))
    mine = emulator.linear_power(csl.CosmoParams(omega_b=0.0224, omega_cdm=0.12, H0=70.0,
                                                 n_s=0.96, ln10_10_As=3.0), jnp.array([0.5]))[0]
    from scipy.interpolate import CubicSpline
    inside = emulator.LN_K < ln_k[-1]
    spline = CubicSpline(ln_k, ref)(emulator.LN_K[inside])
    assert np.max(np.abs(np.asarray(mine)[inside] - spline)) < 1e-4
