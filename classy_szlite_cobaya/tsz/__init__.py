"""tSZ stage: halo-model C_ell^yy, its factory closure, trispectrum and covariance."""
from .settings import HaloModelSettings, make_settings
from .power_spectrum import cl_yy, cl_yy_factory
from .covariance import cl_yy_trispectrum, cl_yy_covariance, cl_yy_direct

__all__ = ["HaloModelSettings", "make_settings", "cl_yy", "cl_yy_factory",
           "cl_yy_trispectrum", "cl_yy_covariance", "cl_yy_direct"]
