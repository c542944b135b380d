r"""Post-process a Cobaya chain of the tSZ y-map analysis.

    python -m classy_szlite_cobaya.plot CHAIN_PREFIX [--out DIR] [--burn-in 0.3]
    classy-szlite-cobaya plot CHAIN_PREFIX [--out DIR]

Reads ``CHAIN_PREFIX.*.txt`` and ``CHAIN_PREFIX.updated.yaml`` with GetDist and writes, in
``DIR`` (default: the chain's folder), with ``NAME`` the prefix's last component:

* ``NAME_triangle.png``: triangle plot of the sampled parameters (and F);
* ``NAME_constraints.txt``: marginalised mean, standard deviation and 68%/95% limits of the
  sampled and derived parameters (F, sigma8, Omega_m, S8, h when present);
* ``NAME_bestfit.png``: data vs the model at the best-fit (maximum-posterior) sample, in
  1e12 D_ell = 1e12 ell(ell+1) C_ell / (2 pi): tSZ 1-halo, 2-halo, each foreground, total.

The best-fit model is recomputed with :func:`classy_szlite_cobaya.cl_yy_factory` and the
likelihood's data loader, using the options recorded in the chain's ``updated.yaml``; the data
are found as the likelihood finds them (``path`` option, else ``<packages_path>/data/<name>``,
packages path from ``--packages-path``, the chain, ``$COBAYA_PACKAGES_PATH`` or Cobaya's config).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["load_samples", "constraints_table", "triangle_plot", "best_fit_point",
           "best_fit_model", "bestfit_plot", "add_arguments", "run", "main"]

#: Derived parameters reported in the table when the chain has them.
DERIVED_REPORTED = ("F", "sigma8", "Omega_m", "S8", "h")
_LIKE_CLASS = "PlanckYMap2015"
_COSMO_THEORY = "TSZCosmology"


def _use_agg():
    # Headless (CI, clusters): never try to open a window.
    import matplotlib

    matplotlib.use("Agg")


def load_samples(prefix: str, burn_in: float = 0.3):
    """GetDist MCSamples of the chain ``prefix``, dropping the first ``burn_in`` fraction
    (< 1) or number of rows (>= 1) of each chain."""
    from getdist import loadMCSamples

    prefix = str(prefix)
    if not list(Path(prefix).parent.glob(Path(prefix).name + ".*txt")):
        raise FileNotFoundError(f"No chain files {prefix}.*.txt found.")
    return loadMCSamples(prefix, settings={"ignore_rows": burn_in})


def _sampled_names(samples) -> list[str]:
    return [p.name for p in samples.getParamNames().names
            if not p.isDerived and not p.name.startswith(("chi2", "minuslogprior"))]


def _varying(samples, names) -> list[str]:
    # GetDist cannot draw a 1D density of a constant column (e.g. F when only B is fixed).
    out = []
    for n in names:
        col = samples.getParamNames().numberOfName(n)
        if col >= 0 and np.ptp(samples.samples[:, col]) > 0:
            out.append(n)
    return out


def _constant_columns(prefix: str) -> dict:
    """Columns that never vary in the chain files (GetDist drops them): name -> value."""
    files = sorted(Path(prefix).parent.glob(Path(prefix).name + ".[0-9]*.txt"))
    if not files:
        return {}
    with open(files[0]) as fh:
        names = fh.readline().lstrip("#").split()
    rows = np.concatenate([np.loadtxt(f, ndmin=2) for f in files])
    if rows.size == 0 or rows.shape[1] != len(names):
        return {}
    return {n: float(rows[0, i]) for i, n in enumerate(names) if np.ptp(rows[:, i]) == 0}


def constraints_table(samples, constants: dict | None = None) -> str:
    """Plain-text table: mean, sd, 68% and 95% two-tail limits of each reported parameter;
    reported parameters that are constant in the chain (``constants``) are listed as fixed."""
    names = _sampled_names(samples)
    names += [n for n in DERIVED_REPORTED
              if n not in names and samples.getParamNames().numberOfName(n) >= 0]
    stats = samples.getMargeStats()
    lines = [f"# {Path(str(samples.root)).name}: marginalised constraints "
             f"(effective samples ~ {samples.getEffectiveSamples():.0f})",
             f"# {'parameter':<10} {'mean':>12} {'sd':>12} {'68% lower':>12} {'68% upper':>12}"
             f" {'95% lower':>12} {'95% upper':>12}"]
    for n in names:
        p = stats.parWithName(n)
        if p is None:
            continue
        l68, l95 = p.limits[0], p.limits[1]  # GetDist contours: 0.68, 0.95, 0.99
        lines.append(f"  {n:<10} {p.mean:12.5g} {p.err:12.5g} {l68.lower:12.5g} "
                     f"{l68.upper:12.5g} {l95.lower:12.5g} {l95.upper:12.5g}")
    for n in DERIVED_REPORTED:
        if n not in names and n in (constants or {}):
            lines.append(f"  {n:<10} {constants[n]:12.5g}   (constant in the chain)")
    return "\n".join(lines) + "\n"


def triangle_plot(samples, path: str | os.PathLike, params=None) -> Path:
    """Triangle plot PNG of ``params`` (default: sampled parameters, plus F if it varies)."""
    _use_agg()
    from getdist import plots

    if params is None:
        params = _sampled_names(samples)
        if samples.getParamNames().numberOfName("F") >= 0:
            params.append("F")
    params = _varying(samples, params)
    g = plots.get_subplot_plotter(width_inch=2.0 * max(len(params), 3))
    g.triangle_plot(samples, params, filled=True)
    g.export(str(path))
    import matplotlib.pyplot as plt

    plt.close("all")
    return Path(path)


def _load_info(prefix: str) -> dict:
    from cobaya.yaml import yaml_load_file

    path = f"{prefix}.updated.yaml"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: the best-fit plot needs the chain's "
                                f"updated.yaml (written by cobaya-run).")
    return yaml_load_file(path)


def _component(block: dict | None, class_name: str):
    """(name, options) of the component of ``block`` whose class name ends in class_name."""
    for name, opts in (block or {}).items():
        opts = opts or {}
        cls = str(opts.get("class") or name)
        if cls.split(".")[-1] == class_name:
            return name, opts
    return None, None


def best_fit_point(samples, info: dict) -> dict:
    """All parameter values at the maximum-posterior sample: the sample's columns plus the
    numbers fixed in the chain's ``params`` block."""
    values = {}
    for p, pinfo in (info.get("params") or {}).items():
        v = pinfo.get("value") if isinstance(pinfo, dict) else pinfo
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values[p] = float(v)
    i = int(np.argmin(samples.loglikes))
    values.update({k: float(v) for k, v in samples.getParamSampleDict(i).items()})
    return values


def best_fit_model(values: dict, info: dict, packages_path: str | None = None) -> dict:
    """Recompute data and model at ``values`` (1e12 D_ell units).

    Returns dict with ell, d_ell (data), sigma (sqrt of the covariance diagonal), tsz_1h,
    tsz_2h, fg (name -> A_i template_i), total, and chi2 (where the covariance is known).
    """
    import classy_szlite_cobaya as csl
    from cobaya.tools import resolve_packages_path

    from .cobaya.datasets import load_manifest
    from .cobaya.install import dataset_dir
    from .cobaya.likelihood import (FOREGROUNDS, covariance, d_ell_factor, load_ymap_data,
                                    log_likelihood)
    from .cobaya.theory import cosmo_from_params

    _, like = _component(info.get("likelihood"), _LIKE_CLASS)
    if like is None:
        raise ValueError(f"The chain has no {_LIKE_CLASS} likelihood: nothing to compare to.")
    _, theo = _component(info.get("theory"), _COSMO_THEORY)
    halo_model = dict((theo or {}).get("halo_model") or {})

    manifest = load_manifest(like.get("dataset") or "planck2015_ymap")
    if like.get("path"):
        directory = Path(os.path.expanduser(like["path"]))
    else:
        pkgs = packages_path or resolve_packages_path(info)
        if not pkgs:
            raise FileNotFoundError(
                "No packages path: pass --packages-path or set COBAYA_PACKAGES_PATH "
                "(where `cobaya-install` put the data).")
        directory = dataset_dir(pkgs, manifest)
    data = load_ymap_data(directory, manifest, ell_min=like.get("ell_min"),
                          ell_max=like.get("ell_max"), f_sky=like.get("f_sky"))

    cosmo = cosmo_from_params(values)
    profile = csl.ProfileParamsA10(**{k: values[k] for k in csl.ProfileParamsA10._fields
                                      if k in values})
    cl1, cl2 = csl.cl_yy_factory(cosmo, data.ell, **halo_model)(profile)
    f = d_ell_factor(data.ell)
    out = {"ell": data.ell, "d_ell": data.d_ell, "tsz_1h": f * np.asarray(cl1),
           "tsz_2h": f * np.asarray(cl2), "fg": {}}
    for name, tmpl in zip(FOREGROUNDS, data.foregrounds):
        out["fg"][name] = values.get(f"A_{name}", 0.0) * tmpl
    out["total"] = out["tsz_1h"] + out["tsz_2h"] + sum(out["fg"].values())

    mode = like.get("trispectrum", "file")
    tri = data.trispectrum if mode == "file" else None
    cov = covariance(data.error, tri, data.f_sky)
    out["sigma"] = np.sqrt(np.diag(cov))
    # With trispectrum: model the covariance term depends on the run's point: not redone here.
    out["chi2"] = None if mode == "model" else -2.0 * log_likelihood(out["total"], data.d_ell, cov)
    out["name"] = data.name
    return out


def bestfit_plot(model: dict, path: str | os.PathLike, values: dict | None = None) -> Path:
    """Data with errors vs best-fit model components, log-log, in 1e12 D_ell."""
    _use_agg()
    import matplotlib.pyplot as plt

    ell = model["ell"]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.errorbar(ell, model["d_ell"], yerr=model["sigma"], fmt="o", color="k", ms=4,
                capsize=2, label=f"data ({model['name']})")
    ax.plot(ell, model["total"], "-", color="C3", lw=2, label="total model")
    ax.plot(ell, model["tsz_1h"] + model["tsz_2h"], "-", color="C0", lw=1.5, label="tSZ 1h + 2h")
    ax.plot(ell, model["tsz_1h"], "--", color="C0", label="tSZ 1-halo")
    ax.plot(ell, model["tsz_2h"], ":", color="C0", label="tSZ 2-halo")
    for i, (name, d) in enumerate(model["fg"].items()):
        if np.any(d > 0):
            ax.plot(ell, d, "-.", color=f"C{i + 4}", lw=1, label=f"{name} foreground")
    ax.set_xscale("log")
    ax.set_yscale("log")
    positive = np.concatenate([model["d_ell"][model["d_ell"] > 0], model["total"]])
    ax.set_ylim(0.2 * positive.min(), 3 * positive.max())
    ax.set_xlabel(r"$\ell$")
    ax.set_ylabel(r"$10^{12}\,\ell(\ell+1)\,C_\ell^{yy}/2\pi$")
    title = "best fit (max posterior)"
    if model.get("chi2") is not None:
        title += rf": $\chi^2$ = {model['chi2']:.2f} for {ell.size} bins"
    if values and "B" in values:
        title += f", B = {values['B']:.3g}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of the ``plot`` command (shared by ``-m`` and the console script)."""
    parser.add_argument("prefix", metavar="CHAIN_PREFIX",
                        help="chain prefix, e.g. chains/tsz (files chains/tsz.*.txt)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: the chain's folder)")
    from .cli import float_arg   # checked at parse time, before any file is read

    parser.add_argument("--burn-in", type=float_arg(0.0), default=0.3,
                        help="fraction (< 1) or number of rows (>= 1) dropped from each "
                             "chain (default 0.3)")
    parser.add_argument("-p", "--packages-path", default=None,
                        help="Cobaya packages path holding the installed data (default: "
                             "the chain's, $COBAYA_PACKAGES_PATH, Cobaya's config)")
    parser.add_argument("--no-bestfit", action="store_true",
                        help="skip the data vs best-fit plot (no data needed)")
    return parser


def run(args: argparse.Namespace) -> dict:
    """Write the PNGs and the table; return {kind: path}."""
    prefix = str(args.prefix)
    out = Path(args.out) if args.out else Path(prefix).parent
    out.mkdir(parents=True, exist_ok=True)
    name = Path(prefix).name
    samples = load_samples(prefix, args.burn_in)

    written = {}
    table = constraints_table(samples, _constant_columns(prefix))
    written["constraints"] = out / f"{name}_constraints.txt"
    written["constraints"].write_text(table)
    print(table, end="")
    written["triangle"] = triangle_plot(samples, out / f"{name}_triangle.png")
    if not args.no_bestfit:
        info = _load_info(prefix)
        values = best_fit_point(samples, info)
        model = best_fit_model(values, info, args.packages_path)
        written["bestfit"] = bestfit_plot(model, out / f"{name}_bestfit.png", values)
        if model["chi2"] is not None:
            print(f"best-fit chi2 = {model['chi2']:.3f} ({model['ell'].size} bins)")
    for kind, path in written.items():
        print(f"wrote {kind}: {path}")
    return written


def main(argv=None) -> int:
    from .cli import module_main
    return module_main(sys.modules[__name__], "python -m classy_szlite_cobaya.plot",
                       "Triangle plot, marginalised constraints and data vs best-fit model "
                       "of a Cobaya tSZ chain.", argv)


if __name__ == "__main__":
    sys.exit(main())
