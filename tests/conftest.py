"""Shared fixtures: a local http copy of the Planck 2015 y-map data and an installed packages dir.

The data source is the read-only copy in ``../shared/data/planck2015_ymap`` (next to the
checkout); if that is absent, the files are downloaded once from the public base URL of the
manifest (checksummed). Either way the install under test runs over http from 127.0.0.1.
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from classy_szlite_cobaya.cobaya.install import DATA_URL_ENV

REPO = Path(__file__).resolve().parents[1]
_SHARED_CANDIDATES = (REPO.parent / "shared" / "data" / "planck2015_ymap",
                      Path("/work/shared/data/planck2015_ymap"))


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
    for cand in _SHARED_CANDIDATES:
        if cand.is_dir():
            return cand
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
