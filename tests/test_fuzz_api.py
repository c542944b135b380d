"""Property tests of the public API under hostile input (hypothesis, derandomised for CI).

Every family draws points inside and outside the documented ranges, and values of the wrong
type. Eager calls must return a finite result or raise ValueError/TypeError whose message
names the parameter; traced calls (jit, compiled once per family with fixed shapes) must be
finite inside the ranges and NaN outside: never a silent finite value outside.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.cosmology import emulator
from classy_szlite_cobaya.params import EMULATOR_Z_RANGE, PROFILE_RANGES
from classy_szlite_cobaya.tsz.settings import HaloModelSettings, make_settings

_BASE = settings(derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])


def fuzz(n: int):
    """Derandomised settings with ``n`` cases (the counts are reported in the test names)."""
    return settings(_BASE, max_examples=n)
BAD_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e300, -1e300, 5e-324]
WRONG_TYPES = ["1.0", None, True, False, 1 + 1j, [1.0, "a"], {"v": 1.0}]


def number_around(lo, hi):
    """Real numbers inside [lo, hi], just outside it, far outside and non-finite."""
    width = hi - lo
    return st.one_of(
        st.floats(lo, hi),
        st.floats(lo - 0.5 * width, lo, exclude_max=True),
        st.floats(hi, hi + 0.5 * width, exclude_min=True),
        st.sampled_from(BAD_FLOATS))


def _inside(v, lo, hi, closed=True):
    return math.isfinite(v) and ((lo <= v <= hi) if closed else (lo < v < hi))


# ----------------------------------------------------------------------------- cosmology
COSMO_FIELDS = tuple(csl.EMULATOR_BOX)
# Half the cases wholly inside the box (a mixed draw almost never is), half mixed.
cosmo_points = st.one_of(
    st.fixed_dictionaries({f: st.floats(*csl.EMULATOR_BOX[f]) for f in COSMO_FIELDS}),
    st.fixed_dictionaries({f: number_around(*csl.EMULATOR_BOX[f]) for f in COSMO_FIELDS}))
Z_TEST = np.array([0.0, 0.3, 2.0, 5.0])


@pytest.fixture(scope="module")
def cosmo_jit():
    def f(values):
        c = csl.CosmoParams(**values)
        d = csl.derived(c)
        return jnp.stack([d["sigma8"], d["Omega_m"], d["S8"], d["h"]]), \
            csl.distances(c, Z_TEST)["chi"]
    return jax.jit(f)


@fuzz(40)
@given(point=cosmo_points)
def test_fuzz_cosmology_eager_and_jit(cosmo_jit, point):
    inside = (all(_inside(v, *csl.EMULATOR_BOX[f]) for f, v in point.items())
              and point["w0"] + point["wa"] < 0)      # dark energy subdominant early
    event("inside" if inside else "outside")
    cosmo = csl.CosmoParams(**point)
    try:
        d = csl.derived(cosmo)
        chi = csl.distances(cosmo, Z_TEST)["chi"]
        assert inside, f"no error outside the box at {point}"
        assert all(np.isfinite(v) for v in d.values()) and np.all(np.isfinite(chi))
    except ValueError as exc:
        assert not inside
        assert any(f"CosmoParams.{f}" in str(exc) for f in COSMO_FIELDS), str(exc)
    der, chi = cosmo_jit({f: jnp.float64(v) for f, v in point.items()})
    if inside:
        assert np.all(np.isfinite(der)) and np.all(np.isfinite(chi))
    else:
        assert np.all(np.isnan(der)) and np.all(np.isnan(chi))


@fuzz(40)
@given(field=st.sampled_from(csl.CosmoParams._fields), value=st.sampled_from(WRONG_TYPES))
def test_fuzz_cosmology_wrong_types(field, value):
    cosmo = csl.CosmoParams()._replace(**{field: value})
    with pytest.raises(TypeError, match=rf"CosmoParams\.{field}"):
        csl.derived(cosmo)


# ----------------------------------------------------------------------------- z and k
@pytest.fixture(scope="module")
def pk_jit():
    c = csl.CosmoParams()
    return jax.jit(lambda z, k: csl.Pk(c, z, k)[1])


@fuzz(60)
@given(z=number_around(*EMULATOR_Z_RANGE),
       ln_k=st.one_of(st.floats(math.log(1e-8), math.log(1e4)),
                      st.sampled_from([math.nan, math.inf, -math.inf])))
def test_fuzz_pk_z_k(pk_jit, z, ln_k):
    k = math.exp(ln_k) if math.isfinite(ln_k) else ln_k
    z_ok = _inside(z, *EMULATOR_Z_RANGE)
    k_ok = _inside(k, emulator.K_MIN, emulator.K_MAX)
    event("inside" if z_ok and k_ok else "outside")
    c = csl.CosmoParams()
    try:
        p = csl.Pk(c, z, np.array([k]))[1]
        assert z_ok and k_ok and np.all(np.isfinite(p)) and np.all(p > 0)
    except ValueError as exc:
        assert not (z_ok and k_ok)
        assert str(exc).startswith("z = " if not z_ok else "k = "), str(exc)
    p = np.asarray(pk_jit(jnp.float64(z), jnp.array([k])))
    assert np.all(np.isfinite(p)) if (z_ok and k_ok) else np.all(np.isnan(p))


# ----------------------------------------------------------------------------- profile
PROFILE_FIELDS = csl.ProfileParamsA10._fields
ELL = np.array([10.0, 300.0, 3000.0])


def profile_number(f):
    lo, hi = PROFILE_RANGES[f]
    if f in ("P0", "c500", "alpha"):      # log-scale fields: draw ln values
        return st.one_of(st.floats(math.log(lo) - 3, math.log(hi) + 3).map(math.exp),
                         st.sampled_from(BAD_FLOATS))
    return number_around(lo, hi)


def profile_inside(f):
    lo, hi = PROFILE_RANGES[f]
    if f in ("P0", "c500", "alpha"):
        return st.floats(math.log(lo), math.log(hi), exclude_min=True,
                         exclude_max=True).map(math.exp).filter(lambda v: lo < v < hi)
    return st.floats(lo, hi, exclude_min=True, exclude_max=True)


# Half the cases inside the box (beta > gamma is then usually but not always true).
profile_points = st.one_of(
    st.fixed_dictionaries({f: profile_inside(f) for f in PROFILE_FIELDS}),
    st.fixed_dictionaries({f: profile_number(f) for f in PROFILE_FIELDS}))


@pytest.fixture(scope="module")
def ev():
    return csl.cl_yy_factory(csl.CosmoParams(), ELL)


@pytest.fixture(scope="module")
def ev_jit(ev):
    return jax.jit(lambda p: jnp.concatenate(ev(p)))


@fuzz(150)
@given(point=profile_points)
def test_fuzz_profile_eager_and_jit(ev, ev_jit, point):
    inside = (all(_inside(v, *PROFILE_RANGES[f], closed=False) for f, v in point.items())
              and point["beta"] > point["gamma"])
    event("inside" if inside else "outside")
    prof = csl.ProfileParamsA10(**point)
    try:
        c1, c2 = ev(prof)
        assert inside, f"no error outside the box at {point}"
        assert np.all(np.isfinite(c1)) and np.all(c1 > 0) and np.all(np.isfinite(c2))
    except ValueError as exc:
        assert not inside
        assert any(f"ProfileParamsA10.{f}" in str(exc) for f in PROFILE_FIELDS), str(exc)
    out = np.asarray(ev_jit(csl.ProfileParamsA10(**{f: jnp.float64(v) for f, v in point.items()})))
    assert np.all(np.isfinite(out)) if inside else np.all(np.isnan(out))


@fuzz(40)
@given(field=st.sampled_from(PROFILE_FIELDS), value=st.sampled_from(WRONG_TYPES))
def test_fuzz_profile_wrong_types(ev, field, value):
    with pytest.raises(TypeError, match=rf"ProfileParamsA10\.{field}"):
        ev(csl.ProfileParamsA10()._replace(**{field: value}))


# ----------------------------------------------------------------------------- options, ell
_OPTION_VALUES = st.one_of(
    st.integers(-10, 10 ** 6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["60", "False", "True", "Msun", "Msun/h", "kg", None, True, False,
                     np.int64(64), np.float64(0.5), np.bool_(True), [1, 2]]))


@fuzz(300)
@given(options=st.dictionaries(st.sampled_from(HaloModelSettings._fields + ("bogus",)),
                               _OPTION_VALUES, max_size=4))
def test_fuzz_options(options):
    try:
        s = make_settings(**options)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        assert any(name in msg for name in options), msg
        return
    # Accepted: every option kept its type and meaning, nothing was coerced from a string.
    for name, value in options.items():
        kept = getattr(s, name)
        assert not isinstance(value, str) or name == "mass_unit"
        if name == "damping_1h":
            assert isinstance(value, (bool, np.bool_)) and kept == bool(value)
        elif name != "mass_unit":
            assert not isinstance(value, (bool, np.bool_)) and kept == value
            assert math.isfinite(kept)


_ELL_VALUES = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=4),
    st.lists(st.integers(-5, 10 ** 5), min_size=1, max_size=4),
    st.sampled_from([["10", "20"], [True, False], None, "100", [], [[10.0, 20.0]],
                     [10 + 1j]]))


@fuzz(200)
@given(ell=_ELL_VALUES)
def test_fuzz_ell(ell):
    from classy_szlite_cobaya.tsz.power_spectrum import check_ell
    try:
        out = check_ell(ell)
    except (TypeError, ValueError) as exc:
        assert "ell" in str(exc)
        return
    assert len(out) and all(math.isfinite(v) and v > 0 for v in out)
