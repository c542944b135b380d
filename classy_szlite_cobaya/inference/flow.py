r"""Neural-transport (NeuTra) preconditioning of the y-map posterior for NUTS.

Hoffman et al. 2019 (arXiv:1903.03704). With the cosmology sampled, the posterior in the
unconstrained u is a curved ridge: the data fix F = sigma8 (Omega_m/B)^0.40 h^-0.21 (and the
foregrounds), and logA, omega_cdm, H0, B trade along a bent line whose curvature changes ~50x
within 2 sigma. One linear metric (NUTS's mass matrix) cannot fit that: measured on tsz.yaml,
~100 leapfrog steps per draw and R-1 = 0.2 after 20 min. A normalising flow T (numpyro's
inverse autoregressive flow, IAF, as in the NeuTra paper) is fitted by stochastic variational
inference (maximum ELBO) to the posterior in Laplace-whitened coordinates w, and NUTS samples
the flow's base variable z:

    u(z) = u_mode + L T(z),          L L^T = cov_u (Laplace, :func:`.optimize.laplace`)
    log p_z(z) = log p_u(u(z)) + log|det L| + log|det dT/dz|

This is exact for any bijection T: the flow changes the coordinates, not the target, so the
draws mapped back through u(z) are draws of the same posterior; a good T only makes p_z close
to a unit normal, where NUTS needs few leapfrog steps. :func:`importance_ess` measures how
close (the importance-sampling efficiency of the flow as a proposal).

Why IAF and not a block neural autoregressive flow (BNAF): each IAF layer is affine in z_i
with a clipped log-scale, so far from the origin T stays close to affine and p_z keeps
Gaussian-like tails. BNAF's tanh layers saturate: measured on tsz.yaml, one of two chains
drifted to |z| ~ 50 where T is flat (z standard deviations 12-49, 128 leapfrog steps per
draw), while with IAF both chains stayed at |z| ~ 1-3 with 34 and 39 steps per draw.

The fitted flow also serves as the global proposal of :mod:`.global_moves`, whose acceptance
is roughly its importance efficiency; :func:`best_flow` keeps the best of a few SVI fits.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["FlowReparam", "fit_flow", "best_flow", "importance_ess", "importance_log_weight",
           "affine_reparam"]


class FlowReparam:
    """The bijection z -> u = u_mode + L T(z), dimensionless (u: unconstrained parameters).

    ``reparam(z)`` returns (u, log|det du/dz|) and is traceable (jit, grad, vmap). Attributes:
    ``u_mode`` (n,), ``chol`` (n, n) lower-triangular L, ``transform`` (numpyro Transform T),
    ``losses`` (negative ELBO per SVI step), ``wall_s`` (Laplace + SVI seconds).
    """

    def __init__(self, u_mode, chol, transform, losses, wall_s: float):
        import jax.numpy as jnp

        self.u_mode = jnp.asarray(u_mode, dtype=float)
        self.chol = jnp.asarray(chol, dtype=float)
        self.transform = transform
        self.losses = np.asarray(losses)
        self.wall_s = float(wall_s)
        self._logdet_chol = float(np.sum(np.log(np.diag(np.asarray(chol)))))

    @property
    def dim(self) -> int:
        return int(self.u_mode.shape[0])

    def __call__(self, z):
        w = self.transform(z)
        return (self.u_mode + self.chol @ w,
                self._logdet_chol + self.transform.log_abs_det_jacobian(z, w))

    def inverse(self, u):
        """z with u(z) = u: L^-1 (u - u_mode), then T^-1 (the IAF's exact inverse, n
        sequential passes of its network; round trip ~1e-14 on tsz.yaml). Traceable."""
        import jax.scipy.linalg as jsl

        w = jsl.solve_triangular(self.chol, u - self.u_mode, lower=True)
        return self.transform.inv(w)


def affine_reparam(laplace_result) -> FlowReparam:
    """The Laplace approximation as a :class:`FlowReparam` with T = identity:
    u = u_mode + L z (z ~ N(0, 1) gives its draws)."""
    from numpyro.distributions.transforms import IdentityTransform, IndependentTransform

    chol = np.linalg.cholesky(laplace_result.cov_u)
    return FlowReparam(laplace_result.u_mode, chol, IndependentTransform(IdentityTransform(), 1),
                       [], 0.0)


def fit_flow(post, laplace_result=None, steps: int = 1500, particles: int = 8,
             num_flows: int = 3, hidden: int = 2, learning_rate: float = 3e-3,
             beta: float = 1.0, seed: int = 0) -> FlowReparam:
    r"""Fit an IAF flow to ``post`` (:class:`~.posterior.YMapPosterior`) by SVI.

    Maximises ELBO = E_q[log p_w(w) - log q(w)] with q = T_# N(0, 1) over ``steps`` Adam steps
    (``learning_rate``, gradient norm clipped at 10), ``particles`` reparameterised draws
    per step (vmapped: one batched posterior evaluation per step), in the coordinates
    w = L^-1 (u - u_mode) of the Laplace approximation ``laplace_result`` (computed if None).
    ``beta``: fit the flow to the tempered density p_w^beta (beta < 1 widens q; NUTS's
    target is p_w whatever beta). Maximum ELBO (reverse KL) is mode-seeking: on tsz.yaml the
    low-F region (F < 0.33, ~10% of the posterior) gets 0.5% of the flow's draws with beta = 1
    and 13.5% with beta = 0.5; but a 30-min NUTS run mixed no better with beta = 0.5 (max
    R-1 0.035, 860 divergences, min ESS 68) than with beta = 1 (0.034, 552, 82).
    ``num_flows`` IAF layers (reversed order between layers), each an autoregressive network
    with two hidden layers of ``hidden`` x n units. Cost on tsz.yaml (2-core CPU): ~2 min for
    1500 steps x 8 particles, Laplace included.
    """
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    import optax
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoIAFNormal
    from numpyro.infer.initialization import init_to_value

    from .optimize import laplace

    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta (--flow-beta) must be in (0, 1], got {beta}")
    t0 = time.perf_counter()
    lap = laplace(post) if laplace_result is None else laplace_result
    u_mode = jnp.asarray(lap.u_mode)
    chol = jnp.asarray(np.linalg.cholesky(lap.cov_u))
    n = u_mode.shape[0]
    unit = dist.Normal(0.0, 1.0).expand([n]).to_event(1)

    def model():
        # w carries a unit-normal "prior" that the factor removes again: the model's log
        # density of w is beta log p_u(u_mode + L w) + const, which SVI fits.
        w = numpyro.sample("w", unit)
        numpyro.factor("log_p", beta * post.log_density_unconstrained(u_mode + chol @ w)
                       - unit.log_prob(w))

    guide = AutoIAFNormal(model, num_flows=num_flows, hidden_dims=[hidden * n, hidden * n],
                          init_loc_fn=init_to_value(values={"w": jnp.zeros(n)}))
    optim = numpyro.optim.optax_to_numpyro(
        optax.chain(optax.clip_by_global_norm(10.0), optax.adam(learning_rate)))
    svi = SVI(model, guide, optim, Trace_ELBO(num_particles=particles))
    # stable_update: a step whose loss is not finite (a draw far in a tail) is skipped.
    result = svi.run(jax.random.PRNGKey(seed), steps, progress_bar=False, stable_update=True)
    losses = np.asarray(result.losses)
    if not np.isfinite(losses[-1]):
        raise RuntimeError("fit_flow: the ELBO is not finite at the end of SVI; lower "
                           f"learning_rate (now {learning_rate}) or raise steps.")
    return FlowReparam(u_mode, chol, guide.get_transform(result.params), losses,
                       time.perf_counter() - t0)


def importance_log_weight(post, reparam: FlowReparam, z):
    """(u(z), lw(z)): lw = log p_z(z) - log N(z; 0, 1) + const, the log weight of a draw z of
    ``reparam`` as a proposal for the posterior (-inf where not finite). Traceable."""
    import jax.numpy as jnp

    u, logdet = reparam(z)
    lw = post.log_density_unconstrained(u) + logdet + 0.5 * jnp.dot(z, z)
    return u, jnp.where(jnp.isfinite(lw), lw, -jnp.inf)


def importance_ess(post, reparam: FlowReparam, draws: int = 256, seed: int = 0) -> float:
    r"""Importance-sampling efficiency of the flow as a proposal for the posterior, in (0, 1]:
    ESS / draws with log weights log p_z(z) - log N(z; 0, 1), z ~ N(0, 1). 1 = perfect fit;
    NUTS needs only a rough fit (~0.1 on tsz.yaml cuts the leapfrog steps ~3x)."""
    import jax

    log_weight = jax.jit(lambda z: importance_log_weight(post, reparam, z)[1])
    z = jax.random.normal(jax.random.PRNGKey(seed), (draws, reparam.dim))
    lw = np.asarray(jax.lax.map(log_weight, z, batch_size=16))
    w = np.exp(lw - lw.max())
    return float(w.sum() ** 2 / (w ** 2).sum() / draws)


def best_flow(post, restarts: int = 2, draws: int = 512, seed: int = 0, **kwargs):
    """Fit ``restarts`` flows (:func:`fit_flow` with seeds seed, seed + 1, ...; one shared
    Laplace fit) and keep the one with the highest :func:`importance_ess` (``draws`` draws).
    Returns (flow, efficiencies); ``flow.wall_s`` covers all fits and evaluations.

    Why: the SVI fit's quality depends on its seed more than its final ELBO says. On tsz.yaml
    seeds 0 and 1 end at -ELBO 18.64 and 18.92 but importance efficiencies 0.16 and 0.33, and
    NUTS with global moves (:mod:`.global_moves`) through them reached max R-1 0.0135 after
    28 min and 0.0084 after 8 min respectively (2 cores)."""
    from .optimize import laplace

    if restarts < 1:
        raise ValueError(f"restarts (--flow-restarts) must be >= 1, got {restarts}")
    t0 = time.perf_counter()
    lap = kwargs.pop("laplace_result", None)
    lap = laplace(post) if lap is None else lap
    best, effs = None, []
    for r in range(restarts):
        flow = fit_flow(post, laplace_result=lap, seed=seed + r, **kwargs)
        effs.append(importance_ess(post, flow, draws=draws, seed=seed))
        if best is None or effs[-1] > max(effs[:-1]):
            best = flow
    best.wall_s = time.perf_counter() - t0
    return best, effs
