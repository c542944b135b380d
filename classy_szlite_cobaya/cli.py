"""Console script ``classy-szlite-cobaya``: one subcommand per task.

    classy-szlite-cobaya plot CHAIN_PREFIX [--out DIR]    # see classy_szlite_cobaya.plot
    classy-szlite-cobaya nuts YAML [-p PACKAGES]          # NUTS chains (inference.nuts)
    classy-szlite-cobaya map YAML [-p PACKAGES]           # best fit (inference.optimize)

A new subcommand is one entry in :data:`COMMANDS`: module path -> (help, module). The module
provides ``add_arguments(parser)`` and ``run(args)``; it is imported only when chosen, so the
console script starts fast and a heavy subcommand does not slow down the others.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand -> (one-line help, module with add_arguments(parser) and run(args)).
COMMANDS = {
    "plot": ("triangle plot, marginalised constraints and data vs best fit of a chain",
             "classy_szlite_cobaya.plot"),
    "nuts": ("NUTS (numpyro) chains of a Cobaya y-map YAML, in GetDist format",
             "classy_szlite_cobaya.inference.nuts"),
    "map": ("maximum a posteriori of a Cobaya y-map YAML (optax L-BFGS), with chi2",
            "classy_szlite_cobaya.inference.optimize"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classy-szlite-cobaya",
        description="JAX halo-model tSZ power spectrum with Cobaya: command-line tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_, module) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        # add_arguments is cheap (argparse only): the module's heavy imports are inside run().
        importlib.import_module(module).add_arguments(sp)
        sp.set_defaults(_module=module)
    return parser


def run_reporting_errors(run, args) -> int:
    """Call ``run(args)``; a user error (missing file, bad value) becomes one line and exit 1."""
    try:
        run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def module_main(module, prog: str, description: str, argv=None) -> int:
    """``python -m <module>`` entry point of a subcommand module (same arguments and errors)."""
    parser = module.add_arguments(argparse.ArgumentParser(prog=prog, description=description))
    return run_reporting_errors(module.run, parser.parse_args(argv))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(importlib.import_module(args._module).run, args)


if __name__ == "__main__":
    sys.exit(main())
