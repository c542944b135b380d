"""Posteriors of several runs of one model against a reference run (not in CI).

    python benchmarks/compare_samplers.py REF_PREFIX RUN_PREFIX [RUN_PREFIX ...]
        [--burn 0.3] [--params F sigma8 ...] [--wall RUN_PREFIX=SECONDS ...]

Each prefix names Cobaya-format chains (``PREFIX.1.txt``, ``PREFIX.2.txt``, ...: weight,
minuslogpost, parameter columns), as written by Cobaya's mcmc, by the package's nautilus
sampler (weighted points, one file) and by its NUTS sampler (weight 1, one file per chain).
The first ``--burn`` fraction of each chain of an MCMC run is dropped (never of a run with a
``PREFIX.logZ`` file, i.e. nested sampling, whose weights are importance weights).

Printed, per run and parameter (sampled and derived, every column both runs have):
(mean - mean_ref) / sd_ref and sd / sd_ref - 1; the 2.5 / 97.5 % quantiles of F minus the
reference's; and for MCMC runs the effective sample size, summed over chains, of the chain
expanded by its integer weights (numpyro's autocorrelation estimate), with ESS per second
when ``--wall`` gives the run's wall time. Chains are read as plain text (no pickle).
"""
import argparse
import sys
from pathlib import Path

import numpy as np

# same folder (run as a script)
from reference_nautilus import read_chain_file, weighted_moments, weighted_quantiles

QUANTILES = (0.025, 0.975)
NOT_PARAMS = ("weight", "minuslogpost", "minuslogprior", "minuslogprior__0", "chi2")


def load_run(prefix, burn):
    """List of chains {column: array} of PREFIX.N.txt, burn-in dropped for MCMC runs."""
    files = sorted(Path(prefix).parent.glob(Path(prefix).name + ".[0-9]*.txt"))
    if not files:
        raise FileNotFoundError(f"no chain files {prefix}.N.txt")
    nested = Path(prefix + ".logZ").exists()
    return [read_chain_file(path, 0.0 if nested else burn) for path in files], nested


def pooled(chains, name):
    x = np.concatenate([c[name] for c in chains])
    w = np.concatenate([c["weight"] for c in chains])
    return x, w


def ess(chains, name):
    """Sum over chains of the autocorrelation ESS of the weight-expanded chain."""
    from numpyro.diagnostics import effective_sample_size
    total = 0.0
    for c in chains:
        x = np.repeat(c[name], np.rint(c["weight"]).astype(int))
        total += float(effective_sample_size(x[None, :]))
    return total


def add_ln_s_y(chains):
    """ln S_y = ln F + 0.40 ln B when a run has F and B but not ln_S_y (logA runs)."""
    for c in chains:
        if "ln_S_y" not in c and "F" in c and "B" in c:
            c["ln_S_y"] = np.log(c["F"]) + 0.40 * np.log(c["B"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference")
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--burn", type=float, default=0.3)
    parser.add_argument("--params", nargs="*")
    parser.add_argument("--wall", nargs="*", default=[],
                        help="RUN_PREFIX=SECONDS: wall time of a run, for ESS per second")
    args = parser.parse_args(argv)
    walls = dict(item.rsplit("=", 1) for item in args.wall)
    ref, _ = load_run(args.reference, args.burn)
    add_ln_s_y(ref)
    names = args.params or [n for n in ref[0] if n not in NOT_PARAMS
                            and not n.startswith(("chi2__", "minuslogprior"))]
    ref_stats = {n: weighted_moments(*pooled(ref, n)) for n in names}
    ref_q = weighted_quantiles(*pooled(ref, "F"), QUANTILES)
    print(f"Reference {args.reference}: F 2.5/97.5% = {ref_q[0]:.4f} / {ref_q[1]:.4f}")
    for prefix in args.runs:
        chains, nested = load_run(prefix, args.burn)
        add_ln_s_y(chains)
        wall = float(walls[prefix]) if prefix in walls else None
        n_rows = sum(len(c["weight"]) for c in chains)
        print(f"\n### {prefix} ({len(chains)} chain(s), {n_rows} rows"
              f"{'' if nested else f', first {args.burn:.0%} of each dropped'})\n")
        header = "| parameter | ref mean +- sd | mean +- sd | d mean / sd_ref | sd / sd_ref - 1 |"
        header += "" if nested else " ESS |" + (" ESS/s |" if wall else "")
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        worst_mean = worst_sd = 0.0
        for n in names:
            if n not in chains[0]:
                continue
            mean, sd = weighted_moments(*pooled(chains, n))
            m0, s0 = ref_stats[n]
            dm, ds = (mean - m0) / s0, sd / s0 - 1
            worst_mean, worst_sd = max(worst_mean, abs(dm)), max(worst_sd, abs(ds))
            row = f"| {n} | {m0:.5g} +- {s0:.4g} | {mean:.5g} +- {sd:.4g} | {dm:+.3f} | {ds:+.3f} |"
            if not nested:
                e = ess(chains, n)
                row += f" {e:.0f} |" + (f" {e / wall:.2f} |" if wall else "")
            print(row)
        q = weighted_quantiles(*pooled(chains, "F"), QUANTILES)
        print(f"\nF 2.5/97.5% = {q[0]:.4f} / {q[1]:.4f} (minus reference: "
              f"{q[0] - ref_q[0]:+.4f} / {q[1] - ref_q[1]:+.4f}); largest |d mean|/sd_ref = "
              f"{worst_mean:.3f}, largest |sd/sd_ref - 1| = {worst_sd:.3f}")
        for cut in (0.3, 0.33):
            x, w = pooled(chains, "F")
            print(f"P(F < {cut}) = {np.sum(w[x < cut]) / np.sum(w):.4f}")


if __name__ == "__main__":
    sys.exit(main())
