"""The plot command on chains: a chain folder is untrusted input (safe YAML, no code from it,
nothing written but the outputs), the best fit comes from the chain's own model (emulator or
classy provider mode), and the best-fit figure keeps its legend and error bars readable.
Includes a hypothesis fuzz family of hostile updated.yaml files."""
from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classy_szlite_cobaya import cli, plot

YAMLS = Path(__file__).parents[1] / "input_yamls"
LIKE_COL = "chi2__classy_szlite_cobaya.cobaya.PlanckYMap2015"


class _Touch:
    """Unpickling this runs os.system: stands in for a malicious GetDist cache file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(autouse=True)
def _restore_root_logging():
    # cli.main may give the root logger a handler bound to pytest's captured stderr, which
    # is closed after the test: remove what a test added.
    root = logging.getLogger()
    saved = list(root.handlers)
    yield
    for h in list(root.handlers):
        if h not in saved:
            root.removeHandler(h)


def _read_chain(prefix: Path):
    files = sorted(prefix.parent.glob(prefix.name + ".[0-9]*.txt"))
    names = files[0].read_text().splitlines()[0].lstrip("#").split()
    return names, np.concatenate([np.loadtxt(f, ndmin=2) for f in files])


# ----------------------------------------------------------------------------- chains
@pytest.fixture(scope="module")
def emulator_chain(installed_ymap_packages, tmp_path_factory):
    """A 20-sample Cobaya MCMC chain of tsz_profile.yaml (emulator), ~15 s."""
    from cobaya.run import run

    info = yaml.safe_load((YAMLS / "tsz_profile.yaml").read_text())
    mcmc = info["sampler"]["mcmc"]
    info["sampler"] = {"mcmc": {"max_samples": 20, "learn_proposal": False, "seed": 2,
                                "covmat": mcmc["covmat"], "covmat_params": mcmc["covmat_params"]}}
    prefix = tmp_path_factory.mktemp("chains") / "prof"
    info["output"] = str(prefix)
    run(info, packages_path=str(installed_ymap_packages))
    return prefix


def test_plot_emulator_chain_best_fit_is_the_chains_model(emulator_chain,
                                                          installed_ymap_packages, capsys):
    before = set(emulator_chain.parent.iterdir())
    out = emulator_chain.parent / "plots"
    assert cli.main(["plot", str(emulator_chain), "--out", str(out), "--burn-in", "0",
                     "-p", str(installed_ymap_packages)]) == 0
    printed = capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"prof_bestfit.png", "prof_constraints.txt"}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no temporary left
    # Nothing written in the chain folder except the requested output folder.
    assert set(emulator_chain.parent.iterdir()) - before == {out}
    # The best-fit chi2 is the chain's own y-map chi2 at its best row (printed to 8 digits).
    names, rows = _read_chain(emulator_chain)
    best = rows[np.argmin(rows[:, names.index("minuslogpost")])]
    line = next(s for s in printed.splitlines() if s.startswith("best-fit chi2"))
    assert float(line.split()[3]) == pytest.approx(best[names.index(LIKE_COL)], rel=1e-5)


def _check_figure_readable(model):
    import matplotlib.pyplot as plt

    fig = plot.bestfit_figure(model)
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        axes = ax.get_window_extent()
        # The legend lies outside the axes: it can hide no curve.
        assert legend.x0 >= axes.x1 or legend.y1 <= axes.y0 or legend.y0 >= axes.y1
        lo, hi = ax.get_ylim()
        d, s = model["d_ell"], model["sigma"]
        assert hi >= np.max(d + s) and lo <= np.min(d)
        assert lo <= np.min((d - s)[d - s > 0], initial=np.inf)
        for curve in model["fg"].values():   # high-ell foregrounds that matter end inside
            if curve[-1] >= 0.01 * d[-1]:
                assert lo <= curve[-1] <= hi
        assert lo > 1e-10   # not squashed by a negligible curve (RS at 1e-86 below)
    finally:
        plt.close(fig)


def test_bestfit_figure_legend_and_error_bars(emulator_chain, installed_ymap_packages):
    samples = plot.load_samples(str(emulator_chain), 0)
    info = plot.load_updated_info(f"{emulator_chain}.updated.yaml")
    values = plot.best_fit_point(samples, info)
    model = plot.best_fit_model(values, info, str(installed_ymap_packages))
    _check_figure_readable(model)
    # A low-ell error bar far above the rest, and a negligible foreground amplitude
    # (A_RS = 3.8e-85 at a prior edge) do not squash or leave the axis.
    hostile = dict(model, sigma=model["sigma"].copy(),
                   fg=dict(model["fg"], RS=3.8e-85 * model["fg"]["RS"]))
    hostile["sigma"][0] = 50 * model["d_ell"].max()
    _check_figure_readable(hostile)


@pytest.fixture(scope="module")
def provider_chain(installed_ymap_packages, tmp_path_factory):
    """A Cobaya-format chain of tsz_classy.yaml (classy provider mode) written from the
    model itself at two points, with H0 = 85 at the best one: outside the emulator's box
    (64-82), inside the YAML's prior. (Sampling it with mcmc takes ~90 s.)"""
    from cobaya.model import get_model
    from cobaya.yaml import yaml_dump, yaml_load_file

    info = yaml_load_file(str(YAMLS / "tsz_classy.yaml"))
    for key in ("output", "sampler"):
        info.pop(key, None)
    info["packages_path"] = str(installed_ymap_packages)
    model = get_model(info)
    pz = model.parameterization
    sampled = list(pz.sampled_params())
    derived = list(pz.derived_params())
    likes = list(model.likelihood)
    ref = {"omega_b": 0.0224, "omega_cdm": 0.12, "logA": 3.0, "n_s": 0.965, "B": 1.41,
           "A_CIB": 0.66, "A_RS": 0.3, "A_IR": 2.0}
    rows, chi2_ymap = [], []
    for H0, B in ((85.0, 1.41), (56.0, 1.0)):   # the second point is far worse
        point = dict(ref, H0=H0, B=B)
        lp = model.logposterior(point)
        chi2s = [-2 * float(x) for x in lp.loglikes]
        chi2_ymap.append(chi2s[likes.index("classy_szlite_cobaya.cobaya.PlanckYMap2015")])
        rows.append([1.0, -lp.logpost] + [point[p] for p in sampled] + list(lp.derived)
                    + [-lp.logprior, -lp.logpriors[0], sum(chi2s)] + chi2s)
    assert rows[0][1] < rows[1][1]
    folder = tmp_path_factory.mktemp("provider")
    prefix = folder / "cl"
    header = (["weight", "minuslogpost"] + sampled + derived
              + ["minuslogprior", "minuslogprior__0", "chi2"] + [f"chi2__{n}" for n in likes])
    np.savetxt(f"{prefix}.1.txt", np.array(rows), header=" ".join(header), fmt="%.12e")
    Path(f"{prefix}.updated.yaml").write_text(yaml_dump(model.info()))
    return prefix, chi2_ymap[0], model


def test_plot_provider_chain_uses_classy(provider_chain, installed_ymap_packages):
    import classy_szlite_cobaya as csl

    prefix, chi2_best, model = provider_chain
    info = plot.load_updated_info(f"{prefix}.updated.yaml")
    t0 = time.perf_counter()
    samples = plot.load_samples(str(prefix), 0)
    values = plot.best_fit_point(samples, info)
    assert values["H0"] == 85.0
    got = plot.best_fit_model(values, info, str(installed_ymap_packages))
    print(f"provider-mode best fit rebuilt in {time.perf_counter() - t0:.1f} s")
    # The chain's own model (classy + TSZ provider mode) at the best point: same chi2 and D_ell.
    assert got["chi2"] == pytest.approx(chi2_best, rel=1e-9)
    point = {p: values[p] for p in model.parameterization.sampled_params()}
    model.logposterior(point)
    like = model.likelihood["classy_szlite_cobaya.cobaya.PlanckYMap2015"]
    cl1, cl2 = like.cl_at_data(like.provider.get_Cl_yy())
    np.testing.assert_allclose(got["tsz_1h"], like.ymap.d_factor * cl1, rtol=1e-9)
    np.testing.assert_allclose(got["tsz_2h"], like.ymap.d_factor * cl2, rtol=1e-9)
    # The emulator could not have made it: H0 = 85 is outside its box.
    with pytest.raises(ValueError, match="H0"):
        csl.cl_yy(csl.CosmoParams(H0=85.0), csl.ProfileParamsA10(), np.array([100.0]))


# ----------------------------------------------------------------------------- hostile chains
def _chain_folder(tmp_path, updated: bytes | str | None) -> Path:
    """A chain folder with a valid 3-row chain file and the given updated.yaml content."""
    folder = tmp_path / "sent"
    folder.mkdir(exist_ok=True)
    prefix = folder / "chain"
    rows = np.array([[1, 10.0, 1.2, 0.5, 20.0], [1, 10.5, 1.4, 0.7, 21.0],
                     [1, 11.0, 1.6, 0.9, 22.0]])
    np.savetxt(f"{prefix}.1.txt", rows, header="weight minuslogpost B A_CIB chi2")
    if updated is not None:
        p = Path(f"{prefix}.updated.yaml")
        p.write_bytes(updated if isinstance(updated, bytes) else updated.encode())
    return prefix


def test_malicious_updated_yaml_runs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    evil = (f'params: !!python/object/apply:os.system ["touch {marker}"]\n'
            f'likelihood: {{a: 1}}\n')
    prefix = _chain_folder(tmp_path, evil)
    # A GetDist pickle cache next to it would also run code if GetDist loaded it.
    Path(f"{prefix}.py_mcsamples").write_bytes(pickle.dumps(_Touch(marker)))
    for extra in ([], ["--no-bestfit"]):
        assert cli.main(["plot", str(prefix), "--out", str(tmp_path / "o")] + extra) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "safe loader" in err[0]
        assert not marker.exists() and not (tmp_path / "sent" / "PWNED").exists()
    # The reproducer: the loader the plot used before (Cobaya's) does run it.
    from cobaya.yaml import yaml_load_file
    yaml_load_file(f"{prefix}.updated.yaml")
    assert marker.exists()


@pytest.mark.parametrize("info, match", [
    ({"likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": None},
      "theory": {"evil": {"class": "os.system"}}}, "theory 'evil'"),
    ({"likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": None},
      "theory": {"classy": {"path": "/tmp/fake_classy"}}}, "loads classy from the path"),
    ({"likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": {"python_path": "/x"}}},
     "python_path"),
    ({"likelihood": {"my": {"external": "lambda: 0", "class": "PlanckYMap2015"}}},
     "is the class 'PlanckYMap2015'"),
    ({"likelihood": {"evil_module.PlanckYMap2015": None}}, "evil_module"),
    ({"likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": {"external": "x"}}},
     "sets 'external'"),
    ({"likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": None},
      "params": {"As": {"value": "lambda logA: __import__('os').system('x')"}}}, "params.As"),
    ({"likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": None},
      "params": {"As": "np.load('x')"}}, "not a lambda"),
    ({"likelihood": {"H0.riess2020": None}}, "no PlanckYMap2015"),
])
def test_model_info_refuses_code_from_the_chain(info, match):
    with pytest.raises(ValueError, match=match):
        plot.model_info_for_best_fit(info)


def test_model_info_keeps_the_model_and_drops_outputs():
    info = {"theory": {"classy": {"path": None, "extra_args": {"N_ur": 3.046}},
                       "classy_szlite_cobaya.cobaya.TSZCosmology": {"input_params": ["H0"]}},
            "likelihood": {"classy_szlite_cobaya.cobaya.PlanckYMap2015": {"input_params": ["B"]},
                           "H0.riess2020": {"input_params": ["H0"]},
                           "other": {"input_params": ["nuisance"]}},
            "params": {"H0": 70.0, "B": 1.4, "nuisance": 1.0, "chi2__H0": {"derived": True},
                       "As": {"value": "lambda logA: 1e-10 * np.exp(logA)"}},
            "output": "/elsewhere/x", "debug": "/elsewhere/log", "sampler": {"mcmc": None},
            "prior": {"p": "lambda x: 0"}, "packages_path": "/chain/pk"}
    got = plot.model_info_for_best_fit(info, packages_path="/mine")
    assert set(got) == {"theory", "likelihood", "params", "packages_path"}
    assert list(got["likelihood"]) == ["classy_szlite_cobaya.cobaya.PlanckYMap2015"]
    assert set(got["theory"]) == set(info["theory"])
    assert got["theory"]["classy"]["path"] == "global"   # never <packages_path>/code/classy
    assert set(got["params"]) == {"H0", "B", "As"} and got["packages_path"] == "/mine"


# ----------------------------------------------------------------------------- fuzz family
DANGEROUS_TAGS = ["!!python/object/apply:os.system", "!!python/object/new:os.system",
                  "!!python/name:os.system", "!!python/module:os", "!!python/object:os.X",
                  "!!python/tuple", "!defaults", "!path", "!!binary", "!custom", "!!set",
                  "!!omap", "!!timestamp", "!!float", "!!str"]
_scalars = st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(), st.none(),
                     st.text(max_size=8), st.sampled_from(["1e-5", ".nan", "lambda x: x",
                                                          "${HOME}", "~", "*a"]))


def _yaml_docs(marker):
    payload = st.sampled_from([f'["touch {marker}"]', f"touch {marker}", "[]", "{}", "x"])
    tagged = st.builds(lambda t, p: f"{t} {p}", st.sampled_from(DANGEROUS_TAGS), payload)
    leaf = st.one_of(tagged, _scalars.map(lambda v: yaml.safe_dump(v).split("\n...")[0]
                                          .strip()))
    keys = st.sampled_from(["theory", "likelihood", "params", "output", "debug",
                            "packages_path", "classy", "H0", "value", "class",
                            "classy_szlite_cobaya.cobaya.PlanckYMap2015", "&a x", "<<",
                            "input_params", "external", "python_path", "path", "prior",
                            "derived", "H0.riess2020", "classy_szlite_cobaya.cobaya.TSZCosmology"])

    def nest(children):
        flow_map = st.lists(st.tuples(keys, children), max_size=4).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}")
        flow_seq = st.lists(children, max_size=4).map(lambda v: "[" + ", ".join(v) + "]")
        anchored = children.map(lambda v: f"&a {v}")
        return st.one_of(flow_map, flow_seq, anchored, st.just("*a"))
    return st.recursive(leaf, nest, max_leaves=12).map(lambda body: f"root: {body}\n") | \
        st.lists(st.tuples(keys, st.recursive(leaf, nest, max_leaves=8)), max_size=5).map(
            lambda kv: "".join(f"{k}: {v}\n" for k, v in kv))


COUNTS = {}


@pytest.fixture(scope="module", autouse=True)
def _report_fuzz_counts():
    t0 = time.perf_counter()
    yield
    # For the report (pytest -s): cases each fuzz family ran, and the module's wall time.
    print(f"\nfuzz cases run: {COUNTS} (module {time.perf_counter() - t0:.1f} s)")


def _must_be_clean(call):
    """call() returns, or raises ValueError/FileNotFoundError: anything else is a bug."""
    try:
        return call()
    except (ValueError, FileNotFoundError) as exc:
        assert str(exc)
        return None


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_hostile_updated_yaml(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fz")
    marker = folder / "PWNED"
    doc = data.draw(_yaml_docs(marker))
    path = folder / "c.updated.yaml"
    path.write_text(doc)
    info = _must_be_clean(lambda: plot.load_updated_info(path))
    if info is not None:
        assert isinstance(info, dict)
        _must_be_clean(lambda: plot.model_info_for_best_fit(info))
    assert not marker.exists(), doc
    COUNTS["yaml"] = COUNTS.get("yaml", 0) + 1


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_fuzz_random_bytes_updated_yaml(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fb") / "c.updated.yaml"
    path.write_bytes(raw)
    info = _must_be_clean(lambda: plot.load_updated_info(path))
    if info is not None:
        _must_be_clean(lambda: plot.model_info_for_best_fit(info))
    COUNTS["bytes"] = COUNTS.get("bytes", 0) + 1


_LIKE = "classy_szlite_cobaya.cobaya.PlanckYMap2015"
_STRINGS = st.sampled_from(["lambda logA: 1e-10 * np.exp(logA)", "lambda x: __import__('os')",
                            "os.system", "classy", "camb", "/tmp/x", "global", "evil.Mod",
                            "classy_szlite_cobaya.cobaya.TSZCosmology", _LIKE, "x"])
_VALUES = st.recursive(
    st.none() | st.floats(allow_nan=False, width=32) | st.integers(-3, 3) | _STRINGS,
    lambda ch: st.lists(ch, max_size=3) | st.dictionaries(
        st.sampled_from(["class", "path", "python_path", "external", "value", "derived",
                         "prior", "params", "input_params", "extra_args", "H0", "As"]),
        ch, max_size=4), max_leaves=10)
_COMPONENTS = st.dictionaries(
    st.sampled_from(["classy", "camb", "evil", "classy_szlite_cobaya.cobaya.TSZCosmology",
                     "classy_szlite_cobaya.cobaya.TSZPowerSpectrum", _LIKE, "H0.riess2020",
                     "mod.PlanckYMap2015"]), _VALUES, max_size=4)
_INFOS = st.fixed_dictionaries(
    {"likelihood": _COMPONENTS.map(lambda d: {**d, _LIKE: d.get(_LIKE)})},
    optional={"theory": _COMPONENTS, "params": st.dictionaries(
        st.sampled_from(["H0", "As", "logA", "B", "chi2__H0", "A_CIB"]), _VALUES, max_size=4),
        "output": _STRINGS, "debug": _STRINGS, "python_path": _STRINGS,
        "packages_path": _STRINGS | st.integers()})


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(info=_INFOS)
def test_fuzz_model_info_only_keeps_known_components(tmp_path_factory, info):
    # Structured chain infos, through the file: whatever is accepted names no code.
    path = tmp_path_factory.mktemp("fi") / "c.updated.yaml"
    path.write_text(yaml.safe_dump(info))
    loaded = plot.load_updated_info(path)
    got = _must_be_clean(lambda: plot.model_info_for_best_fit(loaded))
    if got is not None:
        assert set(got) <= {"theory", "likelihood", "params", "packages_path"}
        assert list(got["likelihood"]) == [_LIKE]
        for name, opts in got["theory"].items():
            cls = (opts or {}).get("class") or name
            assert cls in ("classy", "camb") or cls.startswith("classy_szlite_cobaya.cobaya.")
            assert cls not in ("classy", "camb") or opts["path"] == "global"
        for comps in (got["theory"], got["likelihood"]):
            for opts in comps.values():
                assert all((opts or {}).get(k) is None for k in ("python_path", "external"))
        for p in got["params"].values():   # what Cobaya evaluates: only safe lambdas
            p = p if isinstance(p, dict) else {"value": p}
            assert set(p) <= {"prior", "ref", "proposal", "latex", "value", "derived", "drop",
                              "renames", "min", "max", "periodic"}
            for key in ("value", "derived", "prior"):
                assert not isinstance(p.get(key), str) or "__import__" not in p[key]
    COUNTS["infos"] = COUNTS.get("infos", 0) + 1


_SAFE_BODIES = ["x", "1e-10 * np.exp(x)", "x ** 2 - 3", "-np.log10(x)", "np.sqrt(x + y) / 2"]
_EVIL_BODIES = ["__import__('os').system('touch {m}')", "np.os.system('touch {m}')",
                "open('{m}', 'w')", "().__class__.__mro__", "np.save('{m}', x)",
                "exec('1')", "np.exp.__globals__", "[c for c in ()]", "(lambda: 1)()",
                "np.loadtxt('{m}')", "x if x else y", "'a' * 3", "f'{{x}}'", "globals()",
                "np.exp(x, out=x)", "y.__class__", "x[0]", "True + x", "...", "x @ y"]


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(parts=st.lists(st.sampled_from(_SAFE_BODIES + _EVIL_BODIES), min_size=1, max_size=3),
       ops=st.lists(st.sampled_from([" + ", " * ", " - ", " / "]), min_size=2, max_size=2),
       args=st.sampled_from(["x", "x, y", "*a", "x=1", "**k"]))
def test_fuzz_parameter_functions(tmp_path_factory, parts, ops, args):
    from cobaya.tools import get_external_function

    marker = tmp_path_factory.mktemp("fl") / "PWNED"
    body = ops[0].join(f"({p})" for p in parts).replace("{m}", str(marker))
    text = f"lambda {args}: {body}"
    evil = args not in ("x", "x, y") or any(p in _EVIL_BODIES for p in parts) or (
        "y" in body and args == "x")
    try:
        plot._check_param_function(text, "params.p")
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is not evil, text
    if accepted:   # what Cobaya then does with it: a number, and nothing else
        with np.errstate(all="ignore"):
            value = get_external_function(text)(*([0.7, 0.3][:args.count(",") + 1]))
        assert isinstance(float(value), float)
    assert not marker.exists()
    COUNTS["functions"] = COUNTS.get("functions", 0) + 1


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_plot_cli_on_hostile_folders(tmp_path_factory, data, capsys):
    tmp = tmp_path_factory.mktemp("fc")
    marker = tmp / "sent" / "PWNED"
    doc = data.draw(_yaml_docs(marker) | st.binary(max_size=200))
    prefix = _chain_folder(tmp, doc)
    rc = cli.main(["plot", str(prefix), "--out", str(tmp / "o"), "--no-bestfit",
                   "--burn-in", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert not marker.exists()
    if rc != 0:
        assert rc == 1 and err[-1].startswith("error: "), err
    COUNTS["cli"] = COUNTS.get("cli", 0) + 1


def test_input_yaml_of_map_and_posterior_runs_nothing(tmp_path):
    """The gradient-based tools read their input YAML with the same safe loader: a Python tag
    is a clean ValueError and runs nothing; a plain input reads as Cobaya reads it."""
    from cobaya.yaml import yaml_load_file

    from classy_szlite_cobaya.inference.posterior import load_info

    marker = tmp_path / "PWNED"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f'likelihood: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(ValueError, match="safe loader"):
        load_info(bad, str(tmp_path))
    assert not marker.exists()
    with pytest.raises(FileNotFoundError, match="input YAML"):
        load_info(tmp_path / "missing.yaml", str(tmp_path))
    good = YAMLS / "tsz.yaml"
    assert load_info(good, "P") == {**yaml_load_file(str(good)), "packages_path": "P"}
