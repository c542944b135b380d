r"""Fisher matrices from exact Jacobians.

    F_ij = sum_{l l'} (d m_l / d theta_i) [C^-1]_{l l'} (d m_l' / d theta_j),   F = J^T C^-1 J

with J = ``jax.jacfwd`` of the model vector m(theta) (C_ell, or 1e12 D_ell, in the units of the
covariance C). Forward mode: one pass per parameter, cheap since n_params << n_ell.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["fisher", "jacobian"]


def jacobian(cl_fn, theta0):
    """J[l, i] = d cl_fn(theta)[l] / d theta_i at theta0, shape (n_data, n_params)."""
    theta0 = jnp.asarray(theta0, dtype=float)
    return jax.jacfwd(cl_fn)(theta0)


def fisher(cl_fn, theta0, cov):
    """Fisher matrix F = J^T C^-1 J, (n_params, n_params).

    cl_fn : theta (n_params,) -> model vector (n_data,), traceable (e.g. C_ell or D_ell of
        ``cl_yy_factory``/``cl_yy`` at chosen parameters, others held fixed)
    theta0 : fiducial parameters (n_params,)
    cov : (n_data, n_data) data covariance in the units of cl_fn's output.
    The inverse is applied through a Cholesky solve (no explicit inverse).
    """
    J = np.asarray(jacobian(cl_fn, theta0))
    chol = np.linalg.cholesky(np.asarray(cov, dtype=float))
    W = np.linalg.solve(chol, J)          # L^-1 J, so F = (L^-1 J)^T (L^-1 J)
    F = W.T @ W
    return 0.5 * (F + F.T)
