"""Halo ingredients: mass definition, Tinker 2008 mass function, Tinker 2010 bias."""
from .mass_definition import r500c, lagrangian_radius
from .tinker08 import f_sigma_tinker08, dndlnm_tinker08
from .tinker10 import bias_tinker10

__all__ = ["r500c", "lagrangian_radius", "f_sigma_tinker08", "dndlnm_tinker08",
           "bias_tinker10"]
