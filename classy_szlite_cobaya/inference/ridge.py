r"""Independence proposals along the posterior's F ridge (global moves for NUTS).

The y-map measures F = sigma8 (Omega_m/B)^0.40 h^-0.21 and the foreground amplitudes; the
other sampled cosmological and profile parameters ("others": omega_b, omega_cdm, H0, n_s, B
in tsz.yaml) are close to their priors (posterior sd 75-100% of the prior's). In the
coordinates (others, l, A_fg) the posterior is nearly a product, where

    l = a/2 + G(others),   G = ln F(others, a_ref) - a_ref/2,   a = ln(10^10 A_s)

Because sigma8 is proportional to A_s^(1/2) at fixed other parameters (linear theory), l is
ln F itself (measured with the emulator over 2600 posterior draws of tsz.yaml:
l - ln F = -3e-6 +- 2e-5), and (others, l, A_fg) <-> theta is a bijection with |dl/da| = 1/2. The
proposal is

    others ~ their priors,    (l, A_fg) ~ Student-t_nu(mu, Sigma),    a = 2 (l - G(others))

(a outside its prior, or an amplitude < 0: the move is rejected), with density

    q(theta) = prod_others prior_i(theta_i) * t_nu(b(theta); mu, Sigma) * |dl/d theta_a|

so the importance log weight lw = log p(theta) - log q(theta) needs no Jacobian of the
sampler's coordinates (it cancels in p/q). mu, Sigma come from importance-weighted draws of
the NeuTra flow or of the Laplace approximation (:func:`fit_ridge`).

Why: unlike the flow (fitted by maximum ELBO, mode-seeking), this proposal draws the weakly
constrained parameters from their priors, so it covers the corners of the prior box where
the ridge ends and where the flow's weights are > 100 nats off. Measured on tsz.yaml: ~2/3
of the proposals land inside the logA prior; offline, on 1300 posterior draws of an earlier
run, their weights lie within ~5 nats of the median above it at the 99th percentile (the
flow's: > 100), so no region of the posterior traps a chain; in NUTS runs 8-14% of the
proposals are accepted, 1-2 moves per transition (BENCHMARKS.md).
"""
from __future__ import annotations

import math

import numpy as np

from ..cobaya.likelihood import FOREGROUNDS

__all__ = ["RidgeProposal", "fit_ridge", "sampled_amplitude"]

#: CosmoParams field of the primordial amplitude a = ln(10^10 A_s).
AMPLITUDE = "ln10_10_As"
_LINEAR_AS = ("As", "A_s")


def sampled_amplitude(post) -> str | None:
    """The sampled parameter giving the amplitude (logA, As, ...), or None if it is fixed."""
    amp = post._cosmo_names.get(AMPLITUDE)
    return amp if amp in post.names else None


def _block_indices(post) -> list[int]:
    """Indices in theta of b's parameters: the amplitude, then the sampled foregrounds."""
    names = list(post.names)
    return [names.index(sampled_amplitude(post))] + \
        [names.index(f"A_{f}") for f in FOREGROUNDS if f"A_{f}" in names]


class RidgeProposal:
    r"""q(theta) above. ``post``: :class:`~.posterior.YMapPosterior` with the amplitude (logA
    or A_s) sampled; ``mean`` (m,), ``cov`` (m, m): location and scale matrix of the
    Student-t of b = (l, sampled foreground amplitudes) (l = ln F, dimensionless; amplitudes
    as in the YAML); ``df``: its degrees of freedom; ``reparam``: the sampler's coordinates x
    (a :class:`~.flow.FlowReparam`, x -> (u, log det), with ``inverse``), None: x = u.

    Implements the proposal interface of :class:`~.global_moves.GlobalMovesNUTS`; every
    method is traceable."""

    def __init__(self, post, mean, cov, df: float = 5.0, reparam=None):
        import jax.numpy as jnp

        names = list(post.names)
        amp = sampled_amplitude(post)
        if amp is None:
            raise ValueError("ridge moves need the amplitude (logA or A_s) sampled; "
                             f"sampled parameters: {names}")
        if not df > 0:
            raise ValueError(f"df (Student-t degrees of freedom) must be > 0, got {df}")
        self.post, self.reparam, self.df = post, reparam, float(df)
        self.i_block = np.array(_block_indices(post))
        self.i_amp, self.linear = int(self.i_block[0]), amp in _LINEAR_AS
        self.i_others = np.array([i for i in range(len(names)) if i not in self.i_block],
                                 dtype=int)
        prior = post.priors[self.i_amp]
        self.theta_ref = 0.5 * (prior.a + prior.b) if prior.kind == "uniform" else prior.a
        self.mean = jnp.asarray(mean, float)
        self.chol = jnp.asarray(np.linalg.cholesky(np.asarray(cov, float)))
        m = len(self.i_block)
        if self.mean.shape != (m,) or self.chol.shape != (m, m):
            raise ValueError(f"mean, cov: expected shapes ({m},), ({m}, {m}) for "
                             f"{[names[i] for i in self.i_block]}")
        self._log_norm = (math.lgamma(0.5 * (self.df + m)) - math.lgamma(0.5 * self.df)
                          - 0.5 * m * math.log(self.df * math.pi)
                          - float(jnp.sum(jnp.log(jnp.diag(self.chol)))))

    # -- coordinates ------------------------------------------------------------------------
    def _log_amp(self, theta_a):
        """a = ln(10^10 A_s) of the amplitude parameter's value."""
        import jax.numpy as jnp

        return jnp.log(1e10 * theta_a) if self.linear else theta_a

    def _g(self, theta):
        """G(others) = ln F(others, a_ref) - a_ref/2."""
        import jax.numpy as jnp

        th = theta.at[self.i_amp].set(self.theta_ref)
        return jnp.log(self.post.derived_vector(th)[4]) - 0.5 * self._log_amp(self.theta_ref)

    def block(self, theta):
        """b(theta) = (l, foreground amplitudes), l = a/2 + G(others) (= ln F)."""
        b = theta[self.i_block]
        return b.at[0].set(0.5 * self._log_amp(theta[self.i_amp]) + self._g(theta))

    def log_q(self, theta):
        """log q(theta): priors of the others + log t(b) + log |dl/d theta_a|."""
        import jax.numpy as jnp
        import jax.scipy.linalg as jsl

        lp = sum(self.post.priors[i].logpdf(theta[i]) for i in self.i_others)
        r = jsl.solve_triangular(self.chol, self.block(theta) - self.mean, lower=True)
        m = len(self.i_block)
        lt = self._log_norm - 0.5 * (self.df + m) * jnp.log1p(jnp.dot(r, r) / self.df)
        ljac = math.log(0.5) - (jnp.log(theta[self.i_amp]) if self.linear else 0.0)
        return lp + lt + ljac

    def log_weight_theta(self, theta):
        """lw = log p(theta) - log q(theta); -inf outside the priors."""
        import jax.numpy as jnp

        lw = self.post.log_posterior(theta) - self.log_q(theta)
        return jnp.where(jnp.isfinite(lw), lw, -jnp.inf)

    def sample_theta(self, key, k: int):
        """k draws of theta (k, n) from q."""
        import jax
        import jax.numpy as jnp

        k_oth, k_norm, k_chi = jax.random.split(key, 3)
        n = len(self.post.names)
        theta = jnp.zeros((k, n))
        uni = jax.random.uniform(k_oth, (k, len(self.i_others)))
        gauss = jax.random.normal(jax.random.fold_in(k_oth, 1), (k, len(self.i_others)))
        for j, i in enumerate(self.i_others):
            p = self.post.priors[i]
            theta = theta.at[:, i].set(p.a + (p.b - p.a) * uni[:, j] if p.kind == "uniform"
                                       else p.a + p.b * gauss[:, j])
        m = len(self.i_block)
        chi2 = 2.0 * jax.random.gamma(k_chi, 0.5 * self.df, (k,))
        b = self.mean + (jax.random.normal(k_norm, (k, m)) @ self.chol.T) \
            / jnp.sqrt(chi2 / self.df)[:, None]
        theta = theta.at[:, self.i_block].set(b)

        def amplitude(th):
            a = 2.0 * (th[self.i_amp] - self._g(th))
            return th.at[self.i_amp].set(jnp.exp(a) / 1e10 if self.linear else a)

        return jax.vmap(amplitude)(theta)

    # -- proposal interface of GlobalMovesNUTS ----------------------------------------------
    def log_weight(self, x, potential_energy):
        """lw at the chain's state x, whose log p(theta) follows from the potential -log p_x
        NUTS already computed: log p(theta) = -potential - log|dx-to-u| - log|du-to-theta|."""
        u, logdet_x = (x, 0.0) if self.reparam is None else self.reparam(x)
        theta, logdet_u = self.post.from_unconstrained(u)
        return -potential_energy - logdet_x - logdet_u - self.log_q(theta)

    def propose(self, key, k: int, x):
        """k candidates theta' (k, n) and their lw (k,)."""
        import jax

        theta = self.sample_theta(key, k)
        return theta, jax.vmap(self.log_weight_theta)(theta)

    def to_state(self, theta):
        """x of an accepted theta' (inside the priors): u, then the flow's inverse."""
        u = self.post.to_unconstrained(theta)
        return u if self.reparam is None else self.reparam.inverse(u)


def fit_ridge(post, source, draws: int = 1024, inflate: float = 1.2, df: float = 5.0,
              seed: int = 0, reparam=None) -> RidgeProposal:
    r"""Fit mu, Sigma of :class:`RidgeProposal` to importance-weighted draws of ``source``.

    ``source``: z -> (u, log|det du/dz|) with z ~ N(0, 1) (a :class:`~.flow.FlowReparam`,
    e.g. the NeuTra flow, or the Laplace approximation as an affine one); its draws get
    weights w = p_z(z)/N(z; 0, 1), and mu, Sigma are the weighted mean and covariance of b
    (unweighted if the weights' effective number is below 10 per dimension of b), Sigma
    multiplied by ``inflate``^2 (a proposal wider than the target keeps the weights
    bounded). ``reparam``: the sampler's coordinates (see :class:`RidgeProposal`)."""
    import jax

    from .flow import importance_log_weight

    if not inflate > 0:
        raise ValueError(f"inflate must be > 0, got {inflate}")
    m = len(_block_indices(post))
    ridge = RidgeProposal(post, np.zeros(m), np.eye(m), df, reparam)   # for block() only

    @jax.jit
    def one(z):
        u, lw = importance_log_weight(post, source, z)
        return ridge.block(post.from_unconstrained(u)[0]), lw

    z = jax.random.normal(jax.random.PRNGKey(seed), (draws, source.dim))
    b, lw = (np.asarray(a) for a in jax.lax.map(one, z, batch_size=16))
    w = np.exp(lw - lw.max())
    w /= w.sum()
    if 1.0 / np.sum(w ** 2) < 10 * b.shape[1]:
        # Too few effective draws for a covariance (a poor source): use them unweighted.
        w = np.full(len(b), 1.0 / len(b))
    mean = w @ b
    cov = ((b - mean).T * w) @ (b - mean) * inflate ** 2
    return RidgeProposal(post, mean, cov, df, reparam)
