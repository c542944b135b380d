"""Dataset manifests: what the project knows about a dataset it can download.

A manifest is a small YAML file (``data/<name>.yaml`` at the top of the checkout; a wheel or
non-editable install ships it to ``<sys.prefix>/share/classy_szlite_cobaya/data/``) giving the
dataset name, the public base URL, and for each file its role, name, sha256 and column
meanings. The data files themselves are never shipped: :mod:`.install` downloads them and this
module only describes them.

Roles used by the y-map likelihood: ``data`` (ell, 1e12 D_ell, error), ``foregrounds`` (ell,
CIB, RS, IR, CN templates in 1e12 D_ell), and optionally ``trispectrum`` (n x n matrix in
(1e12)^2 D_ell D_ell' units), ``c_ell_ref`` and ``params_ref`` (the reference point of that
trispectrum). Here D_ell = ell(ell+1) C_ell / (2 pi), C_ell dimensionless.
"""
from __future__ import annotations

import os
import re
import site
import sys
from pathlib import Path
from typing import Any, NamedTuple

import yaml

__all__ = [
    "DatasetError",
    "DataFile",
    "DatasetManifest",
    "manifest_dirs",
    "available_datasets",
    "find_manifest",
    "load_manifest",
    "validate_dataset_name",
    "read_key_value_file",
    "REQUIRED_ROLES",
]

#: Roles every y-map-format manifest must list; the others are optional.
REQUIRED_ROLES = ("data", "foregrounds")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A dataset name becomes a folder name under <packages_path>/data/: one path component made of
# portable characters, not starting with "." (so never "." or "..", and never one of the
# installer's hidden ".<name>.partial-*" / ".<name>.lock" siblings).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SHARE = Path("share") / "classy_szlite_cobaya" / "data"


class DatasetError(ValueError):
    """A manifest that cannot be found or is malformed."""


class DataFile(NamedTuple):
    """One file of a dataset: ``role`` (e.g. ``data``), file ``name``, hex ``sha256`` and the
    ``columns`` description (``{meaning: 0-based index}``, or a word such as ``matrix``)."""

    role: str
    name: str
    sha256: str
    columns: Any


class DatasetManifest(NamedTuple):
    """Parsed manifest. ``files`` maps role -> :class:`DataFile` in manifest order;
    ``defaults`` holds default nuisance values (e.g. ``A_CN``); ``source`` is the YAML path."""

    name: str
    base_url: str
    files: dict
    f_sky: float
    n_bins: int | None
    defaults: dict
    description: str
    source: Path

    def file(self, role: str) -> DataFile:
        """The :class:`DataFile` with this role (``DatasetError`` if the manifest lacks it)."""
        try:
            return self.files[role]
        except KeyError:
            raise DatasetError(
                f"Dataset '{self.name}' ({self.source}) has no file with role '{role}'; "
                f"it lists {sorted(self.files)}."
            ) from None


def _checkout_data_dir() -> Path | None:
    # Only a source checkout (editable install) has setup.cfg two levels above the package:
    # this keeps a stray site-packages/data folder from being mistaken for ours.
    root = Path(__file__).resolve().parents[2]
    if (root / "setup.cfg").is_file() and (root / "data").is_dir():
        return root / "data"
    return None


def manifest_dirs() -> list[Path]:
    """Folders searched for ``<name>.yaml``, in order: the checkout's top-level ``data/``,
    then ``<sys.prefix>/share/classy_szlite_cobaya/data`` (and the ``pip --user`` base)."""
    dirs = []
    if (checkout := _checkout_data_dir()) is not None:
        dirs.append(checkout)
    for base in (sys.prefix, getattr(site, "USER_BASE", None) or ""):
        if base and (d := Path(base) / _SHARE).is_dir() and d not in dirs:
            dirs.append(d)
    return dirs


def available_datasets() -> list[str]:
    """Names of the manifests found in :func:`manifest_dirs`."""
    names = {p.stem for d in manifest_dirs() for p in d.glob("*.yaml")}
    return sorted(names)


def find_manifest(dataset: str | os.PathLike) -> Path:
    """Path of a manifest given its name (searched in :func:`manifest_dirs`) or a path to a
    ``.yaml`` file."""
    as_path = Path(os.path.expanduser(os.fspath(dataset)))
    if as_path.suffix in (".yaml", ".yml") or len(as_path.parts) > 1:
        if as_path.is_file():
            return as_path.resolve()
        raise DatasetError(f"Dataset manifest file not found: '{as_path}'.")
    for d in manifest_dirs():
        if (p := d / f"{dataset}.yaml").is_file():
            return p
    raise DatasetError(
        f"Unknown dataset '{dataset}'. Known datasets: {available_datasets()} "
        f"(searched {[str(d) for d in manifest_dirs()]}); or give the path to a manifest "
        "YAML file in the same format as data/planck2015_ymap.yaml."
    )


def validate_dataset_name(name: Any, source: str | os.PathLike | None = None) -> str:
    """Return ``name`` if it is a safe dataset folder name, else raise :class:`DatasetError`.

    Allowed: a string of 1-100 characters from ``A-Z a-z 0-9 _ . -``, not starting with ``.``,
    ``-`` or ``_`` (so no path separators, no ``..``, ``.``, empty or absolute names). The
    installer writes only to ``<packages_path>/data/<name>``, so this keeps a manifest from
    steering it to any other folder.
    """
    where = f"{source}: " if source is not None else ""
    if not isinstance(name, str) or not _NAME.match(name):
        raise DatasetError(
            f"{where}dataset 'name' must be a plain folder name (1-100 characters from "
            f"A-Z a-z 0-9 _ . -, starting with a letter or digit), got {name!r}."
        )
    return name


def _parse_file_entry(role: str, entry: Any, source: Path) -> DataFile:
    if not isinstance(entry, dict) or "file" not in entry or "sha256" not in entry:
        raise DatasetError(f"{source}: files.{role} needs 'file' and 'sha256' keys.")
    name, sha = str(entry["file"]), str(entry["sha256"]).lower()
    # A bare file name only: the installer joins it to a URL and a target folder, so any
    # path component could make it write outside that folder.
    if Path(name).name != name or name in ("", ".", ".."):
        raise DatasetError(f"{source}: files.{role}.file must be a bare file name, got '{name}'.")
    if not _SHA256.match(sha):
        raise DatasetError(f"{source}: files.{role}.sha256 is not 64 hex digits: '{sha}'.")
    return DataFile(role, name, sha, entry.get("columns"))


def load_manifest(dataset: str | os.PathLike) -> DatasetManifest:
    """Parse and validate a manifest, given its name or its path."""
    source = find_manifest(dataset)
    with open(source, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    if not isinstance(raw, dict):
        raise DatasetError(f"{source}: a manifest must be a YAML mapping.")
    missing = [k for k in ("name", "base_url", "files", "f_sky") if k not in raw]
    if missing:
        raise DatasetError(f"{source}: missing keys {missing}.")
    name = validate_dataset_name(raw["name"], source)
    if not isinstance(raw["files"], dict):
        raise DatasetError(f"{source}: 'files' must map role -> {{file, sha256, columns}}.")
    files = {role: _parse_file_entry(role, e, source) for role, e in raw["files"].items()}
    if lacking := [r for r in REQUIRED_ROLES if r not in files]:
        raise DatasetError(f"{source}: 'files' lacks the required roles {lacking}.")
    f_sky, n_bins = raw["f_sky"], raw.get("n_bins")
    # Typed: YAML gives numbers as int/float; a string or a bool is a mistake, not a value.
    if isinstance(f_sky, bool) or not isinstance(f_sky, (int, float)) or not 0.0 < f_sky <= 1.0:
        raise DatasetError(f"{source}: f_sky must be a number in (0, 1], got {f_sky!r}.")
    if n_bins is not None and (isinstance(n_bins, bool) or not isinstance(n_bins, int)
                               or n_bins < 1):
        raise DatasetError(f"{source}: n_bins must be an integer >= 1, got {n_bins!r}.")
    return DatasetManifest(
        name=name,
        base_url=str(raw["base_url"]),
        files=files,
        f_sky=float(f_sky),
        n_bins=n_bins,
        defaults=dict(raw.get("defaults") or {}),
        description=str(raw.get("description", "")),
        source=source,
    )


def read_key_value_file(path: str | os.PathLike) -> dict[str, str]:
    """Read a class_sz ``key = value`` parameter file (``#`` comments) into a dict of strings."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if "=" in line:
                key, value = line.split("=", 1)
                out[key.strip()] = value.strip()
    return out
