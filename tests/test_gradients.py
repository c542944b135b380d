"""Autodiff vs central finite differences (issue #2, item 4), factory vs full pipeline,
pytree gradients, jit/jacfwd/vmap of the factory closure."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import classy_szlite_cobaya as csl
from helpers import central_difference, max_rel

TOL_GRAD = 1.0e-6
TOL_FACTORY = 1.0e-10
ELL = np.geomspace(2, 5000, 30)
COSMO = csl.CosmoParams()
PROFILE = csl.ProfileParamsA10(B=1.25)


@pytest.fixture(scope="module")
def ev():
    return csl.cl_yy_factory(COSMO, ELL)


def _total(cl):
    return cl[0] + cl[1]


@pytest.mark.parametrize("name,rel_step", [("P0", 1e-4), ("beta", 1e-5), ("B", 1e-5)])
def test_factory_grad_and_jacfwd_match_finite_differences(ev, name, rel_step):
    x0 = float(getattr(PROFILE, name))
    vec = lambda x: _total(ev(PROFILE._replace(**{name: x})))
    jac = np.asarray(jax.jacfwd(vec)(x0))
    grad = jax.grad(lambda x: jnp.sum(jnp.log(vec(x))))(x0)
    fd = central_difference(vec, x0, rel_step)
    fd_log = np.sum(fd / np.asarray(vec(x0)))
    print(name, "jacfwd vs FD", max_rel(jac, fd), " grad vs FD", abs(grad / fd_log - 1))
    assert max_rel(jac, fd) < TOL_GRAD
    assert abs(float(grad) / fd_log - 1) < TOL_GRAD


COSMO_NAMES = ("omega_cdm", "ln10_10_As", "H0", "n_s")


def test_full_pipeline_grad_matches_finite_differences():
    """One jacfwd and one grad over the four cosmological parameters (one compilation each)."""
    ell = np.geomspace(10, 3000, 8)
    theta0 = np.array([float(getattr(COSMO, n)) for n in COSMO_NAMES])

    def cl_vec(theta):
        c = COSMO._replace(**{n: theta[i] for i, n in enumerate(COSMO_NAMES)})
        return _total(csl.cl_yy(c, PROFILE, ell))

    loss = lambda theta: jnp.sum(jnp.log(cl_vec(theta)))
    jac = np.asarray(jax.jacfwd(cl_vec)(jnp.asarray(theta0)))          # [n_ell, 4]
    grad = np.asarray(jax.grad(loss)(jnp.asarray(theta0)))
    for i, name in enumerate(COSMO_NAMES):
        def along(x, i=i):
            t = theta0.copy()
            t[i] = x
            return np.asarray(cl_vec(jnp.asarray(t)))
        fd = central_difference(along, theta0[i], 1e-5)
        fd_log = np.sum(fd / along(theta0[i]))
        print(name, "jacfwd vs FD", max_rel(jac[:, i], fd), " grad vs FD", abs(grad[i] / fd_log - 1))
        assert max_rel(jac[:, i], fd) < TOL_GRAD
        assert abs(grad[i] / fd_log - 1) < TOL_GRAD


def test_factory_equals_full_pipeline(ev):
    a = ev(PROFILE)
    b = csl.cl_yy(COSMO, PROFILE, ELL)
    assert max_rel(a[0], b[0]) < TOL_FACTORY and max_rel(a[1], b[1]) < TOL_FACTORY


def test_grad_wrt_cosmo_pytree_returns_cosmoparams():
    ell = np.geomspace(10, 1000, 5)
    g = jax.grad(lambda c: jnp.sum(_total(csl.cl_yy(c, PROFILE, ell))))(COSMO)
    assert isinstance(g, csl.CosmoParams)
    assert all(np.isfinite(float(v)) for v in g)
    assert float(g.ln10_10_As) > 0 and float(g.omega_cdm) > 0
    assert float(g.tau_reio) == 0.0                 # not used by the matter power
    # the defaults have EDE (fEDE = 0.001) and massive neutrinos: their fields are live
    assert float(g.fEDE) != 0.0 and float(g.log10z_c) != 0.0 and float(g.m_ncdm) != 0.0


def test_factory_under_jit_and_vmap(ev):
    batch = jax.tree.map(lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=float), (4,)),
                         csl.ProfileParamsA10(P0=jnp.linspace(6, 10, 4),
                                              beta=jnp.linspace(4.5, 5.5, 4),
                                              B=jnp.linspace(1.1, 1.6, 4)))
    out = jax.jit(jax.vmap(ev))(batch)
    assert out[0].shape == (4, len(ELL))
    for i in range(4):
        one = ev(csl.ProfileParamsA10(P0=float(batch.P0[i]), beta=float(batch.beta[i]),
                                      B=float(batch.B[i])))
        assert max_rel(out[0][i], one[0]) < 1e-12 and max_rel(out[1][i], one[1]) < 1e-12
