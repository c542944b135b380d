"""C_ell^yy against class_sz 0.1.70 in full-CLASS mode (../shared/reference/, its header lists
every setting). We reproduce its conventions through options, never a fudge factor:
mass limits in Msun/h (``mass_unit="Msun/h"``), x_out = 4, B = 1, no 1-halo damping,
massless neutrinos (the embedded emulator's cosmology), Tinker08 at Delta_mean = 500/Omega_m(z),
Tinker10 bias, Limber k = (ell+1/2)/chi."""
import os
from pathlib import Path

import numpy as np
import pytest

import classy_szlite_cobaya as csl

TOL_1H = 0.01      # issue #2: 1-halo within 1% for 10 <= ell <= 5000
TOL_2H = 0.02      # issue #2: 2-halo within 2% for 10 <= ell <= 1000
MASSLESS = csl.MASSLESS_LCDM

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / \
    "class_sz_A10_planck18_massless_B1.0_xout4.txt"


def _reference():
    """The class_sz table. It is not in the repository: it lives only in ../shared/reference
    (next to the checkout; CI has it) or at $CLASSY_SZLITE_REFERENCE. Without it the
    comparison is skipped, saying so, so that a plain clone's test command passes."""
    path = Path(os.environ.get("CLASSY_SZLITE_REFERENCE", REF))
    if not path.is_file():
        pytest.skip(f"class_sz reference table {path} not found: it lives only in "
                    "../shared/reference next to the checkout (CI provides it), or set "
                    "$CLASSY_SZLITE_REFERENCE")
    return np.loadtxt(path)


def test_cl_yy_matches_class_sz_reference():
    ref = _reference()
    ell = ref[:, 0]
    # the reference is massless LambdaCDM without EDE
    cosmo = csl.CosmoParams(omega_b=0.02242, omega_cdm=0.11933, H0=67.66, ln10_10_As=3.047,
                            n_s=0.9665, **MASSLESS)
    cl1, cl2 = csl.cl_yy(cosmo, csl.ProfileParamsA10(B=1.0), ell, mass_unit="Msun/h",
                         x_out=4.0, z_min=0.005, z_max=3.0, m_min=1e10, m_max=3.5e15)
    d = 1e12 * ell * (ell + 1) / (2 * np.pi)
    r1, r2 = d * np.asarray(cl1) / ref[:, 1], d * np.asarray(cl2) / ref[:, 2]
    for l, a, b in zip(ell, r1, r2):
        print(f"ell {l:8.1f}  1h ratio {a:.5f}  2h ratio {b:.5f}")
    sel1 = (ell >= 10) & (ell <= 5000)
    sel2 = (ell >= 10) & (ell <= 1000)
    print("max |1h-1| (10..5000):", np.abs(r1[sel1] - 1).max(),
          " max |2h-1| (10..1000):", np.abs(r2[sel2] - 1).max())
    assert np.abs(r1[sel1] - 1).max() < TOL_1H
    assert np.abs(r2[sel2] - 1).max() < TOL_2H


def test_mass_unit_convention_matters_where_documented():
    """Msun/h limits vs Msun: a few % in 1h at low ell, < 0.2% at ell >= 2000
    (docs/physics.md section 4)."""
    ell = np.array([3.0, 2000.0, 4000.0])
    c, p = csl.CosmoParams(), csl.ProfileParamsA10()
    a1, _ = csl.cl_yy(c, p, ell, mass_unit="Msun/h")
    b1, _ = csl.cl_yy(c, p, ell, mass_unit="Msun")
    r = np.asarray(a1 / b1)
    assert r[0] > 1.005
    assert np.all(np.abs(r[1:] - 1) < 0.002)
