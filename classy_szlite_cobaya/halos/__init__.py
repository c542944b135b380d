"""Halo ingredients: spherical-overdensity radii, mass function and bias (one module each)."""
from .mass_definition import ln_radius_coefficient, ln_lagrangian_radius
from .mass_function import tinker08_params, ln_dndlnm_tinker08, bias_tinker10, mass_tables

__all__ = ["ln_radius_coefficient", "ln_lagrangian_radius", "tinker08_params",
           "ln_dndlnm_tinker08", "bias_tinker10", "mass_tables"]
