r"""Scale-independent linear growth of cdm + baryon perturbations on sub-horizon scales.

    D'' + (2 + d ln H / d ln a) D' = (3/2) Omega_cb(a) D,     ' = d / d ln a,

with H(a) the full background of :mod:`.background` (photons, massless and massive neutrinos,
cdm + baryons, w0-wa dark energy) and only cdm + baryons as the source: massive neutrinos
add to the expansion but do not cluster (their small-scale limit), dark energy is smooth.
Integrated with fixed-step RK4 in ln a from a_i = 1e-3, D = D' = a_i (the matter-era
solution; the radiation at a_i shifts D by a common factor that cancels in the ratios this
is used for).

Used as the physical mean of the extended-cosmology emulator (:mod:`.extended`):
2 ln[D(z; theta) / D(z; LambdaCDM, massless)] carries most of a w0-wa / massive-neutrino power
ratio at k >> 0.01 /Mpc, and the emulator learns the rest. Not a replacement for the
Boltzmann code's scale-dependent growth.
"""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from ..interpolation import interp_uniform
from . import background

__all__ = ["ln_growth"]

_LN_A_I = np.log(1.0e-3)
_N_STEPS = 200                  # RK4 steps in ln a over [ln 1e-3, 0] (h = 0.035)


def ln_growth(cosmo, z):
    """ln D(z) (unnormalised, D = a deep in the matter era) at redshifts z (n,) in [0, 1e3).

    Traceable and differentiable in every background field of ``cosmo``.
    """
    h = -_LN_A_I / _N_STEPS

    def ln_e(ln_a):
        return jnp.log(background.e_of_z(cosmo, jnp.exp(-ln_a) - 1.0))

    def rhs(ln_a, y):
        dlnh = jax.jvp(ln_e, (ln_a,), (jnp.ones_like(ln_a),))[1]       # d ln H / d ln a
        om = background.omega_m_z(cosmo, jnp.exp(-ln_a) - 1.0)
        return jnp.stack([y[1], -(2.0 + dlnh) * y[1] + 1.5 * om * y[0]])

    def step(y, ln_a):
        k1 = rhs(ln_a, y)
        k2 = rhs(ln_a + h / 2, y + h / 2 * k1)
        k3 = rhs(ln_a + h / 2, y + h / 2 * k2)
        k4 = rhs(ln_a + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return y, jnp.log(y[0])

    ln_a = _LN_A_I + h * jnp.arange(_N_STEPS)
    a_i = np.exp(_LN_A_I)
    _, ln_d = jax.lax.scan(step, jnp.array([a_i, a_i]), ln_a)
    ln_d = jnp.concatenate([jnp.array([_LN_A_I]), ln_d])
    return interp_uniform(_LN_A_I, h, ln_d, -jnp.log1p(jnp.atleast_1d(jnp.asarray(z, float))))
