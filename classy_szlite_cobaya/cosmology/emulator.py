"""Linear matter power spectrum from the CosmoPower ``mpk_lin`` emulator shipped in the
``cosmopower-jax`` wheel (Spurio Mancini et al. 2022; Piras & Spurio Mancini 2023).

The network, its weights and its normalisation are read from the installed package: no
download. Its output is log10 P(k) on 420 k nodes (1e-5 to 9.81 /Mpc, piecewise log-uniform).
Downstream code needs P on one uniform ln k grid (FFTLog for sigma(R), arithmetic look-ups for
the 2-halo term). Interpolation is linear in the network output, so it is folded into the last
layer once: ``ln P(k_uniform) = h_last @ W_uniform.T + b_uniform``. Above the emulator's
k_max, ln P is continued linearly in ln k with the slope of its last decade-fifth (documented
extrapolation; it only touches sigma(R) for R < 0.3 Mpc, i.e. M < 1e9 Msun).

Units: k in 1/Mpc, P in Mpc^3 (physical, h-free).
"""
from __future__ import annotations

import functools

import numpy as np
import jax.numpy as jnp

from ..interpolation import interp_matrix

__all__ = ["LN_K", "K_MIN", "K_MAX", "N_K", "linear_power"]

K_MIN = 1.0e-5      #: lowest k of the uniform grid [1/Mpc] (= emulator's)
K_MAX = 50.0        #: highest k of the uniform grid [1/Mpc] (emulator stops at 9.81)
N_K = 768           #: nodes of the uniform ln k grid (step 0.020, the emulator's finest)
#: uniform ln k grid [ln(1/Mpc)] on which every P_lin in the package lives
LN_K = np.linspace(np.log(K_MIN), np.log(K_MAX), N_K)

_INPUTS = ["omega_b", "omega_cdm", "h", "n_s", "ln10^{10}A_s", "z"]
_SLOPE_BASELINE = 10   # nodes over which the high-k extrapolation slope is measured


@functools.lru_cache(maxsize=1)
def _network():
    """Weights of the shipped network, with the interpolation onto LN_K folded in."""
    from cosmopower_jax.cosmopower_jax import CosmoPowerJAX

    import jax
    with jax.ensure_compile_time_eval():
        emu = CosmoPowerJAX(probe="mpk_lin", verbose=False)
    if list(emu.parameters) != _INPUTS:
        raise RuntimeError(f"unexpected cosmopower-jax mpk_lin inputs {emu.parameters}; "
                           f"this package expects {_INPUTS}")
    ln_k_emu = np.log(np.asarray(emu.modes, dtype=float))
    # 4-point Lagrange inside, linear continuation above k_max (slope over 10 nodes)
    A = interp_matrix(ln_k_emu, LN_K, _SLOPE_BASELINE)
    w_last, b_last = (np.asarray(a, dtype=float) for a in emu.weights[-1])
    std = np.asarray(emu.feature_train_std, dtype=float)
    mean = np.asarray(emu.feature_train_mean, dtype=float)
    ln10 = np.log(10.0)
    # ln P_emu = ln10 * ((h @ W.T + b[-1]) * std + mean); then ln P_uniform = A @ ln P_emu
    w_u = ln10 * (A * std[None, :]) @ w_last            # (N_K, n_hidden)
    b_u = ln10 * A @ (b_last[-1] * std + mean)          # (N_K,)
    # NumPy (not jax) arrays: the cache may be filled inside a jit trace, where a jax array
    # made here would leak as a tracer; NumPy constants are embedded safely.
    hidden = [(np.asarray(w, dtype=float), np.asarray(b, dtype=float))
              for w, b in emu.weights[:-1]]
    hyper = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
             for a, b in emu.hyper_params]
    return dict(hidden=hidden, hyper=hyper,
                p_mean=np.asarray(emu.param_train_mean, dtype=float),
                p_std=np.asarray(emu.param_train_std, dtype=float),
                w_u=w_u, b_u=b_u, emu=emu)


def linear_power(cosmo, z):
    """ln P_lin(k, z) on the uniform grid ``LN_K``.

    Parameters: cosmo (CosmoParams), z array (n_z,).
    Returns: array (n_z, N_K) of ln(P [Mpc^3]).
    """
    net = _network()
    z = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    scal = lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=float), z.shape)
    x = jnp.stack([scal(cosmo.omega_b), scal(cosmo.omega_cdm), scal(cosmo.H0) / 100.0,
                   scal(cosmo.n_s), scal(cosmo.ln10_10_As), z], axis=-1)
    h = (x - net["p_mean"]) / net["p_std"]
    for (w, b), (a, g) in zip(net["hidden"], net["hyper"]):
        act = h @ w.T + b
        h = (g + (1.0 - g) / (1.0 + jnp.exp(-a * act))) * act
    return h @ jnp.asarray(net["w_u"]).T + net["b_u"]
