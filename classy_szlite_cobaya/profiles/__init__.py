"""Pressure profiles (A10 generalised NFW, Battaglia et al. 2012) behind one interface, and
the Fourier transform of a truncated profile."""
from .interface import ProfileModel, model_for
from .transform import filon_matrix, profile_x_grid

__all__ = ["ProfileModel", "model_for", "filon_matrix", "profile_x_grid"]
