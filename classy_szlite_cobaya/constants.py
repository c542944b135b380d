"""Physical constants (CODATA 2018 / IAU), in the units the package uses.

Unit system: physical, h-free. Masses in Msun, lengths in Mpc, H in km/s/Mpc,
densities in Msun/Mpc^3, pressures in keV/cm^3.
"""
import math

C_KM_S = 299792.458                      #: speed of light [km/s]
G_NEWTON = 4.30091727003628e-9           #: Newton's G [Mpc (km/s)^2 / Msun]
MPC_CM = 3.0856775814913673e24           #: 1 Mpc [cm]
SIGMA_T_CM2 = 6.6524587321e-25           #: Thomson cross-section [cm^2]
ME_C2_KEV = 510.99895                    #: electron rest energy [keV]
SIGMAT_OVER_MEC2 = SIGMA_T_CM2 / ME_C2_KEV   #: sigma_T / (m_e c^2) [cm^2 / keV]

T_CMB_K = 2.7255                         #: CMB temperature [K]
N_EFF = 3.046                            #: effective number of massless neutrino species
_A_RAD_SI = 7.565723e-16                 # radiation constant [J m^-3 K^-4]
_C_SI = 2.99792458e8                     # [m/s]
_G_SI = 6.67430e-11                      # [m^3 kg^-1 s^-2]
_RHO_CRIT100_SI = 3.0 * (1.0e5 / (MPC_CM / 100.0)) ** 2 / (8.0 * math.pi * _G_SI)  # [kg/m^3] for h = 1
#: photon density today, Omega_gamma h^2 = a_rad T^4 / (c^2 rho_crit,100)
OMEGA_GAMMA_H2 = _A_RAD_SI * T_CMB_K ** 4 / _C_SI ** 2 / _RHO_CRIT100_SI
#: massless-neutrino density per photon density: N_eff 7/8 (4/11)^(4/3)
NU_PER_GAMMA = N_EFF * 7.0 / 8.0 * (4.0 / 11.0) ** (4.0 / 3.0)
#: density of one massless neutrino species (N_eff = 1) per photon density: 7/8 (4/11)^(4/3)
NU1_PER_GAMMA = 7.0 / 8.0 * (4.0 / 11.0) ** (4.0 / 3.0)
K_B_EV_K = 8.617333262e-5                #: Boltzmann constant [eV/K] (CODATA 2018, exact)
#: massive-neutrino (ncdm) temperature today over T_cmb, CLASS's default T_ncdm: chosen so that
#: one species counts N_eff = (T_ncdm / (4/11)^(1/3))^4 = 1.0132 while relativistic and
#: omega_nu = m / 93.14 eV when non-relativistic (CLASS explanatory.ini)
T_NCDM_OVER_T_CMB = 0.71611
#: massless species beside three massive ones that make N_eff = N_EFF in total (the LambdaCDM
#: network's N_eff): N_EFF - 3 (T_ncdm / (4/11)^(1/3))^4 = 0.006395 (CLASS users write 0.00641)
N_UR_DEFAULT = N_EFF - 3 * (T_NCDM_OVER_T_CMB / (4.0 / 11.0) ** (1.0 / 3.0)) ** 4
N_NCDM_SPECIES = 3                       #: number of degenerate massive-neutrino species
#: classy_szlite's (and CLASS's common) N_ur beside three massive species: N_eff = 3.044
N_UR_SEED = 0.00441

#: critical density today per h^2: 3 (100 km/s/Mpc)^2 / (8 pi G) [Msun/Mpc^3]
RHO_CRIT0_H2 = 3.0 * 100.0 ** 2 / (8.0 * math.pi * G_NEWTON)

DELTA_C = 1.686                          #: linear collapse threshold used by Tinker 2010 bias

MSUN_KG = 1.98841e30                     #: solar mass [kg] (IAU 2015 GM_sun / CODATA 2018 G)
KEV_J = 1.602176634e-16                  #: 1 keV [J]
#: 1 Msun (km/s)^2 / Mpc^3 (G_NEWTON units times a density times a mass) in keV/cm^3
MSUN_KMS2_PER_MPC3_IN_KEV_CM3 = MSUN_KG * 1.0e6 / (MPC_CM / 100.0) ** 3 / KEV_J * 1.0e-6
#: electron pressure / thermal gas pressure, fully ionised H + He with hydrogen mass fraction
#: X_H = 0.76: n_e / (n_e + n_i) = 2 (X_H + 1) / (5 X_H + 3)
X_H = 0.76
PE_OVER_PTH = 2.0 * (X_H + 1.0) / (5.0 * X_H + 3.0)
