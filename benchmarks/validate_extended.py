"""Validation of the extended-cosmology path (massive neutrinos, w0-wa) against CAMB and CLASS.

    python benchmarks/validate_extended.py pk [w|ede] [valid|corner|corner2]  # vs held-out CAMB
    python benchmarks/validate_extended.py cl        # C_ell^yy: emulator mode vs provider mode (camb)
    python benchmarks/validate_extended.py sanity    # C_ell ratios 0.06 eV vs 0, w0 = -0.8 vs -1
    python benchmarks/validate_extended.py class     # P_lin and sigma8 vs CLASS (classy)
    python benchmarks/validate_extended.py class_cl  # C_ell^yy: emulator mode vs provider mode (classy)

``pk`` reads the held-out chunks ``tools/camb_emulator/data/<family>_valid_*.npz`` (Sobol points not
used in training) and compares P_lin (total and cb, 1e-4 <= k <= 10 /Mpc, z in [0, 5]),
sigma8 (ratio to the massless twin), H(z) and chi(z) with CAMB; it writes a compact subset to
``tests/data/extended_validation.npz`` for the test suite. ``cl`` and ``sanity`` build Cobaya
models with the ``camb`` theory in provider mode next to the emulator mode at the same points.
"""
from __future__ import annotations

import glob
import os
import sys

import numpy as np

from classy_szlite_cobaya.constants import N_UR_DEFAULT  # noqa: E402  (N_eff = 3.046, as CAMB)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "camb_emulator"))


def _cosmo(family, p):
    import classy_szlite_cobaya as csl
    from classy_szlite_cobaya.cosmology.extended import FAMILY_FIELDS
    own = FAMILY_FIELDS[family]
    # CAMB's training conventions (N_eff = 3.046, the other family at its null point), not
    # the CosmoParams defaults
    return csl.CosmoParams(**dict(csl.MASSLESS_LCDM, omega_b=p[0], omega_cdm=p[1], H0=p[2],
                                  m_ncdm=p[3] / 3.0, **dict(zip(own, p[4:]))))


def pk(family: str = "w", purpose: str = "valid"):
    """Emulator vs the held-out CAMB points of one family: P_lin (total, cb) ratio to the
    null twin, sigma8 ratio, H(z), chi(z) (the JAX background has no EDE: for ``ede`` the H
    and chi columns measure that approximation). ``purpose``: "valid" (random points of the
    box; writes the test subset), "corner" or "corner2" (held-out points of the sub-box of
    ``ede``'s "edge3" training points; ``generate.SEEDS``)."""
    import jax
    import jax.numpy as jnp
    import classy_szlite_cobaya as csl
    from classy_szlite_cobaya.cosmology import background, extended
    import generate as G

    files = sorted(glob.glob(os.path.join(G.DATA, f"{family}_{purpose}_*.npz")))
    d = [np.load(f) for f in files]
    cat = lambda key: np.concatenate([x[key] for x in d])
    ok = cat("status") == 0
    x, t, c = cat("params")[ok], cat("lnr_tot")[ok], cat("lnr_cb")[ok]
    s8r, hz, chi = (cat("sigma8") / cat("sigma8_ref"))[ok], cat("H")[ok], cat("chi")[ok]
    model = extended.load_family(family)
    lk = np.log(G.K_GRID)

    pred = jax.jit(lambda xi: extended.linear_power_ratio(model, xi, G.Z_GRID, lk))

    s8_fn = jax.jit(lambda cz: csl.cosmology.sigma8(cz))
    h_fn = jax.jit(lambda cz: background.hubble(cz, jnp.asarray(G.Z_GRID)))
    chi_fn = jax.jit(lambda cz: background.comoving_distance(cz, jnp.asarray(G.Z_GRID)))
    null = {"w": dict(m_ncdm=0.0, w0=-1.0, wa=0.0), "ede": dict(fEDE=0.0)}[family]
    e_t, e_c, e_s8, e_h, e_chi = [], [], [], [], []
    for xi, ti, ci, si, hi, chii in zip(x, t, c, s8r, hz, chi):
        pt, pc = pred(jnp.asarray(xi))
        e_t.append(np.abs(np.expm1(np.asarray(pt) - ti)))
        e_c.append(np.abs(np.expm1(np.asarray(pc) - ci)))
        cz = _cosmo(family, xi)
        c0 = cz._replace(**null)
        e_s8.append(abs(float(s8_fn(cz) / s8_fn(c0)) / si - 1))
        e_h.append(np.max(np.abs(np.asarray(h_fn(cz)) / hi - 1)))
        e_chi.append(np.max(np.abs(np.asarray(chi_fn(cz))[1:] / chii[1:] - 1)))
    e_t, e_c = np.array(e_t), np.array(e_c)
    rows = []

    kmask = G.K_GRID >= 1e-2

    def row(label, m):
        if not m.any():
            return
        et, ec = e_t[m], e_c[m]
        ek = e_t[m][..., kmask]
        rows.append(f"| {label} | {m.sum()} | {np.percentile(et, 99):.2%} | "
                    f"{et.max():.2%} | {np.percentile(ec, 99):.2%} | {ec.max():.2%}"
                    f" | {np.percentile(ek, 99):.2%} | {ek.max():.2%}"
                    f" | {np.max(np.array(e_s8)[m]):.3%} | {np.max(np.array(e_h)[m]):.1e} | "
                    f"{np.max(np.array(e_chi)[m]):.1e} |")
    row("whole box", np.ones(len(x), bool))
    if family == "w":
        sums = x[:, 4] + x[:, 5]
        row("Sum m_nu only (|w0 + 1|, |wa| < 0.3)",
            (np.abs(x[:, 4] + 1) < 0.3) & (np.abs(x[:, 5]) < 0.3))
        row("w0 + wa < -0.5", sums < -0.5)
        row("w0 + wa >= -0.5", sums >= -0.5)
    else:
        row("fEDE < 0.1", x[:, 4] < 0.1)
        row("fEDE >= 0.1", x[:, 4] >= 0.1)
        row("fEDE >= 0.2, omega_cdm < 0.1", (x[:, 4] >= 0.2) & (x[:, 1] < 0.1))
    print("| points | n | P_tot p99 | P_tot max | P_cb p99 | P_cb max | P_tot p99, k >= 0.01 | "
          "P_tot max, k >= 0.01 | sigma8 max | H max | chi max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if purpose == "valid":
        # A compact subset for tests/: 24 points, every z node, every 4th k node.
        sel = np.arange(min(24, len(x)))
        name = "extended_validation.npz" if family == "w" else f"extended_validation_{family}.npz"
        out = os.path.join(ROOT, "tests", "data", name)
        np.savez_compressed(out, params=x[sel], lnr_tot=t[sel][..., ::4], lnr_cb=c[sel][..., ::4],
                            k=G.K_GRID[::4], z=G.Z_GRID, sigma8_ratio=s8r[sel])
        print("wrote", out)


def _class_species(mnu, w0, wa) -> dict:
    """CLASS inputs for Sum m_nu (three degenerate species, CLASS's T_ncdm and N_ur; N_eff =
    3.046 when massless) and w0-wa (fluid with PPF instead of Lambda)."""
    args = (dict(N_ur=0.00641, N_ncdm=1, deg_ncdm=3, m_ncdm=mnu / 3, T_ncdm=0.71611)
            if mnu > 0 else dict(N_ur=3.046))
    if (w0, wa) != (-1.0, 0.0):
        args.update(Omega_Lambda=0.0, w0_fld=w0, wa_fld=wa, use_ppf="yes")
    return args


def _models(point, mode):
    from cobaya.model import get_model
    fixed = {"B": 1.4}
    theory = {"classy_szlite_cobaya.cobaya.TSZPowerSpectrum": None}
    params = dict(fixed)
    if mode == "emulator":
        theory["classy_szlite_cobaya.cobaya.TSZCosmology"] = None
        params.update(omega_b=point["omega_b"], omega_cdm=point["omega_cdm"], H0=point["H0"],
                      logA=point["logA"], n_s=point["n_s"], mnu=point["mnu"],
                      w=point["w0"], wa=point["wa"], fEDE=0.0, N_ur=N_UR_DEFAULT)
        params.update({k: point[k] for k in EDE_FIELDS if k in point})
    elif mode == "classy":
        extra = {"non_linear": "none", "T_cmb": 2.7255,
                 **_class_species(point["mnu"], point["w0"], point["wa"])}
        theory["classy"] = {"extra_args": extra}
        theory["classy_szlite_cobaya.cobaya.TSZCosmology"] = {"cosmology_source": "provider",
                                                              "hmf_matter": "cb"}
        params.update(omega_b=point["omega_b"], omega_cdm=point["omega_cdm"], H0=point["H0"],
                      A_s=1e-10 * np.exp(point["logA"]), n_s=point["n_s"], tau_reio=0.054)
    else:
        extra = {"num_massive_neutrinos": 3 if point["mnu"] > 0 else 0,
                 "neutrino_hierarchy": "degenerate", "nnu": 3.046,
                 "standard_neutrino_neff": 3.046, "dark_energy_model": "ppf"}
        if point.get("fEDE", 0.0) > 0:
            # CAMB's EDE is its dark-energy model (w = -1 otherwise): the training settings
            extra.update(dark_energy_model="EarlyQuintessence", n=3, use_zc=True,
                         zc=10.0 ** point["log10z_c"], fde_zc=point["fEDE"],
                         theta_i=point["thetai_scf"])
        theory["camb"] = {"extra_args": extra}
        theory["classy_szlite_cobaya.cobaya.TSZCosmology"] = {"cosmology_source": "provider",
                                                              "hmf_matter": "cb"}
        params.update(ombh2=point["omega_b"], omch2=point["omega_cdm"], H0=point["H0"],
                      As=1e-10 * np.exp(point["logA"]), ns=point["n_s"], mnu=point["mnu"],
                      tau=0.054)
        if point.get("fEDE", 0.0) == 0:
            params.update(w=point["w0"], wa=point["wa"])
    info = {"theory": theory, "params": params,
            "likelihood": {"tsz_probe": {"external": lambda _self=None: 0.0,
                                         "requires": {"Cl_yy": {"ell": ELL.tolist()}}}}}
    return get_model(info)


ELL = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
POINTS = [
    dict(omega_b=0.0224, omega_cdm=0.12, H0=68.0, logA=3.05, n_s=0.965, mnu=0.06, w0=-1.0, wa=0.0),
    dict(omega_b=0.0220, omega_cdm=0.11, H0=72.0, logA=3.00, n_s=0.97, mnu=0.3, w0=-1.0, wa=0.0),
    dict(omega_b=0.0230, omega_cdm=0.13, H0=66.0, logA=3.10, n_s=0.96, mnu=0.06, w0=-0.8, wa=0.0),
    dict(omega_b=0.0224, omega_cdm=0.12, H0=70.0, logA=3.05, n_s=0.965, mnu=0.1, w0=-1.2, wa=0.4),
    dict(omega_b=0.0215, omega_cdm=0.14, H0=75.0, logA=2.95, n_s=0.95, mnu=0.45, w0=-0.7, wa=-0.5),
]
EDE_FIELDS = ("fEDE", "log10z_c", "thetai_scf")
#: EDE points (w = -1): CAMB EarlyQuintessence in provider mode.
EDE_POINTS = [
    POINTS[0] | dict(fEDE=0.1, log10z_c=3.5, thetai_scf=2.8),
    POINTS[1] | dict(fEDE=0.05, log10z_c=4.0, thetai_scf=1.5),
    POINTS[0] | dict(omega_cdm=0.13, H0=72.0, fEDE=0.2, log10z_c=3.3, thetai_scf=2.5),
]


def _cl(model, point):
    model.logposterior({})
    cl = model.provider.get_Cl_yy()
    return np.interp(ELL, cl["ell"], np.asarray(cl["1h"]) + np.asarray(cl["2h"]))


def cl():
    print("| Sum m_nu | w0 | wa | fEDE, log10z_c, thetai_scf | max |emulator/camb - 1|, "
          "10 <= ell <= 1000 |")
    print("|---|---|---|---|---|")
    for p in POINTS + EDE_POINTS:
        r = _cl(_models(p, "emulator"), p) / _cl(_models(p, "camb"), p) - 1
        ede = ", ".join(str(p[k]) for k in EDE_FIELDS) if "fEDE" in p else "-"
        print(f"| {p['mnu']} | {p['w0']} | {p['wa']} | {ede} | {np.max(np.abs(r)):.2%} "
              f"({', '.join(f'{v:+.2%}' for v in r)}) |", flush=True)


CLASS_POINTS = [POINTS[0] | dict(mnu=m) for m in (0.06, 0.15, 0.45)] + [
    POINTS[0] | dict(mnu=0.0, w0=w0, wa=wa) for w0, wa in ((-0.8, 0.0), (-1.2, 0.4), (-0.9, -0.5))]


def class_cl():
    """C_ell^yy (1h + 2h) in emulator mode against provider mode with Cobaya's classy theory
    (CLASS, linear P) at three massive-neutrino and three w0-wa points (the P_lin points of
    ``class``), cb mass function, 10 <= ell <= 1000."""
    print("| Sum m_nu | w0 | wa | max |emulator/classy - 1|, 10 <= ell <= 1000 |")
    print("|---|---|---|---|")
    for p in CLASS_POINTS:
        r = _cl(_models(p, "emulator"), p) / _cl(_models(p, "classy"), p) - 1
        print(f"| {p['mnu']} | {p['w0']} | {p['wa']} | {np.max(np.abs(r)):.2%} "
              f"({', '.join(f'{v:+.2%}' for v in r)}) |", flush=True)


def sanity():
    base = POINTS[0] | dict(mnu=0.0)
    h2 = (base["H0"] / 100) ** 2
    om_h2 = base["omega_b"] + base["omega_cdm"]
    for label, change in (("Sum m_nu 0.06 vs 0 (fixed omega_m)",
                           dict(mnu=0.06, omega_cdm=om_h2 - 0.06 / 93.14 - base["omega_b"])),
                          ("w0 -0.8 vs -1", dict(w0=-0.8)),
                          ("fEDE 0.1 vs 0 (log10z_c 3.562, thetai_scf 2.83)",
                           dict(fEDE=0.1, log10z_c=3.562, thetai_scf=2.83))):
        ratios = []
        for mode in ("emulator", "camb"):
            r = _cl(_models(base | change, mode), base | change) / _cl(_models(base, mode), base)
            ratios.append(r)
        print(f"{label}: ell {ELL[[2, 4]].tolist()}: emulator {ratios[0][[2, 4]].round(4)}, "
              f"camb {ratios[1][[2, 4]].round(4)}")
    del h2


def class_pk():
    """P_lin (total matter) against CLASS (classy) at three massive-neutrino and three w0-wa
    points, z = 0, 1, 2, 1e-3 <= k <= 5 /Mpc (CLASS: N_ncdm 1, deg_ncdm 3, T_ncdm 0.71611,
    N_ur 0.00641; fluid dark energy with PPF)."""
    from classy import Class
    import classy_szlite_cobaya as csl
    k = np.geomspace(1e-3, 5.0, 60)
    z = [0.0, 1.0, 2.0]
    pts = [dict(mnu=0.06), dict(mnu=0.15), dict(mnu=0.45),
           dict(w0=-0.8, wa=0.0), dict(w0=-1.2, wa=0.4), dict(w0=-0.9, wa=-0.5)]
    print("| point | max |P_emu / P_CLASS - 1| | sigma8 emu / CLASS - 1 |")
    print("|---|---|---|")
    for p in pts:
        base = dict(omega_b=0.0224, omega_cdm=0.12, H0=68.0, ln10_10_As=3.05, n_s=0.965)
        c = csl.CosmoParams(**dict(csl.MASSLESS_LCDM, **base, m_ncdm=p.get("mnu", 0.0) / 3,
                                   w0=p.get("w0", -1.0), wa=p.get("wa", 0.0)))
        cl = Class()
        args = {"omega_b": 0.0224, "omega_cdm": 0.12, "h": 0.68, "A_s": 1e-10 * np.exp(3.05),
                "n_s": 0.965, "output": "mPk", "P_k_max_1/Mpc": 10.0, "z_max_pk": 3.0,
                "T_cmb": 2.7255,
                **_class_species(p.get("mnu", 0.0), p.get("w0", -1.0), p.get("wa", 0.0))}
        cl.set(args)
        cl.compute()
        worst = 0.0
        for zi in z:
            p_cl = np.array([cl.pk_lin(ki, zi) for ki in k])
            _, p_em = csl.Pk(c, zi, k)
            worst = max(worst, float(np.max(np.abs(np.asarray(p_em) / p_cl - 1))))
        s8 = float(csl.derived(c)["sigma8"]) / cl.sigma8() - 1
        print(f"| {p} | {worst:.2%} | {s8:+.2%} |")
        cl.struct_cleanup()


if __name__ == "__main__":
    if sys.argv[1] == "pk":
        pk(*sys.argv[2:4])
    else:
        {"cl": cl, "sanity": sanity, "class": class_pk, "class_cl": class_cl}[sys.argv[1]]()
