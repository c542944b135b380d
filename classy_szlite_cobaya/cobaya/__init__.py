"""Cobaya components: ``classy_szlite_cobaya.cobaya.<Name>`` in an input YAML.

Theories: :class:`TSZCosmology` (slow: cosmology -> halo-model kernels, derived sigma8,
Omega_m, S8, h) and :class:`TSZPowerSpectrum` (fast: profile -> ``Cl_yy``, derived F).
Likelihood: :class:`PlanckYMap2015` (Planck 2015 y-map power spectrum).

The classes are imported on first access (PEP 562 module ``__getattr__``; Cobaya finds them
with ``getattr`` on this package). Importing them here eagerly would import the installer
module ``.install`` with the package, and ``python -m classy_szlite_cobaya.cobaya.install``
would then run a second copy of an already imported module (runpy's RuntimeWarning).
"""
from __future__ import annotations

import importlib

#: component class -> submodule defining it
_COMPONENTS = {
    "PlanckYMap2015": ".likelihood",
    "TSZCosmology": ".theory",
    "TSZPowerSpectrum": ".theory",
}

__all__ = ["TSZCosmology", "TSZPowerSpectrum", "PlanckYMap2015"]


def __getattr__(name: str):
    if name in _COMPONENTS:
        return getattr(importlib.import_module(_COMPONENTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_COMPONENTS))
