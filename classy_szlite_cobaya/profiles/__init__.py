"""Pressure profile (A10 generalised NFW) and its Fourier transform."""
from .a10 import pressure_shape, p500, ALPHA_P
from .transform import filon_matrix, profile_x_grid

__all__ = ["pressure_shape", "p500", "ALPHA_P", "filon_matrix", "profile_x_grid"]
