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

A chain folder is untrusted input: its ``updated.yaml`` is read only with a YAML *safe* loader
(:func:`load_updated_info`: no Python tags, no ``!defaults`` file inclusion, no environment
expansion), GetDist reads the chain's ``*.txt`` columns from a private copy next to a re-dumped
plain-data ``updated.yaml`` (GetDist's own YAML loader and its pickle cache never see the
chain's files), and nothing is written except the three outputs.

The best fit is recomputed with the model the chain was run with: Cobaya's
``get_model`` of the chain's ``updated.yaml`` (:func:`model_info_for_best_fit`: theories and
the y-map likelihood as recorded, emulator or ``cosmology_source: provider`` with classy/camb
alike; other likelihoods, ``output``, ``debug``, samplers and external priors dropped),
evaluated at the best-fit sample. Components that would import or evaluate code named by the
chain (other theory classes, ``python_path``, ``external``, a classy/camb ``path``, parameter
functions beyond arithmetic of numpy functions) are refused with a ``ValueError``. The data are
found as the likelihood finds them (``path`` option, else ``<packages_path>/data/<name>``,
packages path from ``--packages-path``, the chain, ``$COBAYA_PACKAGES_PATH`` or Cobaya's
config).
"""
from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from .atomic import atomic_write
from .safe_yaml import load_yaml_file

__all__ = ["load_updated_info", "model_info_for_best_fit", "load_samples",
           "constraints_table", "triangle_plot", "best_fit_point", "best_fit_model",
           "bestfit_figure", "bestfit_plot", "add_arguments", "run", "main"]

#: Derived parameters reported in the table when the chain has them.
DERIVED_REPORTED = ("F", "sigma8", "Omega_m", "S8", "h")
_LIKE_CLASS = "PlanckYMap2015"


def _use_agg():
    # Headless (CI, clusters): never try to open a window.
    import matplotlib

    matplotlib.use("Agg")


def load_updated_info(path: str | os.PathLike) -> dict:
    """The chain's ``updated.yaml`` at ``path`` as plain data (dict), read with a safe loader
    (:func:`classy_szlite_cobaya.safe_yaml.load_yaml_file`: FileNotFoundError if missing;
    ValueError for Python tags, ``!defaults``, aliases, non-YAML or non-mapping content)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the best-fit plot needs the chain's "
                                f"updated.yaml (written by cobaya-run).")
    return load_yaml_file(path, "chain updated.yaml")


def _chain_files(prefix: str) -> list[Path]:
    p = Path(prefix)
    return sorted(f for f in p.parent.glob(p.name + ".*txt")
                  if f.is_file() and re.fullmatch(re.escape(p.name) + r"(\.\d+)?\.txt", f.name))


def load_samples(prefix: str, burn_in: float = 0.3):
    """GetDist MCSamples of the chain ``prefix``, dropping the first ``burn_in`` fraction
    (< 1) or number of rows (>= 1) of each chain.

    GetDist reads only a private copy of the chain's ``prefix[.N].txt`` (and, for GetDist-
    format chains, ``.paramnames``, ``.ranges``) files and of its ``updated.yaml`` re-dumped
    as plain data (:func:`load_updated_info`): its own YAML loader (which constructs Python
    objects) and its pickle cache never see the chain folder."""
    from getdist import loadMCSamples

    prefix = str(prefix)
    files = _chain_files(prefix)
    if not files:
        raise FileNotFoundError(f"No chain files {prefix}.*.txt found.")
    info_path = Path(f"{prefix}.updated.yaml")
    info = load_updated_info(info_path) if info_path.exists() else None
    with tempfile.TemporaryDirectory(prefix="csl-plot-") as tmp:
        root = Path(tmp) / Path(prefix).name
        # Plain-text column files only: GetDist's .paramnames ("name label") and .ranges
        # ("name min max") of GetDist-format chains (other tools', or ones written by the
        # retired nuts command) are data too.
        extra = [Path(f"{prefix}.{e}") for e in ("paramnames", "ranges")]
        for f in files + [e for e in extra if e.is_file()]:
            shutil.copyfile(f, Path(tmp) / f.name)
        if info is not None:
            with open(f"{root}.updated.yaml", "w") as fh:
                yaml.safe_dump(info, fh, sort_keys=False)
        try:
            samples = loadMCSamples(str(root), no_cache=True, settings={"ignore_rows": burn_in})
        except (KeyError, IndexError, TypeError, AttributeError, AssertionError) as exc:
            # GetDist fails on malformed chains with bare lookups/asserts: one clear error.
            raise ValueError(f"GetDist cannot read the chain {prefix}: "
                             f"{type(exc).__name__}: {exc}") from None
    # Report the user's chain name, not the private copy's.
    samples.root = prefix
    return samples


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
    files = _chain_files(prefix)
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
    import matplotlib.pyplot as plt

    g = plots.get_subplot_plotter(width_inch=2.0 * max(len(params), 3))
    try:
        g.triangle_plot(samples, params, filled=True)
    except np.linalg.LinAlgError as exc:
        plt.close("all")
        # GetDist's 2D kernel density needs a non-degenerate sample covariance per pair.
        raise ValueError(f"GetDist cannot draw the triangle plot ({exc}): too few distinct "
                         f"samples in the chain?") from None
    try:
        atomic_write(path, lambda tmp: g.export(tmp, format="png"))
    finally:
        plt.close("all")
    return Path(path)


def _component(block: dict | None, class_name: str):
    """(name, options) of the component of ``block`` whose class name ends in class_name."""
    for name, opts in (block or {}).items():
        opts = opts if isinstance(opts, dict) else {}
        cls = str(opts.get("class") or name)
        if cls.split(".")[-1] == class_name:
            return name, opts
    return None, None


#: Theories a chain may name for the best-fit model: this package's, and Cobaya's built-in
#: Boltzmann codes (provider mode). Anything else would import code named by the chain file.
_OUR_MODULE = "classy_szlite_cobaya.cobaya"
_OUR_THEORIES = ("TSZCosmology", "TSZPowerSpectrum")
_BOLTZMANN = ("classy", "camb")
#: Keys that make Cobaya import or evaluate code: refused in any kept component.
_CODE_KEYS = ("python_path", "external")
#: numpy names a parameter function may call: arithmetic of these is data, not code.
_NP_NAMES = frozenset({"exp", "log", "log10", "log1p", "expm1", "sqrt", "sin", "cos", "tan",
                       "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "power", "abs",
                       "pi", "e"})
#: The keys of a Cobaya parameter definition (cobaya.parameterization).
_PARAM_KEYS = frozenset({"prior", "ref", "proposal", "latex", "value", "derived", "drop",
                         "renames", "min", "max", "periodic"})
_AST_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def _check_param_function(text: str, where: str) -> None:
    """ValueError unless ``text`` is ``lambda a, b: <arithmetic of a, b, numbers and np.f(..)>``.

    Cobaya evaluates string parameter values; a chain file may hold any string, so only this
    small expression language is let through (a whitelist of AST nodes: Python's ``ast`` does
    the parsing; no library evaluates restricted Python expressions for Cobaya)."""
    def bad(why):
        return ValueError(f"{where}: {text!r} is not accepted from a chain file ({why}); "
                          f"only 'lambda x, y: <arithmetic with np.{{exp, log, ...}}>' is.")
    if len(text) > 1000:
        raise bad("too long")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise bad("not a Python expression") from None
    lam = tree.body
    if not isinstance(lam, ast.Lambda):
        raise bad("not a lambda")
    a = lam.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.kw_defaults or a.posonlyargs:
        raise bad("only plain positional arguments")
    names = {x.arg for x in a.args}

    def check(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, _AST_OPS):
            check(node.left), check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _AST_OPS):
            check(node.operand)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise bad(f"constant {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id not in names:
                raise bad(f"name {node.id!r}")
        elif isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "np"
                    and node.attr in _NP_NAMES):
                raise bad(f"attribute {ast.unparse(node)!r}")
        elif isinstance(node, ast.Call):
            if node.keywords or not isinstance(node.func, ast.Attribute):
                raise bad(f"call {ast.unparse(node.func)!r}")
            check(node.func)
            for arg in node.args:
                check(arg)
        else:
            raise bad(f"{type(node).__name__} expression")

    try:
        check(lam.body)
    except RecursionError:
        raise bad("nested too deeply") from None


def _check_params_block(params, where: str) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"{where} must be a mapping, got {type(params).__name__}.")
    for name, p in params.items():
        if not isinstance(name, str):
            raise ValueError(f"{where}: parameter name {name!r} is not a string.")
        if isinstance(p, str):
            _check_param_function(p, f"{where}.{name}")
        elif isinstance(p, dict):
            unknown = [k for k in p if k not in _PARAM_KEYS]
            if unknown:
                raise ValueError(f"{where}.{name}: keys {unknown!r} are not Cobaya parameter "
                                 f"keys {sorted(_PARAM_KEYS)}.")
            for key in ("value", "derived", "prior"):   # the ones Cobaya evaluates
                if isinstance(p.get(key), str):
                    _check_param_function(p[key], f"{where}.{name}.{key}")
        elif p is not None and not isinstance(p, (int, float)):
            raise ValueError(f"{where}.{name}: {p!r} is not a parameter definition.")
    return params


def model_info_for_best_fit(info: dict, packages_path: str | None = None) -> dict:
    """A Cobaya input for ``cobaya.model.get_model`` that rebuilds the chain's model for
    the y-map: the chain's theories and its ``PlanckYMap2015`` likelihood with their recorded
    options, and its parameters, from ``info`` (a :func:`load_updated_info` result).

    Dropped: ``output``, ``debug``, ``sampler``, ``prior``, ``post`` and every other top-level
    key (so ``get_model`` writes nothing), the other likelihoods (with the parameters only
    they take) and the chi2/minuslogprior columns (Cobaya adds its own). ``packages_path``
    overrides the chain's. ValueError (naming the entry) for a theory other than this
    package's and classy/camb, a component key that imports code (``python_path``,
    ``external``, a Boltzmann code's non-null ``path``) or a parameter function beyond
    :func:`_check_param_function`'s expressions; and if there is no y-map likelihood."""
    info = copy.deepcopy(info)
    for block in ("theory", "likelihood"):
        if not isinstance(info.get(block) or {}, dict):
            raise ValueError(f"The chain's {block} block is not a mapping.")
    like_name, like = _component(info.get("likelihood"), _LIKE_CLASS)
    if like_name is None:
        raise ValueError(f"The chain has no {_LIKE_CLASS} likelihood: nothing to compare to.")
    kept = {"likelihood": {like_name: like}, "theory": {}}
    for name, opts in (info.get("theory") or {}).items():
        opts = opts if isinstance(opts, dict) else {}
        cls = str(opts.get("class") or name)
        ours = cls.startswith(_OUR_MODULE + ".") and cls.split(".")[-1] in _OUR_THEORIES
        if not ours and cls not in _BOLTZMANN:
            raise ValueError(f"The chain's theory {name!r} (class {cls!r}) is not one the "
                             f"best-fit plot rebuilds ({', '.join(_OUR_THEORIES)} of "
                             f"{_OUR_MODULE}, {', '.join(_BOLTZMANN)}): use --no-bestfit.")
        if cls in _BOLTZMANN:
            if opts.get("path") not in (None, "global"):
                raise ValueError(f"The chain's theory {name!r} loads {cls} from the path "
                                 f"{opts['path']!r}: the plot imports only the installed "
                                 f"{cls}.")
            # "global": the installed module, never <packages_path>/code/<cls>, which the
            # chain's packages_path could otherwise point at.
            opts["path"] = "global"
        kept["theory"][name] = opts
    like_cls = str(like.get("class") or like_name)
    if not like_cls.startswith(_OUR_MODULE + "."):
        # e.g. "mymodule.PlanckYMap2015": Cobaya would import mymodule.
        raise ValueError(f"The chain's likelihood {like_name!r} is the class {like_cls!r}, "
                         f"not {_OUR_MODULE}.{_LIKE_CLASS}.")
    for block, comps in kept.items():
        for name, opts in comps.items():
            for key in _CODE_KEYS:
                if opts.get(key) is not None:
                    raise ValueError(f"The chain's {block} {name!r} sets {key!r}: code named "
                                     f"by a chain file is not imported.")
            _check_params_block(opts.get("params"), f"{block}.{name}.params")
    params = _check_params_block(info.get("params"), "params")
    # Parameters only the dropped likelihoods take would be "unused" in the rebuilt model.
    def names(opts):   # parameter names a component takes (strings only: hostile input)
        out = set()
        for key in ("input_params", "params"):
            if isinstance(opts.get(key), (list, dict)):
                out |= {p for p in opts[key] if isinstance(p, str)}
        return out

    used = set()
    for comps in kept.values():
        for opts in comps.values():
            used |= names(opts)
    dropped = set()
    for name, opts in (info.get("likelihood") or {}).items():
        if name != like_name and isinstance(opts, dict):
            dropped |= names(opts)
    # chi2, chi2__<likelihood or type>, minuslogprior*: Cobaya adds its own for the new model.
    kept["params"] = {k: v for k, v in params.items() if k not in dropped - used
                      and not k.startswith(("chi2", "minuslogprior"))}
    pkgs = packages_path or info.get("packages_path")
    if pkgs is not None:
        if not isinstance(pkgs, str):
            raise ValueError(f"The chain's packages_path {pkgs!r} is not a path.")
        kept["packages_path"] = pkgs
    return kept


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
    """Data and the chain's own model at ``values`` (1e12 D_ell units).

    The model is ``cobaya.model.get_model(model_info_for_best_fit(info, packages_path))``,
    evaluated at the sampled parameters of ``values``; C^1h, C^2h are its theory's
    ``Cl_yy`` and data, covariance and chi2 its y-map likelihood's
    (:class:`~classy_szlite_cobaya.likelihoods.ymap.YMapLikelihood`).

    Returns dict with ell, d_ell (data), sigma (sqrt of the covariance diagonal), tsz_1h,
    tsz_2h, fg (name -> A_i template_i), total, chi2 = -2 log L_ymap, name (dataset).
    """
    from cobaya.model import get_model
    from cobaya.tools import resolve_packages_path

    from .likelihoods.ymap import FOREGROUNDS

    model_info = model_info_for_best_fit(info, packages_path)
    if "packages_path" not in model_info:
        pkgs = resolve_packages_path()
        if pkgs:
            model_info["packages_path"] = pkgs
    try:
        model = get_model(model_info)
    except (TypeError, AttributeError, KeyError, IndexError) as exc:
        # A malformed info from a chain file fails inside Cobaya with bare lookups: one
        # clear error (Cobaya's own input errors are LoggedError, reported as they are).
        raise ValueError(f"Cobaya cannot build the chain's model from its updated.yaml: "
                         f"{type(exc).__name__}: {exc}") from None
    sampled = list(model.parameterization.sampled_params())
    missing = [p for p in sampled if p not in values]
    if missing:
        raise ValueError(f"The best-fit sample lacks the sampled parameters {missing}.")
    point = {p: float(values[p]) for p in sampled}
    model.loglikes(point)   # computes every theory at the point (the y-map's chi2 below)
    like_name, _ = _component(model_info["likelihood"], _LIKE_CLASS)
    like = model.likelihood[like_name]
    cl1, cl2 = like.cl_at_data(like.provider.get_Cl_yy())
    ymap = like.ymap
    inputs = {**model.parameterization.constant_params(), **point}
    amps = np.array([float(inputs[f"A_{fg}"]) for fg in FOREGROUNDS])
    out = {"ell": ymap.data.ell, "d_ell": ymap.data.d_ell,
           "tsz_1h": ymap.d_factor * cl1, "tsz_2h": ymap.d_factor * cl2,
           "fg": {n: a * t for n, a, t in zip(FOREGROUNDS, amps, ymap.data.foregrounds)}}
    out["total"] = np.asarray(ymap.model_d_ell(cl1, cl2, amps))
    out["sigma"] = np.sqrt(np.diag(ymap.cov))
    out["chi2"] = float(ymap.chi2(cl1, cl2, amps))
    out["name"] = ymap.data.name
    return out


def _y_limits(model: dict) -> tuple[float, float]:
    """Log-axis y range holding every error bar that has a positive lower end, the data and
    the tSZ and total model curves (with a margin); foregrounds far below are cut."""
    d, s = np.asarray(model["d_ell"]), np.asarray(model["sigma"])
    top = np.concatenate([d + s, model["total"], model["tsz_1h"] + model["tsz_2h"]])
    low = np.concatenate([(d - s)[d - s > 0], d[d > 0], model["total"][model["total"] > 0],
                          (model["tsz_1h"] + model["tsz_2h"])[model["tsz_1h"] > 0]])
    top, low = top[np.isfinite(top)], low[np.isfinite(low) & (low > 0)]
    if top.size == 0 or low.size == 0:
        raise ValueError("No finite positive data or model values to plot.")
    return 0.7 * low.min(), 1.4 * top.max()


def bestfit_figure(model: dict, values: dict | None = None):
    """Matplotlib figure: data with errors vs best-fit model components, log-log, 1e12 D_ell.

    The legend sits outside the axes (right), so it hides no curve; the y range holds every
    error bar (a bar reaching zero or below is cut at the axis bottom, as a log axis must)."""
    _use_agg()
    import matplotlib.pyplot as plt

    ell = model["ell"]
    fig, ax = plt.subplots(figsize=(9, 5))
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
    ax.set_ylim(*_y_limits(model))
    ax.set_xlabel(r"$\ell$")
    ax.set_ylabel(r"$10^{12}\,\ell(\ell+1)\,C_\ell^{yy}/2\pi$")
    title = "best fit (max posterior)"
    if model.get("chi2") is not None:
        title += rf": $\chi^2$ = {model['chi2']:.2f} for {ell.size} bins"
    if values and "B" in values:
        title += f", B = {values['B']:.3g}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return fig


def bestfit_plot(model: dict, path: str | os.PathLike, values: dict | None = None) -> Path:
    """:func:`bestfit_figure` written to ``path`` (PNG), legend included."""
    import matplotlib.pyplot as plt

    fig = bestfit_figure(model, values)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight",
                                                    format="png"))
    finally:
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
    atomic_write(written["constraints"], lambda tmp: Path(tmp).write_text(table))
    print(table, end="")
    try:
        written["triangle"] = triangle_plot(samples, out / f"{name}_triangle.png")
    except ValueError as exc:   # the table and the best fit are still worth writing
        print(f"warning: no triangle plot: {exc}", file=sys.stderr)
    if not args.no_bestfit:
        info = load_updated_info(f"{prefix}.updated.yaml")
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
