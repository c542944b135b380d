r"""NUTS plus global independence Metropolis-Hastings moves (flowMC-style).

Gabrié, Rotskoff & Vanden-Eijnden 2022 (arXiv:2105.12603); Wong, Gabrié & Foreman-Mackey
2023 (flowMC, arXiv:2211.06397). NUTS explores locally and crosses slowly between regions
linked only by a narrow neck or stretched out in the sampler's coordinates. One transition
of :class:`GlobalMovesNUTS` is one NUTS transition followed, for each proposal q in turn, by
K independence MH moves, each accepted with probability

    min(1, exp[lw(x') - lw(x)]),    lw(x) = log p(x) - log q(x)

(the importance log weight; any Jacobian common to p and q cancels). Each move leaves p
invariant because its proposal does not depend on the chain's state, so the K proposals are
drawn and evaluated together (one vmapped posterior evaluation, no gradient) and accepted in
sequence; only the last accepted one becomes the new state, whose potential and gradient are
then computed once. Proposals:

* :class:`NormalProposal`: x' ~ N(0, s^2 1) in the NeuTra flow's base space, i.e. the flow
  itself (:mod:`.flow`). Its weights are unbounded where the flow is too narrow: on tsz.yaml
  the maximum-ELBO flow misses the corners of the prior box (high omega_cdm, low logA), where
  posterior draws have lw > 100 above a typical proposal's, so a chain there is never moved.
* :class:`~.ridge.RidgeProposal`: the prior for the parameters the data barely constrain and
  a Student-t for ln F and the foreground amplitudes; its weights stay within a few nats of
  each other over the whole posterior, corners included (:mod:`.ridge`).

Cost on tsz.yaml: K posterior evaluations without gradient (~4 ms each) per proposal type,
against NUTS's ~35-50 gradient evaluations (~8-12 ms each) per transition.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from numpyro.infer.mcmc import MCMCKernel

__all__ = ["GlobalState", "GlobalMovesNUTS", "NormalProposal"]


class NormalProposal:
    """x' ~ N(0, ``scale``^2 1) in the sampler's coordinates x (dimensionless; the flow's
    base z). ``potential_fn``: -log p_x, the function NUTS samples."""

    def __init__(self, potential_fn, scale: float = 1.0):
        if not scale > 0.0:
            raise ValueError(f"scale (--global-scale) must be > 0, got {scale}")
        self.potential_fn = potential_fn
        self.scale = float(scale)

    def log_weight(self, x, potential_energy):
        """lw(x) = log p_x(x) - log N(x; 0, s^2 1) + const, from the potential -log p_x(x)."""
        import jax.numpy as jnp

        return -potential_energy + 0.5 * jnp.dot(x, x) / self.scale ** 2

    def propose(self, key, k: int, x):
        """k candidates (k, n) drawn independently of the current state ``x`` (which only
        gives n), and their lw (k,)."""
        import jax

        cand = self.scale * jax.random.normal(key, (k, x.shape[-1]))
        return cand, jax.vmap(lambda c: self.log_weight(c, self.potential_fn(c)))(cand)

    def to_state(self, candidate):
        """The sampler's coordinates of a candidate (here the candidate itself)."""
        return candidate


class GlobalState(NamedTuple):
    """State of :class:`GlobalMovesNUTS`: ``z`` (n,) sampler coordinates (= ``hmc.z``),
    ``hmc`` numpyro's HMCState, ``rng_key``, ``global_accepts`` (accepted moves of each
    proposal in the last transition, int (n_proposals,))."""

    z: Any
    hmc: Any
    rng_key: Any
    global_accepts: Any


class GlobalMovesNUTS(MCMCKernel):
    """numpyro MCMC kernel: a NUTS transition, then for each (proposal, k) of ``proposals``
    k independence MH moves. ``nuts``: a :class:`numpyro.infer.NUTS` built with
    ``potential_fn=potential_fn``. A proposal has ``propose(key, k, x) -> (candidates,
    lw)``, ``log_weight(x, potential_energy) -> lw`` and ``to_state(candidate) -> x``
    (:class:`NormalProposal`, :class:`~.ridge.RidgeProposal`). Collect ``"hmc.num_steps"``,
    ``"hmc.diverging"``, ``"global_accepts"`` as extra fields. Chains may be sequential or
    parallel (pmap), or vectorized (the global part is vmapped over chains)."""

    sample_field = "z"

    def __init__(self, nuts, potential_fn, proposals):
        import jax

        proposals = [(p, int(k)) for p, k in proposals]
        if not proposals:
            raise ValueError("GlobalMovesNUTS needs at least one (proposal, k)")
        for _, k in proposals:
            if k < 1:
                raise ValueError(f"the number of moves per transition (--global-moves, "
                                 f"--ridge-moves) must be >= 1, got {k}")
        self.inner = nuts
        self.proposals = proposals
        self._value_and_grad = jax.value_and_grad(potential_fn)

    # -- numpyro MCMCKernel interface ---------------------------------------------------------
    @property
    def model(self):
        return None

    @property
    def _sample_fn(self):
        # numpyro's MCMC re-runs init (and would need init_params again) when its kernel has
        # no _sample_fn, e.g. in run() after warmup(): the inner NUTS's answers for us.
        return self.inner._sample_fn

    @property
    def default_fields(self):
        return ("z",)

    @property
    def is_ensemble_kernel(self):
        return False

    def postprocess_fn(self, model_args, model_kwargs):
        return self.inner.postprocess_fn(model_args, model_kwargs)

    def get_diagnostics_str(self, state):
        return self.inner.get_diagnostics_str(state.hmc)

    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        import jax.numpy as jnp

        hmc = self.inner.init(rng_key, num_warmup, init_params, model_args, model_kwargs)
        self._num_warmup = int(num_warmup)
        shape = jnp.shape(hmc.z)[:-1] + (len(self.proposals),)
        return GlobalState(hmc.z, hmc, hmc.rng_key, jnp.zeros(shape, dtype=jnp.int32))

    def sample(self, state, model_args, model_kwargs):
        import jax

        if state.z.ndim == 2:                     # chain_method="vectorized"
            keys = jax.vmap(lambda k: jax.random.split(k, 3))(state.rng_key)
            hmc = self.inner.sample(state.hmc._replace(rng_key=keys[:, 1]), model_args,
                                    model_kwargs)
            hmc, acc = jax.vmap(self._global)(hmc, keys[:, 2])
            return GlobalState(hmc.z, hmc, keys[:, 0], acc)
        key, k_nuts, k_global = jax.random.split(state.rng_key, 3)
        hmc = self.inner.sample(state.hmc._replace(rng_key=k_nuts), model_args, model_kwargs)
        hmc, acc = self._global(hmc, k_global)
        return GlobalState(hmc.z, hmc, key, acc)

    # -- the independence moves ---------------------------------------------------------------
    def _global(self, hmc, key):
        """The moves of every proposal from ``hmc.z``; returns the updated HMCState (z, its
        potential and gradient) and the number accepted per proposal. None during warmup:
        NUTS adapts its step size and metric to where it moves by itself (the bulk), not to
        the far regions the proposals reach, which would shrink the step size everywhere."""
        import jax
        import jax.numpy as jnp

        # hmc.i counts transitions done, this one included: <= num_warmup is warmup.
        return jax.lax.cond(
            hmc.i <= self._num_warmup,
            lambda h, k: (h, jnp.zeros(len(self.proposals), dtype=jnp.int32)),
            self._moves, hmc, key)

    def _moves(self, hmc, key):
        import jax
        import jax.numpy as jnp

        accepts = []
        for proposal, k in self.proposals:
            key, k_prop, k_acc = jax.random.split(key, 3)
            cand, lw_new = proposal.propose(k_prop, k, hmc.z)
            lw_new = jnp.where(jnp.isfinite(lw_new), lw_new, -jnp.inf)
            log_u = jnp.log(jax.random.uniform(k_acc, (k,)))
            lw0 = proposal.log_weight(hmc.z, hmc.potential_energy)

            def step(carry, xs):
                idx, lw, n_acc = carry
                i, lw_i, lu = xs
                accept = lu < lw_i - lw
                return (jnp.where(accept, i, idx), jnp.where(accept, lw_i, lw),
                        n_acc + accept.astype(jnp.int32)), None

            (idx, _, n_acc), _ = jax.lax.scan(
                step, (jnp.int32(-1), lw0, jnp.int32(0)),
                (jnp.arange(k, dtype=jnp.int32), lw_new, log_u))

            def moved(h, proposal=proposal, cand=cand, idx=idx):
                z = proposal.to_state(cand[idx])
                pe, grad = self._value_and_grad(z)
                # Kinetic part of the stored energy is kept: it is a diagnostic only.
                return h._replace(z=z, z_grad=grad, potential_energy=pe,
                                  energy=h.energy - h.potential_energy + pe)

            hmc = jax.lax.cond(idx >= 0, moved, lambda h: h, hmc)
            accepts.append(n_acc)
        return hmc, jnp.stack(accepts)
