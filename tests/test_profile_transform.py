"""The profile Fourier transform G(q) vs direct quadrature (scipy QAWO), over the whole q
range that the C_ell integrals touch (the lattice of the default settings, ell up to 5000).

Tolerance 1e-3 (issue #2); the Simpson-Filon matrix with the default n_x = 513 nodes."""
import numpy as np
import pytest
import scipy.integrate as si

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.profiles.a10 import pressure_shape
from classy_szlite_cobaya.profiles.transform import filon_matrix, profile_x_grid
from classy_szlite_cobaya.tsz.power_spectrum import prepare

TOL_TRANSFORM = 1.0e-3


def quad_transform(q, profile, x_out):
    """G(q) = (1/q) int_0^x_out x p(x) sin(qx) dx by adaptive QAWO on log-spaced pieces."""
    f = lambda x: x * float(pressure_shape(x, profile)) / q
    edges = np.concatenate([[0.0], np.geomspace(1e-9, x_out, 80)])
    return sum(si.quad(f, a, b, weight="sin", wvar=q, epsabs=0.0, epsrel=1e-11, limit=500)[0]
               for a, b in zip(edges[:-1], edges[1:]))


@pytest.mark.parametrize("profile,x_out", [
    (csl.ProfileParamsA10(), 4.0),
    (csl.ProfileParamsA10(P0=6.0, c500=1.8, gamma=0.6, alpha=1.3, beta=4.2), 6.0),
])
def test_transform_matches_quadrature_over_touched_range(profile, x_out):
    layout, settings = prepare(np.geomspace(2, 5000, 30), x_out=x_out)
    q = np.geomspace(layout.q_ext[0], layout.q_ext[-1], 18)
    assert q[0] < 1e-4 and q[-1] > 300, "lattice must span the small- and large-q regimes"
    x = profile_x_grid(x_out, settings.n_x)
    g = filon_matrix(q, x) @ np.asarray(pressure_shape(x, profile))
    ref = np.array([quad_transform(qq, profile, x_out) for qq in q])
    err = np.abs(g / ref - 1)
    print("max |G/G_quad - 1| =", err.max(), "at q =", q[np.argmax(err)])
    assert err.max() < TOL_TRANSFORM


def test_small_q_limit_is_the_volume_integral():
    """G(q -> 0) = int_0^x_out x^2 p(x) dx: no extrapolation artefact at small q."""
    p = csl.ProfileParamsA10()
    x = profile_x_grid(4.0, 513)
    g = filon_matrix(np.array([1e-8]), x) @ np.asarray(pressure_shape(x, p))
    ref = si.quad(lambda xx: xx * xx * float(pressure_shape(xx, p)), 0, 4.0, epsrel=1e-12,
                  points=[1e-6, 1e-3, 0.1, 1.0])[0]
    assert abs(g[0] / ref - 1) < 1e-4


def test_filon_rejects_even_node_count():
    with pytest.raises(ValueError, match="odd"):
        filon_matrix(np.array([1.0]), np.geomspace(1e-3, 1, 10))
