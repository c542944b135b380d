"""Toy Cobaya likelihoods for the NUTS sampler tests (importable by cobaya-run subprocesses,
with tests/ on PYTHONPATH).

GaussToy: log L(a, b) = -1/2 r^T C^-1 r, r = (a, b) - MU, derived c = a + b; it follows the
JAX protocol (get_jax_function) and computes logp with the same jnp function.
NoJaxToy: the same likelihood without the protocol.
CliffToy: GaussToy with log L = -inf for a > CLIFF (a wall inside the prior: divergences).
"""
import jax.numpy as jnp
import numpy as np
from cobaya.likelihood import Likelihood

MU = np.array([0.3, -0.2])
COV = np.array([[1.0, 0.6], [0.6, 0.5]])
CLIFF = 0.0


def gauss_logp(a, b):
    r = jnp.stack([a, b]) - MU
    return -0.5 * r @ jnp.linalg.solve(COV, r)


class GaussToy(Likelihood):
    params = {"a": None, "b": None, "c": {"derived": True}}

    def logp(self, **pv):
        pv["_derived"]["c"] = pv["a"] + pv["b"]
        return float(gauss_logp(pv["a"], pv["b"]))

    def get_jax_function(self):
        def fn(params, products):
            return gauss_logp(params["a"], params["b"]), {"c": params["a"] + params["b"]}

        return fn


class NoJaxToy(Likelihood):
    params = {"a": None, "b": None}

    def logp(self, **pv):
        return float(gauss_logp(pv["a"], pv["b"]))


class CliffToy(GaussToy):
    def logp(self, **pv):
        pv["_derived"]["c"] = pv["a"] + pv["b"]
        return -np.inf if pv["a"] > CLIFF else float(gauss_logp(pv["a"], pv["b"]))

    def get_jax_function(self):
        def fn(params, products):
            logl = jnp.where(params["a"] > CLIFF, -jnp.inf,
                             gauss_logp(params["a"], params["b"]))
            return logl, {"c": params["a"] + params["b"]}

        return fn
