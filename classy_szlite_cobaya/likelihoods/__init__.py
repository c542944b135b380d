"""Likelihoods of the tSZ power spectrum, pure functions without Cobaya (the Cobaya wrappers in
:mod:`classy_szlite_cobaya.cobaya` call these)."""
from .ymap import (FOREGROUNDS, YMapData, YMapLikelihood, load_ymap_data,  # noqa: F401
                   make_ymap_likelihood, ymap_log_likelihood)
