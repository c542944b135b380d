"""Dataset installer under faults: a misbehaving http server on 127.0.0.1, hostile dataset
names, concurrent installs, unwritable targets, ``--force`` over user files, permissions.

The fault server serves the real y-map files at ``http://127.0.0.1:PORT/<mode>/<file>``;
``mode`` picks the misbehaviour (see :class:`_FaultHandler`). Every failure must be one
:class:`DataInstallError` with a one-line message, leave the target as it was, and leave no
``.partial-*`` / ``.old-*`` folder; nothing may ever be written outside the packages path.
"""
from __future__ import annotations

import collections
import http.server
import itertools
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classy_szlite_cobaya.cobaya.datasets import DatasetError, load_manifest
from classy_szlite_cobaya.cobaya.install import (DATA_URL_ENV, DataInstallError, dataset_dir,
                                                 install_dataset, main, verify_dataset)

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "data" / "planck2015_ymap.yaml"
NAME = "planck2015_ymap"
BAD_NAMES = ["../../x", "/abs", "..", ".", "", "a/b", "a\\b", ".hidden", "x/../../y", "~"]
# How long the slow modes keep a connection open before giving up on their own.
_SLOW_MAX_S = 6.0


def leftovers(root: Path) -> list[str]:
    """Installer temporaries anywhere under ``root``."""
    return [str(p) for p in root.rglob("*") if ".partial-" in p.name or ".old-" in p.name]


def tree(root: Path) -> set[Path]:
    return set(root.rglob("*"))


class _FaultHandler(http.server.BaseHTTPRequestHandler):
    """GET /<mode>/<file>. Modes: ok; slowok (0.3 s pause, then ok); 404; 500; flaky (500 on
    the first request of each file, then ok); truncate (Content-Length larger than the bytes
    sent, then close); wrong (one byte changed); trickle (1 byte every 50 ms); stall (headers
    never sent)."""

    source: Path = None
    counts: collections.Counter = None
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", length=None):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server API)
        try:
            _, mode, fname = self.path.split("/", 2)
        except ValueError:
            return self._send(400)
        with self.lock:
            self.counts[mode, fname] += 1
            first = self.counts[mode, fname] == 1
        path = self.source / fname
        if mode == "404" or not path.is_file():
            return self._send(404, b"not found")
        if mode == "500" or (mode == "flaky" and first):
            return self._send(500, b"server error")
        body = path.read_bytes()
        try:
            if mode == "slowok":
                time.sleep(0.3)
            if mode in ("ok", "slowok", "flaky"):
                return self._send(200, body)
            if mode == "wrong":
                raw = bytearray(body)
                raw[len(raw) // 2] ^= 0x01
                return self._send(200, bytes(raw))
            if mode == "truncate":
                return self._send(200, body[: len(body) // 2], length=len(body) + 100)
            t_end = time.monotonic() + _SLOW_MAX_S
            if mode == "stall":
                time.sleep(_SLOW_MAX_S)
                return None
            if mode == "trickle":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(len(body)):
                    if time.monotonic() > t_end:
                        return None
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
                return None
            return self._send(400)
        except (BrokenPipeError, ConnectionResetError):
            return None


@pytest.fixture(scope="module")
def fault_server(ymap_source_dir):
    """``url(mode) -> base URL`` of the fault server, and its per-(mode, file) GET counts."""
    handler = type("Handler", (_FaultHandler,),
                   {"source": Path(ymap_source_dir), "counts": collections.Counter()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    class Server:
        counts = handler.counts

        @staticmethod
        def url(mode):
            return f"http://127.0.0.1:{port}/{mode}/"

    yield Server
    server.shutdown()
    server.server_close()


@pytest.fixture
def manifest():
    return load_manifest(NAME)


def _assert_failed_cleanly(exc_info, target: Path, root: Path):
    msg = str(exc_info.value)
    assert exc_info.type is DataInstallError
    assert "\n" not in msg and msg
    assert not target.exists()
    assert leftovers(root) == []


# ----------------------------------------------------------------------------- HTTP faults
def test_truncated_body_is_one_clean_error(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    with pytest.raises(DataInstallError, match="Could not download 'data_ps.*IncompleteRead") as e:
        install_dataset(manifest, target, fault_server.url("truncate"), retries=0)
    _assert_failed_cleanly(e, target, tmp_path)


def test_trickling_server_cut_at_overall_deadline(tmp_path, fault_server, manifest):
    # 1 byte per 50 ms keeps every read well inside the 30 s per-read timeout; only the
    # overall deadline (2 s) stops it.
    target = dataset_dir(tmp_path / "pkgs", manifest)
    t0 = time.monotonic()
    with pytest.raises(DataInstallError, match="deadline of 2 s exceeded") as e:
        install_dataset(manifest, target, fault_server.url("trickle"), timeout=30, deadline=2,
                        retries=0)
    elapsed = time.monotonic() - t0
    assert 2.0 <= elapsed < 3.5, elapsed
    _assert_failed_cleanly(e, target, tmp_path)


def test_stalled_server_cut_at_overall_deadline(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    t0 = time.monotonic()
    with pytest.raises(DataInstallError, match="deadline of 1 s exceeded") as e:
        install_dataset(manifest, target, fault_server.url("stall"), timeout=30, deadline=1,
                        retries=3)
    assert time.monotonic() - t0 < 2.5
    _assert_failed_cleanly(e, target, tmp_path)


@pytest.mark.parametrize("code", [404, 500])
def test_http_error_is_one_clean_error(tmp_path, fault_server, manifest, code):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    with pytest.raises(DataInstallError, match=f"Could not download 'data_ps.*{code}") as e:
        install_dataset(manifest, target, fault_server.url(str(code)), retries=0)
    _assert_failed_cleanly(e, target, tmp_path)


def test_transient_500_is_retried(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    install_dataset(manifest, target, fault_server.url("flaky"), retries=1)
    assert verify_dataset(manifest, target) == []
    for entry in manifest.files.values():  # one failed + one good GET per file
        assert fault_server.counts["flaky", entry.name] == 2
    assert leftovers(tmp_path) == []


def test_wrong_bytes_rejected(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    with pytest.raises(DataInstallError, match="Checksum mismatch for 'data_ps") as e:
        install_dataset(manifest, target, fault_server.url("wrong"), retries=0)
    _assert_failed_cleanly(e, target, tmp_path)


def test_file_url_scheme(tmp_path, ymap_source_dir, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    install_dataset(manifest, target, Path(ymap_source_dir).as_uri())
    assert verify_dataset(manifest, target) == []
    with pytest.raises(DataInstallError, match="Could not download 'data_ps.*No such file"):
        install_dataset(manifest, dataset_dir(tmp_path / "p2", manifest),
                        (tmp_path / "nowhere").as_uri())
    assert leftovers(tmp_path) == []


def test_unsupported_scheme(tmp_path, manifest):
    with pytest.raises(DataInstallError, match="unsupported URL scheme 'gopher'"):
        install_dataset(manifest, dataset_dir(tmp_path / "pkgs", manifest), "gopher://x/")
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- file system
def test_target_under_a_regular_file(tmp_path, fault_server, manifest):
    # Works as root too (root ignores permission bits): the packages path is a regular file.
    blocker = tmp_path / "pkgs"
    blocker.write_text("not a folder")
    with pytest.raises(DataInstallError, match="Cannot install dataset.*Not a directory"):
        install_dataset(manifest, dataset_dir(blocker, manifest), fault_server.url("ok"))
    assert blocker.read_text() == "not a folder" and sorted(tmp_path.iterdir()) == [blocker]


def test_target_is_a_regular_file(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    target.parent.mkdir(parents=True)
    target.write_text("user file")
    with pytest.raises(DataInstallError, match="exists and is not a folder"):
        install_dataset(manifest, target, fault_server.url("ok"))
    assert target.read_text() == "user file" and leftovers(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores permission bits; test_target_under_a_regular_file "
                           "covers an unwritable target as root")
def test_read_only_packages_path(tmp_path, fault_server, manifest):
    pkgs = tmp_path / "pkgs"
    (pkgs / "data").mkdir(parents=True)
    (pkgs / "data").chmod(0o555)
    try:
        with pytest.raises(DataInstallError, match="Cannot install dataset.*Permission denied"):
            install_dataset(manifest, dataset_dir(pkgs, manifest), fault_server.url("ok"))
    finally:
        (pkgs / "data").chmod(0o755)
    assert list((pkgs / "data").iterdir()) == []


_RO_SCRIPT = """
import json, pathlib, subprocess, sys
from classy_szlite_cobaya.cobaya.datasets import load_manifest
from classy_szlite_cobaya.cobaya.install import (DataInstallError, dataset_dir, install_dataset,
                                                 verify_dataset)
mnt, url = pathlib.Path(sys.argv[1]), sys.argv[2]
m = load_manifest("planck2015_ymap")
good = dataset_dir(mnt / "pk", m)
install_dataset(m, good, url)
subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
out = {}
for key, target, force in (("fresh", dataset_dir(mnt / "pk2", m), False),
                           ("force", good, True), ("again", good, False)):
    try:
        install_dataset(m, target, url, force=force, retries=0)
        out[key] = "installed"
    except DataInstallError as exc:
        out[key] = str(exc)
out["good_kept"] = verify_dataset(m, good) == []
out["entries"] = sorted(p.name for p in mnt.rglob("*"))
print(json.dumps(out))
"""


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0
                         and shutil.which("unshare") and shutil.which("mount")),
                    reason="needs root with unshare/mount for a private read-only mount")
def test_read_only_file_system(tmp_path, ymap_source_dir):
    # As root, permission bits do not stop writes; a read-only mount (in a private mount
    # namespace, invisible to the rest of the machine) does.
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "ro.py"
    script.write_text(_RO_SCRIPT)
    cmd = (f"mount -t tmpfs none '{mnt}' && exec '{sys.executable}' '{script}' '{mnt}' "
           f"'{Path(ymap_source_dir).as_uri()}'")
    run = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True,
                         timeout=300)
    if run.returncode != 0 and "mount" in run.stderr and "permission" in run.stderr.lower():
        pytest.skip(f"cannot mount here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    out = yaml.safe_load(run.stdout.strip().splitlines()[-1])
    for key in ("fresh", "force"):
        assert out[key].startswith("Cannot install dataset") and "Read-only file system" in out[key]
        assert "\n" not in out[key]
    assert out["again"] == "installed"  # verified copy: nothing to write, no error
    assert out["good_kept"]
    assert [e for e in out["entries"] if "partial" in e or "old-" in e] == []


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_installed_permissions_follow_umask(tmp_path, fault_server, manifest, umask):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    old = os.umask(umask)
    try:
        install_dataset(manifest, target, fault_server.url("ok"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~umask
    for entry in manifest.files.values():
        assert stat.S_IMODE((target / entry.name).stat().st_mode) == 0o666 & ~umask


def test_force_keeps_user_files(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    install_dataset(manifest, target, fault_server.url("ok"))
    (target / "my_notes.txt").write_text("mine")
    (target / "my_dir").mkdir()
    damaged = target / manifest.file("data").name
    damaged.write_text("damaged")
    install_dataset(manifest, target, fault_server.url("ok"), force=True)
    assert verify_dataset(manifest, target) == []
    assert (target / "my_notes.txt").read_text() == "mine" and (target / "my_dir").is_dir()
    # A failing forced re-install leaves the copy and the user's files as they were.
    with pytest.raises(DataInstallError):
        install_dataset(manifest, target, fault_server.url("wrong"), force=True, retries=0)
    assert verify_dataset(manifest, target) == []
    assert (target / "my_notes.txt").read_text() == "mine"
    assert leftovers(tmp_path) == []


def test_stale_temporaries_of_a_killed_install_removed(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    for stale in (f".{NAME}.partial-dead", f".{NAME}.old-dead"):
        (target.parent / stale / "x").mkdir(parents=True)
    install_dataset(manifest, target, fault_server.url("ok"))
    assert verify_dataset(manifest, target) == [] and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- concurrency
def test_concurrent_installs_threads(tmp_path, fault_server, manifest):
    target = dataset_dir(tmp_path / "pkgs", manifest)
    errors, barrier = [], threading.Barrier(4)

    def run():
        barrier.wait()
        try:
            install_dataset(manifest, target, fault_server.url("slowok"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    before = {e.name: fault_server.counts["slowok", e.name] for e in manifest.files.values()}
    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert verify_dataset(manifest, target) == [] and leftovers(tmp_path) == []
    # One installer downloaded; the others waited for the lock and found it installed.
    for entry in manifest.files.values():
        assert fault_server.counts["slowok", entry.name] - before[entry.name] == 1


def test_concurrent_installs_processes(tmp_path, fault_server, manifest):
    env = dict(os.environ, **{DATA_URL_ENV: fault_server.url("slowok")})
    cmd = [sys.executable, "-m", "classy_szlite_cobaya.cobaya.install", NAME, "-p",
           str(tmp_path / "pkgs")]
    before = sum(fault_server.counts["slowok", e.name] for e in manifest.files.values())
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert verify_dataset(manifest, dataset_dir(tmp_path / "pkgs", manifest)) == []
    assert leftovers(tmp_path) == []
    after = sum(fault_server.counts["slowok", e.name] for e in manifest.files.values())
    assert after - before == len(manifest.files)  # one process downloaded, one found it done


# ----------------------------------------------------------------------------- names
def _manifest_named(folder: Path, name) -> Path:
    raw = yaml.safe_load(MANIFEST.read_text())
    raw["name"] = name
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("name", BAD_NAMES + [5, None])
def test_malicious_dataset_name_rejected(tmp_path, fault_server, manifest, name):
    sandbox = tmp_path / "sandbox"
    pkgs = sandbox / "a" / "b" / "pkgs"
    pkgs.mkdir(parents=True)
    path = _manifest_named(tmp_path, name)
    with pytest.raises(DatasetError, match=r"dataset 'name' must be a plain folder name .*got "
                       + re.escape(repr(name))):
        load_manifest(path)
    # Bypassing the loader (a hand-built manifest) is refused by the installer too.
    forged = manifest._replace(name=name)
    before = tree(sandbox)
    with pytest.raises(DatasetError, match="plain folder name"):
        dataset_dir(pkgs, forged)
    with pytest.raises(DatasetError, match="plain folder name"):
        install_dataset(forged, pkgs / "data" / str(name), fault_server.url("ok"))
    assert tree(sandbox) == before


def test_target_not_named_after_dataset(tmp_path, fault_server, manifest):
    with pytest.raises(ValueError, match="must be named after the dataset"):
        install_dataset(manifest, tmp_path / "pkgs" / "data" / "other", fault_server.url("ok"))
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- CLI
def test_cli_one_line_errors(tmp_path, fault_server, capsys):
    # stderr may also carry the INFO progress lines; the error itself is one line.
    assert main([NAME, "-p", str(tmp_path / "pkgs"), "--url", fault_server.url("404")]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in err and len(errors) == 1
    assert errors[0].startswith("error: Could not download") and "HTTP 404" in errors[0]
    bad = _manifest_named(tmp_path, "../../x")
    assert main([str(bad), "-p", str(tmp_path / "pkgs")]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in err and len(errors) == 1 and "plain folder name" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.yaml", "pkgs"]


def test_cli_subprocess_error_exit_1(tmp_path):
    bad = _manifest_named(tmp_path, "..")
    run = subprocess.run([sys.executable, "-m", "classy_szlite_cobaya.cobaya.install", str(bad),
                          "-p", str(tmp_path / "pkgs")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not (tmp_path / "pkgs").exists()


# ----------------------------------------------------------------------------- fuzz family
_MODES = ["ok", "404", "500", "truncate", "wrong", "trickle", "stall"]
_NAMES = st.one_of(
    st.sampled_from(BAD_NAMES + [NAME, "ok-name.v2", "a..b", "A_1", "..a", "a" * 101]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
    st.from_regex(r"[A-Za-z0-9._/\\~-]{0,8}", fullmatch=True),
)
_counter = itertools.count()
FUZZ_STATS = collections.Counter()


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=_NAMES, mode=st.sampled_from(_MODES), force=st.booleans(),
       preinstalled=st.booleans())
def test_fuzz_names_and_faults(tmp_path, fault_server, ymap_source_dir, name, mode, force,
                               preinstalled):
    """Random dataset names x server faults: the only outcomes are a verified install at
    <pkgs>/data/<name>, a DatasetError or a DataInstallError; nothing outside <pkgs> is
    created, no temporary folder remains, a pre-existing good copy stays good."""
    root = tmp_path / f"ex{next(_counter)}"
    pkgs = root / "a" / "b" / "pkgs"
    pkgs.mkdir(parents=True)
    manifest_path = _manifest_named(root, name)
    outside_before = tree(root) - tree(pkgs) - {pkgs}
    FUZZ_STATS["cases"] += 1
    try:
        manifest = load_manifest(manifest_path)
    except DatasetError:
        FUZZ_STATS["name rejected"] += 1
        manifest = None
    if manifest is not None:
        target = dataset_dir(pkgs, manifest)
        if preinstalled:
            target.mkdir(parents=True)
            for entry in manifest.files.values():
                shutil.copyfile(Path(ymap_source_dir) / entry.name, target / entry.name)
        try:
            install_dataset(manifest, target, fault_server.url(mode), force=force,
                            deadline=0.5, retries=0)
            outcome = "installed"
        except DataInstallError as exc:
            assert "\n" not in str(exc)
            outcome = "install error"
        FUZZ_STATS[outcome] += 1
        assert target.parent == pkgs / "data" and target.name == manifest.name
        if outcome == "installed" or preinstalled:
            assert verify_dataset(manifest, target) == []
        else:
            assert not target.exists()
        expect_ok = (preinstalled and not force) or mode == "ok"
        assert (outcome == "installed") == expect_ok, (mode, force, preinstalled)
    assert tree(root) - tree(pkgs) - {pkgs} == outside_before
    assert leftovers(root) == []
    shutil.rmtree(root, ignore_errors=True)


def test_zz_fuzz_report():
    """Prints the fuzz family's outcome counts (run with -s to see them)."""
    if FUZZ_STATS:
        print("\ninstaller fuzz:", dict(FUZZ_STATS))
