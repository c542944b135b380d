"""Gaussian mock CMB likelihood: shows a CMB likelihood sharing a run with the y-map through
the ``Cl`` that emulator-mode ``TSZCosmology`` provides (input_yamls/tsz_cmb_mock.yaml).

Mock data: the emulator's own lensed TT, TE, EE and phi-phi at a fiducial cosmology; full-sky
cosmic-variance errors, each spectrum on its own (no TT-EE-TE correlations: a mock, not a
CMB analysis). chi2 = sum over spectra and 2 <= ell <= lmax of (C_ell - C_ell^fid)^2 / var_ell,
var = 2 C^2/(2 ell + 1) for TT, EE, phi-phi, (C^TT C^EE + C^TE^2)/(2 ell + 1) for TE (f_sky).
"""
from __future__ import annotations

import numpy as np
from cobaya.likelihood import Likelihood

import classy_szlite_cobaya as csl


class MockCMBGaussian(Likelihood):
    #: highest multipole used (<= 2508, the CMB networks' range)
    lmax: int = 2500
    #: spectra used, among tt, te, ee, pp
    spectra: list = ["tt", "te", "ee", "pp"]
    #: observed sky fraction (scales the cosmic variance as 1/f_sky)
    f_sky: float = 0.6
    #: fiducial cosmology of the mock data (CosmoParams fields; massless LambdaCDM without EDE,
    #: the CMB networks' cosmology)
    fiducial: dict = {"omega_b": 0.02242, "omega_cdm": 0.11933, "H0": 67.66,
                      "tau_reio": 0.0561, "ln10_10_As": 3.047, "n_s": 0.9665,
                      "m_ncdm": 0.0, "fEDE": 0.0}

    def initialize(self):
        ell = np.arange(2, self.lmax + 1)
        fid = {k: np.asarray(v, dtype=float) for k, v in
               csl.cl_TTTEEE(csl.CosmoParams(**self.fiducial), ell).items()}
        self._data = {s: fid[s] for s in self.spectra}
        w = 1.0 / ((2 * ell + 1) * self.f_sky)
        var = {"tt": 2 * fid["tt"] ** 2 * w, "ee": 2 * fid["ee"] ** 2 * w,
               "pp": 2 * fid["pp"] ** 2 * w,
               "te": (fid["tt"] * fid["ee"] + fid["te"] ** 2) * w}
        self._var = {s: var[s] for s in self.spectra}
        #: the last spectra received from the theory (muK^2, C_ell), for inspection
        self.last_cl = None

    def get_requirements(self):
        return {"Cl": {s: self.lmax for s in self.spectra}}

    def logp(self, **params_values):
        cl = self.provider.get_Cl(ell_factor=False, units="muK2")
        self.last_cl = cl
        chi2 = sum(np.sum((cl[s][2:self.lmax + 1] - self._data[s]) ** 2 / self._var[s])
                   for s in self.spectra)
        return -0.5 * chi2
