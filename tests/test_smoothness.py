"""C_ell and its gradient are continuous across the emulator box: no kink where the Tinker
2008 table ends (Delta_mean = 3200, Omega_m(z) = 0.156 for M500c), and the interpolation
helpers are continuous where their continuations start."""
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings, strategies as st

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.halos.mass_function import tinker08_params
from classy_szlite_cobaya.interpolation import (eval_spline, interp_matrix, interp_nonuniform,
                                                interp_uniform, natural_cubic_spline)

# Low-Omega_m corner of the box where the lowest redshift node crossed Delta_mean = 3200
# between omega_b = 0.019107 and 0.019108 (the derivative jumped there by 0.8 per cent).
CORNER = dict(omega_cdm=0.05, H0=82.0, n_s=0.84, ln10_10_As=3.91)
OMEGA_B = np.linspace(0.019105, 0.019109, 5)
PROFILE = csl.ProfileParamsA10(B=1.25)


def test_dlnc_smooth_across_former_tinker_clamp():
    """d ln C / d(omega_b, H0) at 5 points 1e-6 apart in omega_b across the former clamp: the
    second difference along the line is below 1e-6 |g| (measured 3e-9 |g| for omega_b, 1e-10
    |g| for H0; with the parameters held at Delta = 3200 it was 8e-3 |g| and 1.3e-2 |g|)."""
    def ln_c(theta):
        c = csl.CosmoParams(omega_b=theta[0], H0=theta[1], **{k: v for k, v in CORNER.items()
                                                           if k != "H0"})
        c1, c2 = csl.cl_yy(c, PROFILE, [959.5])
        return jnp.log(c1 + c2)[0]

    theta = np.stack([OMEGA_B, np.full_like(OMEGA_B, CORNER["H0"])], axis=1)
    g = np.asarray(jax.jit(jax.vmap(jax.grad(ln_c)))(jnp.asarray(theta)))   # [5, 2]
    assert np.all(np.isfinite(g))
    d2 = np.abs(np.diff(g, 2, axis=0))
    print("d ln C/d(omega_b, H0):", g[2], " max |second difference|:", d2.max(axis=0))
    assert np.all(d2 < 1e-6 * np.abs(g[2]))


def test_tinker08_params_c1_at_table_end():
    """(A, a, b, c) are C^1 (indeed C^2) at Delta = 3200 in log10 Delta, and keep changing
    beyond it (they were held constant there)."""
    x_end = np.log10(3200.0)
    f = lambda x: jnp.stack(tinker08_params(10.0 ** x, 0.7))
    d = jax.jacfwd(f)
    left, right = np.asarray(d(x_end - 1e-9)), np.asarray(d(x_end + 1e-9))
    print("left", left, "right", right)
    assert np.allclose(left, right, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(right[1:]) > 0.1)            # a, b, c keep varying beyond the table
    dd = jax.jacfwd(d)
    assert np.allclose(np.asarray(dd(x_end - 1e-9)), np.asarray(dd(x_end + 1e-9)),
                       rtol=1e-5, atol=1e-6)
    # inside the table: the natural spline through the table's values
    from classy_szlite_cobaya.halos.mass_function import T08_TABLE
    vals = np.asarray(tinker08_params(jnp.asarray(T08_TABLE[:, 0]), 0.0)).T
    assert np.allclose(vals, T08_TABLE[:, 1:], rtol=1e-13)


_X0 = 0.3


@jax.jit
def _value_and_slope(table, dx, x):
    f = lambda t: interp_uniform(_X0, dx, table, jnp.atleast_1d(t), linear_ends=True)[0]
    return f(x), jax.grad(f)(x)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0), min_size=8, max_size=8), st.floats(0.01, 2.0))
def test_interp_uniform_linear_ends_c1(values, dx):
    """Random tables: the linear continuation starts with the interpolant's value and slope
    (one-sided values and slopes at 1e-7 dx from either end agree)."""
    table = jnp.asarray(values)
    for xe in (_X0, _X0 + 7 * dx):
        eps = 1e-7 * dx
        (f_l, g_l), (f_r, g_r) = (_value_and_slope(table, dx, xe + s) for s in (-eps, eps))
        scale = 1.0 + abs(float(g_l))
        assert abs(float(f_l) - float(f_r)) < 4 * eps * scale
        assert abs(float(g_l) - float(g_r)) < 1e-5 * scale
    nodes = _X0 + dx * jnp.arange(8)
    assert np.allclose(np.asarray(interp_uniform(_X0, dx, table, nodes)), values, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=5, max_size=10),
       st.lists(st.floats(-2.0, 2.0), min_size=4, max_size=4))
def test_interp_nonuniform_exact_for_cubics_and_matrix_form(steps, coef):
    """4-point Lagrange reproduces cubics on any ascending nodes; the NumPy matrix form gives
    the same numbers as the JAX form, inside and outside the nodes."""
    xn = np.cumsum(np.r_[0.0, steps])
    p = np.polynomial.Polynomial(coef)
    x = np.linspace(xn[0], xn[-1], 17)
    assert np.allclose(np.asarray(interp_nonuniform(xn, p(xn), x)), p(x), atol=1e-9)
    xo = np.linspace(xn[0] - 1, xn[-1] + 1, 23)
    assert np.allclose(interp_matrix(xn, xo, 2) @ p(xn),
                       np.asarray(interp_nonuniform(xn, p(xn), xo, slope_baseline=2)), atol=1e-12)


def test_natural_spline_linear_continuation_both_ends():
    x = np.array([0.0, 0.5, 1.5, 2.0, 3.0])
    y = np.sin(x)[:, None] * np.array([1.0, -2.0])
    spl = natural_cubic_spline(x, y)
    assert np.allclose(np.asarray(eval_spline(spl, jnp.asarray(x))), y, atol=1e-14)
    for xe in (x[0], x[-1]):
        d = jax.jacfwd(lambda t: eval_spline(spl, t))
        assert np.allclose(d(xe - 1e-9), d(xe + 1e-9), atol=1e-7)
    # straight beyond the ends: second differences vanish
    far = np.asarray(eval_spline(spl, jnp.asarray([4.0, 5.0, 6.0])))
    assert np.allclose(far[0] - 2 * far[1] + far[2], 0.0, atol=1e-12)
