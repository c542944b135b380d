r"""The Planck y-map log-posterior as a pure JAX function of a flat parameter vector, for the
``map`` command (:mod:`.optimize`), gradients, Fisher matrices and benchmarks.

Built by Cobaya from the SAME input as ``cobaya-run`` (:func:`posterior_from_yaml`):
``cobaya.model.get_model`` reads priors, fixed values, component defaults and options, data
(``path`` or ``packages_path``/``-p``), and :class:`~classy_szlite_cobaya.samplers.jax_model.
JaxModel` evaluates every component through its pure-JAX function (the protocol of
:mod:`classy_szlite_cobaya.samplers.jax_model`), so this posterior is ``model.logpost``:

    log post(theta) = log L(theta) + sum_i log prior_i(theta_i)
    log L = -chi^2/2,   chi^2 = (D_model - D_obs)^T Cov^-1 (D_model - D_obs)   [1e12 D_ell]

With every cosmological input fixed the C_ell come from one factory closure built at trace
time (fast path, ~1 ms); otherwise from the traced full pipeline (~7-11 ms).
Derived (:data:`DERIVED_NAMES`): sigma8, Omega_m, S8 = sigma8 (Omega_m/0.3)^0.5, h = H0/100
and F = sigma8 (Omega_m/B)^0.40 h^-0.21, as the components compute them.

Unconstrained coordinates (the optimiser's, and the NUTS sampler's):
:class:`~classy_szlite_cobaya.samplers.jax_model.Prior` (uniform [a, b]:
theta = a + (b - a) sigmoid(u); normal: u = theta).
"""
from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np

# One implementation of the prior maths and the unconstrained map (shared with the NUTS
# sampler's posterior of a Cobaya model).
from ..samplers.jax_model import JaxModel, JaxSupportError, Prior

__all__ = ["Prior", "YMapPosterior", "posterior_from_yaml", "load_info", "DERIVED_NAMES"]

#: Derived parameters the posterior returns, in output order.
DERIVED_NAMES = ("sigma8", "Omega_m", "S8", "h", "F")


def load_info(yaml_or_info, packages_path: str | None = None) -> dict:
    """Cobaya input (path or dict) with the packages path set; ``-p`` wins over the file's."""
    from ..safe_yaml import load_yaml_file

    # Plain data only: an input YAML is never a way to run code here (see safe_yaml).
    info = dict(load_yaml_file(yaml_or_info, "input YAML")
                if isinstance(yaml_or_info, (str, os.PathLike)) else yaml_or_info)
    if packages_path is not None:
        info["packages_path"] = str(packages_path)
    elif not info.get("packages_path"):
        from cobaya.tools import resolve_packages_path

        if (p := resolve_packages_path(info)):  # $COBAYA_PACKAGES_PATH or Cobaya's config
            info["packages_path"] = p
    return info


def _component_of_class(components: dict, class_name: str):
    return next((c for c in components.values() if type(c).__name__ == class_name), None)


class YMapPosterior:
    """Log-posterior of a y-map analysis on a flat vector ``theta`` (order: :attr:`names`).

    Attributes: ``names`` (sampled, YAML order), ``priors`` (:class:`Prior` each), ``fixed``
    (name -> value), ``refs``, ``ell``, ``fast`` (True: fixed cosmology, factory
    built once), ``info`` (Cobaya's updated input), ``model`` (the Cobaya model),
    ``jax_model``, ``likelihood`` (the PlanckYMap2015 component holding data and covariance),
    ``ymap``. Every method taking ``theta`` is traceable (jit, grad, vmap). ValueError when
    the input has no PlanckYMap2015 likelihood or a component without a JAX version.
    """

    def __init__(self, info: dict):
        from cobaya.input import update_info
        from cobaya.model import Model

        self.info = update_info(dict(info))
        # What cobaya.model.get_model builds, without its logger_setup: the command line
        # owns the logging configuration (get_model would replace the root handlers).
        u = self.info
        self.model = Model(u["params"], u["likelihood"], u.get("prior"), u.get("theory"),
                           packages_path=info.get("packages_path"), timing=u.get("timing"),
                           stop_at_error=bool(info.get("stop_at_error", False)))
        try:
            self.jax_model = JaxModel(self.model)
        except JaxSupportError as exc:
            raise ValueError(f"The JAX posterior cannot represent this input: {exc}") from None
        jm, par = self.jax_model, self.model.parameterization
        self.names, self.priors = jm.names, jm.priors
        self.fixed = dict(par.constant_params())
        self.refs = {n: (self.info["params"].get(n) or {}).get("ref") for n in self.names}
        self.likelihood = _component_of_class(self.model.likelihood, "PlanckYMap2015")
        if self.likelihood is None:
            raise ValueError("The input has no PlanckYMap2015 likelihood.")
        #: The component's pure likelihood (data, covariance, Cholesky factor).
        self.ymap = self.likelihood.ymap
        self.ell = np.asarray(self.likelihood.data.ell, float)
        cosmo = _component_of_class(self.model.theory, "TSZCosmology")
        self.fast = cosmo is not None and not (set(cosmo.input_params) & set(self.names))
        missing = [k for k in DERIVED_NAMES if k not in jm.output_names]
        if missing:
            raise ValueError(f"Derived parameters {missing} are not computed by this input.")
        self._derived_index = [jm.output_names.index(k) for k in DERIVED_NAMES]

    # ------------------------------------------------------------------ parameters
    def values(self, theta) -> dict:
        """name -> value for every sampled and fixed parameter."""
        out = dict(self.fixed)
        out.update({n: theta[i] for i, n in enumerate(self.names)})
        return out

    # ------------------------------------------------------------------ model
    def log_likelihood(self, theta):
        """log L = sum of the log-likelihoods (the y-map one: -chi^2/2)."""
        return jnp.sum(self.jax_model.loglikes(theta))

    def log_prior(self, theta):
        """sum_i log prior_i(theta_i), normalised as Cobaya's (-inf outside the support)."""
        return self.jax_model.logprior(theta)

    def log_posterior(self, theta):
        """log prior + log L (Cobaya's ``logpost``); -inf outside the priors."""
        return self.jax_model.logpost(theta)

    def chi2(self, theta):
        """chi^2 = -2 log L."""
        return -2.0 * self.log_likelihood(theta)

    def derived_vector(self, theta):
        """(5,) derived values in :data:`DERIVED_NAMES` order."""
        return self.jax_model.evaluate(theta)[3][jnp.asarray(self._derived_index)]

    def derived(self, theta) -> dict:
        """:data:`DERIVED_NAMES` -> value."""
        vec = self.derived_vector(theta)
        return {k: vec[i] for i, k in enumerate(DERIVED_NAMES)}

    # ------------------------------------------------------------------ unconstrained
    def from_unconstrained(self, u):
        """(theta, log |det d theta/d u|) from the unconstrained vector u."""
        return self.jax_model.from_unconstrained(u)

    def to_unconstrained(self, theta):
        """u with from_unconstrained(u)[0] = theta (traceable; theta inside the priors)."""
        return self.jax_model.to_unconstrained(theta)

    def log_density_unconstrained(self, u):
        """log posterior density of u (includes the Jacobian): what NUTS samples
        (:mod:`classy_szlite_cobaya.samplers.nuts`, through the same JaxModel)."""
        return self.jax_model.log_density_unconstrained(u)

    # ------------------------------------------------------------------ helpers
    def reference_point(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """A starting point: the YAML's ``ref`` (drawn if ``rng`` and a distribution are
        given, else its centre), else the prior centre; always inside the prior."""
        out = []
        for name, p in zip(self.names, self.priors):
            ref = self.refs.get(name)
            centre = 0.5 * (p.a + p.b) if p.kind == "uniform" else p.a
            if isinstance(ref, (int, float)) and not isinstance(ref, bool):
                x = float(ref)
            elif isinstance(ref, dict) and ref.get("dist", "norm") == "norm":
                loc, scale = float(ref.get("loc", centre)), float(ref.get("scale", 0.0))
                x = loc + (scale * rng.standard_normal() if rng is not None else 0.0)
            else:
                x = centre
            if p.kind == "uniform":
                w = p.b - p.a
                x = min(max(x, p.a + 1e-3 * w), p.b - 1e-3 * w)
            out.append(x)
        return np.array(out)

    def __repr__(self):
        return (f"YMapPosterior({len(self.names)} sampled {list(self.names)}, "
                f"{'fixed cosmology (factory path)' if self.fast else 'full pipeline'}, "
                f"{self.ell.size} bins)")


def posterior_from_yaml(yaml_or_info, packages_path: str | os.PathLike | None = None
                        ) -> YMapPosterior:
    """:class:`YMapPosterior` from a Cobaya YAML path or input dict; ``packages_path`` (the
    ``-p`` of cobaya-run) locates the installed data."""
    return YMapPosterior(load_info(yaml_or_info, packages_path))
