"""Command-line errors: every bad numeric option is refused while the command line is parsed
(argparse, exit 2) and a missing dataset before anything is fitted (one line ``error: ...``,
exit 1); ``python -m`` entry points run without runpy's warning; JAX's libtpu notice is not
printed."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classy_szlite_cobaya import cli

REPO = Path(__file__).resolve().parents[1]
PROFILE_YAML = str(REPO / "input_yamls" / "tsz_profile.yaml")
MISSING_YAML = "/nonexistent/never.yaml"   # parsing must fail before this is opened

BAD_OPTIONS = [
    ("map", ["--starts", "0"]),
    ("map", ["--maxiter", "0"]),
    ("map", ["--seed", "-3"]),
    ("plot", ["--burn-in", "-0.1"]),
    ("plot", ["--burn-in", "nan"]),
]


def _env():
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.pop("COBAYA_PACKAGES_PATH", None)
    return env


@pytest.mark.parametrize("command, option", BAD_OPTIONS,
                         ids=[f"{c} {' '.join(o)}" for c, o in BAD_OPTIONS])
def test_bad_numeric_option_is_refused_at_parse_time(command, option, capsys):
    target = "/nonexistent/chain" if command == "plot" else MISSING_YAML
    with pytest.raises(SystemExit) as exc:
        cli.main([command, target, *option])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    # argparse: usage, then one line "prog: error: argument --x: <why>, got <value>"
    assert err[-1].startswith(f"classy-szlite-cobaya {command}: error: argument {option[0]}")
    assert "got" in err[-1]


def test_missing_data_is_one_line_with_the_install_hint(tmp_path):
    """The real console script: no traceback, no duplicate Cobaya log line, exit 1."""
    empty = tmp_path / "packages"
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "classy_szlite_cobaya.cli", "map", PROFILE_YAML,
         "-p", str(empty)],
        capture_output=True, text=True, timeout=300, env=_env(), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    assert err[0].startswith("error: ") and "not installed" in err[0]
    assert "cobaya-install" in err[0] and f"-p {empty}" in err[0]
    assert list(tmp_path.iterdir()) == [empty] and not list(empty.iterdir())  # nothing written


def test_logged_errors_are_reported_once_and_other_errors_kept(caplog, capsys):
    """run_reporting_errors: the message of the LoggedError it reports is not logged a
    second time; an unrelated ERROR record is still emitted."""
    from cobaya.log import LoggedError

    log = logging.getLogger("classy_szlite_cobaya.test_cli")

    def run(args):
        log.error("an unrelated error record")
        raise LoggedError(log, "dataset %s is missing", "x")

    with caplog.at_level(logging.INFO):
        assert cli.run_reporting_errors(run, None) == 1
    assert capsys.readouterr().err == "error: dataset x is missing\n"
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["an unrelated error record"]


@pytest.mark.parametrize("module", ["classy_szlite_cobaya.cobaya.install",
                                    "classy_szlite_cobaya.inference.optimize",
                                    "classy_szlite_cobaya.plot"])
def test_python_m_entry_points_have_no_runpy_warning(module):
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
                          capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and "usage:" in proc.stdout


def test_components_are_found_by_cobaya_through_the_package():
    """The package imports its classes lazily (no eager import of .install); Cobaya's
    lookup by ``getattr`` still finds them."""
    from cobaya.component import get_component_class

    from classy_szlite_cobaya.cobaya.likelihood import PlanckYMap2015
    from classy_szlite_cobaya.cobaya.theory import TSZCosmology, TSZPowerSpectrum

    for cls in (PlanckYMap2015, TSZCosmology, TSZPowerSpectrum):
        assert get_component_class(f"classy_szlite_cobaya.cobaya.{cls.__name__}") is cls
    import classy_szlite_cobaya.cobaya as components
    with pytest.raises(AttributeError):
        components.NoSuchComponent


def test_libtpu_notice_is_dropped_and_nothing_else():
    import classy_szlite_cobaya  # noqa: F401  (installs the filter)

    logger = logging.getLogger("jax._src.xla_bridge")

    def kept(msg):
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, msg, (), None)
        return all(f.filter(record) for f in logger.filters)

    # JAX 0.4-0.10 wording when libtpu is not installed
    assert not kept("Unable to initialize backend 'tpu': INTERNAL: Failed to open libtpu.so: "
                    "libtpu.so: cannot open shared object file: No such file or directory")
    assert kept("Unable to initialize backend 'tpu': ABORTED: The TPU is already in use by "
                "process with pid 1. Not attempting to load libtpu.so in this process.")
    assert kept("Unable to initialize backend 'cuda': no supported devices found")
    assert kept("A Google TPU may be present on this machine, but either a TPU-enabled "
                "jaxlib or libtpu is not installed. Falling back to cpu.")


def test_no_libtpu_notice_at_info_level():
    """What ``cobaya-run`` shows (logging at INFO): the package import, then a JAX op."""
    code = ("import logging; logging.basicConfig(level=logging.INFO); "
            "import classy_szlite_cobaya, jax.numpy as jnp; jnp.ones(3).sum().block_until_ready()")
    env = _env()
    env.pop("JAX_PLATFORMS")    # the TPU probe runs only when JAX chooses the platform
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "libtpu" not in proc.stderr, proc.stderr
