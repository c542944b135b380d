"""Download a dataset described by a manifest, verify every sha256, install atomically.

Division of labour with `pooch <https://www.fatiando.org/pooch>`_, which does the per-file
work: pooch fetches each file into a temporary file, checks it against the manifest's sha256
(``known_hash``), moves it into place only if it matches, and retries a failed or corrupted
download (``retry_if_failed``, with a growing pause). HTTP(S) goes through
``pooch.HTTPDownloader`` (requests). What this module adds on top, because pooch works file
by file and has none of it:

* whole-dataset atomicity: every file goes into a hidden ``.<name>.partial-*`` folder next to
  the target (same file system) and is moved into place only when *all* files verified: one
  folder rename for a fresh install; for an existing folder (``force``, or a damaged copy)
  only the manifest's files are replaced, one rename each, and every other file in the
  folder is kept. On any failure the partial folder is removed and nothing changes;
* a lock (``filelock``, file ``.<name>.lock`` next to the dataset folder) so that concurrent
  installs into one packages path run one after the other: a second installer waits, then
  finds the dataset installed and does nothing;
* an overall deadline for the whole download (requests' ``timeout`` is per read, so a server
  trickling bytes would never time out): the transfer runs in a worker thread that the
  installer stops waiting for at the deadline; its output is then discarded;
* ``file://`` URLs (pooch has no downloader for them), normal permissions for the installed
  folder and files (``0o777`` / ``0o666`` minus the umask; pooch's temporary files are
  ``0o600``), dataset names that cannot leave ``<packages_path>/data/``
  (:func:`~.datasets.validate_dataset_name`), and one-line :class:`DataInstallError`
  messages for every failure (HTTP errors, truncated responses, checksum mismatches,
  unwritable targets, deadline).

The download base URL is, in order: the ``base_url`` argument, the environment variable
``CLASSY_SZLITE_COBAYA_DATA_URL``, the manifest's ``base_url``: a ``https://``, ``http://``
or ``file://`` URL of a folder holding the files under their manifest names.

Command line (also for datasets other than the likelihood's default)::

    python -m classy_szlite_cobaya.cobaya.install planck2015_ymap -p PACKAGES
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import filelock
import pooch
import requests

from .datasets import DatasetError, DatasetManifest, load_manifest, validate_dataset_name

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
_USER_AGENT = "classy_szlite_cobaya-installer"
_log = logging.getLogger(__name__)


class DataInstallError(RuntimeError):
    """Download, verification or placement failed; nothing was installed."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


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
    """Cobaya's layout: ``<packages_path>/data/<dataset name>``; the name is re-validated, so
    the result is always a direct child of ``<packages_path>/data``."""
    return Path(packages_path) / "data" / validate_dataset_name(manifest.name, manifest.source)


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
    try:
        return not verify_dataset(manifest, directory)
    except OSError:  # unreadable folder or file: not (usably) installed
        return False


# ----------------------------------------------------------------------------- downloader
class _Sink:
    """File-like ``write``/``flush`` target for the worker thread; after :meth:`cancel` every
    write raises, so an abandoned transfer can never write into the file again."""

    def __init__(self, f):
        self._f = f
        self._lock = threading.Lock()
        self._cancelled = False

    def write(self, data):
        with self._lock:
            if self._cancelled:
                raise DataInstallError("download cancelled")
            return self._f.write(data)

    def flush(self):
        with self._lock:
            if not self._cancelled:
                self._f.flush()

    def cancel(self):
        with self._lock:
            self._cancelled = True


class _DeadlineDownloader:
    """A pooch downloader (``downloader(url, output_file, pooch)``) that enforces one overall
    deadline for all files and all retries, and also serves ``file://`` URLs.

    Failures worth retrying (connection errors, truncated bodies, per-read timeouts, HTTP 5xx,
    408, 429) are raised as ``requests`` exceptions, which pooch's retry loop catches; the
    others (HTTP 4xx, missing local file, deadline) as :class:`DataInstallError`, which it
    does not.
    """

    def __init__(self, deadline_at: float, deadline: float, timeout: float):
        self.deadline_at, self.deadline, self.timeout = deadline_at, deadline, timeout

    def _fetch(self, url: str, sink: _Sink) -> None:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            pooch.HTTPDownloader(timeout=self.timeout, progressbar=False, chunk_size=_CHUNK,
                                 headers={"User-Agent": _USER_AGENT})(url, sink, None)
        elif scheme == "file":
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                shutil.copyfileobj(resp, sink, _CHUNK)
        else:
            raise DataInstallError(f"unsupported URL scheme '{scheme}' (use https, http or file)")

    def __call__(self, url, output_file, pooch_obj, check_only=False):
        if check_only:  # pooch asks this only from Pooch.is_available, which we never call
            raise DataInstallError("availability checks are not supported")
        remaining = self.deadline_at - time.monotonic()
        if remaining <= 0:
            raise DataInstallError(f"overall download deadline of {self.deadline:g} s exceeded")
        outcome: dict = {}

        def work():
            try:
                self._fetch(url, sink)
            except BaseException as exc:  # handed to the installer's thread below
                outcome["exc"] = exc

        with open(output_file, "wb") as f:
            sink = _Sink(f)
            # Daemon thread: if the server stalls past the deadline we stop waiting; the thread
            # ends at its next read timeout or write (which raises once cancelled).
            worker = threading.Thread(target=work, daemon=True, name="dataset-download")
            worker.start()
            worker.join(remaining)
            if worker.is_alive():
                sink.cancel()
                raise DataInstallError(
                    f"overall download deadline of {self.deadline:g} s exceeded (server too slow)")
        exc = outcome.get("exc")
        if exc is None:
            return None
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            status = exc.response.status_code
            if status >= 500 or status in (408, 429):
                raise exc  # transient: pooch retries
            raise DataInstallError(f"HTTP {status} {exc.response.reason}") from exc
        if isinstance(exc, (requests.RequestException, DataInstallError)):
            raise exc
        if isinstance(exc, (urllib.error.URLError, OSError)):
            raise DataInstallError(_one_line(exc)) from exc
        raise DataInstallError(f"{type(exc).__name__}: {_one_line(exc)}") from exc


@contextlib.contextmanager
def _quiet_pooch():
    # pooch logs every download to stderr through its own logger; our logger (or Cobaya's)
    # already reports what happens.
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# ----------------------------------------------------------------------------- installer
def _checked_target(manifest: DatasetManifest, target: str | os.PathLike) -> Path:
    name = validate_dataset_name(manifest.name, manifest.source)
    target = Path(target)
    if target.name != name:
        raise ValueError(
            f"install_dataset: target folder must be named after the dataset ('{name}'), "
            f"got '{target}'; use dataset_dir(packages_path, manifest).")
    # Resolve the parent only: the target itself may be a symlink to the user's data folder.
    return target.parent.resolve() / name


def _remove_stale(parent: Path, name: str) -> None:
    # Called with the lock held: no other installer is running, so these are left-overs of an
    # installer that was killed (the ".old-" ones from earlier versions of this module).
    for pattern in (f".{name}.partial-*", f".{name}.old-*"):
        for p in parent.glob(pattern):
            shutil.rmtree(p, ignore_errors=True)


def _download_all(manifest, url_base, tmp, file_mode, deadline, timeout, retries, source, log):
    downloader = _DeadlineDownloader(time.monotonic() + deadline, deadline, timeout)
    entries = list(manifest.files.values())
    fetcher = pooch.create(
        path=tmp, base_url=url_base, retry_if_failed=retries,
        registry={e.name: f"sha256:{e.sha256}" for e in entries},
        urls={e.name: url_base + urllib.parse.quote(e.name) for e in entries},
    )
    for entry in entries:
        url = fetcher.get_url(entry.name)
        log.info("Downloading %s", url)
        try:
            with _quiet_pooch():
                fetcher.fetch(entry.name, downloader=downloader)
        except ValueError as exc:  # pooch: hash mismatch (after its retries)
            raise DataInstallError(
                f"Checksum mismatch for '{entry.name}' of dataset '{manifest.name}' "
                f"downloaded from {url}: expected sha256 {entry.sha256} ({_one_line(exc)}). "
                "The file is corrupted or not the published one; nothing was installed."
            ) from exc
        except (DataInstallError, requests.RequestException, OSError) as exc:
            raise DataInstallError(
                f"Could not download '{entry.name}' of dataset '{manifest.name}' from {url}: "
                f"{_one_line(exc)}. Nothing was installed (base URL from {source})."
            ) from exc
        os.chmod(tmp / entry.name, file_mode)


def _install_locked(manifest, target, url_base, force, deadline, timeout, retries, source, log):
    name, parent = manifest.name, target.parent
    _remove_stale(parent, name)
    if target.exists() and not target.is_dir():
        raise DataInstallError(f"Cannot install dataset '{name}': {target} exists and is not "
                               "a folder.")
    if not force and target.is_dir() and is_dataset_installed(manifest, target):
        log.info("Dataset '%s' already installed and verified in %s", name, target)
        return target
    # os.mkdir applies the umask (mkdtemp would give 0o700, unreadable to other users of a
    # shared packages path); the random suffix keeps the name unique.
    tmp = parent / f".{name}.partial-{secrets.token_hex(8)}"
    os.mkdir(tmp, 0o777)
    try:
        dir_mode = tmp.stat().st_mode & 0o777
        _download_all(manifest, url_base, tmp, dir_mode & 0o666, deadline, timeout, retries,
                      source, log)
        if target.is_dir():
            # Existing folder (force, or a damaged copy): replace the manifest's files only,
            # each by one rename now that all of them verified; any other file is kept.
            for entry in manifest.files.values():
                os.replace(tmp / entry.name, target / entry.name)
        else:
            os.replace(tmp, target)  # fresh install: the complete folder appears at once
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("Dataset '%s' installed and verified in %s", name, target)
    return target


def install_dataset(
    manifest: DatasetManifest | str,
    target: str | os.PathLike,
    base_url: str | None = None,
    *,
    force: bool = False,
    timeout: float = 30.0,
    deadline: float = 600.0,
    retries: int = 1,
    lock_timeout: float | None = None,
    logger: logging.Logger | None = None,
) -> Path:
    """Download every file of ``manifest`` into ``target``, verified by sha256; return it.

    ``target`` is the dataset folder and must be named after the dataset (use
    :func:`dataset_dir`, i.e. ``<packages_path>/data/<name>``); its parent is created if
    needed. If ``target`` already holds a verified copy and ``force`` is false, nothing is
    downloaded. Otherwise all files are downloaded and verified first; then a missing
    ``target`` is created by one rename, and an existing one gets the manifest's files
    replaced (other files in it are kept, also with ``force``).

    ``timeout`` (s) bounds each connection attempt and each read, ``deadline`` (s) the whole
    download (all files and ``retries``, the number of extra attempts for a transient failure
    or a checksum mismatch). Concurrent installs into the same folder wait for each other up
    to ``lock_timeout`` (s, default ``deadline + 60``).

    Raises :class:`DataInstallError` (one-line message; nothing installed, ``target`` as it
    was) on any download, checksum, lock or file-system failure, and ``ValueError`` for an
    invalid dataset name or a ``target`` not named after it.
    """
    log = logger or _log
    if not isinstance(manifest, DatasetManifest):
        manifest = load_manifest(manifest)
    for label, value in (("timeout", timeout), ("deadline", deadline)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
                or value == float("inf"):
            raise ValueError(f"install_dataset: {label} must be a finite number of seconds > 0, "
                             f"got {value!r}.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"install_dataset: retries must be an integer >= 0, got {retries!r}.")
    target = _checked_target(manifest, target)
    if not force and target.is_dir() and is_dataset_installed(manifest, target):
        # Checked before the lock too: a verified copy on a read-only (shared) packages path
        # needs nothing written, not even the lock file.
        log.info("Dataset '%s' already installed and verified in %s", manifest.name, target)
        return target
    url_base = resolve_base_url(manifest, base_url)
    source = _url_source(base_url)
    lock = filelock.FileLock(target.parent / f".{manifest.name}.lock",
                             timeout=deadline + 60.0 if lock_timeout is None else lock_timeout)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except filelock.Timeout as exc:
        raise DataInstallError(
            f"Cannot install dataset '{manifest.name}': another install into {target.parent} "
            f"holds the lock {lock.lock_file} for longer than {lock.timeout:g} s.") from exc
    except OSError as exc:
        raise DataInstallError(
            f"Cannot install dataset '{manifest.name}' into {target.parent}: "
            f"{_one_line(exc)}.") from exc
    try:
        return _install_locked(manifest, target, url_base, force, deadline, timeout, retries,
                               source, log)
    except OSError as exc:  # creating, renaming or writing in the packages path
        raise DataInstallError(
            f"Cannot install dataset '{manifest.name}' into {target}: {_one_line(exc)}. "
            "Nothing was installed.") from exc
    finally:
        lock.release()


def main(argv=None) -> int:
    """``python -m classy_szlite_cobaya.cobaya.install DATASET -p PACKAGES [--url URL]``.

    Exit status 0 on success; 1 with a one-line ``error: ...`` on stderr otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m classy_szlite_cobaya.cobaya.install",
        description="Download a classy_szlite_cobaya dataset into a Cobaya packages path "
        "(<packages>/data/<dataset>), verifying sha256 checksums.",
    )
    parser.add_argument("dataset", nargs="?", default="planck2015_ymap",
                        help="manifest name or path to a manifest YAML (default planck2015_ymap)")
    parser.add_argument("-p", "--packages-path", required=True, help="Cobaya packages path")
    parser.add_argument("--url", default=None,
                        help=f"base URL of a folder holding the files under their manifest "
                        f"names: https://, http:// or file:// (default ${DATA_URL_ENV} or the "
                        "manifest's)")
    parser.add_argument("-f", "--force", action="store_true",
                        help="re-download the manifest's files even if installed (other files "
                        "in the dataset folder are kept)")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="overall download time limit in seconds (default 600)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        manifest = load_manifest(args.dataset)
        install_dataset(manifest, dataset_dir(args.packages_path, manifest), args.url,
                        force=args.force, deadline=args.deadline)
    except (DataInstallError, DatasetError, ValueError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
