r"""Battaglia et al. 2012 (ApJ 758, 75) pressure profile, AGN-feedback fit, Delta = 200c.

Thermal pressure P_th(r) = P_200 P0(M, z) (x/xc)^gamma [1 + (x/xc)^alpha]^(-beta), x = r/R200c,
A(M, z) = A (M / 1e14 Msun)^alpha_m_A (1 + z)^alpha_z_A for A = P0, xc, beta (their eq. 11,
Table 1: P0 = 18.1, 0.154, -0.758; xc = 0.497, -0.00865, 0.731; beta = 4.35, 0.0393, 0.415;
alpha = 1, gamma = -0.3), M = M200c in Msun, and the self-similar
P_200 = G M 200 rho_crit(z) f_b / (2 R200c), f_b = Omega_b / Omega_m (their eq. 10), Omega_m
all matter today, massive neutrinos included (class_sz's f_b_gas; docs/physics.md section 8).
Electron pressure P_e = P_th 2 (X_H + 1)/(5 X_H + 3) = 0.5176 P_th (X_H = 0.76, fully
ionised; ``constants.PE_OVER_PTH``), as class_sz does.

In the terms of ``profiles.interface`` (4 pi R^3 = 3 M / (200 rho_crit)):
    y = Y(z) M^(5/3) G(q; M, z),
    Y(z) = (sigma_T/m_e c^2) (Mpc in cm) 3/(200 rho_crit D_A^2) (P_e/P_th)
           (G 200 rho_crit f_b / 2) (4 pi 200 rho_crit / 3)^(1/3)   [keV/cm^3 units],
    p(x; M, z) = P0(M, z) (x/xc(M, z))^gamma [1 + (x/xc(M, z))^alpha]^(-beta(M, z)).
The shape depends on M and z, so B12 is not self-similar: the direct path.
"""
import math

import jax.numpy as jnp

from ..constants import (G_NEWTON, MPC_CM, MSUN_KMS2_PER_MPC3_IN_KEV_CM3, PE_OVER_PTH,
                         SIGMAT_OVER_MEC2)
from ..params import ProfileParamsB12
from .interface import ProfileModel

__all__ = ["DELTA_C", "M_PIVOT", "pressure_shape", "amplitude", "MODEL"]

DELTA_C = 200.0                 #: M200c, R200c
M_PIVOT = 1.0e14                #: pivot mass of the M scalings [Msun]
_LN_PIVOT = math.log(M_PIVOT)


def pressure_shape(x, profile, ln_m, z):
    """p(x; M, z) = P0(M,z) (x/xc)^gamma [1 + (x/xc)^alpha]^(-beta) [dimensionless],
    x = r/R200c, ln_m = ln(M200c / Msun) (the profile's mass, M/B), broadcast together.

    Evaluated in log form, ln p = ln P0 + gamma ln u - beta softplus(alpha ln u),
    u = x/xc: two transcendental functions per node instead of six powers (this array,
    n_z n_m n_x values, is half the cost of a B12 evaluation), and no overflow of u^alpha."""
    lm = ln_m - _LN_PIVOT
    lz = jnp.log1p(z)
    ln_p0 = jnp.log(profile.P0) + profile.alpha_m_P0 * lm + profile.alpha_z_P0 * lz
    ln_xc = jnp.log(profile.xc) + profile.alpha_m_xc * lm + profile.alpha_z_xc * lz
    beta = profile.beta * jnp.exp(profile.alpha_m_beta * lm + profile.alpha_z_beta * lz)
    ln_u = jnp.log(x) - ln_xc
    return jnp.exp(ln_p0 + profile.gamma * ln_u
                   - beta * jnp.logaddexp(0.0, profile.alpha * ln_u))


def baryon_fraction(grids):
    """f_b = Omega_b / Omega_m (all matter today) from ``grids.f_b`` (ValueError if the grids
    lack it): the emulator's grids carry it, ``grids_from_tables`` takes it, and provider mode
    of the Cobaya theory computes it as omega_b / (omegam h^2)."""
    if getattr(grids, "f_b", None) is None:
        raise ValueError("the B12 profile needs the baryon fraction f_b = Omega_b/Omega_m: "
                         "give CosmoGrids(f_b=...) (grids_from_tables(..., f_b=...)); the "
                         "embedded emulator's grids carry it")
    return grids.f_b


def amplitude(grids):
    """Y(z_a) of y = Y M^(5/3) G(q; M, z), per Msun^(5/3) [n_z] (see the module docstring)."""
    rho = grids.rho_crit
    p200_per_m23 = (G_NEWTON * DELTA_C * rho * baryon_fraction(grids) / 2.0
                    * (4.0 * math.pi * DELTA_C * rho / 3.0) ** (1.0 / 3.0)
                    * MSUN_KMS2_PER_MPC3_IN_KEV_CM3)
    return (SIGMAT_OVER_MEC2 * MPC_CM * 3.0 / (DELTA_C * rho * grids.d_a ** 2)
            * PE_OVER_PTH * p200_per_m23)


MODEL = ProfileModel("B12", ProfileParamsB12, DELTA_C, False, 5.0 / 3.0, amplitude,
                     pressure_shape)
