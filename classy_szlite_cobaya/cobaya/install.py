"""Download a dataset described by a manifest, verify every sha256, install atomically.

All files go first into a temporary folder next to the target (same file system, so the final
rename is atomic); the folder is moved into place only when every file has its expected
checksum. On any failure (network, HTTP error, checksum mismatch) the temporary folder is
removed and nothing is installed, so a target folder either holds a complete, verified dataset
or is left as it was.

The download base URL is, in order: the ``base_url`` argument, the environment variable
``CLASSY_SZLITE_COBAYA_DATA_URL``, the manifest's ``base_url``. Any URL scheme that
``urllib`` opens works (``https://``, ``http://``, ``file://``).

Command line (also for datasets other than the likelihood's default)::

    python -m classy_szlite_cobaya.cobaya.install planck2015_ymap -p PACKAGES
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .datasets import DatasetManifest, load_manifest

__all__ = [
    "DATA_URL_ENV",
    "DataInstallError",
    "resolve_base_url",
    "dataset_dir",
    "verify_dataset",
    "is_dataset_installed",
    "install_dataset",
    "main",
]

#: Environment variable overriding every manifest's download base URL.
DATA_URL_ENV = "CLASSY_SZLITE_COBAYA_DATA_URL"

_CHUNK = 1 << 16
_log = logging.getLogger(__name__)


class DataInstallError(RuntimeError):
    """Download or verification failed; nothing was installed."""


def resolve_base_url(manifest: DatasetManifest, base_url: str | None = None) -> str:
    """Base URL to download from: argument, then ``$CLASSY_SZLITE_COBAYA_DATA_URL``, then the
    manifest's. Always ends with ``/`` so file names join onto it."""
    url = base_url or os.environ.get(DATA_URL_ENV) or manifest.base_url
    return url if url.endswith("/") else url + "/"


def _url_source(base_url: str | None) -> str:
    if base_url:
        return "the caller"
    return f"${DATA_URL_ENV}" if os.environ.get(DATA_URL_ENV) else "the manifest"


def dataset_dir(packages_path: str | os.PathLike, manifest: DatasetManifest) -> Path:
    """Cobaya's layout: ``<packages_path>/data/<dataset name>``."""
    return Path(packages_path) / "data" / manifest.name


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_dataset(manifest: DatasetManifest, directory: str | os.PathLike) -> list[str]:
    """Problems with an installed copy (missing files, wrong checksums); empty if it is good."""
    directory = Path(directory)
    problems = []
    for entry in manifest.files.values():
        path = directory / entry.name
        if not path.is_file():
            problems.append(f"missing {path}")
        elif (got := _sha256(path)) != entry.sha256:
            problems.append(f"sha256 mismatch for {path}: expected {entry.sha256}, got {got}")
    return problems


def is_dataset_installed(manifest: DatasetManifest, directory: str | os.PathLike) -> bool:
    """True if every manifest file is present in ``directory`` with its sha256."""
    return not verify_dataset(manifest, directory)


def _download(url: str, dest: Path, timeout: float) -> str:
    """Stream ``url`` into ``dest``; return the sha256 of what was written."""
    h = hashlib.sha256()
    req = urllib.request.Request(url, headers={"User-Agent": "classy_szlite_cobaya-installer"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        while chunk := resp.read(_CHUNK):
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest()


def install_dataset(
    manifest: DatasetManifest | str,
    target: str | os.PathLike,
    base_url: str | None = None,
    *,
    force: bool = False,
    timeout: float = 60.0,
    logger: logging.Logger | None = None,
) -> Path:
    """Download every file of ``manifest`` into ``target`` (a folder), verified by sha256.

    Returns ``target``. If ``target`` already holds a verified copy and ``force`` is false,
    nothing is downloaded. Raises :class:`DataInstallError` (nothing installed, ``target``
    untouched) on any download or checksum failure.
    """
    log = logger or _log
    if not isinstance(manifest, DatasetManifest):
        manifest = load_manifest(manifest)
    target = Path(target).resolve()
    if not force and target.is_dir() and is_dataset_installed(manifest, target):
        log.info("Dataset '%s' already installed and verified in %s", manifest.name, target)
        return target
    url_base = resolve_base_url(manifest, base_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same parent as the target: the final os.replace is then a rename on one file system.
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        for entry in manifest.files.values():
            url = url_base + urllib.parse.quote(entry.name)
            log.info("Downloading %s", url)
            try:
                got = _download(url, tmp / entry.name, timeout)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise DataInstallError(
                    f"Could not download '{entry.name}' of dataset '{manifest.name}' from "
                    f"{url}: {exc}. Nothing was installed (base URL from {_url_source(base_url)})."
                ) from exc
            if got != entry.sha256:
                raise DataInstallError(
                    f"Checksum mismatch for '{entry.name}' of dataset '{manifest.name}' "
                    f"downloaded from {url}: expected sha256 {entry.sha256}, got {got}. "
                    "The file is corrupted or not the published one; nothing was installed."
                )
        # Everything verified: swap the complete folder in. An old copy is moved aside first
        # and deleted only after the new one is in place.
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "content")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("Dataset '%s' installed and verified in %s", manifest.name, target)
    return target


def main(argv=None) -> int:
    """``python -m classy_szlite_cobaya.cobaya.install DATASET -p PACKAGES [--url URL]``."""
    parser = argparse.ArgumentParser(
        description="Download a classy_szlite_cobaya dataset into a Cobaya packages path "
        "(<packages>/data/<dataset>), verifying sha256 checksums."
    )
    parser.add_argument("dataset", nargs="?", default="planck2015_ymap",
                        help="manifest name or path to a manifest YAML (default planck2015_ymap)")
    parser.add_argument("-p", "--packages-path", required=True, help="Cobaya packages path")
    parser.add_argument("--url", default=None,
                        help=f"base URL (default ${DATA_URL_ENV} or the manifest's)")
    parser.add_argument("-f", "--force", action="store_true", help="re-download even if installed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest = load_manifest(args.dataset)
    try:
        install_dataset(manifest, dataset_dir(args.packages_path, manifest), args.url,
                        force=args.force)
    except DataInstallError as exc:
        _log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
