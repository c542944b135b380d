"""Validation of the package's cosmology (emulator P_lin, JAX background, sigma8) against CLASS.

The embedded cosmology is flat LambdaCDM with N_eff = 3.046 massless neutrinos and
T_cmb = 2.7255 K (docs/physics.md section 1); CLASS is run with exactly that content. Each CLASS
run is computed once per cosmology (module-scoped fixture). Maximum deviations are printed
(run with ``pytest -s``) and a summary table is printed when the module finishes.

Acceptance (issue 2, item 1): P_lin within 0.5% for 1e-4 < k < 5 /Mpc and z <= 3; H(z), chi(z)
and D_A(z) within 0.05%; sigma8 within 0.5%; at >= 3 points spread over the emulator box.
"""
from __future__ import annotations

import numpy as np
import pytest
from classy import Class  # real import: CI installs classy

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.params import LCDM_BOX as EMULATOR_BOX

#: relative tolerance on P_lin(k, z) (emulator training accuracy is ~0.3% vs CLASS)
TOL_PK = 5e-3
#: relative tolerance on H(z), chi(z), D_A(z)
TOL_BACKGROUND = 5e-4
#: relative tolerance on sigma8
TOL_SIGMA8 = 5e-3

C_KM_S = 299792.458
#: open k interval [1/Mpc] on which P_lin is compared
K_RANGE = (1e-4, 5.0)
K_TEST = np.geomspace(K_RANGE[0] * 1.0001, K_RANGE[1] * 0.9999, 400)
Z_PK = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
#: background redshifts (z = 0 excluded for chi and D_A, whose relative error is 0/0 there)
Z_BG = np.concatenate([[0.0], np.geomspace(0.005, 3.0, 60)])

#: Test points inside the emulator box, each >= 10% of the box width from every edge:
#: one near Planck 2018, two near opposite corners, one mixing low and high edges.
COSMOLOGIES = {
    "planck": dict(omega_b=0.02242, omega_cdm=0.11933, H0=67.66, ln10_10_As=3.047, n_s=0.9665),
    "low_corner": dict(omega_b=0.0200, omega_cdm=0.080, H0=66.0, ln10_10_As=2.20, n_s=0.88),
    "high_corner": dict(omega_b=0.0250, omega_cdm=0.220, H0=79.0, ln10_10_As=3.60, n_s=1.06),
    "mixed": dict(omega_b=0.0245, omega_cdm=0.075, H0=80.0, ln10_10_As=1.95, n_s=1.04),
}

#: maximum deviations, filled by the tests and printed at module teardown
_SUMMARY: dict[str, dict[str, float]] = {}


def _class_settings(p):
    return {
        "omega_b": p["omega_b"],
        "omega_cdm": p["omega_cdm"],
        "H0": p["H0"],
        "A_s": np.exp(p["ln10_10_As"]) / 1e10,
        "n_s": p["n_s"],
        "k_pivot": 0.05,
        "N_ur": 3.046,
        "N_ncdm": 0,
        "T_cmb": 2.7255,
        "Omega_k": 0.0,
        "output": "mPk",
        "P_k_max_1/Mpc": 10.0,
        "z_max_pk": 3.0,
    }


def test_points_inside_box_with_margin():
    for name, p in COSMOLOGIES.items():
        for key, (lo, hi) in EMULATOR_BOX.items():
            if key not in p:
                continue
            margin = 0.1 * (hi - lo)
            assert lo + margin <= p[key] <= hi - margin, (name, key, p[key], (lo, hi))


@pytest.fixture(scope="module", autouse=True)
def _print_summary():
    yield
    if not _SUMMARY:
        return
    cols = ["P_lin", "H", "chi", "D_A", "sigma8"]
    print("\nmax |relative deviation| vs CLASS 3.4 (massless nu, N_ur = 3.046):")
    print(f"  {'cosmology':<12}" + "".join(f"{c:>11}" for c in cols))
    for name, d in _SUMMARY.items():
        print(f"  {name:<12}" + "".join(
            f"{d[c]:>11.2e}" if c in d else f"{'-':>11}" for c in cols))


@pytest.fixture(scope="module", params=list(COSMOLOGIES), ids=list(COSMOLOGIES))
def case(request):
    """(name, CosmoParams, computed CLASS instance), once per cosmology."""
    name = request.param
    p = COSMOLOGIES[name]
    cl = Class()
    cl.set(_class_settings(p))
    cl.compute()
    yield name, csl.CosmoParams(**p, **csl.MASSLESS_LCDM), cl
    cl.struct_cleanup()
    cl.empty()


def _record(name, key, value):
    _SUMMARY.setdefault(name, {})[key] = float(value)


def test_pk_lin_vs_class(case):
    name, cosmo, cl = case
    k, pk = csl.Pk(cosmo, Z_PK, K_TEST)
    pk = np.asarray(pk)
    assert pk.shape == (len(Z_PK), len(K_TEST))
    worst = 0.0
    msgs = []
    for i, z in enumerate(Z_PK):
        pc = np.array([cl.pk_lin(kk, z) for kk in K_TEST])
        rel = pk[i] / pc - 1.0
        j = int(np.argmax(np.abs(rel)))
        print(f"[{name}] P_lin z={z:g}: max|dP/P| = {abs(rel[j]):.3e} at k = {K_TEST[j]:.3g}/Mpc,"
              f" median {np.median(rel):+.2e}")
        worst = max(worst, abs(rel[j]))
        if abs(rel[j]) > TOL_PK:
            msgs.append(f"z={z:g}: {rel[j]:+.3%} at k={K_TEST[j]:.3g}/Mpc")
    _record(name, "P_lin", worst)
    assert not msgs, f"[{name}] P_lin deviates from CLASS by more than {TOL_PK:.1%}: {msgs}"


def test_background_vs_class(case):
    name, cosmo, cl = case
    d = {key: np.asarray(v) for key, v in csl.distances(cosmo, Z_BG).items()}
    ref = {
        "H": np.array([cl.Hubble(z) * C_KM_S for z in Z_BG]),
        "chi": np.array([cl.comoving_distance(z) for z in Z_BG]),
        "D_A": np.array([cl.angular_distance(z) for z in Z_BG]),
    }
    failures = []
    for key in ("H", "chi", "D_A"):
        sl = slice(None) if key == "H" else slice(1, None)   # skip z = 0 for distances
        rel = d[key][sl] / ref[key][sl] - 1.0
        j = int(np.argmax(np.abs(rel)))
        print(f"[{name}] {key}: max|rel| = {abs(rel[j]):.3e} at z = {Z_BG[sl][j]:.3g}")
        _record(name, key, abs(rel[j]))
        if abs(rel[j]) > TOL_BACKGROUND:
            failures.append(f"{key}: {rel[j]:+.3e} at z={Z_BG[sl][j]:.3g}")
    assert not failures, (f"[{name}] background deviates from CLASS by more than "
                          f"{TOL_BACKGROUND:.2%}: {failures}")


def test_sigma8_vs_class(case):
    name, cosmo, cl = case
    s8 = float(csl.derived(cosmo)["sigma8"])
    s8_class = cl.sigma8()
    rel = s8 / s8_class - 1.0
    print(f"[{name}] sigma8: {s8:.5f} vs CLASS {s8_class:.5f}, rel {rel:+.3e}")
    _record(name, "sigma8", abs(rel))
    assert abs(rel) <= TOL_SIGMA8, (f"[{name}] sigma8 {s8:.5f} vs CLASS {s8_class:.5f}: "
                                    f"{rel:+.3%} > {TOL_SIGMA8:.1%}")
