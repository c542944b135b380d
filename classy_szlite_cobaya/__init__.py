"""classy_szlite_cobaya: differentiable (JAX) halo-model tSZ power spectrum C_ell^yy on the
CosmoPower emulator shipped in cosmopower-jax, packaged as Cobaya components.

Double precision is switched on here, once, at import: cosmology likelihoods need it.
"""
import jax

jax.config.update("jax_enable_x64", True)

from .params import CosmoParams, ProfileParamsA10, EMULATOR_BOX  # noqa: E402
from .cosmology import Pk, distances, derived  # noqa: E402
from .cosmology.grids import CosmoGrids  # noqa: E402
from .tsz import (HaloModelSettings, cl_yy, cl_yy_factory, cl_yy_trispectrum,  # noqa: E402
                  cl_yy_covariance, cl_yy_direct)

__version__ = "0.1.0"

__all__ = ["CosmoParams", "ProfileParamsA10", "EMULATOR_BOX", "Pk", "distances", "derived",
           "CosmoGrids", "HaloModelSettings", "cl_yy", "cl_yy_factory", "cl_yy_trispectrum",
           "cl_yy_covariance", "cl_yy_direct"]
