"""Reference posterior of input_yamls/tsz.yaml by nested sampling (nautilus sampler), not in CI.

    python benchmarks/reference_nautilus.py yaml REF.yaml --output /work/results_ref/tsz_ns
    COBAYA_PACKAGES_PATH=PACKAGES nice -n 5 cobaya-run REF.yaml      # (--resume after a kill)
    python benchmarks/reference_nautilus.py summary /work/results_ref/tsz_ns

``yaml`` writes tsz.yaml with its sampler block replaced by
``classy_szlite_cobaya.samplers.nautilus`` (same model, priors and data). ``summary`` prints a
markdown table from the finished run: weighted mean, sd and 68% limits of every sampled and
derived parameter, the 2.5/16/50/84/97.5% quantiles of F, and the run's log Z, n_eff and number of
likelihood calls (from PREFIX.logZ).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

from classy_szlite_cobaya.safe_yaml import load_yaml_file

REPO = Path(__file__).resolve().parents[1]
SAMPLER = "classy_szlite_cobaya.samplers.nautilus"
QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)


def write_yaml(args):
    info = load_yaml_file(REPO / "input_yamls" / "tsz.yaml")
    info["sampler"] = {SAMPLER: {"n_live": args.n_live, "n_eff": args.n_eff, "f_live": 0.01,
                                 "discard_exploration": True, "seed": args.seed,
                                 "progress_interval": 120}}
    info["output"] = args.output
    Path(args.yaml).write_text(
        "# input_yamls/tsz.yaml with the nautilus sampler (benchmarks/reference_nautilus.py)\n"
        + yaml.safe_dump(info, sort_keys=False))
    print(f"wrote {args.yaml}")


def weighted_quantiles(values, weights, qs):
    """Quantiles of the weighted sample (linear in the cumulative weight at point centres)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return np.interp(qs, cdf, v)


def weighted_moments(values, weights):
    """Weighted mean and standard deviation."""
    mean = np.sum(weights * values) / np.sum(weights)
    return mean, np.sqrt(np.sum(weights * (values - mean) ** 2) / np.sum(weights))


def read_chain_file(path, skip_fraction=0.0):
    """One Cobaya chain file as {column: array}, its first ``skip_fraction`` of rows dropped:
    plain text (header '# col1 col2 ...'), so that no pickled object of the run
    (cobaya.load_samples reads PREFIX.updated.dill_pickle) is loaded."""
    path = Path(path)
    with path.open() as f:
        columns = f.readline().lstrip("#").split()
    data = np.loadtxt(path, ndmin=2)
    data = data[int(skip_fraction * len(data)):]
    return {c: data[:, i] for i, c in enumerate(columns)}


def load_chain(prefix):
    """PREFIX.1.txt (the one file of a nautilus run) as {column: array}."""
    return read_chain_file(prefix + ".1.txt")


def summary(args):
    prefix = args.prefix
    sample = load_chain(prefix)
    evidence = load_yaml_file(prefix + ".logZ")
    info = load_yaml_file(prefix + ".updated.yaml")
    params = info["params"]
    sampled = [p for p, v in params.items() if isinstance(v, dict) and "prior" in v]
    derived = [p for p, v in params.items() if isinstance(v, dict) and v.get("derived")]
    w = sample["weight"]
    kish = np.sum(w) ** 2 / np.sum(w**2)
    print(f"log Z = {evidence['logZ']:.3f} +- {evidence['logZstd']:.3f}; nautilus n_eff = "
          f"{evidence['n_eff']:.0f} (Kish n_eff of the weights: {kish:.0f}); "
          f"{evidence['n_like']} likelihood calls; {len(w)} weighted points; "
          f"converged: {evidence['converged']}")
    print("\n| parameter | mean | sd | 68% limits (16-84%) | MC error of mean (sd/sqrt(n_eff)) |"
          "\n|---|---|---|---|---|")
    for p in sampled + derived:
        x = sample[p]
        mean, sd = weighted_moments(x, w)
        lo, hi = weighted_quantiles(x, w, (0.16, 0.84))
        print(f"| {p}{'*' if p in derived else ''} | {mean:.5g} | {sd:.4g} | {lo:.4g} - {hi:.4g} | "
              f"{sd / np.sqrt(evidence['n_eff']):.2g} |")
    for p in ("F", "sigma8"):
        if p in sample:
            qs = weighted_quantiles(sample[p], w, QUANTILES)
            print(f"\n{p} quantiles " + ", ".join(f"{100 * q:g}%: {v:.4f}"
                                                 for q, v in zip(QUANTILES, qs)))
    if "F" in sample:
        for cut in (0.2, 0.3):
            print(f"P(F < {cut}) = {np.sum(w[sample['F'] < cut]) / np.sum(w):.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_yaml = sub.add_parser("yaml")
    p_yaml.add_argument("yaml")
    p_yaml.add_argument("--output", required=True)
    p_yaml.add_argument("--n-live", type=int, default=1000)
    p_yaml.add_argument("--n-eff", type=float, default=10000)
    p_yaml.add_argument("--seed", type=int, default=20261204)
    p_sum = sub.add_parser("summary")
    p_sum.add_argument("prefix")
    args = parser.parse_args(argv)
    {"yaml": write_yaml, "summary": summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
