"""Read YAML files from outside (chain ``updated.yaml``, input YAMLs) as plain data only.

Cobaya's own loader (``cobaya.yaml.yaml_load_file``) derives from PyYAML's full ``Loader``:
a ``!!python/object/apply`` tag in a file runs code, and ``!defaults`` includes other files.
:func:`load_yaml_file` uses PyYAML's ``SafeLoader`` (standard tags only, so nothing in the file
is ever constructed as code) with Cobaya's scalar resolution copied in, so that ``1e-5`` reads
as the float Cobaya writes; aliases are refused (Cobaya never writes them, and nested ones
explode in size when the info is later copied). Files larger than :data:`MAX_YAML_BYTES` are
refused unread.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

__all__ = ["MAX_YAML_BYTES", "SafeInfoLoader", "load_yaml_file"]

#: Largest YAML file read (a Cobaya input or updated.yaml is a few kB).
MAX_YAML_BYTES = 4 * 2**20


class SafeInfoLoader(yaml.SafeLoader):
    """PyYAML's safe loader with Cobaya's implicit resolvers, refusing aliases."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError("while reading a YAML file", None,
                                       "YAML aliases are not accepted", event.start_mark)
        return super().compose_node(parent, index)


def _loader():
    # Cobaya's ScientificLoader adds one implicit resolver (float without a dot); copy its
    # table instead of repeating the regular expression (resolvers only name standard tags,
    # whose constructors are SafeLoader's). Imported here: ``--help`` must not load Cobaya.
    if "yaml_implicit_resolvers" not in SafeInfoLoader.__dict__:
        from cobaya.yaml import ScientificLoader

        SafeInfoLoader.yaml_implicit_resolvers = {
            k: list(v) for k, v in ScientificLoader.yaml_implicit_resolvers.items()}
    return SafeInfoLoader


def load_yaml_file(path: str | os.PathLike, what: str = "YAML file") -> dict:
    """The mapping in the YAML file at ``path``, read as plain data.

    ``what`` names the file in messages. FileNotFoundError if missing; ValueError (naming the
    file) if it is larger than :data:`MAX_YAML_BYTES`, not UTF-8, not YAML, uses a non-data
    tag (``!!python/...``, ``!defaults``, ...) or an alias, or is not a mapping with string
    keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found.")
    if path.stat().st_size > MAX_YAML_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size} bytes, larger than the "
                         f"{MAX_YAML_BYTES} accepted for a {what}.")
    try:
        text = path.read_bytes().decode("utf-8")
        info = yaml.load(text, Loader=_loader())  # noqa: S506 (a SafeLoader subclass)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text: {exc}") from None
    except yaml.YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise ValueError(f"{path} is not a plain-data YAML file (read with a safe loader, "
                         f"which refuses Python tags): {msg}") from None
    except RecursionError:
        raise ValueError(f"{path}: YAML nested too deeply.") from None
    if not isinstance(info, dict) or not all(isinstance(k, str) for k in info):
        raise ValueError(f"{path} does not hold a Cobaya info mapping (got "
                         f"{type(info).__name__}).")
    return info
