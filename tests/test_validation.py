"""Bad input: a ValueError naming the parameter and the allowed range in eager calls; a
non-finite output (never silent extrapolation) under tracing (issue #2, item 5)."""
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
    ("fEDE", 0.05, r"fEDE = 0\.05 is not modelled .*allowed value 0.*provider"),
    ("m_ncdm", 0.06, r"m_ncdm = 0\.06 is not modelled .*provider"),
    ("N_eff", 3.5, r"N_eff = 3\.5 is not modelled"),
])
def test_bad_cosmology_raises_naming_parameter(field, value, pattern):
    bad = csl.CosmoParams()._replace(**{field: value})
    for call in (lambda: csl.cl_yy(bad, P, ELL), lambda: csl.cl_yy_factory(bad, ELL),
                 lambda: csl.derived(bad)):
        with pytest.raises(ValueError, match=pattern):
            call()


@pytest.mark.parametrize("field,value,pattern", [
    ("P0", -1.0, r"P0 = -1\.0 is outside the allowed range \(0, inf\)"),
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
