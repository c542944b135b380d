"""Arnaud et al. 2010 (A&A 517, A92) universal pressure profile (self-similar in x = r/r500).

P_e(r) = P500(M, z) p(x),  x = r / r500,
p(x) = P0 / [(c500 x)^gamma (1 + (c500 x)^alpha)^((beta - gamma)/alpha)],
P500 p(x) = 1.65e-3 keV cm^-3 (h/0.7)^2 E(z)^(8/3) [M h / (3e14 x 0.7)]^(2/3 + alpha_P)
            x p(x) (0.7/h)^(3/2),   alpha_P = 0.12,
with M the (hydrostatic) M500c in Msun: the normalisation of class_sz, classy_szlite and
CCL (P0_hexp = -1.5), docs/physics.md section 3. With r500^3 ~ M this gives
y = Y(z) M^(5/3 + alpha_P) G(q) (``profiles.interface``).
"""
from ..constants import MPC_CM, SIGMAT_OVER_MEC2
from ..params import ProfileParamsA10
from .interface import ProfileModel

__all__ = ["ALPHA_P", "P_MASS", "DELTA_C", "pressure_shape", "amplitude", "MODEL"]

ALPHA_P = 0.12                  #: mass-slope correction of P500 (A10 eq. 13)
P_MASS = 5.0 / 3.0 + ALPHA_P    #: y ~ (M/B)^P_MASS G(q)
DELTA_C = 500.0                 #: M500c, r500


def pressure_shape(x, profile, ln_m=None, z=None):
    """p(x) [dimensionless] of the gNFW profile (includes P0), x = r/r500 (no M, z dependence)."""
    u = profile.c500 * x
    return profile.P0 / (u ** profile.gamma
                         * (1.0 + u ** profile.alpha) ** ((profile.beta - profile.gamma) / profile.alpha))


def amplitude(grids):
    """Y(z_a) of y = Y M^P_MASS G(q), per Msun^P_MASS [n_z]:
    (sigma_T/m_e c^2) (Mpc in cm) 3/(500 rho_crit D_A^2) 1.65e-3 (h/0.7)^(1/2) E^(8/3)
    (h/2.1e14)^(2/3+alpha_P)."""
    e_z = grids.hubble / (100.0 * grids.h)
    return (SIGMAT_OVER_MEC2 * MPC_CM * 3.0 / (DELTA_C * grids.rho_crit * grids.d_a ** 2)
            * 1.65e-3 * (grids.h / 0.7) ** 0.5 * e_z ** (8.0 / 3.0)
            * (grids.h / 2.1e14) ** (2.0 / 3.0 + ALPHA_P))


MODEL = ProfileModel("A10", ProfileParamsA10, DELTA_C, True, P_MASS, amplitude, pressure_shape)
