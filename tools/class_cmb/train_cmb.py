"""Fit the CLASS correction of the CosmoPower CMB networks to the residuals of
``generate_cmb.py`` and write ``classy_szlite_cobaya/cosmology/weights/cmb_correction.npz``.

GPs on PCA components (``tools/camb_emulator/train.py::fit_gp``; prediction
``cosmology.gp.gp_predict``) in the blocks of :data:`BLOCKS`: one per spectrum over every
ell (residual definitions in generate_cmb.py) and two for ell < 30, where EE and TE need their
own components; all on the same training inputs (the six LambdaCDM parameters mapped from
generate_cmb.BOX to the unit cube). The validation set (purpose ``valid``, never used in fitting) is reported before
and after the correction, per ell range, with the accuracy targets of the project's CMB
tests (TT, EE 0.5 %; TE 1 % of sqrt(TT EE); phi-phi 1 %).

Usage: python tools/class_cmb/train_cmb.py [--n-pc 32] [--n-pc-low 16] [--steps 1500] [--save]
       [--write-test-data N]
"""
from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "camb_emulator")]
import generate_cmb as G  # noqa: E402
from train import fit_gp  # noqa: E402  (tools/camb_emulator/train.py)

OUT = os.path.join(HERE, "..", "..", "classy_szlite_cobaya", "cosmology", "weights",
                   "cmb_correction.npz")
SPECTRA = ("tt", "te", "ee", "pp")
RANGES = ((2, 29), (30, 1000), (1001, 2508))


def load(purpose: str):
    """(x (n, 6) physical inputs, residual (n, 4, 2507)) of the successful runs."""
    files = sorted(glob.glob(os.path.join(G.DATA, f"cmb_{purpose}_*.npz")))
    if not files:
        raise SystemExit(f"no cmb_{purpose} chunks in {G.DATA}")
    d = [np.load(f) for f in files]
    ok = np.concatenate([x["status"] for x in d]) == 0
    return (np.concatenate([x["params"] for x in d])[ok],
            np.concatenate([x["residual"] for x in d]).astype(float)[ok])


def unit(x):
    lo = np.array([v[0] for v in G.BOX.values()])
    hi = np.array([v[1] for v in G.BOX.values()])
    return (x - lo) / (hi - lo), lo, hi


def report(label, res):
    """Max |residual| per spectrum and ell range over the points."""
    ell = np.arange(2, G.ELL_MAX + 1)
    for (a, b) in RANGES:
        sel = (ell >= a) & (ell <= b)
        row = "  ".join(f"{s} {np.abs(res[:, i, sel]).max() * 100:.2f}%"
                        for i, s in enumerate(SPECTRA))
        print(f"  {label} ell {a}-{b}: {row}", flush=True)


#: GP blocks: (name, spectrum, first ell, last ell, target). A block whose range lies inside
#: another's replaces that block's correction there (cmb.class_correction). Targets:
#: "residual", the generate_cmb residual; "direct" (te only), C^TE,CLASS / sqrt(C^TT C^EE)^network,
#: which is smooth in the parameters where the networks' own TE error is not (ell < 30).
BLOCKS = (("tt", "tt", 2, 2508, "residual"), ("te", "te", 2, 2508, "residual"),
          ("ee", "ee", 2, 2508, "residual"), ("pp", "pp", 2, 2508, "residual"),
          ("te_low", "te", 2, 29, "direct"), ("ee_low", "ee", 2, 29, "residual"))


def targets(x, r):
    """{block: (n, n_ell) training target} from inputs x and residuals r (n, 4, 2507)."""
    rho = None
    out = {}
    for name, spec, a, b, kind in BLOCKS:
        y = r[:, SPECTRA.index(spec), a - 2:b - 1]
        if kind == "direct":
            if rho is None:
                rho = np.array([net_rho(xi) for xi in x])
            y = y + rho[:, a - 2:b - 1]
        out[name] = y
    return out


def net_rho(x):
    """The networks' C^TE / sqrt(C^TT C^EE) at ell = 2 ... 2508 at physical inputs x (6,)."""
    import classy_szlite_cobaya as csl
    from classy_szlite_cobaya.cosmology import cmb
    n = cmb.network_spectra(csl.CosmoParams(**csl.MASSLESS_LCDM, **dict(zip(G.BOX, x))))
    return np.asarray(cmb.te_correlation(n))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-pc", type=int, default=32, help="components of a whole-ell block")
    ap.add_argument("--n-pc-low", type=int, default=16, help="components of an ell < 30 block")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--save", action="store_true")
    ap.add_argument("--validate-only", action="store_true",
                    help="no fit: validate the shipped weights")
    ap.add_argument("--write-test-data", type=int, default=0, metavar="N",
                    help="also write the first N validation points to tests/data")
    a = ap.parse_args(argv)
    if not a.validate_only:
        fit_and_save(a)
    validate(a)


def fit_and_save(a):
    x, r = load("train")
    u, lo, hi = unit(x)
    print(f"{len(u)} training points", flush=True)
    out = dict(lo=lo, hi=hi, names=np.array(list(G.BOX)), blocks=np.array([b[0] for b in BLOCKS]))
    ys = targets(x, r)
    for name, spec, ell_a, ell_b, kind in BLOCKS:
        print(f"{name}:", flush=True)
        n_pc = a.n_pc if ell_b - ell_a > 100 else a.n_pc_low
        m = fit_gp(u, ys[name], n_pc, a.steps, blocks=((name, slice(None)),))
        for key in ("ell", "pc_group", "alpha", "mean", "basis"):
            out[f"{name}_{key}"] = m[key]
        out[f"{name}_spectrum"], out[f"{name}_target"] = np.array(spec), np.array(kind)
        out[f"{name}_ell_range"] = np.array([ell_a, ell_b])
        out["u_train"] = m["u_train"]      # fit_gp's order (the same for every block)
    if a.save:
        tmp = OUT + ".tmp.npz"
        np.savez(tmp, **out)
        os.replace(tmp, OUT)
        print("wrote", OUT)


def validate(a):
    try:
        xv, rv = load("valid")
    except SystemExit:
        return
    import jax
    import classy_szlite_cobaya as csl
    from classy_szlite_cobaya.cosmology import cmb
    # the package's own correction, from the file just written (or the shipped one)
    corr = jax.jit(lambda c: cmb.class_correction(c))
    pred = []
    for xi in xv:
        c = corr(csl.CosmoParams(**csl.MASSLESS_LCDM, **dict(zip(G.BOX, xi))))
        pred.append([np.asarray(c[s]) for s in SPECTRA])
    print(f"validation, {len(xv)} points (the weights in the package):")
    report("networks alone ", rv)
    report("with correction", rv - np.array(pred))
    if a.write_test_data:
        path = os.path.join(HERE, "..", "..", "tests", "data", "cmb_validation.npz")
        n = a.write_test_data
        np.savez_compressed(path, params=xv[:n], names=np.array(list(G.BOX)),
                            residual=rv[:n].astype(np.float16))
        print("wrote", path)


if __name__ == "__main__":
    main()
