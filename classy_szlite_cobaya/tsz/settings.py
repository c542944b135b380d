"""Integration settings shared by every function that builds halo-model grids.

The same keyword names are accepted by ``cl_yy``, ``cl_yy_factory``, ``cl_yy_trispectrum``
and ``cl_yy_covariance``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..params import EMULATOR_Z_RANGE

__all__ = ["HaloModelSettings", "make_settings"]


class HaloModelSettings(NamedTuple):
    """Static (hashable) settings of the halo-model integrals.

    z_min, z_max, n_z : redshift range and number of Gauss-Legendre nodes (uniform in ln z).
    n_z_pk : Chebyshev nodes in ln(1+z) at which the emulator and sigma(R) run, interpolated
        to the n_z nodes (0: run them at every node); emulator cosmology only.
    m_min, m_max : M500c integration limits, in ``mass_unit`` ("Msun" or "Msun/h"; class_sz
        takes its limits in Msun/h, PHYSICS.md section 4).
    n_m : number of mass nodes over [m_min, m_max] (sets the step Delta ln M).
    x_out : profile truncation radius in units of r500.
    n_x : nodes of the profile Fourier transform (odd; Simpson-Filon rule).
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
    mass_unit: str = "Msun"
    x_out: float = 4.0
    n_x: int = 513
    damping_1h: bool = False
    k_damp: float = 0.01


def make_settings(**kwargs) -> HaloModelSettings:
    """Validated :class:`HaloModelSettings` from keyword options (ValueError names the option)."""
    unknown = set(kwargs) - set(HaloModelSettings._fields)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; allowed: "
                         f"{list(HaloModelSettings._fields)}")
    s = HaloModelSettings(**kwargs)
    s = s._replace(z_min=float(s.z_min), z_max=float(s.z_max), m_min=float(s.m_min),
                   m_max=float(s.m_max), x_out=float(s.x_out), k_damp=float(s.k_damp),
                   n_z=int(s.n_z), n_z_pk=int(s.n_z_pk), n_m=int(s.n_m), n_x=int(s.n_x),
                   damping_1h=bool(s.damping_1h))
    lo, hi = EMULATOR_Z_RANGE
    if not (0.0 < s.z_min < s.z_max <= hi):
        raise ValueError(f"z_min = {s.z_min:g}, z_max = {s.z_max:g}: need 0 < z_min < z_max <= {hi:g} "
                         f"(the emulator's redshift range is [{lo:g}, {hi:g}])")
    if not (0.0 < s.m_min < s.m_max and math.isfinite(s.m_max)):
        raise ValueError(f"m_min = {s.m_min:g}, m_max = {s.m_max:g}: need 0 < m_min < m_max < inf")
    if s.mass_unit not in ("Msun", "Msun/h"):
        raise ValueError(f"mass_unit = {s.mass_unit!r}: allowed 'Msun' or 'Msun/h'")
    if s.n_z < 4 or s.n_m < 8:
        raise ValueError(f"n_z = {s.n_z}, n_m = {s.n_m}: need n_z >= 4 and n_m >= 8")
    if s.n_z_pk != 0 and not 4 <= s.n_z_pk <= s.n_z:
        raise ValueError(f"n_z_pk = {s.n_z_pk}: need 0 (no interpolation) or 4 <= n_z_pk <= "
                         f"n_z = {s.n_z}")
    if s.n_x < 33 or s.n_x % 2 == 0:
        raise ValueError(f"n_x = {s.n_x}: need an odd number >= 33")
    if not (0.0 < s.x_out < math.inf):
        raise ValueError(f"x_out = {s.x_out:g}: need 0 < x_out < inf")
    if s.k_damp <= 0.0:
        raise ValueError(f"k_damp = {s.k_damp:g}: need k_damp > 0 [1/Mpc]")
    return s
