"""Training and validation spectra from CAMB for the extended-cosmology emulator.

Two families, because CAMB's early dark energy (``EarlyQuintessence``) is itself the dark
energy model and cannot be combined with w0-wa:

* ``w``  : LambdaCDM + sum m_nu + (w0, wa) (PPF).  Stored: ln[P(theta)/P_ref] with P_ref the
  massless LambdaCDM spectrum (N_eff = 3.046) at the same omega_b, omega_cdm, H0.
* ``ede``: LambdaCDM + sum m_nu + EDE (n = 3, zc and fde_zc as inputs, w = -1).  Stored:
  ln[P(theta)/P_nu] with P_nu the same cosmology without EDE.

Both for total matter ("tot") and for cdm + baryons ("cb"), on the grid ``K_GRID`` x
``Z_GRID`` below; the primordial spectrum cancels in each ratio (linear theory), so A_s and
n_s are not sampled. Each sample also stores sigma8 (total matter, z = 0) of both runs and
H(z), chi(z) on ``Z_GRID`` of the extended run, for validating the JAX background.

Points: a scrambled Sobol sequence (fixed seed per family and purpose) in the unit cube,
mapped to ``BOXES``; w0 + wa >= 0 is rejected (kept as a NaN row with status 2). Work is
split into chunks of ``CHUNK`` consecutive indices; each chunk is one ``.npz`` written
atomically, so a killed run loses at most the chunks in flight and a rerun computes only the
missing ones (``chunks.py``).

Usage: python tools/camb_emulator/generate.py FAMILY PURPOSE N [--workers 2]
       (PURPOSE: train | valid | edge | edge2 | edge3 | edge4 | corner | corner2;
       N: number of Sobol indices)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")   # one CAMB per core, parallel over chunks

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from chunks import run_missing, save_chunk  # noqa: E402
DATA = os.path.join(HERE, "data")

#: k nodes [1/Mpc]: 140 log-uniform from 1e-4 to 10 (d ln k = 0.083: >= 5 nodes per BAO period)
K_GRID = np.geomspace(1.0e-4, 10.0, 140)
#: z nodes
Z_GRID = np.linspace(0.0, 5.0, 11)
CHUNK = 20
T_CMB = 2.7255
N_EFF = 3.046            # standard N_eff, as the seed system (N_ur = 0.00441 + 3 massive)

LCDM = {"omega_b": (0.01875, 0.02625), "omega_cdm": (0.05, 0.255), "H0": (64.0, 82.0),
        "mnu": (0.0, 0.5)}
BOXES = {
    "w": dict(LCDM, w0=(-2.0, -0.3), wa=(-2.0, 2.0)),
    "ede": dict(LCDM, fEDE=(0.001, 0.3), log10z_c=(3.0, 4.3), thetai_scf=(0.1, 3.1)),
}
SEEDS = {("w", "train"): 11, ("w", "valid"): 12, ("ede", "train"): 21, ("ede", "valid"): 22,
         ("w", "edge"): 13, ("ede", "edge"): 23, ("w", "edge2"): 14, ("ede", "edge2"): 24,
         ("ede", "edge3"): 25, ("ede", "corner"): 26, ("ede", "edge4"): 27,
         ("ede", "corner2"): 28}
#: purposes "edge", "edge2", "edge3", "edge4": extra training points where the hold-out
#: errors are largest (model card). Family w: w0 + wa uniform in [EDGE_W_SUM[purpose], 0)
#: (wa = (w0 + wa) - w0 is then inside its range), where dark energy matters early. Family
#: ede: the sub-boxes EDGE_EDE[purpose] (large fEDE with little cold dark matter, where EDE
#: changes P(k) most). "corner", "corner2": held-out points (never trained on) of the ede
#: sub-box of "edge3", drawn after "edge3" and "edge4" were chosen, to check each choice on
#: points it has not seen.
EDGE_W_SUM = {"edge": -0.6, "edge2": -0.15}
EDGE_EDE = {"edge": {"fEDE": (0.15, 0.3), "omega_cdm": (0.05, 0.13)},
            "edge2": {"fEDE": (0.1, 0.3), "omega_cdm": (0.05, 0.07)},
            # early z_c (sound horizon cut most) with little cold dark matter (large wiggles)
            "edge3": {"fEDE": (0.12, 0.3), "omega_cdm": (0.05, 0.065), "log10z_c": (3.0, 3.5)},
            # the held-out "corner" points above 1 % (log10z_c < 3.14, omega_cdm < 0.058)
            "edge4": {"fEDE": (0.12, 0.3), "omega_cdm": (0.05, 0.06), "log10z_c": (3.0, 3.2)}}
EDGE_EDE["corner"] = EDGE_EDE["corner2"] = EDGE_EDE["edge3"]
A_S, N_S = 2.1e-9, 0.9665     # cancel in the stored ratios


def points(family: str, purpose: str, n: int) -> np.ndarray:
    """First n Sobol points of (family, purpose) mapped to BOXES[family], shape (n, d)."""
    from scipy.stats import qmc
    box = BOXES[family]
    u = qmc.Sobol(d=len(box), scramble=True, seed=SEEDS[(family, purpose)]).random(n)
    lo = np.array([v[0] for v in box.values()])
    hi = np.array([v[1] for v in box.values()])
    x = lo + u * (hi - lo)
    if purpose in EDGE_W_SUM and family == "w":
        x[:, 5] = EDGE_W_SUM[purpose] * (1.0 - u[:, 5]) - x[:, 4]
    elif purpose in EDGE_EDE and family == "ede":
        for name, (a, b) in EDGE_EDE[purpose].items():
            j = list(box).index(name)
            x[:, j] = a + u[:, j] * (b - a)
    return x


def _params(p: dict, *, mnu: float, w0=-1.0, wa=0.0, ede=None):
    import camb
    pars = camb.CAMBparams()
    h = p["H0"] / 100.0
    pars.set_cosmology(H0=p["H0"], ombh2=p["omega_b"], omch2=p["omega_cdm"], mnu=mnu,
                       num_massive_neutrinos=3 if mnu > 0 else 0,
                       neutrino_hierarchy="degenerate", nnu=N_EFF,
                       standard_neutrino_neff=N_EFF, TCMB=T_CMB, tau=0.054)
    if ede is not None:
        pars.DarkEnergy = camb.dark_energy.EarlyQuintessence(
            n=3, use_zc=True, zc=10.0 ** ede["log10z_c"], fde_zc=ede["fEDE"],
            theta_i=ede["thetai_scf"])
    elif w0 != -1.0 or wa != 0.0:
        pars.set_dark_energy(w=w0, wa=wa, dark_energy_model="ppf")
    pars.InitPower.set_params(As=A_S, ns=N_S)
    pars.set_matter_power(redshifts=list(Z_GRID[::-1]), kmax=20.0, nonlinear=False)
    pars.WantCls = False
    del h
    return pars


def _spectra(pars):
    import camb
    res = camb.get_results(pars)
    out = {}
    for name, var in (("tot", "delta_tot"), ("cb", "delta_nonu")):
        interp = res.get_matter_power_interpolator(
            nonlinear=False, hubble_units=False, k_hunit=False, var1=var, var2=var,
            extrap_kmax=50.0, log_interp=True)
        out[name] = np.log(interp.P(Z_GRID, K_GRID))            # (n_z, n_k)
    out["sigma8"] = float(res.get_sigma8_0())
    out["H"] = np.asarray(res.hubble_parameter(Z_GRID))
    out["chi"] = np.asarray(res.comoving_radial_distance(Z_GRID))
    return out


def one_sample(family: str, row: np.ndarray):
    """(ln ratio tot, ln ratio cb [n_z, n_k]; sigma8 ext, sigma8 ref; H, chi [n_z]; status)."""
    p = dict(zip(BOXES[family], row))
    nz, nk = len(Z_GRID), len(K_GRID)
    nan = (np.full((nz, nk), np.nan), np.full((nz, nk), np.nan), np.nan, np.nan,
           np.full(nz, np.nan), np.full(nz, np.nan))
    if family == "w" and p["w0"] + p["wa"] >= 0.0:
        return nan + (2,)
    try:
        if family == "w":
            ext = _spectra(_params(p, mnu=p["mnu"], w0=p["w0"], wa=p["wa"]))
            ref = _spectra(_params(p, mnu=0.0))
        else:
            ext = _spectra(_params(p, mnu=p["mnu"], ede=p))
            ref = _spectra(_params(p, mnu=p["mnu"]))
    except Exception as exc:                      # CAMB shooting failure: recorded, not fatal
        print(f"  {family} {p}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return nan + (1,)
    return (ext["tot"] - ref["tot"], ext["cb"] - ref["cb"], ext["sigma8"], ref["sigma8"],
            ext["H"], ext["chi"], 0)


def chunk_path(family, purpose, c):
    return os.path.join(DATA, f"{family}_{purpose}_{c:04d}.npz")


def run_chunk(args):
    family, purpose, c, n = args
    path = chunk_path(family, purpose, c)
    if os.path.exists(path):
        return c, 0.0
    t0 = time.time()
    rows = points(family, purpose, n)[c * CHUNK:(c + 1) * CHUNK]
    res = [one_sample(family, r) for r in rows]
    cols = list(zip(*res))
    save_chunk(
        path, params=rows, names=np.array(list(BOXES[family])),
        index=np.arange(c * CHUNK, c * CHUNK + len(rows)),
        lnr_tot=np.array(cols[0], dtype=np.float32), lnr_cb=np.array(cols[1], dtype=np.float32),
        sigma8=np.array(cols[2]), sigma8_ref=np.array(cols[3]),
        H=np.array(cols[4]), chi=np.array(cols[5]), status=np.array(cols[6]),
        k=K_GRID, z=Z_GRID)
    return c, time.time() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("family", choices=sorted(BOXES))
    ap.add_argument("purpose", choices=sorted({p for _, p in SEEDS}))
    ap.add_argument("n", type=int, help="number of Sobol indices (a multiple of %d)" % CHUNK)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reverse", action="store_true",
                    help="compute the missing chunks last first (a second runner alongside)")
    a = ap.parse_args(argv)
    if a.n <= 0 or a.n % CHUNK:
        ap.error(f"n must be a positive multiple of {CHUNK}")
    tasks = [(a.family, a.purpose, c, a.n) for c in range(a.n // CHUNK)]
    run_missing(DATA, tasks[::-1] if a.reverse else tasks, lambda t: chunk_path(*t[:3]),
                run_chunk, a.workers, f"{a.family}/{a.purpose}")


if __name__ == "__main__":
    main()
