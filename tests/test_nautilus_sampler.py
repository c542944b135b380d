"""The nautilus Cobaya sampler (classy_szlite_cobaya.samplers.nautilus) on toy likelihoods
with analytic posteriors and evidences, through cobaya.run: moments, derived parameters,
evidence, -inf regions, output files (cobaya.load_samples, GetDist), resume after an
interruption, and the option / prior / MPI checks.

Tolerances come from the run's own effective sample size n_eff (what the sampler promises):
a weighted mean is known to sd/sqrt(n_eff), an sd to sd sqrt((kurtosis - 1) / (4 n_eff))
(sd/sqrt(2 n_eff) for a Gaussian), and ln Z to <= 1/sqrt(n_eff) (the importance-sampling
error of the shells); tests allow 5 times these (4 for ln Z, plus 0.01 for the bounds' own
volume estimates, which n_eff does not count). Over 12 seeds of the banana run the z-scores
of these errors had rms 0.9-1.2 (means, sds, ln Z): the estimates are neither loose nor
optimistic.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

import cobaya.mpi
from cobaya.model import get_model
from cobaya.run import run
from cobaya.sampler import get_sampler

SAMPLER = "classy_szlite_cobaya.samplers.nautilus"
# Small settings: each run is a few seconds of CPU; n_eff ~ 1000 still resolves means to
# ~0.16 sd at 5 sigma.
FAST = {"n_live": 200, "n_eff": 1000, "n_networks": 1, "seed": 12345,
        "progress_interval": 1000}

# Banana ("twisted Gaussian"): x ~ N(0, SX), y | x ~ N(B x^2, SY). The map (x, y) ->
# (x, y - B x^2) has unit Jacobian, so the density is normalised: Z = 1 / prior volume
# (box wide enough to hold all the mass). E[y] = B SX^2, Var[y] = SY^2 + 2 B^2 SX^4, and
# y's 4th central moment is 60 (B SX^2)^4 (chi2_1) + 6 (2 B^2 SX^4) SY^2 + 3 SY^4.
SX, SY, B = 0.5, 0.2, 1.0
BOX = {"x": (-3.0, 3.0), "y": (-2.0, 6.0)}
Y_MEAN, Y_SD = B * SX**2, math.sqrt(SY**2 + 2 * B**2 * SX**4)
Y_KURT = (60 * (B * SX**2) ** 4 + 12 * B**2 * SX**4 * SY**2 + 3 * SY**4) / Y_SD**4

_interrupt = {"after": None, "calls": 0}


def _norm_logpdf(x, mean, sd):
    """ln N(x; mean, sd) (plain numpy: scipy.stats' per-call overhead dominates a toy run)."""
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))


def banana(x, y):
    """ln L of the banana (normalised density); interrupts (KeyboardInterrupt, as Ctrl-C)
    after ``_interrupt["after"]`` calls when that is set."""
    if _interrupt["after"] is not None:
        _interrupt["calls"] += 1
        if _interrupt["calls"] > _interrupt["after"]:
            raise KeyboardInterrupt
    return _norm_logpdf(x, 0, SX) + _norm_logpdf(y - B * x**2, 0, SY)


def _banana_info(output, **options):
    return {"likelihood": {"banana": banana},
            "params": {"x": {"prior": {"min": BOX["x"][0], "max": BOX["x"][1]}},
                       "y": {"prior": {"min": BOX["y"][0], "max": BOX["y"][1]}},
                       "u": {"derived": "lambda x, y: y - %r * x**2" % B}},
            "sampler": {SAMPLER: {**FAST, **options}},
            "output": str(output)}


def _weighted(collection, name):
    w = collection["weight"].to_numpy()
    v = collection[name].to_numpy()
    mean = np.sum(w * v) / np.sum(w)
    return mean, math.sqrt(np.sum(w * (v - mean) ** 2) / np.sum(w))


@pytest.fixture(scope="module")
def banana_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("banana") / "chain"
    _, sampler = run(_banana_info(out))
    return out, sampler.products()


def test_banana_moments_evidence_derived(banana_run):
    out, products = banana_run
    n_eff = products["n_eff"]
    assert products["converged"] and n_eff >= FAST["n_eff"]
    sample = products["sample"]
    # name: (mean, sd, kurtosis); u is the derived parameter
    expected = {"x": (0.0, SX, 3.0), "y": (Y_MEAN, Y_SD, Y_KURT), "u": (0.0, SY, 3.0)}
    for name, (mean, sd, kurt) in expected.items():
        m, s = _weighted(sample, name)
        assert abs(m - mean) < 5 * sd / math.sqrt(n_eff), (name, m, mean)
        assert abs(s - sd) < 5 * sd * math.sqrt((kurt - 1) / (4 * n_eff)), (name, s, sd)
    log_z = -math.log((BOX["x"][1] - BOX["x"][0]) * (BOX["y"][1] - BOX["y"][0]))
    assert abs(products["logZ"] - log_z) < 4 / math.sqrt(n_eff) + 0.01
    assert products["logZstd"] == pytest.approx(1 / math.sqrt(n_eff))
    # chi2 column = -2 ln L at the stored point (blob bookkeeping is not shuffled)
    x, y = sample["x"].to_numpy(), sample["y"].to_numpy()
    np.testing.assert_allclose(sample["chi2__banana"].to_numpy(), -2 * banana(x, y),
                               rtol=1e-10, atol=1e-10)


def test_banana_output_files(banana_run):
    """PREFIX.1.txt readable by cobaya.load_samples and GetDist (as a nested sample, no
    burn-in dropped), same weighted means; PREFIX.logZ holds the evidence."""
    from cobaya import load_samples
    from cobaya.yaml import yaml_load_file
    from getdist import loadMCSamples

    out, products = banana_run
    sample = products["sample"]
    loaded = load_samples(str(out), combined=True)
    assert len(loaded) == len(sample)
    gd = loadMCSamples(str(out))
    assert gd.numrows == len(sample)
    for name in ("x", "y", "u"):
        m, _ = _weighted(sample, name)
        assert _weighted(loaded, name)[0] == pytest.approx(m, rel=1e-6, abs=1e-8)
        assert gd.mean(name) == pytest.approx(m, rel=1e-6, abs=1e-8)
    evidence = yaml_load_file(str(out) + ".logZ")
    assert evidence["logZ"] == pytest.approx(products["logZ"])
    assert evidence["n_like"] == products["n_like"]


def test_resume_after_interrupt_gives_identical_result(banana_run, tmp_path):
    """Ctrl-C in the middle of a run, then cobaya.run(resume=True): same seed, so the
    resumed run must reproduce the uninterrupted one point by point (nothing lost, nothing
    counted twice)."""
    _, full = banana_run
    out = tmp_path / "chain"
    _interrupt.update(after=int(0.5 * full["n_like"]), calls=0)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(_banana_info(out))
    finally:
        _interrupt.update(after=None, calls=0)
    assert (tmp_path / "chain.nautilus.h5").exists()
    _, sampler = run(_banana_info(out), resume=True)
    resumed = sampler.products()
    assert resumed["n_like"] == full["n_like"]
    assert resumed["logZ"] == full["logZ"]
    a, b = full["sample"], resumed["sample"]
    assert len(a) == len(b)
    for col in ("weight", "x", "y", "u", "chi2__banana"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    # Resuming a finished run does no new likelihood calls and returns the same result.
    _, again = run(_banana_info(out), resume=True)
    assert again.products()["n_like"] == full["n_like"]
    # ... and with a larger n_eff (allowed to change at resume) it samples on to it.
    more = 1.3 * FAST["n_eff"]
    _, extended = run(_banana_info(out, n_eff=more), resume=True)
    extended = extended.products()
    assert extended["n_eff"] >= more and extended["n_like"] > full["n_like"]


def half_gauss(x, y):
    """Unit-normalised 2-d Gaussian, cut to x > 0 (-inf elsewhere)."""
    if x <= 0:
        return -np.inf
    return _norm_logpdf(x, 0, 0.3) + _norm_logpdf(y, 0.1, 0.2)


def test_minus_inf_region():
    """ln L = -inf on half the mass: Z halves and x follows a half-normal."""
    info = {"likelihood": {"half": half_gauss},
            "params": {"x": {"prior": {"min": -2, "max": 2}},
                       "y": {"prior": {"dist": "norm", "loc": 0, "scale": 1}}},
            "sampler": {SAMPLER: FAST}}
    _, sampler = run(info)
    products = sampler.products()
    n_eff = products["n_eff"]
    sample = products["sample"]
    assert np.all(sample["x"].to_numpy() > 0)
    m, s = _weighted(sample, "x")
    hn = scipy.stats.halfnorm(scale=0.3)
    assert abs(m - hn.mean()) < 5 * hn.std() / math.sqrt(n_eff)
    kurt = 3 + float(hn.stats(moments="k"))
    assert abs(s - hn.std()) < 5 * hn.std() * math.sqrt((kurt - 1) / (4 * n_eff))
    # Z = 1/4 (uniform x prior density) * 1/2 (cut) * int N(y; 0.1, 0.2) N(y; 0, 1) dy
    log_z = (math.log(0.25 * 0.5)
             + scipy.stats.norm.logpdf(0.1, 0, math.sqrt(1 + 0.2**2)))
    assert abs(products["logZ"] - log_z) < 4 / math.sqrt(n_eff) + 0.01


@pytest.fixture(scope="module")
def toy_model():
    return get_model({"likelihood": {"banana": banana},
                      "params": {"x": {"prior": {"min": -3, "max": 3}},
                                 "y": {"prior": {"min": -2, "max": 6}}}})


@pytest.mark.parametrize("option, value, error", [
    ("n_live", 0, ValueError), ("n_live", 2, ValueError),  # 2 = n_dim: too few
    ("n_live", 2.5, TypeError), ("n_live", "many", TypeError), ("n_live", True, TypeError),
    ("n_eff", 0, ValueError), ("n_eff", "1e4", TypeError),
    ("f_live", 1.0, ValueError), ("f_live", 0, ValueError),
    ("discard_exploration", 1, TypeError), ("n_like_max", 0, ValueError),
    ("n_batch", 1, ValueError), ("enlarge_per_dim", 0.5, ValueError),
    ("progress_interval", -1, ValueError)
])
def test_bad_options_raise(toy_model, option, value, error):
    with pytest.raises(error, match=option):
        get_sampler({SAMPLER: {option: value}}, toy_model)


def test_integral_float_accepted(toy_model):
    sampler = get_sampler({SAMPLER: {"n_live": 1.0e3, "n_like_max": 2.0e5}}, toy_model)
    assert sampler.n_live == 1000 and isinstance(sampler.n_live, int)


def test_prior_without_inverse_cdf_refused(toy_model, monkeypatch):
    class NoPPF:  # stands in for a prior object without an inverse CDF
        pass

    pdfs = list(toy_model.prior.pdf)
    monkeypatch.setattr(toy_model.prior, "pdf", [pdfs[0], NoPPF()])
    with pytest.raises(ValueError, match="'y'.*cannot be inverted"):
        get_sampler({SAMPLER: {}}, toy_model)


def test_refuses_mpi(toy_model, monkeypatch):
    monkeypatch.setattr(cobaya.mpi, "size", lambda: 2)
    with pytest.raises(Exception, match="not MPI-parallelised"):
        get_sampler({SAMPLER: {}}, toy_model)


@pytest.mark.parametrize("jax_option", [True, False])
def test_jax_batched_path_moments_and_checkpoint(tmp_path, monkeypatch, jax_option):
    """GaussToy (tests/jax_toy.py, with the pure-JAX protocol): the batched JAX likelihood
    (jax: true; a vectorised nautilus run) and Cobaya's per-point path (jax: false) both give
    the analytic means, sds and the derived c = a + b, the evidence of the normalised
    Gaussian in its box, and a checkpoint file (the batched path's first batch is not
    n_batch points)."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from jax_toy import COV, MU, GaussToy
    out = tmp_path / "gauss"
    box = 6.0
    info = {"likelihood": {"gauss": GaussToy},
            "params": {"a": {"prior": {"min": -box, "max": box}},
                       "b": {"prior": {"min": -box, "max": box}}},
            "sampler": {SAMPLER: {**FAST, "jax": jax_option}}, "output": str(out)}
    _, sampler = run(info)
    prod = sampler.products()
    n_eff = prod["n_eff"]
    coll = prod["sample"]
    for i, name in enumerate(("a", "b")):
        mean, sd = _weighted(coll, name)
        assert abs(mean - MU[i]) < 5 * math.sqrt(COV[i, i] / n_eff)
        assert abs(sd / math.sqrt(COV[i, i]) - 1) < 5 / math.sqrt(2 * n_eff)
    c_mean, _ = _weighted(coll, "c")
    assert abs(c_mean - MU.sum()) < 5 * math.sqrt(COV.sum() / n_eff)
    # Z = (2 pi sqrt(det C)) / (2 box)^2: the likelihood is an unnormalised Gaussian.
    log_z = math.log(2 * math.pi * math.sqrt(np.linalg.det(COV)) / (2 * box) ** 2)
    assert abs(prod["logZ"] - log_z) < 4 / math.sqrt(n_eff) + 0.01
    assert (tmp_path / "gauss.nautilus.h5").exists()
