"""Tinker et al. 2010 (ApJ 724, 878) linear halo bias, eq. 6 and Table 2.

b(nu) = 1 - A nu^a/(nu^a + delta_c^a) + B nu^b + C nu^c,  nu = delta_c / sigma,
y = log10 Delta (mean-density overdensity), A = 1 + 0.24 y exp(-(4/y)^4), a = 0.44 y - 0.88,
B = 0.183, b = 1.5, C = 0.019 + 0.107 y + 0.19 exp(-(4/y)^4), c = 2.4.
"""
import jax.numpy as jnp

from ..constants import DELTA_C

__all__ = ["bias_tinker10"]


def bias_tinker10(sigma, delta_mean):
    """Linear bias [dimensionless] for rms fluctuation ``sigma`` at overdensity ``delta_mean``."""
    y = jnp.log10(delta_mean)
    e = jnp.exp(-(4.0 / y) ** 4)
    A, a = 1.0 + 0.24 * y * e, 0.44 * y - 0.88
    B, b = 0.183, 1.5
    C, c = 0.019 + 0.107 * y + 0.19 * e, 2.4
    nu = DELTA_C / sigma
    return 1.0 - A * nu ** a / (nu ** a + DELTA_C ** a) + B * nu ** b + C * nu ** c
