"""Gradient-based tools on the y-map analysis, from the same Cobaya YAML.

One concept per module:

* :mod:`.posterior` -- the log-posterior as a pure JAX function of a flat parameter vector
  (:func:`posterior_from_yaml`): the Cobaya model of the input, evaluated through
  :class:`classy_szlite_cobaya.samplers.jax_model.JaxModel`;
* :mod:`.optimize` -- MAP / best fit with optax (``classy-szlite-cobaya map``);
* :mod:`.fisher` -- Fisher matrices F = J^T C^-1 J with J from ``jax.jacfwd``;
* :mod:`.batch` -- ``jax.vmap`` of the full pipeline over cosmologies and profiles.

Sampling is Cobaya's: ``cobaya-run`` with a sampler block, e.g.
:mod:`classy_szlite_cobaya.samplers.nuts` (NUTS on the same JAX model) or
:mod:`classy_szlite_cobaya.samplers.nautilus` (nested sampling).
"""
from .batch import cl_yy_batch
from .fisher import fisher
from .posterior import DERIVED_NAMES, Prior, YMapPosterior, posterior_from_yaml

__all__ = ["posterior_from_yaml", "YMapPosterior", "Prior", "DERIVED_NAMES", "fisher",
           "cl_yy_batch"]
