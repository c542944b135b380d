"""Cosmology stage: emulator P_lin(k, z), background, sigma(R).

Public, traceable helpers re-exported by the package: :func:`Pk`, :func:`distances`,
:func:`derived`. Units: k in 1/Mpc, P in Mpc^3, H in km/s/Mpc, distances in Mpc.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from ..params import CosmoParams, check_cosmo, validity_factor
from . import background, emulator, sigma

__all__ = ["Pk", "distances", "derived", "sigma8"]


def _validated(cosmo, z=None):
    check_cosmo(cosmo)
    if z is not None:
        from ..params import EMULATOR_Z_RANGE, concrete
        zc = concrete(z)
        lo, hi = EMULATOR_Z_RANGE
        if zc is not None and (np.any(~np.isfinite(zc)) or np.any(zc < lo) or np.any(zc > hi)):
            raise ValueError(f"z must lie in the emulator's range [{lo:g}, {hi:g}], got {z!r}")
    return validity_factor(cosmo)


def Pk(cosmo: CosmoParams, z, k=None):
    """Linear matter power spectrum P_lin(k, z) [Mpc^3] from the embedded emulator.

    z : scalar or (n_z,) redshifts in [0, 5].
    k : optional (n_k,) wavenumbers [1/Mpc] in [1e-5, 50]; default the internal uniform grid.
    Returns (k, P) with P of shape (n_z, n_k) (z axis dropped for scalar z).
    """
    ok = _validated(cosmo, z)
    zz = jnp.atleast_1d(jnp.asarray(z, dtype=float))
    ln_pk = emulator.linear_power(cosmo, zz)
    if k is None:
        k_out, ln_p = jnp.exp(jnp.asarray(emulator.LN_K)), ln_pk
    else:
        k_out = jnp.asarray(k, dtype=float)
        lk = emulator.LN_K
        ln_p = sigma.interp_uniform(lk[0], lk[1] - lk[0], ln_pk, jnp.log(jnp.atleast_1d(k_out)))
    p = jnp.exp(ln_p) * ok
    return k_out, (p[0] if jnp.ndim(z) == 0 else p)


def distances(cosmo: CosmoParams, z):
    """Background at z: dict with H [km/s/Mpc], chi (comoving distance) [Mpc], D_A [Mpc]."""
    ok = _validated(cosmo, z)
    z = jnp.asarray(z, dtype=float)
    return {"H": background.hubble(cosmo, z) * ok,
            "chi": background.comoving_distance(cosmo, z) * ok,
            "D_A": background.angular_diameter_distance(cosmo, z) * ok}


def sigma8(cosmo: CosmoParams):
    """sigma8 = sigma(R = 8/h Mpc, z = 0) [dimensionless] (no validation; traceable)."""
    return sigma.sigma8_from_ln_pk(emulator.linear_power(cosmo, jnp.zeros(1)),
                                   jnp.asarray(cosmo.H0) / 100.0)


def derived(cosmo: CosmoParams):
    """Derived parameters: dict with sigma8, Omega_m, S8 = sigma8 sqrt(Omega_m/0.3), h."""
    ok = _validated(cosmo)
    s8 = sigma8(cosmo) * ok
    om = background.omega_m0(cosmo)
    return {"sigma8": s8, "Omega_m": om, "S8": s8 * jnp.sqrt(om / 0.3),
            "h": jnp.asarray(cosmo.H0) / 100.0}
