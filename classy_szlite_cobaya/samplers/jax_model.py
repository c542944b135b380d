r"""A Cobaya :class:`~cobaya.model.Model` as one pure-JAX log-posterior (for gradient samplers).

Everything is read from the model Cobaya built (``cobaya.model.get_model``), so the JAX
posterior cannot differ from ``model.logpost``:

* priors from ``model.prior`` (1-d ``uniform`` and ``norm``; any other distribution, an
  external ``prior:`` block or a periodic parameter is refused, naming it),
* fixed inputs from ``model.parameterization.constant_params()``; inputs defined as functions
  of other parameters (``value: "lambda ..."``) are refused, naming them,
* every theory and likelihood, evaluated in Cobaya's dependency order, through the
  **JAX protocol** below,
* derived parameters: the components' outputs in JAX, then Cobaya's own
  ``parameterization.to_derived`` (eager, per point: YAML ``derived: lambda`` functions work).

JAX protocol. A component used under a gradient sampler has a method

    get_jax_function() -> fn(params: dict, products: dict) -> (result, derived: dict)

``params`` maps each of the component's input parameter names (``component.input_params``)
to a scalar (a tracer when sampled, a Python float when fixed); ``products`` maps the product
names of the components computed before it (e.g. ``"Cl_yy"``) to what ``provider.get_<name>()``
returns in Cobaya; ``derived`` maps output parameter names to scalars. A theory returns
``result`` = dict of the products it provides; a likelihood returns ``result`` = its log-
likelihood (scalar). ``fn`` must be traceable (``jit``, ``grad``, ``vmap``) and give the same
numbers as the component's ``calculate``/``logp``; an invalid point gives NaN or -inf (the
posterior is then -inf). Because ``params`` is a dict of the component's inputs, a new input
parameter of a component reaches its function without any change here.

Unconstrained coordinates (for NUTS): a uniform prior [a, b] maps
theta = a + (b - a) sigmoid(u), log |d theta/du| = log(b - a) + log s(u) + log s(-u); a normal
prior is left as is (u = theta).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import classy_szlite_cobaya  # noqa: F401  (float64 JAX)

__all__ = ["Prior", "JaxModel", "JaxSupportError", "JAX_METHOD"]

#: Name of the method of the JAX protocol (see the module docstring).
JAX_METHOD = "get_jax_function"


class JaxSupportError(ValueError):
    """The Cobaya model has a part the JAX posterior cannot represent (named in the message)."""


class Prior(NamedTuple):
    """One-dimensional prior. kind "uniform": a = min, b = max; kind "norm": a = loc, b = scale."""

    kind: str
    a: float
    b: float

    def logpdf(self, x):
        """Normalised log density (Cobaya's convention: uniform -> -log(b - a) inside)."""
        if self.kind == "uniform":
            inside = (x >= self.a) & (x <= self.b)
            return jnp.where(inside, -math.log(self.b - self.a), -jnp.inf)
        z = (x - self.a) / self.b
        return -0.5 * z * z - math.log(self.b * math.sqrt(2.0 * math.pi))

    def from_unconstrained(self, u):
        """(theta, log |d theta / d u|)."""
        if self.kind == "uniform":
            # log sigmoid(u) + log sigmoid(-u) is the stable form of log s(1 - s).
            theta = self.a + (self.b - self.a) * jax.nn.sigmoid(u)
            return theta, math.log(self.b - self.a) + jax.nn.log_sigmoid(u) + \
                jax.nn.log_sigmoid(-u)
        return u, jnp.zeros_like(u)

    def to_unconstrained(self, theta):
        """u such that from_unconstrained(u)[0] = theta (logit for uniform priors)."""
        if self.kind == "uniform":
            s = jnp.clip((theta - self.a) / (self.b - self.a), 1e-12, 1 - 1e-12)
            return jnp.log(s) - jnp.log1p(-s)
        return jnp.asarray(theta, float)


def prior_from_scipy(name: str, pdf) -> Prior:
    """:class:`Prior` from one of Cobaya's 1-d prior pdfs (a frozen scipy distribution);
    :class:`JaxSupportError` naming the parameter for a distribution other than uniform/norm."""
    dist = pdf.dist.name
    if dist == "uniform":
        a, b = (float(v) for v in pdf.interval(1))
        return Prior("uniform", a, b)
    if dist == "norm":
        return Prior("norm", float(pdf.mean()), float(pdf.std()))
    raise JaxSupportError(f"Parameter {name}: prior distribution {dist!r} is not supported "
                          f"by the JAX posterior (use uniform or norm).")


class JaxModel:
    """The posterior of a Cobaya ``model`` on a flat vector ``theta`` of its sampled
    parameters (order: :attr:`names`, Cobaya's ``sampled_params()`` order).

    Attributes: ``model``, ``names``, ``priors`` (:class:`Prior` each), ``likelihoods``
    (names, ``model.likelihood`` order), ``output_names`` (the component outputs Cobaya needs
    for its derived parameters, then chi2 names). Methods taking ``theta`` are traceable.
    Raises :class:`JaxSupportError` naming what is not supported.
    """

    def __init__(self, model):
        self.model = model
        par = model.parameterization
        self.names = tuple(par.sampled_params())
        if model.prior.external:
            raise JaxSupportError(f"External priors {list(model.prior.external)} (the "
                                  f"'prior' block) are not supported by the JAX posterior.")
        periodic = [self.names[i] for i in model.prior._periodic_bounds]
        if periodic:
            raise JaxSupportError(f"Periodic parameters {periodic} are not supported by the "
                                  f"JAX posterior.")
        self.priors = tuple(prior_from_scipy(n, pdf) for n, pdf in zip(model.prior.params,
                                                                        model.prior.pdf))
        self._constant = {k: float(v) for k, v in par.constant_params().items()}
        self._functions = set(par._input_funcs)
        self.likelihoods = tuple(model.likelihood)
        # Cobaya's evaluation order: dependencies first; like_index: position in loglikes.
        self._steps = []
        for component, like_index in model._component_order.items():
            fn = getattr(component, JAX_METHOD, None)
            if fn is None:
                raise JaxSupportError(
                    f"Component '{component.get_name()}' ({type(component).__name__}) has no "
                    f"pure-JAX implementation (method {JAX_METHOD}()), so it cannot be used by "
                    f"a gradient sampler such as NUTS.")
            inputs = tuple(component.input_params)
            bad = sorted(set(inputs) & self._functions)
            if bad:
                raise JaxSupportError(
                    f"Input parameters {bad} of '{component.get_name()}' are defined as "
                    f"functions of other parameters in the input; the JAX posterior needs "
                    f"them sampled or fixed.")
            self._steps.append((component.get_name(), fn(), inputs, like_index))
        wanted = set(par.output_params())
        self.output_names = tuple(p for p in par.output_params()
                                  if p not in {c for c, _ in model._chi2_names})
        self._chi2 = tuple((name, tuple(idx)) for name, idx in model._chi2_names)
        self._wanted = wanted
        self._index = {n: i for i, n in enumerate(self.names)}

    # ------------------------------------------------------------------ evaluation
    def _input(self, theta, name):
        if name in self._index:
            return theta[self._index[name]]
        return self._constant[name]

    def _run(self, theta):
        """(loglikes (n_like,), outputs {name: value}) at theta (prior not applied)."""
        products, outputs = {}, {}
        loglikes = [jnp.zeros(())] * len(self.likelihoods)
        for _, fn, inputs, like_index in self._steps:
            result, derived = fn({p: self._input(theta, p) for p in inputs}, products)
            outputs.update({k: v for k, v in derived.items() if k in self._wanted})
            if like_index is None:
                products.update(result)
            else:
                loglikes[like_index] = jnp.asarray(result, float)
        return jnp.stack(loglikes), outputs

    def logprior(self, theta):
        """Sum of the 1-d log priors (Cobaya's normalisation); -inf outside the support."""
        return sum(p.logpdf(theta[i]) for i, p in enumerate(self.priors))

    def loglikes(self, theta):
        """(n_like,) log-likelihoods in ``model.likelihood`` order."""
        return self._run(theta)[0]

    def logpost(self, theta):
        """log prior + sum of log-likelihoods (``model.logpost``); -inf outside the prior and
        where the model is invalid (never NaN)."""
        return self.evaluate(theta)[0]

    def evaluate(self, theta):
        """(logpost, logprior, loglikes (n_like,), outputs (n_out,)) in one pass; outputs in
        :attr:`output_names` order, chi2 columns excluded (see :meth:`derived`)."""
        lp = self.logprior(theta)
        ll, out = self._run(theta)
        total = lp + jnp.sum(ll)
        # Outside the prior or the model's validity: -inf, never NaN (NaN must not leak).
        post = jnp.where(jnp.isfinite(lp) & jnp.isfinite(total), total, -jnp.inf)
        missing = [k for k in self.output_names if k not in out]
        if missing:
            raise JaxSupportError(f"Output parameters {missing} are not returned by any "
                                  f"component's JAX function.")
        vec = jnp.stack([jnp.asarray(out[k], float) for k in self.output_names]) \
            if self.output_names else jnp.zeros(0)
        return post, lp, ll, vec

    def derived(self, theta, loglikes, outputs) -> dict:
        """Cobaya's derived parameters (``parameterization.derived_params()`` order, chi2's
        included as Cobaya computes them) at one point, eager: the component outputs go
        through Cobaya's own ``to_derived`` (so derived functions of the input work)."""
        par = self.model.parameterization
        loglikes = np.asarray(loglikes, float)
        out = dict(zip(self.output_names, map(float, outputs)))
        for name, idx in self._chi2:
            out[name] = -2.0 * float(sum(loglikes[i] for i in idx))
        par.to_input(np.asarray(theta, float))
        return dict(par.to_derived(out))

    # ------------------------------------------------------------------ unconstrained
    def from_unconstrained(self, u):
        """(theta, log |det d theta/d u|) from the unconstrained vector u."""
        pairs = [p.from_unconstrained(u[i]) for i, p in enumerate(self.priors)]
        return jnp.stack([t for t, _ in pairs]), sum(j for _, j in pairs)

    def to_unconstrained(self, theta):
        """u with from_unconstrained(u)[0] = theta (theta inside the priors)."""
        return jnp.stack([p.to_unconstrained(theta[i]) for i, p in enumerate(self.priors)])

    def log_density_unconstrained(self, u):
        """log posterior density of u (Jacobian included): what NUTS samples."""
        theta, logdet = self.from_unconstrained(u)
        return self.logpost(theta) + logdet

    def __repr__(self):
        return (f"JaxModel({len(self.names)} sampled {list(self.names)}, components "
                f"{[s[0] for s in self._steps]})")
