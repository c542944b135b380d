"""Cobaya samplers shipped with the package (generic: they work for any Cobaya model).

* :mod:`.nautilus` -- importance nested sampling with nautilus (posterior sample +
  log-evidence): ``sampler: {classy_szlite_cobaya.samplers.nautilus: {...}}``;
* :mod:`.jax_model` -- a Cobaya ``Model`` as one JAX log-posterior (the JAX protocol of the
  components: ``get_jax_function``);
* :mod:`.nuts` -- NUTS (numpyro) on that posterior as a Cobaya sampler:
  ``sampler: {classy_szlite_cobaya.samplers.nuts: {...}}``.
"""
