"""Cobaya components: ``classy_szlite_cobaya.cobaya.<Name>`` in an input YAML.

Theories: :class:`TSZCosmology` (slow: cosmology -> halo-model kernels, derived sigma8,
Omega_m, S8, h) and :class:`TSZPowerSpectrum` (fast: profile -> ``Cl_yy``, derived F).
Likelihood: :class:`PlanckYMap2015` (Planck 2015 y-map power spectrum).
"""
from .likelihood import PlanckYMap2015
from .theory import TSZCosmology, TSZPowerSpectrum

__all__ = ["TSZCosmology", "TSZPowerSpectrum", "PlanckYMap2015"]
