"""Fit the extended-cosmology emulator to the CAMB spectra of ``generate.py``.

Per family (``w``, ``ede``): outputs y = [ln R_tot(z, k), ln R_cb(z, k) - ln R_tot(z, k)]
(flattened on generate.Z_GRID x generate.K_GRID), reduced by PCA to ``n_pc`` components;
each component, standardised, is a Gaussian-process regression on the inputs mapped to the
unit cube (anisotropic squared-exponential kernel, one set of length scales shared by all
components, fitted by maximising the summed log marginal likelihood with optax). A GP
rather than a network: the training sets are ~10^3 points of smooth functions in 6-7
dimensions, where a GP interpolates to higher accuracy than a network of the same data, and
its prediction (one kernel row times fixed weights) is a few microseconds and differentiable.

Writes ``classy_szlite_cobaya/data/emulator_<family>.npz`` (no pickle): the unit-cube
training inputs, box, length scales, weights alpha = K^-1 Y, PCA mean/basis/scales, grids.

Usage: python tools/camb_emulator/train.py FAMILY [--n-pc 64] [--holdout 0] [--steps 600]
       [--groups 1,1,2,4,56] [--save]
"""
from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate as G  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "classy_szlite_cobaya", "cosmology", "weights")


def load(family: str, purpose: str = "train"):
    """(X [n, d] physical inputs, Y [n, 2 n_z n_k], sigma8 ratio [n], H [n, n_z], chi).
    purpose "train" includes the family's "edge*" points (generate.SEEDS)."""
    pats = [purpose] + ([q for f, q in G.SEEDS if f == family and q.startswith("edge")]
                        if purpose == "train" else [])
    files = sorted(f for p in pats for f in glob.glob(os.path.join(G.DATA, f"{family}_{p}_*.npz")))
    if not files:
        raise SystemExit(f"no {family}/{purpose} chunks in {G.DATA}")
    d = [np.load(f) for f in files]
    cat = lambda key: np.concatenate([x[key] for x in d])
    ok = cat("status") == 0
    t, c = cat("lnr_tot")[ok].astype(float), cat("lnr_cb")[ok].astype(float)
    y = np.concatenate([t.reshape(len(t), -1), (c - t).reshape(len(t), -1)], axis=1)
    return (cat("params")[ok], y, (cat("sigma8") / cat("sigma8_ref"))[ok], cat("H")[ok],
            cat("chi")[ok])


def box(family):
    """(lo, hi) of the GP inputs (transformed, see extended.transform_inputs)."""
    from classy_szlite_cobaya.cosmology import extended
    b = G.BOXES[family]
    return extended.transformed_box(family, [v[0] for v in b.values()],
                                    [v[1] for v in b.values()])


def unit(family, x):
    from classy_szlite_cobaya.cosmology import extended
    lo, hi = box(family)
    return (np.asarray(extended.transform_inputs(family, x)) - lo) / (hi - lo)


def null_points(family: str, n: int):
    """n exact training points on the null plane (extended.NULL: massless, w = -1 for ``w``;
    fEDE = 0 for ``ede``), where ln R = 0 by definition (no CAMB run needed); the other inputs
    are Sobol points of the box. They pin the GP where extended.linear_power subtracts its
    prediction."""
    from scipy.stats import qmc
    from classy_szlite_cobaya.cosmology import extended
    box = G.BOXES[family]
    n_out = 2 * len(G.Z_GRID) * len(G.K_GRID)
    if n <= 0:
        return np.zeros((0, len(box))), np.zeros((0, n_out))
    lo = np.array([v[0] for v in box.values()])
    hi = np.array([v[1] for v in box.values()])
    x = lo + qmc.Sobol(d=len(box), scramble=True, seed=99).random(n) * (hi - lo)
    for col, value in extended.NULL[family].items():
        x[:, col] = value
    return x, np.zeros((n, n_out))


def fit_gp(u, y, n_pc: int = 64, steps: int = 600, groups=None, holdout: float = 0.0,
           seed: int = 0, blocks=(("y", slice(None)),)):
    """GP regression of outputs y (n, n_out) on unit-cube inputs u (n, d): PCA to ``n_pc``
    components, each standardised; components in groups (sizes ``groups``, default one group),
    each group with its own anisotropic squared-exponential kernel and noise, fitted by
    maximising the (variance-weighted) summed log marginal likelihood with optax (Adam,
    ``steps`` steps). ``holdout``: fraction of points left out and reported. ``blocks``:
    (label, slice of the outputs) reported separately. Returns the arrays of
    ``classy_szlite_cobaya.cosmology.gp.gp_predict`` (u_train, ell, pc_group, alpha, mean,
    basis)."""
    import jax
    import jax.numpy as jnp
    import optax
    jax.config.update("jax_enable_x64", True)

    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(u))
    n_hold = int(holdout * len(u))
    hold, train = perm[:n_hold], perm[n_hold:]

    mean = y[train].mean(0)
    _, s, vt = np.linalg.svd(y[train] - mean, full_matrices=False)
    basis = vt[:n_pc]                                  # (n_pc, n_out)
    coef = (y[train] - mean) @ basis.T                 # (n, n_pc)
    scale = coef.std(0)
    c_std = coef / scale
    ut = jnp.asarray(u[train])

    def kernel(log_ell, a, b):
        d2 = (((a[:, None, :] - b[None, :, :]) / jnp.exp(log_ell)) ** 2).sum(-1)
        return jnp.exp(-0.5 * d2)

    def fit_group(cols):
        """Length scales and noise of one group of components (their own kernel)."""
        cg = jnp.asarray(c_std[:, cols])
        # weight components by their variance share so the leading ones set the scales
        w = jnp.asarray(scale[cols] ** 2 / (scale[cols] ** 2).sum())

        def nlml(theta):
            log_ell, log_noise = theta[:-1], theta[-1]
            k = kernel(log_ell, ut, ut) + (jnp.exp(2 * log_noise) + 1e-10) * jnp.eye(len(ut))
            chol = jnp.linalg.cholesky(k)
            alpha = jax.scipy.linalg.cho_solve((chol, True), cg)
            logdet = 2 * jnp.log(jnp.diag(chol)).sum()
            return jnp.sum(w * (0.5 * (cg * alpha).sum(0) + 0.5 * logdet))

        theta = jnp.concatenate([jnp.full(u.shape[1], np.log(0.5)), jnp.array([np.log(1e-3)])])
        opt = optax.adam(0.05)
        state = opt.init(theta)
        step = jax.jit(lambda th, st: (lambda l, g: (l, *opt.update(g, st, th)))(
            *jax.value_and_grad(nlml)(th)))
        for i in range(steps):
            loss, upd, state = step(theta, state)
            theta = optax.apply_updates(theta, upd)
            if i % 50 == 0 or i == steps - 1:
                print(f"  PCs {cols[0]}-{cols[-1]} step {i}: nlml {float(loss):.3f} ell "
                      f"{np.exp(np.asarray(theta[:-1])).round(3)} noise "
                      f"{float(np.exp(theta[-1])):.1e}", flush=True)
        return theta

    # Components in groups (sizes `groups`), each with its own kernel: the leading components
    # are smooth and nearly noise-free, the later ones rougher; one shared kernel would set
    # every length scale and the noise level by a compromise.
    sizes = list(groups) if groups else [n_pc]
    if sum(sizes) != n_pc:
        raise SystemExit(f"group sizes {sizes} do not add up to n_pc = {n_pc}")
    bounds = np.cumsum([0] + sizes)
    ells, alpha, pc_group = [], np.zeros((len(ut), n_pc)), np.zeros(n_pc, int)
    loo = np.zeros((len(ut), n_pc))
    for g, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        cols = np.arange(a, b)
        theta = fit_group(cols)
        log_ell, log_noise = theta[:-1], theta[-1]
        k = kernel(log_ell, ut, ut) + (jnp.exp(2 * log_noise) + 1e-10) * jnp.eye(len(ut))
        k_inv = np.linalg.inv(np.asarray(k))
        alpha[:, cols] = (k_inv @ c_std[:, cols]) * scale[cols]
        # Leave-one-out residuals of the GP, exactly (Rasmussen & Williams eq. 5.12)
        loo[:, cols] = (k_inv @ c_std[:, cols]) / np.diag(k_inv)[:, None] * scale[cols]
        ells.append(np.exp(np.asarray(log_ell)))
        pc_group[cols] = g
    # in y units (the PCA truncation error comes on top; printed separately below)
    loo = loo @ basis
    floor = (y[train] - mean) - (y[train] - mean) @ basis.T @ basis
    for lab, sl in blocks:
        e = np.abs(loo[:, sl])
        print(f"  LOO {lab}: per-point max: median {np.median(e.max(1)):.2e}, p90 "
              f"{np.percentile(e.max(1), 90):.2e}, max {e.max():.2e}; all entries p99 "
              f"{np.percentile(e, 99):.2e}; PCA floor max {np.abs(floor[:, sl]).max():.2e}")
    model = dict(u_train=u[train], ell=np.array(ells), pc_group=pc_group, alpha=alpha,
                 mean=mean, basis=basis)
    if n_hold:
        err = np.abs(predict(model, u[hold]) - y[hold])
        res = (y[hold] - mean) - (y[hold] - mean) @ basis.T @ basis
        for lab, sl in blocks:
            print(f"  holdout {lab}: p99 {np.percentile(err[:, sl], 99):.2e} max "
                  f"{err[:, sl].max():.2e}  (PCA floor max {np.abs(res[:, sl]).max():.2e})")
    return model


def fit(family: str, n_pc: int = 64, holdout: float = 0.0, steps: int = 600, seed: int = 0,
        n_null: int = 64, groups=None):
    """The family's emulator (arrays of ``cosmology.extended.load_family``): :func:`fit_gp`
    on the CAMB training set plus ``n_null`` null points, the physical mean subtracted."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    x, y, *_ = load(family)
    x0, y0 = null_points(family, n_null)
    x, y = np.concatenate([x, x0]), np.concatenate([y, y0])
    from classy_szlite_cobaya.cosmology import extended
    feats = jax.jit(jax.vmap(lambda xi: extended.mean_features(family, xi, G.Z_GRID,
                                                               len(G.K_GRID))))
    y = y - np.asarray(feats(jnp.asarray(x)))        # the GP learns the residual
    n_half = y.shape[1] // 2
    model = fit_gp(unit(family, x), y, n_pc, steps, groups, holdout, seed,
                   blocks=(("ln R_tot", slice(0, n_half)),
                           ("ln R_cb - ln R_tot", slice(n_half, None))))
    return dict(model, names=np.array(list(G.BOXES[family])), lo=box(family)[0],
                hi=box(family)[1], k=G.K_GRID, z=G.Z_GRID, family=np.array(family))


def predict(model, u):
    """GP prediction at unit-cube inputs u (m, d): the package's own
    (``cosmology.gp.gp_predict``), in batches to bound the memory of the kernel rows."""
    from classy_szlite_cobaya.cosmology.gp import gp_predict
    return np.concatenate([np.asarray(gp_predict(model, u[i:i + 50]))
                           for i in range(0, len(u), 50)])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("family", choices=sorted(G.BOXES))
    ap.add_argument("--n-pc", type=int, default=64)
    ap.add_argument("--holdout", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--groups", default="",
                    help="sizes of the component groups with their own kernel, e.g. 1,1,2,4,56")
    ap.add_argument("--save", action="store_true")
    a = ap.parse_args(argv)
    groups = [int(v) for v in a.groups.split(",")] if a.groups else None
    model = fit(a.family, a.n_pc, a.holdout, a.steps, groups=groups)
    if a.save:
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, f"emulator_{a.family}.npz")
        np.savez(path + ".tmp.npz", **model)
        os.replace(path + ".tmp.npz", path)
        print("wrote", path)


if __name__ == "__main__":
    main()
