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

__all__ = ["LN_K", "K_MIN", "K_MAX", "N_K", "LN10_10_AS_REF", "linear_power", "load_network",
           "hidden_layers", "fold_log10_output"]

K_MIN = 1.0e-5      #: lowest k of the uniform grid [1/Mpc] (= emulator's)
K_MAX = 50.0        #: highest k of the uniform grid [1/Mpc] (emulator stops at 9.81)
N_K = 768           #: nodes of the uniform ln k grid (step 0.020, the emulator's finest)
#: uniform ln k grid [ln(1/Mpc)] on which every P_lin in the package lives
LN_K = np.linspace(np.log(K_MIN), np.log(K_MAX), N_K)

#: ln(10^10 A_s) at which the network is evaluated; P is then scaled exactly by A_s / A_s,ref
#: (linear theory is exactly linear in A_s, the network only approximately: up to 2e-4 in
#: ln P across the box, see docs/physics.md section 1). Inside the box, near its centre.
LN10_10_AS_REF = 3.047

_INPUTS = ["omega_b", "omega_cdm", "h", "n_s", "ln10^{10}A_s", "z"]
_SLOPE_BASELINE = 10   # nodes over which the high-k extrapolation slope is measured


def load_network(probe: str, inputs: list[str]) -> dict:
    """Weights of the cosmopower-jax network ``probe``, read from the installed wheel, as
    NumPy arrays: ``hidden`` [(W, b)], ``hyper`` [(alpha, beta)] of the activations,
    ``p_mean``/``p_std`` (input standardisation), ``w_last``/``b_last`` (output layer; the
    scalar bias ``b_last[-1]`` as cosmopower-jax uses it), ``f_mean``/``f_std`` (output
    standardisation), ``modes`` and the CosmoPowerJAX object ``emu`` (its PCA basis, if any).
    RuntimeError unless the network's inputs are ``inputs``, in that order.

    NumPy (not jax) arrays: callers may fill their caches inside a jit trace, where a jax
    array made here would leak as a tracer; NumPy constants are embedded safely.
    """
    from cosmopower_jax.cosmopower_jax import CosmoPowerJAX

    import jax
    with jax.ensure_compile_time_eval():
        emu = CosmoPowerJAX(probe=probe, verbose=False)
    if list(emu.parameters) != list(inputs):
        raise RuntimeError(f"unexpected cosmopower-jax {probe} inputs {emu.parameters}; "
                           f"this package expects {list(inputs)}")
    f = lambda a: np.asarray(a, dtype=float)
    w_last, b_last = emu.weights[-1]
    return dict(hidden=[(f(w), f(b)) for w, b in emu.weights[:-1]],
                hyper=[(f(a), f(b)) for a, b in emu.hyper_params],
                p_mean=f(emu.param_train_mean), p_std=f(emu.param_train_std),
                w_last=f(w_last), b_last=f(b_last),
                f_mean=f(emu.feature_train_mean), f_std=f(emu.feature_train_std),
                modes=f(emu.modes), emu=emu)


def hidden_layers(net: dict, x):
    """Last hidden layer of ``net`` (from :func:`load_network`) at inputs x [..., n_in]:
    standardised inputs through the dense layers with CosmoPower's activation
    (gamma + (1 - gamma) sigmoid(beta a)) a  (Spurio Mancini et al. 2022, eq. A1)."""
    h = (x - net["p_mean"]) / net["p_std"]
    for (w, b), (a, g) in zip(net["hidden"], net["hyper"]):
        act = h @ w.T + b
        h = (g + (1.0 - g) / (1.0 + jnp.exp(-a * act))) * act
    return h


def fold_log10_output(net: dict, ln_x_out) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with ``ln F(x_out) = h_last @ W.T + b`` for a network whose output is
    log10 F on its ``modes``: natural log, output standardisation and 4-point Lagrange
    interpolation in ln(mode) onto ``ln_x_out`` (linear continuation above the last mode,
    slope over ``_SLOPE_BASELINE`` nodes) folded into the output layer once."""
    A = interp_matrix(np.log(net["modes"]), np.asarray(ln_x_out, dtype=float),
                      _SLOPE_BASELINE)
    ln10 = np.log(10.0)
    w_u = ln10 * (A * net["f_std"][None, :]) @ net["w_last"]          # (n_out, n_hidden)
    b_u = ln10 * A @ (net["b_last"][-1] * net["f_std"] + net["f_mean"])  # (n_out,)
    return w_u, b_u


@functools.lru_cache(maxsize=1)
def _network():
    """The shipped mpk_lin network, with the interpolation onto LN_K folded in."""
    net = load_network("mpk_lin", _INPUTS)
    net["w_u"], net["b_u"] = fold_log10_output(net, LN_K)
    return net


def linear_power(cosmo, z):
    """ln P_lin(k, z) on the uniform grid ``LN_K``:
    ln P = net(omega_b, omega_cdm, h, n_s, LN10_10_AS_REF, z) + (ln10_10_As - LN10_10_AS_REF),
    so P is exactly proportional to A_s at fixed other parameters.

    Parameters: cosmo (CosmoParams), z array (n_z,). No validation (callers check the box,
    ln10_10_As included: the network's training range is what the other inputs must obey).
    Returns: array (n_z, N_K) of ln(P [Mpc^3]).
    """
    net = _network()
    z = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    scal = lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=float), z.shape)
    x = jnp.stack([scal(cosmo.omega_b), scal(cosmo.omega_cdm), scal(cosmo.H0) / 100.0,
                   scal(cosmo.n_s), scal(LN10_10_AS_REF), z], axis=-1)
    ln_p_ref = hidden_layers(net, x) @ jnp.asarray(net["w_u"]).T + net["b_u"]
    return ln_p_ref + (scal(cosmo.ln10_10_As) - LN10_10_AS_REF)[:, None]
