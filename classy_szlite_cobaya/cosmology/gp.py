r"""Gaussian-process regression on PCA components: the prediction of the emulators trained
here (the extended-cosmology ratios of :mod:`.extended`, the CLASS correction of the CMB
networks in :mod:`.cmb`), one implementation for both and for the training tools.

    y(u) = mean + sum_j [sum_n k_g(j)(u, U_n) alpha_nj] V_j,
    k_g(u, U) = exp(-|(u - U) / ell_g|^2 / 2),

with u the inputs mapped to the unit cube, U (n, d) the training inputs, alpha = K^-1 C the
GP weights of the standardised PCA coefficients (scales folded in), V (n_pc, n_out) the PCA
basis, and the components in groups g(j), each with its own length scales ell_g (d,). Fitted
by ``tools/camb_emulator/train.py::fit_gp`` (maximum marginal likelihood, optax).

A hand-written GP mean rather than a library's (tinygp, GPJax): the prediction is one kernel
row and two matrix products on stored arrays, and the weights must load from ``.npz``
without a pickled library object.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

__all__ = ["gp_predict"]


def gp_predict(model: dict, u):
    """GP mean y (..., n_out) at unit-cube inputs u (..., d) (module docstring).

    model: ``u_train`` (n, d), ``ell`` (g, d) (or (d,): one group), ``pc_group`` (n_pc,)
    (group of each component; absent: all in group 0), ``alpha`` (n, n_pc), ``mean``
    (n_out,), ``basis`` (n_pc, n_out). Traceable in u.
    """
    u = jnp.asarray(u, dtype=float)
    ell = np.atleast_2d(model["ell"])                                        # (g, d)
    d2 = jnp.sum(((u[..., None, None, :] - model["u_train"]) / ell[:, None, :]) ** 2,
                 axis=-1)                                                    # (..., g, n)
    rows = jnp.exp(-0.5 * d2)
    group = model.get("pc_group", np.zeros(len(model["basis"]), int))
    coef = jnp.einsum("...jn,nj->...j", rows[..., group, :], model["alpha"])   # (..., n_pc)
    return model["mean"] + coef @ model["basis"]
