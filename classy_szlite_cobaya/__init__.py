"""classy_szlite_cobaya: differentiable (JAX) halo-model tSZ power spectrum C_ell^yy on the
CosmoPower emulator shipped in cosmopower-jax, packaged as Cobaya components.

Double precision is switched on here, once, at import: cosmology likelihoods need it.
"""
import logging

import jax

jax.config.update("jax_enable_x64", True)


class _NoLibtpuNotice(logging.Filter):
    """Drops JAX's notice "Unable to initialize backend 'tpu': ... Failed to open libtpu.so".

    JAX tries the TPU backend first on every machine and logs that notice (level INFO, so
    every ``cobaya-run``, whose logging is at INFO, printed it) when the TPU runtime library
    libtpu is not installed: then no TPU can be used by this process and the notice says
    nothing to act on. Only that message is dropped: platform selection is untouched (no
    JAX_PLATFORMS, so GPUs are still found), any other TPU failure is still logged, and JAX's
    own WARNING for a TPU present on the machine without libtpu is kept. JAX has no option
    to skip the TPU probe short of JAX_PLATFORMS, which would pin the platform list."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("Unable to initialize backend 'tpu'")
                    and "Failed to open libtpu.so" in msg)


# The logger JAX's backend discovery (jax/_src/xla_bridge.py) logs to.
logging.getLogger("jax._src.xla_bridge").addFilter(_NoLibtpuNotice())

from .params import (CosmoParams, ProfileParamsA10, ProfileParamsB12, EMULATOR_BOX,  # noqa: E402
                     MASSLESS_LCDM)
from .cosmology import (Pk, Pnl, cl_TTTEEE, distances, derived,  # noqa: E402
                        cosmo_from_amplitude)
from .cosmology.grids import CosmoGrids  # noqa: E402
from .tsz import (HaloModelSettings, cl_yy, cl_yy_factory, cl_yy_trispectrum,  # noqa: E402
                  cl_yy_covariance, cl_yy_direct)

__version__ = "0.1.0"

__all__ = ["CosmoParams", "ProfileParamsA10", "ProfileParamsB12", "EMULATOR_BOX", "MASSLESS_LCDM",
           "Pk", "Pnl",
           "cl_TTTEEE", "distances", "derived", "cosmo_from_amplitude",
           "CosmoGrids", "HaloModelSettings", "cl_yy", "cl_yy_factory", "cl_yy_trispectrum",
           "cl_yy_covariance", "cl_yy_direct"]
