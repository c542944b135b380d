"""Console script ``classy-szlite-cobaya``: one subcommand per task.

    classy-szlite-cobaya plot CHAIN_PREFIX [--out DIR]    # see classy_szlite_cobaya.plot
    classy-szlite-cobaya map YAML [-p PACKAGES]           # best fit (inference.optimize)

Sampling is ``cobaya-run`` with a sampler block (Cobaya's mcmc, or this package's
``classy_szlite_cobaya.samplers.nautilus`` / ``classy_szlite_cobaya.samplers.nuts``), not a
subcommand here.

A new subcommand is one entry in :data:`COMMANDS`: module path -> (help, module). The module
provides ``add_arguments(parser)`` and ``run(args)``; it is imported only when chosen, so the
console script starts fast and a heavy subcommand does not slow down the others.

Errors: a bad option value is refused while the command line is parsed (argparse's one-line
``error:``, exit status 2), before any file is read or any fit starts; use the type
factories :func:`int_arg` and :func:`float_arg` for every numeric option. A user error
found later (missing file or data, bad value, a Cobaya input error) is one line
``error: ...`` and exit status 1 (:func:`run_reporting_errors`).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys

__all__ = ["COMMANDS", "int_arg", "float_arg", "build_parser", "run_reporting_errors",
           "module_main", "main"]

#: subcommand -> (one-line help, module with add_arguments(parser) and run(args)).
COMMANDS = {
    "plot": ("triangle plot, marginalised constraints and data vs best fit of a chain",
             "classy_szlite_cobaya.plot"),
    "map": ("maximum a posteriori of a Cobaya y-map YAML (optax L-BFGS), with chi2",
            "classy_szlite_cobaya.inference.optimize"),
}


def _interval(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    if hi is None or hi == math.inf:
        return f"> {lo}" if lo_open else f">= {lo}"
    return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def int_arg(lo: int, hi: int | None = None):
    """argparse ``type=``: a decimal integer in [lo, hi] (``hi`` None: no upper bound).

    ``"1.5"``, ``"1e3"``, ``"nan"`` and ``"True"`` are refused: an option that counts things
    takes an integer as written, never a truncated float."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {_interval(lo, hi)}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"must be an integer {_interval(lo, hi)}, got {value}")
        return value

    parse.__name__ = "integer"      # argparse names the type in its fallback message
    return parse


def float_arg(lo: float, hi: float = math.inf, *, lo_open: bool = False,
              hi_open: bool = False):
    """argparse ``type=``: a finite number in the interval from ``lo`` to ``hi`` (open at an
    end when ``lo_open`` / ``hi_open``); ``nan`` and ``inf`` are refused."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = (math.isfinite(value)
                  and (value > lo if lo_open else value >= lo)
                  and (value < hi if hi_open else value <= hi))
        if not inside:
            raise argparse.ArgumentTypeError(
                f"must be a finite number {_interval(lo, hi, lo_open, hi_open)}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


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


class _HoldErrorRecords(logging.Filter):
    """Holds back log records of level ERROR and above (returns False for them), to be
    re-emitted by :func:`run_reporting_errors` unless an exception repeats them."""

    def __init__(self):
        super().__init__()
        self.held: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            if not any(r is record for r in self.held):   # one record, several handlers
                self.held.append(record)
            return False
        return True


def _user_errors() -> tuple:
    """Exception types that are the user's mistake, reported as one line: OSError (missing
    or unwritable file), ValueError (bad value, bad dataset manifest) and Cobaya's
    LoggedError (bad input YAML; ComponentNotInstalledError, its subclass, for missing
    data). LoggedError is looked up only if Cobaya is already imported: it cannot have been
    raised otherwise, and the console script should not import Cobaya for ``--help``."""
    errors = [OSError, ValueError]
    cobaya_log = sys.modules.get("cobaya.log")
    if cobaya_log is not None:
        errors.append(cobaya_log.LoggedError)
    return tuple(errors)


def run_reporting_errors(run, args) -> int:
    """Call ``run(args)``; a user error (:func:`_user_errors`) becomes the one line
    ``error: <message>`` on stderr and exit status 1; other exceptions propagate with their
    traceback (they are bugs).

    Cobaya logs the message of each LoggedError it raises at level ERROR, so the same text
    would come out twice (once as a log line, once as ``error:``). While ``run`` runs,
    records of level ERROR and above are therefore held back and emitted when it returns,
    except those whose message is the reported exception's."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()         # the console script's logging, as Python's default
    hold = _HoldErrorRecords()
    handlers = list(root.handlers)
    for h in handlers:
        h.addFilter(hold)
    reported = None
    try:
        run(args)
    except _user_errors() as exc:
        reported = str(exc)
        print(f"error: {reported}", file=sys.stderr)
        return 1
    finally:
        for h in handlers:
            h.removeFilter(hold)
        for record in hold.held:
            if reported is None or record.getMessage() != reported:
                logging.getLogger(record.name).handle(record)
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
