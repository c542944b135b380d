"""NUTS as a Cobaya sampler (classy_szlite_cobaya.samplers.nuts) and the pure-JAX posterior of
a Cobaya model (samplers.jax_model): agreement with Cobaya's own logpost, posterior moments on
a toy Gaussian against the analytic ones, errors, resume (also after a kill) and MPI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from cobaya import load_samples, run
from cobaya.log import LoggedError
from cobaya.model import get_model

sys.path.insert(0, str(Path(__file__).parent))
from jax_toy import COV, MU, CliffToy, GaussToy, NoJaxToy  # noqa: E402

from classy_szlite_cobaya.samplers.jax_model import JaxModel, JaxSupportError  # noqa: E402
from classy_szlite_cobaya.samplers.nuts import rminus1_of_means  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLER = "classy_szlite_cobaya.samplers.nuts"
PRIOR_B = (0.0, 1.0)  # norm prior on b: loc, scale


def toy_info(like=GaussToy, output=None, **options):
    opts = {"warmup": 200, "draws": 4000, "check_every": 500, "seed": 3, **options}
    info = {"likelihood": {"toy": {"external": like}},
            "params": {"a": {"prior": {"min": -10, "max": 10}, "ref": 0.0},
                       "b": {"prior": {"dist": "norm", "loc": PRIOR_B[0], "scale": PRIOR_B[1]},
                             "ref": {"dist": "norm", "loc": 0.0, "scale": 0.1}},
                       "c": {"derived": True},
                       "d": {"derived": "lambda a, c: a * c"}},
            "sampler": {SAMPLER: opts}}
    if output is not None:
        info["output"] = str(output)
    return info


def analytic_posterior():
    """Mean and covariance of (a, b): Gaussian likelihood times the norm prior on b (the
    uniform prior on a, +-10 for an sd ~1, truncates nothing measurable)."""
    prec_like = np.linalg.inv(COV)
    prec = prec_like + np.diag([0.0, 1.0 / PRIOR_B[1] ** 2])
    cov = np.linalg.inv(prec)
    mean = cov @ (prec_like @ MU + np.array([0.0, PRIOR_B[0] / PRIOR_B[1] ** 2]))
    return mean, cov


# ------------------------------------------------------------------ JAX posterior vs Cobaya
def test_jax_model_matches_cobaya_logpost_and_derived():
    model = get_model({k: v for k, v in toy_info().items() if k != "sampler"})
    jm = JaxModel(model)
    rng = np.random.default_rng(0)
    for x in model.prior.sample(20, random_state=rng):
        ref = model.logposterior(x)
        post, lp, ll, out = jm.evaluate(x)
        assert float(post) == pytest.approx(ref.logpost, rel=1e-10, abs=1e-12)
        assert float(lp) == pytest.approx(ref.logprior, rel=1e-12)
        np.testing.assert_allclose(np.asarray(ll), ref.loglikes, rtol=1e-10)
        derived = jm.derived(x, ll, out)
        assert list(derived) == list(model.parameterization.derived_params())
        np.testing.assert_allclose(list(derived.values()), ref.derived, rtol=1e-10)
    # outside the prior: -inf, as Cobaya
    assert float(jm.logpost(np.array([11.0, 0.0]))) == -np.inf


def test_jax_model_refuses_what_it_cannot_represent():
    base = {k: v for k, v in toy_info().items() if k != "sampler"}
    with pytest.raises(JaxSupportError, match="'toy'.*get_jax_function"):
        JaxModel(get_model({**base, "likelihood": {"toy": {"external": NoJaxToy}},
                            "params": {"a": base["params"]["a"], "b": base["params"]["b"]}}))
    bad = {**base, "params": {**base["params"],
                              "b": {"prior": {"dist": "lognorm", "s": 1.0}}}}
    with pytest.raises(JaxSupportError, match="Parameter b.*lognorm"):
        JaxModel(get_model(bad))
    func = {**base, "params": {**base["params"], "a_in": {"prior": {"min": -1, "max": 1},
                                                          "drop": True},
                               "a": {"value": "lambda a_in: 2 * a_in", "derived": False}}}
    with pytest.raises(JaxSupportError, match=r"\['a'\].*functions"):
        JaxModel(get_model(func))


def test_rminus1_of_means_matches_definition():
    # Two chains, 1 parameter: B = var of means (ddof 1), W = mean variance.
    r = rminus1_of_means(np.array([[0.0], [1.0]]), np.array([[[2.0]], [[2.0]]]), [10, 10])
    assert r == pytest.approx(0.5 / 2.0)


# ------------------------------------------------------------------ sampler
def test_nuts_sampler_moments_output_and_errors(tmp_path):
    # >= 2 checks of 1000 draws: enough for the tolerances below
    info = toy_info(output=tmp_path / "toy", check_every=1000)
    _, sampler = run(info)
    assert sampler.converged
    data = sampler.products()["sample"].data  # in memory: full precision
    saved = load_samples(str(tmp_path / "toy"), combined=True).data
    assert list(saved.columns) == list(data.columns) and len(saved) == len(data)
    # the text files hold 8 significant digits
    np.testing.assert_allclose(saved.to_numpy(), data.to_numpy(), rtol=1e-7, atol=1e-12)
    assert np.all(data["weight"] == 1.0)
    n = len(data)
    assert n % 1000 == 0 and n >= 2000
    mean, cov = analytic_posterior()
    sd = np.sqrt(np.diag(cov))
    x = data[["a", "b"]].to_numpy()
    # NUTS draws of a Gaussian are nearly independent: with >= 2000 draws, 0.1 sd is > 4
    # standard errors of the mean and 5% > 3 standard errors of the sd.
    np.testing.assert_array_less(np.abs(x.mean(0) - mean) / sd, 0.1)
    np.testing.assert_array_less(np.abs(x.std(0) / sd - 1), 0.05)
    # columns as Cobaya writes them
    np.testing.assert_allclose(data["c"], data["a"] + data["b"], rtol=1e-12)
    np.testing.assert_allclose(data["d"], data["a"] * data["c"], rtol=1e-12)
    r = x - MU
    chi2 = np.einsum("ni,ij,nj->n", r, np.linalg.inv(COV), r)
    np.testing.assert_allclose(data["chi2__toy"], chi2, rtol=1e-10)
    logprior = -np.log(20.0) - 0.5 * data["b"] ** 2 - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(data["minuslogpost"], 0.5 * chi2 - logprior, rtol=1e-10)
    # GetDist reads the files
    from getdist import loadMCSamples
    gd = loadMCSamples(str(tmp_path / "toy"))
    assert gd.getMeans()[gd.index["a"]] == pytest.approx(saved["a"].mean(), rel=1e-10)


def test_nuts_sampler_errors(tmp_path):
    with pytest.raises(LoggedError):
        run({**toy_info(NoJaxToy), "params": {"a": {"prior": {"min": -1, "max": 1}},
                                              "b": {"prior": {"min": -1, "max": 1}}}})
    for opt, value in (("draws", "10"), ("warmup", -1), ("Rminus1_stop", 0),
                       ("target_accept_prob", 1.5), ("dense_mass", "yes"),
                       ("check_every", 2.5)):
        with pytest.raises(LoggedError, match=f"Option {opt} "):
            run(toy_info(**{opt: value}))
    # Divergences fail the run: a wall (log L = -inf for a > 0) inside the prior.
    with pytest.raises(LoggedError, match="divergent"):
        run(toy_info(CliffToy, output=tmp_path / "cliff", warmup=100, check_every=100))
    ckpt = yaml.safe_load((tmp_path / "cliff.checkpoint").read_text())
    assert ckpt["sampler"][SAMPLER]["converged"] is False
    assert sum(ckpt["sampler"][SAMPLER]["divergences"]) > 0


def _rows(prefix):
    return np.loadtxt(f"{prefix}.1.txt")


def test_nuts_resume_keeps_every_draw(tmp_path):
    prefix = tmp_path / "res"
    # Rminus1_stop tiny: the run stops at `draws`, not converged
    run(toy_info(output=prefix, draws=300, check_every=100, Rminus1_stop=1e-9))
    first = _rows(prefix)
    assert first.shape[0] == 300
    ckpt = yaml.safe_load((tmp_path / "res.checkpoint").read_text())["sampler"][SAMPLER]
    assert ckpt["converged"] is False and len(ckpt["adaptation"]) == 1
    _, sampler = run(toy_info(output=prefix, draws=600, check_every=100, Rminus1_stop=1e-9),
                     resume=True)
    after = _rows(prefix)
    assert after.shape[0] == 600
    # nothing lost or rewritten; exactly 300 new draws (the restart point is not re-saved;
    # NUTS may legitimately repeat a draw, so values alone cannot show duplication)
    np.testing.assert_array_equal(after[:300], first)
    assert len(sampler.collection) == 600
    # no second warmup: the kernel keeps the adapted step size
    ckpt2 = yaml.safe_load((tmp_path / "res.checkpoint").read_text())["sampler"][SAMPLER]
    assert ckpt2["adaptation"][0]["step_size"] == ckpt["adaptation"][0]["step_size"]


def test_nuts_resume_drops_rows_after_checkpoint(tmp_path):
    """A kill between writing a chunk and its checkpoint leaves rows the checkpoint does not
    cover, the last one possibly cut: resume keeps exactly the checkpointed rows byte for byte,
    drops the rest, and ends with exactly `draws` draws (a last chunk shorter than
    check_every)."""
    prefix = tmp_path / "torn"
    run(toy_info(output=prefix, draws=300, check_every=100, Rminus1_stop=1e-9))
    chain = Path(f"{prefix}.1.txt")
    good = chain.read_text()
    lines = good.splitlines(keepends=True)
    assert len(lines) == 301
    # half a chunk after the checkpoint, the last line cut mid-number
    chain.write_text(good + "".join(lines[1:41]) + lines[41][:25])
    run(toy_info(output=prefix, draws=650, check_every=100, Rminus1_stop=1e-9), resume=True)
    after = chain.read_text()
    assert after.startswith(good)
    assert len(after.splitlines()) == 1 + 650
    assert not list(tmp_path.glob("*.tmp"))
    ckpt = yaml.safe_load((tmp_path / "torn.checkpoint").read_text())["sampler"][SAMPLER]
    assert ckpt["saved_draws"] == [650]


def test_nuts_resume_without_checkpoint_starts_again(tmp_path):
    """Killed before its first checkpoint: nothing is trusted, the chain starts from scratch
    (with a warmup): the seeded run reproduces the uninterrupted one draw for draw."""
    prefix = tmp_path / "early"
    run(toy_info(output=prefix, draws=200, check_every=100, Rminus1_stop=1e-9))
    chain = Path(f"{prefix}.1.txt")
    first = _rows(prefix)
    (tmp_path / "early.checkpoint").unlink()
    lines = chain.read_text().splitlines(keepends=True)
    chain.write_text("".join(lines[:31]) + lines[31][:10])
    run(toy_info(output=prefix, draws=200, check_every=100, Rminus1_stop=1e-9), resume=True)
    np.testing.assert_array_equal(_rows(prefix), first)


def _cobaya_run_cmd(yaml_path, *args, mpi=0):
    exe = Path(sys.executable).parent
    cmd = [str(exe / "cobaya-run"), str(yaml_path), *args]
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests"),
                                           os.environ.get("PYTHONPATH", "")]))
    if mpi:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        cmd = [str(exe / "mpirun"), "-n", str(mpi), "--allow-run-as-root", "--oversubscribe",
               *cmd]
    return cmd, env


def _toy_yaml(path, output, **options):
    info = toy_info(**options)
    info["likelihood"] = {"jax_toy.GaussToy": None}
    info["output"] = str(output)
    path.write_text(yaml.safe_dump(info))
    return path


@pytest.mark.slow
def test_nuts_resume_after_kill(tmp_path):
    """cobaya-run killed (SIGKILL) after some chunks were written; -r continues: the rows the
    last checkpoint covers are kept byte for byte and the total is exactly `draws`."""
    prefix = tmp_path / "kill"
    # many draws: the toy chain writes its chunks within milliseconds, and the kill must come
    # before the run ends
    y = _toy_yaml(tmp_path / "kill.yaml", prefix, draws=20000, check_every=100,
                  Rminus1_stop=1e-9)
    cmd, env = _cobaya_run_cmd(y)
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    chain = Path(f"{prefix}.1.txt")
    t0 = time.time()
    try:
        while time.time() - t0 < 300:
            if chain.exists() and len(chain.read_text().splitlines()) > 1 + 300:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no draws written in 300 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = chain.read_text().splitlines(keepends=True)
    assert 300 <= len(before) - 1 < 20000
    kept = yaml.safe_load((tmp_path / "kill.checkpoint").read_text())["sampler"][SAMPLER][
        "saved_draws"][0]
    assert 100 <= kept <= len(before) - 1
    out = subprocess.run(cmd + ["-r"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    after = chain.read_text().splitlines(keepends=True)
    assert len(after) == 1 + 20000
    assert after[:1 + kept] == before[:1 + kept]
    assert f"Resuming from draw {kept} " in out.stdout + out.stderr


@pytest.mark.slow
def test_nuts_mpi_two_chains(tmp_path):
    """mpirun -n 2 cobaya-run: one chain per process, R-1 of means across the 2 chains."""
    prefix = tmp_path / "mpi"
    y = _toy_yaml(tmp_path / "mpi.yaml", prefix, check_every=500, Rminus1_stop=0.01)
    cmd, env = _cobaya_run_cmd(y, mpi=2)
    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "R-1 of means across 2 chains" in log and "Converged" in log
    c1, c2 = _rows(prefix), np.loadtxt(f"{prefix}.2.txt")
    assert c1.shape == c2.shape and not np.array_equal(c1[:, 2:4], c2[:, 2:4])
    data = load_samples(str(prefix), combined=True).data
    mean, cov = analytic_posterior()
    sd = np.sqrt(np.diag(cov))
    x = data[["a", "b"]].to_numpy()
    np.testing.assert_array_less(np.abs(x.mean(0) - mean) / sd, 0.1)
    ckpt = yaml.safe_load(Path(f"{prefix}.checkpoint").read_text())["sampler"][SAMPLER]
    assert ckpt["mpi_size"] == 2 and len(ckpt["adaptation"]) == 2 and ckpt["converged"]


# ------------------------------------------------------------------ the y-map model
def _ymap_model(yaml_name, packages, only_ymap=False):
    from classy_szlite_cobaya.safe_yaml import load_yaml_file

    info = load_yaml_file(REPO / "input_yamls" / yaml_name, "input YAML")
    info = {k: v for k, v in info.items() if k not in ("sampler", "output")}
    if only_ymap:
        info["likelihood"] = {k: v for k, v in info["likelihood"].items() if "YMap" in k}
    info["packages_path"] = str(packages)
    return get_model(info)


def _check_ymap_jax_vs_cobaya(model, n, grad=False):
    import jax

    jm = JaxModel(model)
    evaluate = jax.jit(jm.evaluate)
    rng = np.random.default_rng(7)
    n_finite = 0
    for x in model.prior.sample(20 * n, random_state=rng):
        ref = model.logposterior(x)
        post, _, ll, out = evaluate(x)
        if not np.isfinite(ref.logpost):      # e.g. ln_S_y needing logA outside the box
            assert not np.isfinite(float(post))
            continue
        n_finite += 1
        if n_finite > n:
            break
        assert float(post) == pytest.approx(ref.logpost, rel=1e-8)
        np.testing.assert_allclose(np.asarray(ll), ref.loglikes, rtol=1e-8)
        np.testing.assert_allclose(list(jm.derived(x, ll, out).values()), ref.derived,
                                   rtol=1e-8)
    if grad:  # what NUTS differentiates (compiling it costs ~20 s on 2 cores)
        g = jax.grad(jm.log_density_unconstrained)(jm.to_unconstrained(x))
        assert np.all(np.isfinite(np.asarray(g)))


def test_ymap_fixed_cosmology_jax_equals_cobaya(installed_ymap_packages):
    """tsz_profile.yaml (cosmology fixed: the factory is built once at trace time)."""
    _check_ymap_jax_vs_cobaya(_ymap_model("tsz_profile.yaml", installed_ymap_packages), 5)


@pytest.mark.slow
def test_ymap_full_pipeline_jax_equals_cobaya(installed_ymap_packages):
    """tsz.yaml (cosmology sampled: emulator -> halo model traced end to end)."""
    _check_ymap_jax_vs_cobaya(_ymap_model("tsz.yaml", installed_ymap_packages), 3, grad=True)


@pytest.mark.slow
def test_ymap_bolliet2018_emulator_jax_equals_cobaya(installed_ymap_packages):
    """tsz_bolliet2018_emulator.yaml: A_s sampled linearly, three 0.02 eV neutrinos fixed, cb
    mass function, masses in Msun/h, z from 1e-5; points outside the emulator box (H0, A_s)
    are -inf in both."""
    _check_ymap_jax_vs_cobaya(
        _ymap_model("tsz_bolliet2018_emulator.yaml", installed_ymap_packages), 2)


@pytest.mark.slow
def test_ymap_provider_mode_refused_by_name(installed_ymap_packages):
    """A component without a JAX version (classy; TSZCosmology in provider mode) is named."""
    pytest.importorskip("classy")
    model = _ymap_model("tsz_classy.yaml", installed_ymap_packages, only_ymap=True)
    with pytest.raises(JaxSupportError, match="'classy'"):
        JaxModel(model)


@pytest.mark.slow
def test_failed_run_stays_failed_on_resume(tmp_path):
    """Divergences are counted over the whole run: resuming a failed run does not reset them."""
    prefix = tmp_path / "cliff"
    info = toy_info(CliffToy, output=prefix, warmup=100, check_every=100, max_divergences=0)
    with pytest.raises(LoggedError, match="divergent"):
        run(info)
    ckpt_file = Path(f"{prefix}.checkpoint")
    ckpt = yaml.safe_load(ckpt_file.read_text())
    assert sum(ckpt["sampler"][SAMPLER]["divergences"]) > 0
    # a count no 100 new draws can reach: the resumed total must start from it
    ckpt["sampler"][SAMPLER]["divergences"] = [1000]
    ckpt_file.write_text(yaml.safe_dump(ckpt))
    with pytest.raises(LoggedError, match="divergent"):
        run(info, resume=True)
    assert yaml.safe_load(ckpt_file.read_text())["sampler"][SAMPLER]["divergences"][0] >= 1000
