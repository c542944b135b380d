"""Cobaya samplers built on a pure-JAX posterior of the Cobaya model.

* :mod:`.jax_model` -- a Cobaya ``Model`` as one JAX log-posterior (the JAX protocol of the
  components: ``get_jax_function``);
* :mod:`.nuts` -- NUTS (numpyro) as a Cobaya sampler:
  ``sampler: {classy_szlite_cobaya.samplers.nuts: {...}}``.
"""
