"""Shared fixtures: a local http copy of the Planck 2015 y-map data and an installed packages dir.

The data source is the read-only copy in ``../shared/data/planck2015_ymap`` (next to the
checkout); if that is absent, the files are downloaded once from the public base URL of the
manifest (checksummed). Either way the install under test runs over http from 127.0.0.1.

Every test session runs with Cobaya's configuration folder in a temporary folder
(``cobaya_config_dir``): ``cobaya-install -p`` stores the packages path in Cobaya's global
config file, and the suite must never change the user's.
"""
from __future__ import annotations

import functools
import http.server
import os
import platform
import threading
from pathlib import Path

import pytest

from classy_szlite_cobaya.cobaya.install import DATA_URL_ENV

REPO = Path(__file__).resolve().parents[1]
SHARED_YMAP = REPO.parent / "shared" / "data" / "planck2015_ymap"

# Environment variables from which Cobaya (cobaya.tools.get_config_path) builds its config
# folder: XDG_CONFIG_HOME (else $HOME/.config) on Linux, $HOME on macOS, LOCALAPPDATA on Windows.
_CONFIG_ENV = {"Linux": "XDG_CONFIG_HOME", "Darwin": "HOME", "Windows": "LOCALAPPDATA"}


def user_cobaya_config_file(environ=None) -> Path | None:
    """The Cobaya config file of the given environment (default: the current one), computed
    as cobaya.tools.get_config_path does, without creating anything."""
    env = os.environ if environ is None else environ
    system = platform.system()
    if system == "Linux":
        base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "~"), ".config")
    elif system == "Darwin":
        base = os.path.join(env.get("HOME", "~"), "Library/Application Support")
    elif system == "Windows" and env.get("LOCALAPPDATA"):
        base = env["LOCALAPPDATA"]
    else:
        return None
    return Path(os.path.expanduser(base)) / "cobaya" / "config.yaml"


def file_state(path: Path | None):
    if path is None or not path.exists():
        return None
    st = path.stat()
    return st.st_mtime_ns, st.st_size, path.read_bytes()


@pytest.fixture(scope="session", autouse=True)
def cobaya_config_dir(tmp_path_factory):
    """Point Cobaya's config folder (in this process and every subprocess) at a temporary
    folder for the whole session, so that ``cobaya-install -p`` and ``cobaya-run`` never read
    or rewrite the user's ``config.yaml``; at the end, check that the user's file is unchanged.
    Yields ``(temporary config folder, the user's config file path, its state before)``."""
    user_file = user_cobaya_config_file()
    before = file_state(user_file)
    base = tmp_path_factory.mktemp("cobaya_config_home")
    var = _CONFIG_ENV.get(platform.system(), "XDG_CONFIG_HOME")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(var, str(base))
        if var != "XDG_CONFIG_HOME":
            mp.setenv("XDG_CONFIG_HOME", str(base))
        yield base, user_file, before
    assert file_state(user_file) == before, f"the test session changed {user_file}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def serve_dir():
    """``serve_dir(path) -> base_url``: serve a folder over http on 127.0.0.1 (random port)
    until the end of the session."""
    servers = []

    def serve(path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(path))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def ymap_source_dir(tmp_path_factory) -> Path:
    """Folder with the five Planck 2015 y-map files: ../shared copy, else a verified download
    from the manifest's public URL (no skip)."""
    if SHARED_YMAP.is_dir():
        return SHARED_YMAP
    from classy_szlite_cobaya.cobaya.install import install_dataset

    target = tmp_path_factory.mktemp("public_download") / "planck2015_ymap"
    saved = os.environ.pop(DATA_URL_ENV, None)  # the public URL, not an override
    try:
        return install_dataset("planck2015_ymap", target)
    finally:
        if saved is not None:
            os.environ[DATA_URL_ENV] = saved


@pytest.fixture(scope="session")
def ymap_url(serve_dir, ymap_source_dir) -> str:
    """Base URL of the y-map files served from 127.0.0.1."""
    return serve_dir(ymap_source_dir)


@pytest.fixture(scope="session")
def installed_ymap_packages(tmp_path_factory, ymap_url) -> Path:
    """A Cobaya packages path with planck2015_ymap installed by the likelihood's own
    ``install`` hook (what ``cobaya-install`` calls), downloading from 127.0.0.1."""
    from classy_szlite_cobaya.cobaya.likelihood import PlanckYMap2015

    packages = tmp_path_factory.mktemp("packages")
    saved = os.environ.get(DATA_URL_ENV)
    os.environ[DATA_URL_ENV] = ymap_url
    try:
        assert PlanckYMap2015.install(path=str(packages)), "y-map data install failed"
    finally:
        if saved is None:
            os.environ.pop(DATA_URL_ENV, None)
        else:
            os.environ[DATA_URL_ENV] = saved
    return packages


@pytest.fixture(autouse=True)
def _release_compiled_before_slow_tests(request):
    """Before each end-to-end (slow) test, drop JAX's compiled executables and tracing caches
    kept by the earlier tests: the full-pipeline NUTS and nested-sampling tests compile
    several GB of XLA programs, and on top of the whole suite's caches that exhausted memory
    (an XLA abort in the middle of a compile)."""
    if request.node.get_closest_marker("slow") is not None:
        import gc
        import jax
        jax.clear_caches()
        gc.collect()
    yield
