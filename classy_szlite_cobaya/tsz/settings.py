"""Integration settings shared by every function that builds halo-model grids.

The same keyword names are accepted by ``cl_yy``, ``cl_yy_factory``, ``cl_yy_trispectrum``
and ``cl_yy_covariance``.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from ..params import EMULATOR_Z_RANGE

__all__ = ["HaloModelSettings", "make_settings"]


class HaloModelSettings(NamedTuple):
    """Static (hashable) settings of the halo-model integrals.

    z_min, z_max, n_z : redshift range and number of Gauss-Legendre nodes (uniform in ln z).
    n_z_pk : Chebyshev nodes in ln(1+z) at which the emulator and sigma(R) run, interpolated
        to the n_z nodes (0: run them at every node); emulator cosmology only.
    m_min, m_max : M500c integration limits, in ``mass_unit`` ("Msun" or "Msun/h"; class_sz
        takes its limits in Msun/h, docs/physics.md section 4).
    n_m : number of mass nodes over [m_min, m_max] (sets the step Delta ln M).
    x_out : profile truncation radius in units of r500.
    n_x : nodes of the profile Fourier transform (odd; Simpson-Filon rule).
    n_m_shape : profiles whose shape depends on mass (B12): number of mass nodes, uniform in
        ln M over the same limits, at which the shape and its transform are computed; the
        transform at the n_m quadrature nodes is 4-point Lagrange in ln M between them
        (0: at every mass node). 16 reproduces 0 to ~5e-7 (BENCHMARKS.md) at 1/12 of the cost.
    damping_1h : multiply the 1-halo integrand by 1 - exp(-(k/k_damp)^2), k = (ell+1/2)/chi
        (class_sz's default convention; off by default).
    k_damp : damping scale [1/Mpc].
    """
    z_min: float = 0.005
    z_max: float = 3.0
    n_z: int = 100
    n_z_pk: int = 16
    m_min: float = 1.0e10
    m_max: float = 3.5e15
    n_m: int = 200
    n_m_shape: int = 16
    mass_unit: str = "Msun"
    x_out: float = 4.0
    n_x: int = 513
    damping_1h: bool = False
    k_damp: float = 0.01


_FLOAT_OPTIONS = ("z_min", "z_max", "m_min", "m_max", "x_out", "k_damp")
_INT_OPTIONS = ("n_z", "n_z_pk", "n_m", "n_m_shape", "n_x")
#: Upper limits of the node counts: far above any converged setting (BENCHMARKS.md), low
#: enough that a typo (n_z = 1e6) is refused instead of allocating gigabytes.
_MAX_NODES = {"n_z": 4000, "n_m": 20000, "n_x": 100001}


def _parse_float(name: str, value) -> float:
    """A finite real number as float: int, float, NumPy integer/floating scalar; not bool."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"option {name} = {value!r} ({type(value).__name__}): expected a "
                        f"finite real number")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"option {name} = {value!r}: must be a finite number")
    return v


def _parse_int(name: str, value) -> int:
    """An integer: int or NumPy integer, or a float with an integral value (100.0, as YAML
    writes 1.0e+2); not bool, not str, not 100.7."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"option {name} = {value!r} ({type(value).__name__}): expected an "
                        f"integer")
    if isinstance(value, numbers.Integral):
        return int(value)
    v = float(value)
    if not (math.isfinite(v) and v == int(v)):
        raise ValueError(f"option {name} = {value!r}: expected an integer (a float is "
                         f"accepted only with an integral value, e.g. 100.0)")
    return int(v)


def _parse_bool(name: str, value) -> bool:
    """True or False (Python or NumPy bool) only: no bool() of strings or numbers."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"option {name} = {value!r} ({type(value).__name__}): expected "
                        f"True or False (a boolean, not a string or a number)")
    return bool(value)


def make_settings(**kwargs) -> HaloModelSettings:
    """Validated :class:`HaloModelSettings` from keyword options.

    Options are parsed by type, never coerced: z_min, z_max, m_min, m_max, x_out, k_damp are
    finite real numbers (int, float or NumPy scalars; not bool, str or None); n_z, n_z_pk,
    n_m, n_x are integers (int, NumPy integers, or floats with an integral value such as
    100.0; not 100.7, "60" or True); damping_1h is True or False (Python or NumPy bool;
    "False" and 0/1 are refused); mass_unit is the string "Msun" or "Msun/h".
    A value of the wrong type raises TypeError, a value outside its range ValueError; both
    name the option.
    """
    unknown = set(kwargs) - set(HaloModelSettings._fields)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; allowed: "
                         f"{list(HaloModelSettings._fields)}")
    s = HaloModelSettings(**kwargs)
    s = s._replace(**{n: _parse_float(n, getattr(s, n)) for n in _FLOAT_OPTIONS},
                   **{n: _parse_int(n, getattr(s, n)) for n in _INT_OPTIONS},
                   damping_1h=_parse_bool("damping_1h", s.damping_1h))
    if not isinstance(s.mass_unit, str):
        raise TypeError(f"option mass_unit = {s.mass_unit!r}: expected the string 'Msun' or "
                        f"'Msun/h'")
    lo, hi = EMULATOR_Z_RANGE
    if not (0.0 < s.z_min < s.z_max <= hi):
        raise ValueError(f"z_min = {s.z_min:g}, z_max = {s.z_max:g}: need 0 < z_min < z_max <= {hi:g} "
                         f"(the emulator's redshift range is [{lo:g}, {hi:g}])")
    if not (0.0 < s.m_min < s.m_max):
        raise ValueError(f"m_min = {s.m_min:g}, m_max = {s.m_max:g}: need 0 < m_min < m_max < inf")
    if s.mass_unit not in ("Msun", "Msun/h"):
        raise ValueError(f"mass_unit = {s.mass_unit!r}: allowed 'Msun' or 'Msun/h'")
    if not (4 <= s.n_z <= _MAX_NODES["n_z"] and 8 <= s.n_m <= _MAX_NODES["n_m"]):
        raise ValueError(f"n_z = {s.n_z}, n_m = {s.n_m}: need 4 <= n_z <= {_MAX_NODES['n_z']} "
                         f"and 8 <= n_m <= {_MAX_NODES['n_m']}")
    if s.n_z_pk != 0 and not 4 <= s.n_z_pk <= s.n_z:
        raise ValueError(f"n_z_pk = {s.n_z_pk}: need 0 (no interpolation) or 4 <= n_z_pk <= "
                         f"n_z = {s.n_z}")
    if s.n_m_shape != 0 and not 4 <= s.n_m_shape <= s.n_m:
        raise ValueError(f"n_m_shape = {s.n_m_shape}: need 0 (shape at every mass node) or "
                         f"4 <= n_m_shape <= n_m = {s.n_m}")
    if not 33 <= s.n_x <= _MAX_NODES["n_x"] or s.n_x % 2 == 0:
        raise ValueError(f"n_x = {s.n_x}: need an odd number in [33, {_MAX_NODES['n_x']}]")
    if not s.x_out > 0.0:
        raise ValueError(f"x_out = {s.x_out:g}: need 0 < x_out < inf")
    if s.k_damp <= 0.0:
        raise ValueError(f"k_damp = {s.k_damp:g}: need k_damp > 0 [1/Mpc]")
    return s
