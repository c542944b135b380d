"""Gradient-based inference from the Cobaya YAML (issue 5): JAX posterior == Cobaya loglikes,
Fisher vs finite differences, vmap batch == loop, a tiny NUTS run read by GetDist and the plot
command, MAP vs Cobaya's minimize. Short settings; the long comparisons are in
benchmarks/run_long_inference.py."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

import classy_szlite_cobaya as csl
from classy_szlite_cobaya.inference import (cl_yy_batch, fisher, posterior_from_yaml)
from classy_szlite_cobaya.inference.batch import stack_params

REPO = Path(__file__).resolve().parents[1]
YAMLS = REPO / "input_yamls"


@pytest.fixture(scope="module")
def profile_post(installed_ymap_packages):
    return posterior_from_yaml(YAMLS / "tsz_profile.yaml", installed_ymap_packages)


def _random_points(post, n, seed):
    rng = np.random.default_rng(seed)
    # Inside the priors, away from their edges (the model is finite everywhere there).
    return [np.array([p.a + (0.05 + 0.9 * rng.random()) * (p.b - p.a) for p in post.priors])
            for _ in range(n)]


def test_posterior_matches_cobaya_fast_path(profile_post):
    from cobaya.model import get_model

    post = profile_post
    assert post.fast and post.names == ("P0", "beta", "B", "A_CIB", "A_RS", "A_IR")
    model = get_model(post.info)
    loglike, logpost = jax.jit(post.log_likelihood), jax.jit(post.log_posterior)
    for theta in _random_points(post, 5, seed=1):
        point = dict(zip(post.names, theta))
        want = model.loglikes(point)[0][0]
        np.testing.assert_allclose(float(loglike(theta)), want, rtol=1e-8)
        np.testing.assert_allclose(float(logpost(theta)), model.logpost(point), rtol=1e-8)
    # Outside the prior: -inf, as Cobaya.
    bad = np.array(post.reference_point()); bad[0] = 25.0
    assert float(logpost(bad)) == -np.inf
    # Derived parameters as the theory computes them (F uses B).
    theta = _random_points(post, 1, seed=2)[0]
    d = model.logposterior(dict(zip(post.names, theta))).derived
    names = model.parameterization.derived_params()
    got = jax.jit(post.derived)(theta)
    for k in ("sigma8", "Omega_m", "S8", "h", "F"):
        np.testing.assert_allclose(float(got[k]), d[list(names).index(k)], rtol=1e-8)


def test_unconstrained_roundtrip_and_gradient(profile_post):
    post = profile_post
    theta = _random_points(post, 1, seed=3)[0]
    u = post.to_unconstrained(theta)
    np.testing.assert_allclose(np.asarray(post.from_unconstrained(u)[0]), theta, rtol=1e-12)
    g = jax.jit(jax.grad(post.log_density_unconstrained))(u)
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.slow
def test_posterior_matches_cobaya_full_pipeline(installed_ymap_packages):
    from cobaya.model import get_model

    post = posterior_from_yaml(YAMLS / "tsz_logA.yaml", installed_ymap_packages)
    assert not post.fast and "logA" in post.names
    model = get_model(post.info)
    loglike = jax.jit(post.log_likelihood)
    rng = np.random.default_rng(4)
    for _ in range(2):
        # Near the reference point, where C_ell stays sensible for every cosmology.
        theta = post.reference_point(rng)
        np.testing.assert_allclose(float(loglike(theta)),
                                   model.loglikes(dict(zip(post.names, theta)))[0][0], rtol=1e-8)


def test_fisher_vs_finite_differences(profile_post):
    post = profile_post
    ev = csl.cl_yy_factory(csl.CosmoParams(), post.ell)
    f = jnp.asarray(post.ymap.d_factor)

    def d_ell(theta):  # 1e12 D_ell of the tSZ model vs (P0, beta, B)
        c1, c2 = ev(csl.ProfileParamsA10(P0=theta[0], beta=theta[1], B=theta[2]))
        return f * (c1 + c2)

    theta0 = np.array([8.13, 5.48, 1.4])
    cov = post.likelihood.cov
    F = fisher(d_ell, theta0, cov)
    # 5-point central differences, step 1e-3 relative: truncation ~ h^4, far below 1e-4.
    cols = []
    for i in range(3):
        h = 1e-3 * theta0[i]
        e = np.zeros(3); e[i] = h
        v = lambda s: np.asarray(d_ell(theta0 + s * e))  # noqa: E731
        cols.append((-v(2) + 8 * v(1) - 8 * v(-1) + v(-2)) / (12 * h))
    J = np.column_stack(cols)
    F_fd = J.T @ np.linalg.solve(cov, J)
    np.testing.assert_allclose(F, F_fd, rtol=1e-4)
    assert np.all(np.linalg.eigvalsh(F) > 0)


def test_vmap_batch_equals_loop():
    ell = np.geomspace(10, 1000, 8)
    cosmos = [csl.CosmoParams(omega_cdm=0.11 + 0.01 * i, H0=66.0 + 2 * i, ln10_10_As=3.0 + 0.02 * i)
              for i in range(3)]
    profiles = [csl.ProfileParamsA10(B=1.2 + 0.1 * i, P0=7.0 + i) for i in range(3)]
    c1, c2 = cl_yy_batch(stack_params(csl.CosmoParams, cosmos),
                         stack_params(csl.ProfileParamsA10, profiles), ell, n_z=40, n_m=60)
    assert c1.shape == c2.shape == (3, ell.size)
    for i in range(3):
        w1, w2 = csl.cl_yy(cosmos[i], profiles[i], ell, n_z=40, n_m=60)
        np.testing.assert_allclose(np.asarray(c1[i]), np.asarray(w1), rtol=1e-10)
        np.testing.assert_allclose(np.asarray(c2[i]), np.asarray(w2), rtol=1e-10)
    # A shared (scalar) profile broadcasts over the batch.
    s1, _ = cl_yy_batch(stack_params(csl.CosmoParams, cosmos), profiles[0], ell, n_z=40, n_m=60)
    np.testing.assert_allclose(np.asarray(s1[0]), np.asarray(c1[0]), rtol=1e-12)


def test_tiny_nuts_run_writes_getdist_chains(installed_ymap_packages, tmp_path):
    from getdist import loadMCSamples

    from classy_szlite_cobaya import cli

    prefix = tmp_path / "nuts" / "tsz_profile"
    assert cli.main(["nuts", str(YAMLS / "tsz_profile.yaml"), "-p", str(installed_ymap_packages),
                     "-o", str(prefix), "--chains", "2", "--warmup", "40", "--samples", "40",
                     "--seed", "3", "--no-progress"]) == 0
    for ext in ("1.txt", "2.txt", "paramnames", "ranges", "updated.yaml"):
        assert (prefix.parent / f"tsz_profile.{ext}").is_file()
    pn = (prefix.parent / "tsz_profile.paramnames").read_text()
    for d in ("sigma8*", "Omega_m*", "F*", "chi2*"):
        assert d in pn
    samples = loadMCSamples(str(prefix), settings={"ignore_rows": 0})
    names = samples.getParamNames().list()
    assert {"P0", "beta", "B", "A_CIB", "A_RS", "A_IR", "F"} <= set(names)
    # sigma8, Omega_m are constant at fixed cosmology: GetDist drops such columns, but they
    # are in the files (and vary in full-pipeline chains).
    header = (prefix.parent / "tsz_profile.1.txt").read_text().splitlines()[0].split()
    assert {"sigma8", "Omega_m", "S8", "h", "F"} <= set(header)
    assert samples.getParamNames().parWithName("F").isDerived
    assert samples.samples.shape[0] == 80 and 0.0 < samples.mean("F") < 1.0
    # Cobaya's columns: minuslogpost = minuslogprior + chi2/2.
    rows = np.loadtxt(prefix.parent / "tsz_profile.1.txt")
    np.testing.assert_allclose(rows[:, 1], rows[:, -2] + rows[:, -1] / 2, rtol=1e-12)
    lo, hi = samples.ranges.getLower("P0"), samples.ranges.getUpper("P0")
    assert (lo, hi) == (2.0, 20.0)
    out = tmp_path / "plots"
    assert cli.main(["plot", str(prefix), "--out", str(out), "--burn-in", "0",
                     "-p", str(installed_ymap_packages)]) == 0
    assert (out / "tsz_profile_bestfit.png").is_file()


def test_map_agrees_with_cobaya_minimize(profile_post):
    from cobaya.run import run

    from classy_szlite_cobaya.inference.optimize import find_map

    post = profile_post
    res = find_map(post, starts=2, seed=0)
    info = yaml.safe_load((YAMLS / "tsz_profile.yaml").read_text())
    info.pop("output")
    # Cobaya's default BOBYQA stopping radius leaves this degenerate, prior-edge optimum
    # ~0.5 short in chi2; a tighter rhoend converges (measured: 19.4982 both ways).
    info["sampler"] = {"minimize": {"seed": 1, "best_of": 2,
                                    "override_bobyqa": {"rhoend": 1e-7, "maxfun": 20000}}}
    _, sampler = run(info, packages_path=post.info["packages_path"])
    cobaya_chi2 = float(sampler.products()["minimum"]["chi2"])
    print(f"MAP chi2: optax {res.chi2:.5f}, cobaya minimize {cobaya_chi2:.5f}")
    assert abs(res.chi2 - cobaya_chi2) < 0.1
    assert res.logpost >= -float(sampler.products()["minimum"]["minuslogpost"]) - 1e-3


def test_laplace_mode_is_stationary_and_cov_inverts_hessian(profile_post):
    """laplace(): the u-space mode has zero gradient, and cov_u is the inverse of the
    Hessian of -log p(u) there, checked against central differences of the exact gradient."""
    from classy_szlite_cobaya.inference.optimize import laplace

    post = profile_post
    lap = laplace(post)
    f = lambda u: -post.log_density_unconstrained(u)  # noqa: E731
    grad = jax.jit(jax.grad(f))
    u = jnp.asarray(lap.u_mode)
    assert np.max(np.abs(np.asarray(grad(u)))) < 1e-5
    n, h = u.size, 1e-4
    hess_fd = np.stack([(np.asarray(grad(u.at[i].add(h))) - np.asarray(grad(u.at[i].add(-h))))
                        / (2 * h) for i in range(n)])
    hess_fd = 0.5 * (hess_fd + hess_fd.T)
    assert np.all(np.linalg.eigvalsh(hess_fd) > 0)
    prod = lap.cov_u @ hess_fd
    print("max |cov_u H_fd - 1| =", np.abs(prod - np.eye(n)).max())
    np.testing.assert_allclose(prod, np.eye(n), atol=1e-4)
    np.testing.assert_allclose(lap.theta_mode, np.asarray(post.from_unconstrained(u)[0]))


def test_nuts_stopping_rules_and_single_chain(profile_post):
    """Draws come in blocks: an R-1 threshold that the first block meets stops there, one
    no block can meet runs to ``samples``; a zero time budget stops after one block; one
    chain runs (no R-1)."""
    from classy_szlite_cobaya.inference.nuts import run_nuts

    kw = dict(warmup=30, progress_bar=False, chunk=20, max_tree_depth=(5, 6))
    easy = run_nuts(profile_post, chains=2, samples=60, rminus1_stop=10.0, **kw)
    assert easy.theta.shape == (2, 20, 6)
    never = run_nuts(profile_post, chains=2, samples=60, rminus1_stop=-1.0, **kw)
    assert never.theta.shape == (2, 60, 6)
    timed = run_nuts(profile_post, chains=2, samples=60, max_seconds=0.0, **kw)
    assert timed.theta.shape == (2, 20, 6)
    one = run_nuts(profile_post, chains=1, samples=20, **kw)
    assert one.theta.shape == (1, 20, 6) and np.all(np.isfinite(one.logpost))
    with pytest.raises(ValueError, match="rminus1_stop = 0.01 needs chains >= 2"):
        run_nuts(profile_post, chains=1, samples=20, rminus1_stop=0.01, **kw)


def test_flow_reparam_is_an_exact_change_of_variables(profile_post):
    """NeuTra (inference/flow.py): u(z) = u_mode + L T(z) reports log|det du/dz| equal to the
    log-determinant of its jacfwd Jacobian, so NUTS on p_z samples the same posterior; of two
    SVI fits the one with the better importance efficiency is kept, and SVI lowers -ELBO;
    NUTS through the flow (with its global moves) returns draws inside the priors whose
    stored log posterior is the posterior's own."""
    from classy_szlite_cobaya.inference.flow import best_flow, importance_ess
    from classy_szlite_cobaya.inference.nuts import run_nuts

    post = profile_post
    flow, effs = best_flow(post, restarts=2, draws=64, steps=300, particles=4, seed=1)
    assert len(effs) == 2 and all(0.0 < e <= 1.0 for e in effs)
    # the fit kept is the one with the best importance efficiency
    assert importance_ess(post, flow, draws=64, seed=1) == pytest.approx(max(effs), rel=1e-9)
    assert np.mean(flow.losses[-50:]) < np.mean(flow.losses[:10])
    jac = jax.jit(jax.jacfwd(lambda z: flow(z)[0]))
    for z in jax.random.normal(jax.random.PRNGKey(0), (3, flow.dim)):
        sign, logdet = np.linalg.slogdet(np.asarray(jac(z)))
        assert sign != 0
        np.testing.assert_allclose(float(flow(z)[1]), logdet, rtol=1e-9, atol=1e-9)
    res = run_nuts(post, chains=2, warmup=30, samples=30, progress_bar=False, reparam=flow,
                   max_tree_depth=(5, 6), global_moves=4)
    assert res.theta.shape == (2, 30, 6)
    assert 0.0 < res.global_accept_rate <= 1.0
    with pytest.raises(ValueError, match="global_moves .* needs the flow"):
        run_nuts(post, chains=2, warmup=2, samples=2, progress_bar=False, global_moves=4)
    lo = np.array([p.a for p in post.priors])
    hi = np.array([p.b for p in post.priors])
    assert np.all((res.theta >= lo) & (res.theta <= hi))
    for c, i in ((0, 0), (1, 29)):
        assert float(post.log_posterior(jnp.asarray(res.theta[c, i]))) == pytest.approx(
            res.logpost[c, i], rel=1e-10)


@pytest.mark.slow
def test_full_pipeline_nuts_cli_uses_the_flow(installed_ymap_packages, tmp_path, capsys):
    """``classy-szlite-cobaya nuts input_yamls/tsz_logA.yaml`` (cosmology sampled): the default
    preconditioning fits the NeuTra flow, NUTS runs with the flow's and the ridge's global
    moves (their acceptance rates reported), and the
    GetDist chains have varying sigma8, Omega_m and F (a tiny run: the long one is
    benchmarks/run_long_inference.py full)."""
    from getdist import loadMCSamples

    from classy_szlite_cobaya import cli

    prefix = tmp_path / "tsz"
    assert cli.main(["nuts", str(YAMLS / "tsz_logA.yaml"), "-p", str(installed_ymap_packages),
                     "-o", str(prefix), "--chains", "2", "--warmup", "10", "--samples", "10",
                     "--flow-steps", "40", "--max-tree-depth", "4", "4",
                     "--chain-method", "sequential", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "NeuTra flow" in out and "Ridge proposal fitted" in out
    for kind in ("flow", "ridge"):
        rate = float(out.split(f"{kind} moves accepted ")[-1].split()[0])
        assert 0.0 <= rate <= 1.0
    samples = loadMCSamples(str(prefix), settings={"ignore_rows": 0})
    assert samples.samples.shape[0] == 20
    for name in ("sigma8", "Omega_m", "F"):
        assert np.std(samples[name]) > 0


def test_global_flow_moves_sample_a_bimodal_target():
    """inference/global_moves.py: independence moves z' ~ N(0, s^2) after each NUTS
    transition leave the target invariant and cross between modes NUTS alone never leaves.
    Target: 0.3 N(-3, 0.5^2) + 0.7 N(+3, 0.5^2) in 2-d (modes 12 sd apart); both chains start
    in the lighter mode. After a move the state's potential and gradient are those of the
    new z (the next NUTS trajectory starts from them)."""
    from numpyro.infer import MCMC, NUTS

    from classy_szlite_cobaya.inference.global_moves import GlobalMovesNUTS, NormalProposal

    def potential(z):
        return -jnp.logaddexp(jnp.log(0.3) - 2.0 * jnp.sum((z + 3.0) ** 2),
                              jnp.log(0.7) - 2.0 * jnp.sum((z - 3.0) ** 2))

    start = jnp.full((2, 2), -3.0)

    def run(kernel, fields):
        m = MCMC(kernel, num_warmup=200, num_samples=3000, num_chains=2,
                 chain_method="sequential", progress_bar=False)
        # warmup() then run(), as run_nuts does (the kernel must keep its state across them)
        m.warmup(jax.random.PRNGKey(1), init_params=start)
        m.run(m.post_warmup_state.rng_key, extra_fields=fields)
        return m, np.asarray(m.get_samples(group_by_chain=True))

    _, alone = run(NUTS(potential_fn=potential), ())
    assert np.all(alone[..., 0] < 0)                      # NUTS alone: stuck in the start mode
    # two proposals in turn (the second too narrow to reach the heavy mode from -3)
    kernel = GlobalMovesNUTS(NUTS(potential_fn=potential), potential,
                             [(NormalProposal(potential, 3.0), 8),
                              (NormalProposal(potential, 0.5), 4)])
    m, z = run(kernel, ("global_accepts",))
    right = z[..., 0] > 0
    # 3000 draws per chain, nearly independent: the binomial sd of the fraction is ~0.01.
    np.testing.assert_allclose(right.mean(axis=1), 0.7, atol=0.05)
    np.testing.assert_allclose(z[right].mean(axis=0), [3.0, 3.0], atol=0.05)
    np.testing.assert_allclose(z[right].std(axis=0), [0.5, 0.5], rtol=0.1)
    acc = np.asarray(m.get_extra_fields()["global_accepts"])
    assert acc.shape == (6000, 2) and 0 < np.mean(acc[:, 0]) < 8 and np.all(acc[:, 1] <= 4)
    last = m.last_state.hmc
    for c in range(2):
        assert float(last.potential_energy[c]) == pytest.approx(float(potential(last.z[c])))
        np.testing.assert_allclose(last.z_grad[c], jax.grad(potential)(last.z[c]), rtol=1e-12)
    with pytest.raises(ValueError, match="moves per transition .* must be >= 1, got 0"):
        GlobalMovesNUTS(NUTS(potential_fn=potential), potential,
                        [(NormalProposal(potential), 0)])
    with pytest.raises(ValueError, match="scale .* must be > 0"):
        NormalProposal(potential, 0.0)


@pytest.mark.slow
def test_ridge_proposal_density_and_coordinates(installed_ymap_packages, profile_post):
    """inference/ridge.py on tsz_logA.yaml: draws keep the weakly constrained parameters inside
    their priors, and their l = logA/2 + G(others) is ln F of the posterior's derived F (the
    physics the proposal rests on: sigma8 ~ A_s^1/2); dl/dlogA = 1/2 (jacfwd); log q equals
    scipy's Student-t density times the priors times that Jacobian; an accepted theta maps
    back to itself through the sampler's coordinates (u, or an affine reparam), where the
    log weight from NUTS's potential equals the posterior's; no amplitude sampled: clear
    error."""
    from types import SimpleNamespace

    from scipy import stats

    from classy_szlite_cobaya.inference.flow import affine_reparam
    from classy_szlite_cobaya.inference.ridge import RidgeProposal

    post = posterior_from_yaml(YAMLS / "tsz_logA.yaml", installed_ymap_packages)
    mean, sd = np.array([-0.85, 0.65, 0.4, 2.0]), np.array([0.1, 0.25, 0.33, 0.2])
    cov = np.diag(sd ** 2) + 0.3 * np.outer(sd, sd) * (1 - np.eye(4))
    ridge = RidgeProposal(post, mean, cov, df=5.0)
    lap = SimpleNamespace(u_mode=post.to_unconstrained(post.reference_point()),
                          cov_u=0.25 * np.eye(len(post.names)))
    affine_ridge = RidgeProposal(post, mean, cov, df=5.0, reparam=affine_reparam(lap))
    assert [post.names[i] for i in ridge.i_block] == ["logA", "A_CIB", "A_RS", "A_IR"]
    theta = np.asarray(jax.jit(ridge.sample_theta, static_argnums=1)(
        jax.random.PRNGKey(3), 32))
    lo = np.array([p.a for p in post.priors])
    hi = np.array([p.b for p in post.priors])
    o = ridge.i_others
    assert np.all((theta[:, o] >= lo[o]) & (theta[:, o] <= hi[o]))
    inside = np.all((theta >= lo) & (theta <= hi), axis=1)
    assert 5 <= inside.sum() < 32                  # some amplitudes fall outside the prior
    block = jax.jit(ridge.block)
    log_q = jax.jit(ridge.log_q)
    derived = jax.jit(post.derived_vector)
    t_dist = stats.multivariate_t(mean, cov, df=5.0)
    for th in theta[inside][:4]:
        b = np.asarray(block(th))
        assert b[0] == pytest.approx(np.log(float(derived(th)[4])), abs=1e-4)
        i = ridge.i_amp
        dl = jax.jacfwd(lambda a, th=th: ridge.block(jnp.asarray(th).at[i].set(a))[0])(th[i])
        assert float(dl) == pytest.approx(0.5, rel=1e-10)
        want = t_dist.logpdf(b) + sum(post.priors[i].logpdf(th[i]) for i in o) + np.log(0.5)
        assert float(log_q(th)) == pytest.approx(float(want), rel=1e-10)
        back = post.from_unconstrained(ridge.to_state(jnp.asarray(th)))[0]
        np.testing.assert_allclose(np.asarray(back), th, rtol=1e-10)
        # at a chain's state, lw from NUTS's potential (in u, and through an affine
        # reparam x -> u) equals lw from the posterior itself
        want = float(ridge.log_weight_theta(jnp.asarray(th)))
        for r in (ridge, affine_ridge):
            x = r.to_state(jnp.asarray(th))
            u, logdet = (x, 0.0) if r.reparam is None else r.reparam(x)
            pe = -(post.log_density_unconstrained(u) + logdet)
            assert float(r.log_weight(x, pe)) == pytest.approx(want, rel=1e-10)
    lw = np.asarray(jax.vmap(jax.jit(ridge.log_weight_theta))(jnp.asarray(theta)))
    assert np.all(np.isfinite(lw[inside])) and np.all(lw[~inside] == -np.inf)
    with pytest.raises(ValueError, match="ridge moves need the amplitude .logA or A_s. sampled"):
        RidgeProposal(profile_post, mean, cov)


def test_map_reports_prior_edges(profile_post, capsys):
    from types import SimpleNamespace

    from classy_szlite_cobaya.inference import optimize
    from classy_szlite_cobaya.inference.posterior import Prior

    # The rule on its own: within 1e-3 of the width of a uniform prior's edge; norm: none.
    fake = SimpleNamespace(names=("a", "b", "c", "d"),
                           priors=(Prior("uniform", 0.0, 5.0), Prior("uniform", 1.0, 2.0),
                                   Prior("uniform", 3.0, 8.0), Prior("norm", 0.0, 1e-9)))
    edges = optimize.prior_edges(fake, [3.8e-85, 1.9995, 3.01, 0.0])
    assert [(e.name, e.side, e.edge) for e in edges] == [("a", "lower", 0.0), ("b", "upper", 2.0)]
    lines = optimize.format_map_parameters(fake, [3.8e-85, 1.9995, 3.01, 0.0])
    assert lines[0].split()[:6] == ["a", "at", "the", "lower", "prior", "edge"]
    assert "e-85" not in "\n".join(lines) and lines[0].split()[6] == "0"
    assert "upper prior edge 2" in lines[1]
    assert lines[2].split()[:2] == ["c", "3.01"] and "near the lower prior edge 3" in lines[2]
    assert lines[3].split() == ["d", "0"]
    assert "2 parameter(s) at a prior edge (a, b)" in lines[-1]
    with pytest.raises(ValueError, match="rel_tol"):
        optimize.prior_edges(fake, [1, 1, 1, 1], rel_tol=0.0)
    # The map command on tsz_profile.yaml: its optimum has parameters on prior edges.
    args = SimpleNamespace(yaml=str(YAMLS / "tsz_profile.yaml"),
                           packages_path=profile_post.info["packages_path"], starts=1, seed=0,
                           maxiter=500)
    res = optimize.run(args)
    out = capsys.readouterr().out
    found = optimize.prior_edges(profile_post, res.theta)
    assert found, out
    for e in found:
        assert f"{e.name:<10} at the {e.side} prior edge {e.edge:g}" in out
    assert "parameter(s) at a prior edge" in out
