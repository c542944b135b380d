"""Reference background H(z), chi(z) from CAMB (and CLASS) for tests/test_background_extended.py,
and the size of early dark energy's effect on H and chi at z <= 5.

Writes ``tests/data/background_reference.npz`` (plain arrays, no pickle; ~20 kB) so that the
tests need neither CAMB nor CLASS. Run once (~10 s):

    python tools/camb_emulator/background_reference.py            # write the table
    python tools/camb_emulator/background_reference.py --ede      # print the EDE table only

Settings, the same as the training-set generator (generate.py): CAMB
``set_cosmology(mnu=sum, num_massive_neutrinos=3 (0 if sum = 0), neutrino_hierarchy='degenerate',
nnu=3.046, standard_neutrino_neff=3.046, TCMB=2.7255)``, ``set_dark_energy(w0, wa,
dark_energy_model='ppf')``; chi with ``comoving_radial_distance(z, tol=1e-8)`` (CAMB's default
tol 1e-4 is too coarse for a 1e-4 comparison). CLASS (background only): N_ncdm 1, deg_ncdm 3,
m_ncdm = sum/3, T_ncdm 0.71611, N_ur 0.00641 (N_eff 3.046), T_cmb 2.7255; w0-wa as
``w0_fld, wa_fld, Omega_Lambda 0, use_ppf yes``.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data",
                   "background_reference.npz")
Z = np.concatenate([[0.0], np.geomspace(0.01, 5.0, 24)])
N_EFF = 3.046
T_CMB = 2.7255
#: columns of POINTS
COLUMNS = ("omega_b", "omega_cdm", "H0", "mnu", "w0", "wa")
#: (block, omega_b, omega_cdm, H0, sum m_nu [eV], w0, wa): the corners and middle of the
#: LambdaCDM box, sum m_nu in {0, 0.06, 0.3, 0.5}, w0 in [-2, -0.3], wa in [-2, 2], w0 + wa < 0.
POINTS = [
    ("lcdm", 0.02242, 0.11933, 67.66, 0.0, -1.0, 0.0),
    ("lcdm", 0.01875, 0.050, 82.0, 0.0, -1.0, 0.0),
    ("lcdm", 0.02625, 0.255, 64.0, 0.0, -1.0, 0.0),
    ("mnu", 0.02242, 0.11933, 67.66, 0.06, -1.0, 0.0),
    ("mnu", 0.01875, 0.050, 82.0, 0.3, -1.0, 0.0),
    ("mnu", 0.02625, 0.255, 64.0, 0.5, -1.0, 0.0),
    ("mnu", 0.01875, 0.050, 64.0, 0.5, -1.0, 0.0),
    ("w", 0.02242, 0.11933, 67.66, 0.0, -2.0, -2.0),
    ("w", 0.02242, 0.11933, 67.66, 0.0, -2.0, 1.9),
    ("w", 0.01875, 0.050, 82.0, 0.0, -0.3, -2.0),
    ("w", 0.02625, 0.255, 64.0, 0.0, -0.35, 0.3),
    ("w", 0.02000, 0.080, 70.0, 0.0, -0.8, -0.5),
    ("mnu+w", 0.02242, 0.11933, 67.66, 0.06, -1.2, 0.5),
    ("mnu+w", 0.01875, 0.050, 82.0, 0.5, -0.3, -2.0),
    ("mnu+w", 0.02625, 0.255, 64.0, 0.3, -2.0, 1.9),
    ("mnu+w", 0.02625, 0.050, 82.0, 0.5, -2.0, -2.0),
    ("mnu+w", 0.01875, 0.255, 64.0, 0.5, -0.35, 0.3),
]


def camb_params(p, ede=None):
    import camb
    pars = camb.CAMBparams()
    pars.set_cosmology(H0=p["H0"], ombh2=p["omega_b"], omch2=p["omega_cdm"], mnu=p["mnu"],
                       num_massive_neutrinos=3 if p["mnu"] > 0 else 0,
                       neutrino_hierarchy="degenerate", nnu=N_EFF,
                       standard_neutrino_neff=N_EFF, TCMB=T_CMB)
    if ede is None:
        pars.set_dark_energy(w=p["w0"], wa=p["wa"], dark_energy_model="ppf")
    else:
        f_ede, log10z_c, theta_i = ede
        pars.DarkEnergy = camb.dark_energy.EarlyQuintessence()
        pars.DarkEnergy.set_params(n=3, theta_i=theta_i, use_zc=True, zc=10.0 ** log10z_c,
                                   fde_zc=f_ede)
    return pars


def camb_background(p, ede=None):
    import camb
    r = camb.get_background(camb_params(p, ede))
    return r.hubble_parameter(Z), r.comoving_radial_distance(Z, tol=1e-8)


def class_background(p):
    from classy import Class
    s = dict(omega_b=p["omega_b"], omega_cdm=p["omega_cdm"], H0=p["H0"], T_cmb=T_CMB,
             Omega_k=0.0)
    if p["mnu"] > 0:
        s.update(N_ur=0.00641, N_ncdm=1, deg_ncdm=3, m_ncdm=p["mnu"] / 3, T_ncdm=0.71611)
    else:
        s.update(N_ur=N_EFF, N_ncdm=0)
    if (p["w0"], p["wa"]) != (-1.0, 0.0):
        s.update(Omega_Lambda=0.0, w0_fld=p["w0"], wa_fld=p["wa"], use_ppf="yes")
    c = Class()
    c.set(s)
    c.compute(level=["background"])
    out = (np.array([c.Hubble(z) for z in Z]) * 299792.458,
           np.array([c.comoving_distance(z) for z in Z]))
    c.struct_cleanup()
    return out


def ede_table():
    """Max over 0 < z <= 5 of |H_EDE/H - 1| and |chi_EDE/chi - 1|, same omega_b, omega_cdm, H0
    (Planck 2018 point, sum m_nu = 0.06 eV), CAMB EarlyQuintessence n = 3."""
    p = dict(omega_b=0.02242, omega_cdm=0.11933, H0=67.66, mnu=0.06, w0=-1.0, wa=0.0)
    h_ref, chi_ref = camb_background(p)
    rows = []
    for f_ede in (0.001, 0.1, 0.3):
        for log10z_c in (3.0, 3.3, 3.562, 4.0, 4.3):
            for theta_i in (0.1, 1.5, 2.83, 3.1):
                h, chi = camb_background(p, (f_ede, log10z_c, theta_i))
                rows.append((f_ede, log10z_c, theta_i, np.max(np.abs(h / h_ref - 1)),
                             np.max(np.abs(chi[1:] / chi_ref[1:] - 1))))
    return np.array(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ede", action="store_true", help="print the EDE table only")
    args = ap.parse_args(argv)
    if args.ede:
        for row in ede_table():
            print("fEDE %.3f log10z_c %.3f theta_i %.2f: max|dH/H| %.2e max|dchi/chi| %.2e"
                  % tuple(row))
        return
    import camb
    import classy
    params = np.array([row[1:] for row in POINTS], dtype=float)
    blocks = np.array([row[0] for row in POINTS])
    h_camb, chi_camb, h_class, chi_class = [], [], [], []
    for row in params:
        p = dict(zip(COLUMNS, row))
        h, chi = camb_background(p)
        h_camb.append(h)
        chi_camb.append(chi)
        h, chi = class_background(p)
        h_class.append(h)
        chi_class.append(chi)
    ede = ede_table()
    np.savez(os.path.normpath(OUT), z=Z, params=params, columns=np.array(COLUMNS),
             blocks=blocks, H_camb=np.array(h_camb), chi_camb=np.array(chi_camb),
             H_class=np.array(h_class), chi_class=np.array(chi_class),
             ede_columns=np.array(["fEDE", "log10z_c", "thetai_scf", "max_dH", "max_dchi"]),
             ede=ede, versions=np.array([f"camb {camb.__version__}",
                                         f"classy {classy.__version__}"]))
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
