"""CLASS CMB spectra for the correction of the shipped CosmoPower CMB networks.

For each point of ``BOX`` (a scrambled Sobol sequence, fixed seed per purpose) this runs
CLASS with the settings the networks reproduce best (docs/physics.md section 9: lensed
TT/TE/EE, linear lensing potential, Y_He = 0.25, N_ur = 3.046 massless, CLASS default
reionisation and precision) and stores, for ell = 2 ... 2508, the residual of the networks
(``classy_szlite_cobaya.cosmology.cmb``, no correction applied):

* tt, ee, pp: ln(C_ell^CLASS / C_ell^network);
* te: (C_ell^TE,CLASS - C_ell^TE,network) / sqrt(C_ell^TT C_ell^EE)^network.

Work is split into chunks of ``CHUNK`` consecutive indices; each chunk is one ``.npz``
written atomically, so a killed run loses at most the chunks in flight and a rerun computes
only the missing ones (``tools/camb_emulator/chunks.py``). Residuals are stored as float16
(absolute resolution < 5e-5 for |residual| < 0.1, far below the 1e-3 level corrected).

Usage: python tools/class_cmb/generate_cmb.py PURPOSE N [--workers 2]   (PURPOSE: train | valid)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")   # one CLASS per core, parallel over chunks

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "camb_emulator"))
from chunks import run_missing, save_chunk  # noqa: E402
DATA = os.path.join(HERE, "data")
CHUNK = 20
#: Where the correction is trained, in CosmoParams names: Planck 2018 LambdaCDM +- many sigma
#: (inside the networks' box, cmb.CMB_BOX).
BOX = {"omega_b": (0.019, 0.026), "omega_cdm": (0.09, 0.15), "H0": (60.0, 80.0),
       "tau_reio": (0.02, 0.12), "n_s": (0.9, 1.03), "ln10_10_As": (2.8, 3.3)}
SEEDS = {"train": 31, "valid": 32}
ELL_MAX = 2508
#: CLASS settings besides the cosmology (module docstring)
CLASS_SETTINGS = dict(output="tCl,pCl,lCl", lensing="yes", YHe=0.25, N_ur=3.046,
                      l_max_scalars=3000)


def points(purpose: str, n: int) -> np.ndarray:
    """First n Sobol points of ``purpose`` mapped to BOX, shape (n, 6)."""
    from scipy.stats import qmc
    lo = np.array([v[0] for v in BOX.values()])
    hi = np.array([v[1] for v in BOX.values()])
    return lo + qmc.Sobol(d=len(BOX), scramble=True, seed=SEEDS[purpose]).random(n) * (hi - lo)


def class_spectra(p: dict) -> dict:
    """CLASS lensed tt, te, ee (dimensionless, T_cmb^2 units) and pp at ell = 2 ... 2508."""
    import classy
    c = classy.Class()
    c.set(dict(CLASS_SETTINGS, omega_b=p["omega_b"], omega_cdm=p["omega_cdm"],
               h=p["H0"] / 100.0, tau_reio=p["tau_reio"], n_s=p["n_s"],
               ln_A_s_1e10=p["ln10_10_As"]))
    try:
        c.compute()
        cl = c.lensed_cl(ELL_MAX)
    finally:
        c.struct_cleanup()
    return {s: np.asarray(cl[s][2:], dtype=float) for s in ("tt", "te", "ee", "pp")}


def residuals(p: dict, ref: dict) -> np.ndarray:
    """(4, 2507) residuals (tt, te, ee, pp; module docstring) of the bare networks at p."""
    import classy_szlite_cobaya as csl
    from classy_szlite_cobaya.cosmology import cmb
    cosmo = csl.CosmoParams(**csl.MASSLESS_LCDM, **p)
    net = {k: np.asarray(v) for k, v in cmb.network_spectra(cosmo).items()}
    t2 = cmb.MUK2
    tt, te, ee, pp = net["tt"] / t2, net["te"] / t2, net["ee"] / t2, net["pp"]
    return np.stack([np.log(ref["tt"] / tt), (ref["te"] - te) / np.sqrt(tt * ee),
                     np.log(ref["ee"] / ee), np.log(ref["pp"] / pp)])


def chunk_path(purpose, c):
    return os.path.join(DATA, f"cmb_{purpose}_{c:04d}.npz")


def run_chunk(args):
    purpose, c, n = args
    path = chunk_path(purpose, c)
    if os.path.exists(path):
        return c, 0.0
    t0 = time.time()
    rows = points(purpose, n)[c * CHUNK:(c + 1) * CHUNK]
    res, status = [], []
    for r in rows:
        p = dict(zip(BOX, r))
        try:
            res.append(residuals(p, class_spectra(p)))
            status.append(0)
        except Exception as exc:                  # a CLASS failure: recorded, not fatal
            print(f"  {p}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            res.append(np.full((4, ELL_MAX - 1), np.nan))
            status.append(1)
    save_chunk(path, params=rows, names=np.array(list(BOX)),
               index=np.arange(c * CHUNK, c * CHUNK + len(rows)),
               residual=np.array(res, dtype=np.float16), status=np.array(status))
    return c, time.time() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("purpose", choices=sorted(SEEDS))
    ap.add_argument("n", type=int, help="number of Sobol indices (a multiple of %d)" % CHUNK)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    if a.n <= 0 or a.n % CHUNK:
        ap.error(f"n must be a positive multiple of {CHUNK}")
    run_missing(DATA, [(a.purpose, c, a.n) for c in range(a.n // CHUNK)],
                lambda t: chunk_path(*t[:2]), run_chunk, a.workers, f"cmb/{a.purpose}")


if __name__ == "__main__":
    main()
