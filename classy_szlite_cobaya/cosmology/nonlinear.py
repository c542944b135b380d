r"""Non-linear matter power spectrum: P_nl(k, z) = P_lin(k, z) B(k, z), with the CosmoPower
``mpk_boost`` network shipped in the ``cosmopower-jax`` wheel (Spurio Mancini et al. 2022).

The boost B = P_nl / P_lin was trained on HMcode-2016 (Mead et al. 2015, 2016: the halo
model with the baryonic-feedback parameters c_min, the halo-concentration amplitude, and
eta_0, the halo-bloating parameter), as implemented in CLASS. The CosmoPower README names
Mead et al. 2020, but the network's inputs are HMcode-2016's (c_min, eta_0; HMcode-2020 has
no eta_0) and it reproduces CLASS 3.4's ``non_linear: hmcode, hmcode_version: 2016`` to
< 0.1 % for k <= 5/Mpc, z <= 3 (BENCHMARKS.md; HMcode-2020 differs from it by percents).
Its training box is :data:`~classy_szlite_cobaya.params.LCDM_BOX` (the same as the linear
network's; flat LambdaCDM, massless neutrinos), c_min in [2, 4], eta_0 in [0.5, 1] (:data:`BOOST_BOX`), z in [0, 5], k from 1e-5 to
:data:`K_MAX_NL` = 9.81/Mpc (the network's 420 modes; no extrapolation above).
The defaults c_min = 3.13, eta_0 = 0.603 are HMcode's dark-matter-only fit (Mead et al. 2015),
CLASS's defaults.

Like :func:`~classy_szlite_cobaya.Pk`, the network's log10 B is moved onto the package's
uniform ln k grid (``emulator.LN_K``) by an interpolation folded into its output layer.
Units: k in 1/Mpc, P in Mpc^3.
"""
from __future__ import annotations

import functools

import numpy as np
import jax.numpy as jnp

from ..interpolation import interp_uniform
from ..params import LCDM_BOX, MASSLESS_HINT, CosmoParams, check_cosmo, validity_factor
from . import _range_check, _z_factor, emulator

__all__ = ["Pnl", "K_MAX_NL", "BOOST_BOX", "C_MIN_DEFAULT", "ETA_0_DEFAULT", "ln_boost"]

_INPUTS = ["omega_b", "omega_cdm", "h", "n_s", "ln10^{10}A_s", "cmin", "eta_0", "z"]
#: highest k [1/Mpc] of the boost network (its last mode); Pnl refuses larger k
K_MAX_NL = 9.80994713
#: training ranges of the HMcode-2016 parameters (uniform priors of the network)
BOOST_BOX = {"c_min": (2.0, 4.0), "eta_0": (0.5, 1.0)}
C_MIN_DEFAULT = 3.13    #: HMcode dark-matter-only concentration amplitude (Mead et al. 2015)
ETA_0_DEFAULT = 0.603   #: HMcode dark-matter-only halo bloating (Mead et al. 2015)

#: LN_K nodes at or below K_MAX_NL: the default k grid of Pnl
N_NL = int(np.searchsorted(emulator.LN_K, np.log(K_MAX_NL), side="right"))
# The table carries one node above K_MAX_NL (the boost continued linearly over < 0.02 in
# ln k) so that k up to K_MAX_NL is interpolated, not extrapolated, by interp_uniform.
_N_TABLE = N_NL + 1


@functools.lru_cache(maxsize=1)
def _network():
    net = emulator.load_network("mpk_boost", _INPUTS)
    if not np.isclose(net["modes"][-1], K_MAX_NL, rtol=1e-6):
        raise RuntimeError(f"unexpected k_max {net['modes'][-1]} of the cosmopower-jax "
                           f"mpk_boost network; this package expects {K_MAX_NL}")
    net["w_u"], net["b_u"] = emulator.fold_log10_output(net, emulator.LN_K[:_N_TABLE])
    return net


def ln_boost(cosmo: CosmoParams, z, c_min=C_MIN_DEFAULT, eta_0=ETA_0_DEFAULT):
    """ln B(k, z) on ``emulator.LN_K[:N_NL + 1]``: array (n_z, N_NL + 1). No validation."""
    net = _network()
    z = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    scal = lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=float), z.shape)
    x = jnp.stack([scal(cosmo.omega_b), scal(cosmo.omega_cdm), scal(cosmo.H0) / 100.0,
                   scal(cosmo.n_s), scal(cosmo.ln10_10_As), scal(c_min), scal(eta_0), z],
                  axis=-1)
    return emulator.hidden_layers(net, x) @ jnp.asarray(net["w_u"]).T + net["b_u"]


def Pnl(cosmo: CosmoParams, z, k=None, *, c_min=C_MIN_DEFAULT, eta_0=ETA_0_DEFAULT):
    r"""Non-linear matter power spectrum P_nl(k, z) = P_lin(k, z) B(k, z) [Mpc^3], B the
    HMcode-2016 boost emulated by the shipped ``mpk_boost`` network (module docstring).

    z : scalar or (n_z,) redshifts in [0, 5].
    k : optional (n_k,) wavenumbers [1/Mpc] in [1e-5, K_MAX_NL = 9.81]; default the uniform
        ln k grid of :func:`~classy_szlite_cobaya.Pk` up to K_MAX_NL (``N_NL`` nodes).
    c_min, eta_0 : scalar HMcode-2016 parameters in [2, 4] and [0.5, 1] (default the
        dark-matter-only 3.13, 0.603).
    Returns (k, P) with P of shape (n_z, n_k) (z axis dropped for scalar z); P_lin is
    exactly :func:`~classy_szlite_cobaya.Pk`'s. Traceable (jit/grad/vmap) in every
    argument. Eager: ValueError naming z, k, c_min or eta_0, the bad value and the range,
    or the CosmoParams field outside the emulator box; TypeError for non-real input.
    Traced: NaN in the rows of invalid z, the columns of invalid k, everywhere for an
    invalid cosmology, c_min or eta_0.
    """
    check_cosmo(cosmo, box=LCDM_BOX, model="the cosmopower-jax mpk_boost network (HMcode-2016)",
                hint=MASSLESS_HINT)
    ok_z = jnp.atleast_1d(_z_factor(z))
    ok = (validity_factor(cosmo, box=LCDM_BOX) * ok_z[:, None]
          * _range_check("c_min", c_min, *BOOST_BOX["c_min"])
          * _range_check("eta_0", eta_0, *BOOST_BOX["eta_0"]))
    zz = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    ln_p = (emulator.linear_power(cosmo, zz)[:, :_N_TABLE]
            + ln_boost(cosmo, zz, c_min, eta_0))
    lk = emulator.LN_K
    if k is None:
        k_out, ln_p = jnp.exp(jnp.asarray(lk[:N_NL])), ln_p[:, :N_NL]
    else:
        ok = ok * jnp.atleast_1d(_range_check("k", k, emulator.K_MIN, K_MAX_NL))[None, :]
        k_out = jnp.asarray(k, dtype=float)
        ln_p = interp_uniform(lk[0], lk[1] - lk[0], ln_p, jnp.log(jnp.atleast_1d(k_out)))
    p = jnp.exp(ln_p) * ok
    return k_out, (p[0] if np.ndim(z) == 0 else p)
