"""Independent B12 C_ell^yy (1-halo) with CCL: a Battaglia et al. 2012 profile written against
CCL's ``HaloProfilePressure`` base class (real space only: CCL's FFTLog does the Fourier
transform), CCL's Tinker08 mass function at M200c and CCL's 1-halo integral
(``halomod_power_spectrum``), CCL's own background and sigma(M).

Shared with the package, on purpose (so that only the halo model is compared): the linear
P(k, z) (our emulator's table, passed as ``pk_linear`` to ``ccl.CosmologyCalculator``), the
B12 formula and parameters, the mass range, the truncation radius, the Limber redshift
nodes, and the Tinker08 parameter interpolation (a natural cubic spline of the Table 2
values in log10 Delta, as in ``halos.mass_function``; CCL interpolates them linearly, which
at Delta_m = 200/Omega_m(z) = 206 ... 640 changes dn/dlnM by up to a few per cent: a
convention, not the code under test). Limber: C_ell = int dz c/H chi^-2 a^2 P_1h(k, z),
k = (ell + 1/2)/chi, with the profile in units of y per comoving length.
"""
import numpy as np
import pyccl as ccl
from scipy.interpolate import CubicSpline

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.constants import (C_KM_S, G_NEWTON, MPC_CM,
                                            MSUN_KMS2_PER_MPC3_IN_KEV_CM3, PE_OVER_PTH,
                                            SIGMAT_OVER_MEC2)
from classy_szlite_cobaya.cosmology.grids import redshift_nodes
from classy_szlite_cobaya.halos.mass_function import T08_TABLE


class MassFuncTinker08Spline(ccl.halos.MassFuncTinker08):
    """CCL's Tinker08 with the table interpolated by a natural cubic spline in log10 Delta."""

    def _setup(self):
        ld = np.log10(T08_TABLE[:, 0])
        self.pA0, self.pa0, self.pb0, self.pc = (
            CubicSpline(ld, T08_TABLE[:, i], bc_type="natural") for i in range(1, 5))


class HaloProfilePressureB12(ccl.halos.HaloProfilePressure):
    """Battaglia et al. 2012 electron pressure times sigma_T/(m_e c^2) [1/Mpc], truncated at
    x_out R200c; r comoving [Mpc], M = true M200c [Msun], carrying the profile of mass M/B."""

    def __init__(self, params, f_b, x_out):
        self.p, self.f_b, self.x_out = params, f_b, x_out
        super().__init__(mass_def="200c")

    def _real(self, cosmo, r, M, a):
        p = self.p
        r_use, m_use = np.atleast_1d(r), np.atleast_1d(M) / p.B
        z = 1.0 / a - 1.0
        m14 = m_use / 1e14
        sc = lambda amp, am, az: amp * m14 ** am * (1 + z) ** az
        p0, xc, beta = (sc(p.P0, p.alpha_m_P0, p.alpha_z_P0), sc(p.xc, p.alpha_m_xc, p.alpha_z_xc),
                        sc(p.beta, p.alpha_m_beta, p.alpha_z_beta))
        rho_c = ccl.rho_x(cosmo, a, "critical")                       # Msun / Mpc^3 (physical)
        r200 = self.mass_def.get_radius(cosmo, m_use, a)               # physical Mpc
        p200 = (G_NEWTON * m_use * 200 * rho_c * self.f_b / (2 * r200)
                * MSUN_KMS2_PER_MPC3_IN_KEV_CM3)                       # keV / cm^3
        x = r_use[None, :] * a / r200[:, None]
        u = x / xc[:, None]
        prof = (p0 * p200 * PE_OVER_PTH)[:, None] * u ** p.gamma * (1 + u ** p.alpha) ** (-beta[:, None])
        prof = np.where(x <= self.x_out, prof, 0.0) * SIGMAT_OVER_MEC2 * MPC_CM
        if np.ndim(r) == 0:
            prof = prof[:, 0]
        if np.ndim(M) == 0:
            prof = prof[0]
        return prof


def ccl_cl_1h_b12(cosmo: "csl.CosmoParams", profile, ell, z_min=0.005, z_max=3.0, n_z=40,
                  m_min=1e10, m_max=3.5e15, n_m_ccl=256, x_out=4.0, n_per_decade=1000):
    """C_ell^1h of the B12 profile by CCL on the same Limber nodes as ``csl.cl_yy``."""
    h = cosmo.H0 / 100
    om_b, om_c = cosmo.omega_b / h ** 2, cosmo.omega_cdm / h ** 2
    k = np.geomspace(1e-5, 50.0, 700)
    z_pk = np.linspace(0.0, z_max * 1.05, 60)
    _, pk = csl.Pk(cosmo, z_pk, k)
    a_pk = 1 / (1 + z_pk[::-1])
    c = ccl.CosmologyCalculator(
        Omega_c=om_c, Omega_b=om_b, h=h, n_s=cosmo.n_s, A_s=np.exp(cosmo.ln10_10_As) * 1e-10,
        Neff=3.046, T_CMB=2.7255, m_nu=0.0,
        pk_linear={"a": a_pk, "k": k, "delta_matter:delta_matter": np.asarray(pk)[::-1]})
    hmf = MassFuncTinker08Spline(mass_def="200c")
    hmb = ccl.halos.HaloBiasTinker10(mass_def="200c")
    hmc = ccl.halos.HMCalculator(mass_function=hmf, halo_bias=hmb, mass_def="200c",
                                 log10M_min=np.log10(m_min), log10M_max=np.log10(m_max),
                                 nM=n_m_ccl)
    prof = HaloProfilePressureB12(profile, om_b / (om_b + om_c), x_out)
    prof.update_precision_fftlog(n_per_decade=n_per_decade, padding_lo_fftlog=1e-3,
                                 padding_hi_fftlog=1e3)
    z, wz = redshift_nodes(z_min, z_max, n_z)
    a = 1 / (1 + z)
    chi = ccl.comoving_radial_distance(c, a)
    hub = ccl.h_over_h0(c, a) * 100 * h
    ell = np.asarray(ell, dtype=float)
    cl = np.zeros(len(ell))
    for i in range(n_z):
        kk = (ell + 0.5) / chi[i]
        p1h = ccl.halos.halomod_power_spectrum(c, hmc, kk, a[i], prof, get_2h=False)
        cl += wz[i] * C_KM_S / hub[i] / chi[i] ** 2 * a[i] ** 2 * p1h
    return cl
