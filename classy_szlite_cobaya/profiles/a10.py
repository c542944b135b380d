"""Arnaud et al. 2010 (A&A 517, A92) universal pressure profile.

P_e(r) = P500(M, z) p(x),  x = r / r500,
p(x) = P0 / [(c500 x)^gamma (1 + (c500 x)^alpha)^((beta - gamma)/alpha)],
P500 p(x) = 1.65e-3 keV cm^-3 (h/0.7)^2 E(z)^(8/3) [M h / (3e14 x 0.7)]^(2/3 + alpha_P)
            x p(x) (0.7/h)^(3/2),   alpha_P = 0.12,
with M the (hydrostatic) M500c in Msun: the normalisation of class_sz, classy_szlite and
CCL (P0_hexp = -1.5), docs/physics.md section 3.
"""

__all__ = ["ALPHA_P", "pressure_shape", "p500"]

ALPHA_P = 0.12   #: mass-slope correction of P500 (A10 eq. 13)


def pressure_shape(x, profile):
    """p(x) [dimensionless] of the gNFW profile (includes P0), x = r/r500."""
    u = profile.c500 * x
    return profile.P0 / (u ** profile.gamma
                         * (1.0 + u ** profile.alpha) ** ((profile.beta - profile.gamma) / profile.alpha))


def p500(m, h, e_z):
    """P500 (0.7/h)^(3/2) [keV/cm^3] for M500c ``m`` in Msun, so that P_e = p500 x p(x)."""
    return (1.65e-3 * (h / 0.7) ** 2 * e_z ** (8.0 / 3.0)
            * (m * h / (3.0e14 * 0.7)) ** (2.0 / 3.0 + ALPHA_P) * (0.7 / h) ** 1.5)
