"""The primordial amplitude: P_lin exactly proportional to A_s, cosmo_from_amplitude (sigma8 /
S_y / ln S_y -> ln10_10_As, exact), and the prior equivalence of tsz.yaml (flat ln S_y) and
tsz_logA.yaml (flat logA) on the emulator box."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import classy_szlite_cobaya as csl
from helpers import YAML_LCDM  # noqa: E402
from classy_szlite_cobaya.cosmology import background, emulator, s_y, sigma8
from classy_szlite_cobaya.safe_yaml import load_yaml_file

REPO = Path(__file__).resolve().parents[1]
LO, HI = csl.EMULATOR_BOX["ln10_10_As"]
OTHER = ("omega_b", "omega_cdm", "H0", "n_s")
C0 = csl.CosmoParams(omega_b=0.0215, omega_cdm=0.14, H0=72.0, n_s=0.93)


def test_linear_power_exactly_proportional_to_As():
    z = jnp.array([0.0, 1.0, 4.0])
    p_ref = np.asarray(emulator.linear_power(C0._replace(ln10_10_As=emulator.LN10_10_AS_REF), z))
    for a in (LO, 2.5, 3.6, HI):
        p = np.asarray(emulator.linear_power(C0._replace(ln10_10_As=a), z))
        np.testing.assert_allclose(p - p_ref, a - emulator.LN10_10_AS_REF, rtol=0, atol=1e-12)
        ratio = float(sigma8(C0._replace(ln10_10_As=a)) / sigma8(C0))
        assert ratio == pytest.approx(np.exp((a - C0.ln10_10_As) / 2), rel=1e-12)


@pytest.mark.parametrize("name,value", [("sigma8", 0.55), ("sigma8", 1.02), ("S_y", 0.41),
                                        ("ln_S_y", -0.9)])
def test_cosmo_from_amplitude_exact(name, value):
    out = csl.cosmo_from_amplitude(C0, **{name: value})
    assert LO <= float(out.ln10_10_As) <= HI
    assert out._replace(ln10_10_As=C0.ln10_10_As) == C0      # other fields untouched
    s8 = float(sigma8(out))
    sy = float(s_y(s8, background.omega_m_total0(out), C0.H0 / 100.0))
    got = {"sigma8": s8, "S_y": sy, "ln_S_y": np.log(sy)}[name]
    assert got == pytest.approx(value, rel=1e-10, abs=1e-12)
    # traceable: jit gives the same number, d logA / d ln(amplitude) = 2 exactly. "Same" is
    # to float64 round-off of sigma8: the EDE GP sums ~1600 kernel terms of weights up to
    # ~2e4 (sum |alpha| ~3e6 per component), so jit and eager (different summation order)
    # differ by ~1e-12 in ln sigma8; a wrong derivative or a dropped term is >> 1e-11.
    f = jax.jit(lambda v: csl.cosmo_from_amplitude(C0, **{name: v}).ln10_10_As)
    assert float(f(value)) == pytest.approx(float(out.ln10_10_As), abs=1e-11)
    dlog = float(jax.grad(f)(value)) * (1.0 if name == "ln_S_y" else value)
    assert dlog == pytest.approx(2.0, rel=1e-12)


def test_cosmo_from_amplitude_invalid():
    with pytest.raises(ValueError, match=r"sigma8 = 3 needs ln10_10_As = .*outside.*"
                                         r"\[1\.61, 3\.91\].*sigma8 must lie in \[0\.\d+, 1\.\d+\]"):
        csl.cosmo_from_amplitude(C0, sigma8=3.0)
    with pytest.raises(ValueError, match=r"ln_S_y = -5 needs ln10_10_As"):
        csl.cosmo_from_amplitude(C0, ln_S_y=-5.0)
    with pytest.raises(ValueError, match=r"S_y = -0.3 must be finite and > 0"):
        csl.cosmo_from_amplitude(C0, S_y=-0.3)
    with pytest.raises(ValueError, match=r"CosmoParams.H0 = 90 is outside"):
        csl.cosmo_from_amplitude(C0._replace(H0=90.0), sigma8=0.8)
    with pytest.raises(TypeError, match=r"exactly one of"):
        csl.cosmo_from_amplitude(C0)
    with pytest.raises(TypeError, match=r"exactly one of"):
        csl.cosmo_from_amplitude(C0, sigma8=0.8, S_y=0.4)
    with pytest.raises(TypeError, match=r"sigma8 = '0.8'"):
        csl.cosmo_from_amplitude(C0, sigma8="0.8")
    # traced: NaN outside the box (also for another field outside it), finite inside
    f = jax.jit(lambda c, v: csl.cosmo_from_amplitude(c, sigma8=v).ln10_10_As)
    assert np.isnan(f(C0, 3.0)) and np.isnan(f(C0, -1.0)) and np.isnan(f(C0._replace(H0=90.0), 0.8))
    assert np.isfinite(f(C0, 0.8))


# ----------------------------------------------------------------------------- prior
def _prior_bounds(name: str) -> dict:
    params = load_yaml_file(REPO / "input_yamls" / name)["params"]
    return {k: (v["prior"]["min"], v["prior"]["max"]) for k, v in params.items()
            if isinstance(v, dict) and "prior" in v}


@jax.jit
@jax.vmap
def _g(omega_b, omega_cdm, H0, n_s):
    """G(others) = ln S_y - logA / 2 (independent of logA: P_lin ~ A_s exactly)."""
    c = csl.CosmoParams(omega_b=omega_b, omega_cdm=omega_cdm, H0=H0, n_s=n_s,
                        ln10_10_As=emulator.LN10_10_AS_REF, **YAML_LCDM)  # as tsz.yaml
    return (jnp.log(s_y(sigma8(c), background.omega_m_total0(c), H0 / 100.0))
            - emulator.LN10_10_AS_REF / 2.0)


def test_flat_ln_S_y_prior_is_flat_logA_prior():
    """tsz.yaml's flat ln_S_y prior, with points whose logA leaves the emulator box rejected
    (zero likelihood), is the prior of tsz_logA.yaml, flat logA on [1.61, 3.91]: draws made
    in each coordinate and mapped to the other have the same marginals (KS tests on 20000
    draws each). A wrong Jacobian (flat S_y instead of flat ln S_y) fails the same test."""
    box_s, box_a = _prior_bounds("tsz.yaml"), _prior_bounds("tsz_logA.yaml")
    assert {k: box_s[k] for k in OTHER} == {k: box_a[k] for k in OTHER}
    assert box_a["logA"] == (LO, HI)
    rng = np.random.default_rng(20261204)
    n = 20000

    def others(m):
        return [rng.uniform(*box_a[k], m) for k in OTHER]

    # logA coordinates -> ln S_y
    oth_a = others(n)
    log_a = rng.uniform(LO, HI, n)
    ln_sy_a = log_a / 2 + np.asarray(_g(*oth_a))
    lo_s, hi_s = box_s["ln_S_y"]
    assert lo_s <= ln_sy_a.min() and ln_sy_a.max() <= hi_s    # the prior covers every point

    # ln S_y coordinates -> logA, rejected outside the box (expected acceptance
    # (HI - LO) / 2 / (hi_s - lo_s) = 0.37 for every value of the others)
    m = 3 * n
    oth = np.stack(others(m), 1)
    g = np.asarray(_g(*oth.T))

    def accepted(ln_sy):
        la = 2 * (ln_sy - g)
        keep = (la >= LO) & (la <= HI)
        return oth[keep], la[keep], ln_sy[keep]

    oth_s, log_s, ln_sy_s = accepted(rng.uniform(lo_s, hi_s, m))
    n_acc = log_s.size
    assert n_acc >= n
    oth_s, log_s, ln_sy_s = oth_s[:n], log_s[:n], ln_sy_s[:n]
    p_min = 1e-3
    p = {"logA": stats.kstest(log_s, stats.uniform(LO, HI - LO).cdf).pvalue,
         "ln_S_y": stats.ks_2samp(ln_sy_a, ln_sy_s).pvalue}
    for i, k in enumerate(OTHER):   # others stay flat: the acceptance does not depend on them
        p[k] = stats.kstest(oth_s[:, i], stats.uniform(box_a[k][0], np.ptp(box_a[k])).cdf
                            ).pvalue
    print(f"KS p-values ({n} draws each, acceptance {n_acc / m:.4f} of {m}, expected {(HI - LO) / 2 / (hi_s - lo_s):.4f}):", p)
    assert min(p.values()) > p_min, p

    # The test's power: flat S_y (Jacobian d S_y / d logA = S_y / 2, not constant) is refused.
    _, log_w, _ = accepted(np.log(rng.uniform(np.exp(lo_s), np.exp(hi_s), m)))
    p_wrong = stats.kstest(log_w, stats.uniform(LO, HI - LO).cdf).pvalue
    print(f"flat S_y instead: KS p-value of logA {p_wrong:.3g} ({log_w.size} draws)")
    assert p_wrong < 1e-6
