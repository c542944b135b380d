"""Dataset manifest, installer (download + sha256 + atomic move) and Cobaya install wiring.

Downloads run for real over http from 127.0.0.1 (conftest ``serve_dir``), with the base URL
given through ``CLASSY_SZLITE_COBAYA_DATA_URL`` as a user would.
"""
from __future__ import annotations

import configparser
import hashlib
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from classy_szlite_cobaya.cobaya import datasets
from classy_szlite_cobaya.cobaya.datasets import (DatasetError, find_manifest, load_manifest,
                                                  read_key_value_file)
from classy_szlite_cobaya.cobaya.install import (DATA_URL_ENV, DataInstallError, dataset_dir,
                                                 install_dataset, verify_dataset)
from classy_szlite_cobaya.cobaya.likelihood import REFERENCE_POINT, PlanckYMap2015
from conftest import file_state, user_cobaya_config_file

REPO = Path(__file__).resolve().parents[1]
ROLES = ("data", "foregrounds", "trispectrum", "c_ell_ref", "params_ref")
PUBLIC_BASE = ("https://raw.githubusercontent.com/simonsobs/SOLikeT/"
               "fb83c4c6e99e3d406e7ad482794f8b1691f6e55f/soliket/ymap/data/")
CLASS_NAME = "classy_szlite_cobaya.cobaya.likelihood.PlanckYMap2015"


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary folders the installer may have left next to its target."""
    return [p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name]


@pytest.fixture
def manifest():
    return load_manifest("planck2015_ymap")


@pytest.fixture
def corrupted_url(tmp_path, ymap_source_dir, serve_dir):
    """Base URL serving a copy of the data with one byte of the trispectrum file changed."""
    copy = tmp_path / "corrupted_source"
    shutil.copytree(ymap_source_dir, copy)
    victim = copy / "tSZ_trispectrum_ref_total-planck-collab-15_step_1.txt"
    raw = bytearray(victim.read_bytes())
    raw[100] = ord("7") if raw[100] != ord("7") else ord("3")
    victim.chmod(0o644)
    victim.write_bytes(bytes(raw))
    return serve_dir(copy)


# ----------------------------------------------------------------------------- manifest
def test_manifest_content(manifest, ymap_source_dir):
    assert manifest.name == "planck2015_ymap"
    assert manifest.base_url == PUBLIC_BASE
    assert manifest.f_sky == 0.47
    assert manifest.n_bins == 18
    assert manifest.defaults["A_CN"] == 0.9033
    assert tuple(manifest.files) == ROLES
    for entry in manifest.files.values():  # checksums describe the published files
        assert sha256(ymap_source_dir / entry.name) == entry.sha256
    assert manifest.file("data").columns == {"ell": 0, "d_ell": 1, "error": 2}
    assert manifest.file("foregrounds").columns == {"ell": 0, "CIB": 1, "RS": 2, "IR": 3, "CN": 4}
    assert manifest.file("c_ell_ref").columns["ell_low"] == 4
    assert manifest.source == REPO / "data" / "planck2015_ymap.yaml"


def test_reference_point_matches_params_file(ymap_source_dir, manifest):
    ref = read_key_value_file(ymap_source_dir / manifest.file("params_ref").name)
    assert float(ref["B"]) == REFERENCE_POINT["B"]
    for key in ("omega_b", "omega_cdm", "n_s", "H0"):
        assert float(ref[key]) == REFERENCE_POINT[key]
    assert math.isclose(math.log(1e10 * float(ref["A_s"])), REFERENCE_POINT["ln10_10_As"])


def test_manifest_found_in_installed_share_dir(tmp_path, monkeypatch):
    # Non-editable install: no checkout, the manifest lives in <prefix>/share/...
    share = tmp_path / "share" / "classy_szlite_cobaya" / "data"
    share.mkdir(parents=True)
    shutil.copy(REPO / "data" / "planck2015_ymap.yaml", share)
    monkeypatch.setattr(datasets, "_checkout_data_dir", lambda: None)
    monkeypatch.setattr(datasets.sys, "prefix", str(tmp_path))
    monkeypatch.setattr(datasets.site, "USER_BASE", str(tmp_path / "nouser"))
    assert datasets.manifest_dirs() == [share]
    assert find_manifest("planck2015_ymap") == share / "planck2015_ymap.yaml"


def test_setup_cfg_ships_every_manifest():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    shipped = cfg["options.data_files"]["share/classy_szlite_cobaya/data"].split()
    assert sorted(shipped) == sorted(f"data/{p.name}" for p in (REPO / "data").glob("*.yaml"))


def test_manifest_by_path_and_unknown_name(tmp_path):
    path = REPO / "data" / "planck2015_ymap.yaml"
    assert load_manifest(str(path)).name == "planck2015_ymap"
    with pytest.raises(DatasetError, match="Unknown dataset 'planck2051_ymap'.*planck2015_ymap"):
        load_manifest("planck2051_ymap")
    with pytest.raises(DatasetError, match="not found"):
        load_manifest(tmp_path / "nothing.yaml")


@pytest.mark.parametrize("field, value, match", [
    ("sha256: 0f9e53", "sha256: 0f9e5", "64 hex digits"),
    ("file: data_ps-ell", "file: ../data_ps-ell", "bare file name"),
    ("f_sky: 0.47", "f_sky: 1.47", "f_sky"),
    ("f_sky: 0.47", "f_sky: '0.47'", "f_sky must be a number"),
    ("f_sky: 0.47", "f_sky: .nan", "f_sky"),
    ("n_bins: 18", "n_bins: 18.5", "n_bins must be an integer"),
    ("name: planck2015_ymap", "name: ../../x", "plain folder name.*'../../x'"),
])
def test_malformed_manifest_rejected(tmp_path, field, value, match):
    text = (REPO / "data" / "planck2015_ymap.yaml").read_text()
    assert field in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(field, value, 1))
    with pytest.raises(DatasetError, match=match):
        load_manifest(bad)


# ----------------------------------------------------------------------------- installer
def test_install_over_local_http(tmp_path, monkeypatch, ymap_url, manifest):
    monkeypatch.setenv(DATA_URL_ENV, ymap_url)
    target = dataset_dir(tmp_path / "pkgs", manifest)
    assert install_dataset(manifest, target) == target.resolve()
    names = sorted(e.name for e in manifest.files.values())
    assert sorted(p.name for p in target.iterdir()) == names
    for entry in manifest.files.values():
        assert sha256(target / entry.name) == entry.sha256
    assert verify_dataset(manifest, target) == []
    assert leftovers(target.parent) == []


def test_corrupted_file_rejected_nothing_installed(tmp_path, monkeypatch, corrupted_url, manifest):
    monkeypatch.setenv(DATA_URL_ENV, corrupted_url)
    target = tmp_path / "pkgs" / "data" / "planck2015_ymap"
    with pytest.raises(DataInstallError,
                       match="Checksum mismatch for 'tSZ_trispectrum_ref.*nothing was installed"):
        install_dataset(manifest, target)
    assert not target.exists()
    assert leftovers(target.parent) == []


def test_corrupted_reinstall_keeps_good_copy(tmp_path, ymap_url, corrupted_url, manifest):
    target = tmp_path / "pkgs" / "data" / "planck2015_ymap"
    install_dataset(manifest, target, ymap_url)
    with pytest.raises(DataInstallError):
        install_dataset(manifest, target, corrupted_url, force=True)
    assert verify_dataset(manifest, target) == []
    assert leftovers(target.parent) == []


def test_missing_file_on_server_installs_nothing(tmp_path, ymap_source_dir, serve_dir, manifest):
    partial = tmp_path / "partial_source"
    partial.mkdir()
    shutil.copy(ymap_source_dir / manifest.file("data").name, partial)
    target = tmp_path / "pkgs" / "data" / "planck2015_ymap"
    with pytest.raises(DataInstallError, match="Could not download 'data_fg-ell.*404"):
        install_dataset(manifest, target, serve_dir(partial))
    assert not target.exists() and leftovers(target.parent) == []


def test_install_module_command_line(tmp_path, ymap_url, manifest):
    env = dict(os.environ, **{DATA_URL_ENV: ymap_url})
    run = subprocess.run([sys.executable, "-m", "classy_szlite_cobaya.cobaya.install",
                          "planck2015_ymap", "-p", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert verify_dataset(manifest, tmp_path / "data" / "planck2015_ymap") == []


# ----------------------------------------------------------------------------- Cobaya hooks
def test_is_installed_checks_checksums(installed_ymap_packages, tmp_path, manifest):
    assert PlanckYMap2015.is_installed(path=str(installed_ymap_packages))
    # Cobaya also calls it with the component path (output of get_path): idempotent.
    assert PlanckYMap2015.is_installed(path=PlanckYMap2015.get_path(str(installed_ymap_packages)))
    assert not PlanckYMap2015.is_installed(path=str(tmp_path))
    assert not PlanckYMap2015.is_installed(path="global")
    tampered = tmp_path / "tampered"
    shutil.copytree(installed_ymap_packages, tampered)
    data_file = tampered / "data" / "planck2015_ymap" / manifest.file("data").name
    data_file.write_text(data_file.read_text().replace("5.079", "5.080", 1))
    assert not PlanckYMap2015.is_installed(path=str(tampered))


def test_cobaya_install_api(tmp_path, monkeypatch, ymap_url, corrupted_url, manifest):
    from cobaya.install import install
    from cobaya.log import LoggedError

    info = {"likelihood": {CLASS_NAME: None}}
    monkeypatch.setenv(DATA_URL_ENV, corrupted_url)
    with pytest.raises(LoggedError, match="has failed"):
        install(info, path=str(tmp_path / "bad"))
    assert not (tmp_path / "bad" / "data" / "planck2015_ymap").exists()

    monkeypatch.setenv(DATA_URL_ENV, ymap_url)
    install(info, path=str(tmp_path / "good"))
    assert verify_dataset(manifest, tmp_path / "good" / "data" / "planck2015_ymap") == []


@pytest.mark.parametrize("which", ["likelihood_only", "input_yamls/tsz.yaml"])
def test_cobaya_install_command_with_input_yaml(tmp_path, ymap_url, manifest, which,
                                                cobaya_config_dir):
    # The user-facing command: cobaya-install <input.yaml> -p PACKAGES, on a minimal input
    # and on the project's main job (whose theory blocks need no data).
    if which == "likelihood_only":
        yaml_file = tmp_path / "ymap_only.yaml"
        yaml_file.write_text(f"likelihood:\n  {CLASS_NAME}:\n    trispectrum: file\n")
    else:
        yaml_file = REPO / which
    env = dict(os.environ, **{DATA_URL_ENV: ymap_url})
    exe = shutil.which("cobaya-install") or "cobaya-install"
    run = subprocess.run([exe, str(yaml_file), "-p", str(tmp_path / "pkgs")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert verify_dataset(manifest, tmp_path / "pkgs" / "data" / "planck2015_ymap") == []
    # cobaya-install -p stored the packages path in Cobaya's global config: in the session's
    # temporary config folder (conftest), never in the user's file.
    config_home, user_file, user_before = cobaya_config_dir
    stored = yaml.safe_load((config_home / "cobaya" / "config.yaml").read_text())
    assert Path(stored["packages_path"]) == (tmp_path / "pkgs").resolve()
    assert user_file is None or not user_file.resolve().is_relative_to(config_home.resolve())
    assert file_state(user_file) == user_before


def test_cobaya_config_folder_is_temporary(cobaya_config_dir):
    from cobaya.tools import get_config_path

    config_home = cobaya_config_dir[0]
    assert Path(get_config_path()).resolve() == (config_home / "cobaya").resolve()
    assert user_cobaya_config_file() == config_home / "cobaya" / "config.yaml"
