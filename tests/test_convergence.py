"""Doubling the z nodes, the mass nodes and the profile-transform nodes changes C_ell by
< 0.1% (issue #2, item 3), at the default settings."""
import numpy as np
import pytest

import classy_szlite_cobaya as csl

TOL_CONVERGENCE = 1.0e-3
ELL = np.geomspace(2, 5000, 12)


@pytest.fixture(scope="module")
def baseline():
    return csl.cl_yy(csl.CosmoParams(), csl.ProfileParamsA10(B=1.25), ELL)


@pytest.mark.parametrize("option,value", [("n_z", 200), ("n_m", 400), ("n_x", 1025)])
def test_doubling_grid_changes_cl_by_less_than_tolerance(baseline, option, value):
    c1, c2 = csl.cl_yy(csl.CosmoParams(), csl.ProfileParamsA10(B=1.25), ELL, **{option: value})
    d1 = np.abs(np.asarray(c1 / baseline[0]) - 1).max()
    d2 = np.abs(np.asarray(c2 / baseline[1]) - 1).max()
    print(f"{option} doubled: max change 1h {d1:.2e}, 2h {d2:.2e}")
    assert d1 < TOL_CONVERGENCE and d2 < TOL_CONVERGENCE
