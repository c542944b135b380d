"""Cobaya samplers shipped with the package (generic: they work for any Cobaya model).

- ``classy_szlite_cobaya.samplers.nautilus``: importance nested sampling with nautilus
  (posterior sample + log-evidence), see :class:`~.nautilus.Nautilus`.

Use in a Cobaya input as ``sampler: {classy_szlite_cobaya.samplers.nautilus: {...}}``.
"""
