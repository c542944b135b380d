r"""The Planck y-map log-posterior as a pure JAX function of a flat parameter vector.

Built from the SAME Cobaya input as ``cobaya-run`` (:func:`posterior_from_yaml`): the
``params`` block (sampled parameters with ``uniform``/``min, max`` or ``norm`` priors, fixed
values, component defaults merged by Cobaya's ``update_info``), the likelihood options
(dataset, ``path`` or ``packages_path``/``-p``, ell cuts, f_sky, trispectrum) and the
``halo_model`` options of ``TSZCosmology``. The likelihood's data and covariance are those of
a :class:`~classy_szlite_cobaya.cobaya.likelihood.PlanckYMap2015` instance initialised from
those options, and the per-step maths is that component's
:class:`~classy_szlite_cobaya.likelihoods.ymap.YMapLikelihood` (``self.ymap``).

    log post(theta) = log L(theta) + sum_i log prior_i(theta_i)
    log L = -chi^2/2,   chi^2 = (D_model - D_obs)^T Cov^-1 (D_model - D_obs)   [1e12 D_ell]

With every cosmological parameter fixed the C_ell come from one factory closure (fast path,
~1 ms); otherwise from the full pipeline :func:`classy_szlite_cobaya.cl_yy` (~7-11 ms).
Derived: sigma8, Omega_m, S8 = sigma8 (Omega_m/0.3)^0.5, h = H0/100 and
F = sigma8 (Omega_m/B)^0.40 h^-0.21.

Unconstrained coordinates (for NUTS and the optimiser): a uniform prior [a, b] maps
theta = a + (b - a) sigmoid(u); a normal prior is left as is (u = theta).
"""
from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np

import classy_szlite_cobaya as csl
from ..cobaya.likelihood import PlanckYMap2015
from ..likelihoods.ymap import FOREGROUNDS
from ..cobaya.theory import COSMO_ALIASES, F_EXPONENTS
# One implementation of the prior maths and the unconstrained map (shared with the NUTS
# sampler's posterior of a Cobaya model).
from ..samplers.jax_model import Prior

__all__ = ["Prior", "YMapPosterior", "posterior_from_yaml", "load_info", "DERIVED_NAMES"]

#: Derived parameters the posterior computes, in output order.
DERIVED_NAMES = ("sigma8", "Omega_m", "S8", "h", "F")
_LIKE = "PlanckYMap2015"
_THEORIES = ("TSZCosmology", "TSZPowerSpectrum")
_LINEAR_AS = ("As", "A_s")


def _parse_prior(name: str, prior) -> Prior:
    if isinstance(prior, (list, tuple)) and len(prior) == 2:
        prior = {"min": prior[0], "max": prior[1]}
    if not isinstance(prior, dict):
        raise ValueError(f"Parameter {name}: prior {prior!r} not supported (use "
                         f"{{min, max}}, {{dist: uniform, loc, scale}} or {{dist: norm, loc, scale}})")
    dist = prior.get("dist", "uniform")
    if dist == "uniform":
        if "min" in prior or "max" in prior:
            a, b = float(prior["min"]), float(prior["max"])
        else:
            a = float(prior.get("loc", 0.0))
            b = a + float(prior.get("scale", 1.0))
        if not (math.isfinite(a) and math.isfinite(b) and b > a):
            raise ValueError(f"Parameter {name}: uniform prior needs finite min < max, got {prior}")
        return Prior("uniform", a, b)
    if dist == "norm":
        loc, scale = float(prior.get("loc", 0.0)), float(prior.get("scale", 1.0))
        if not scale > 0:
            raise ValueError(f"Parameter {name}: norm prior needs scale > 0, got {prior}")
        return Prior("norm", loc, scale)
    raise ValueError(f"Parameter {name}: prior dist {dist!r} not supported (uniform or norm)")


def _component(block: dict | None, class_name: str):
    for name, opts in (block or {}).items():
        opts = opts or {}
        if str(opts.get("class") or name).split(".")[-1] == class_name:
            return name, opts
    return None, None


def load_info(yaml_or_info, packages_path: str | None = None) -> dict:
    """Cobaya input (path or dict) with the packages path set; ``-p`` wins over the file's."""
    from ..safe_yaml import load_yaml_file

    # Plain data only: an input YAML is never a way to run code here (see safe_yaml).
    info = dict(load_yaml_file(yaml_or_info, "input YAML")
                if isinstance(yaml_or_info, (str, os.PathLike)) else yaml_or_info)
    if packages_path is not None:
        info["packages_path"] = str(packages_path)
    elif not info.get("packages_path"):
        from cobaya.tools import resolve_packages_path

        if (p := resolve_packages_path(info)):  # $COBAYA_PACKAGES_PATH or Cobaya's config
            info["packages_path"] = p
    return info


class YMapPosterior:
    """Log-posterior of the y-map analysis on a flat vector ``theta`` (order: :attr:`names`).

    Attributes: ``names`` (sampled, YAML order), ``priors`` (:class:`Prior` each), ``fixed``
    (name -> value), ``ell``, ``fast`` (True: fixed cosmology, factory path), ``info`` (Cobaya's
    updated input), ``likelihood`` (the PlanckYMap2015 instance holding data and covariance).
    Every method taking ``theta`` is traceable (jit, grad, vmap).
    """

    def __init__(self, info: dict):
        from cobaya.input import update_info

        self.info = update_info(dict(info))
        params = self.info["params"]
        self.names, self.priors, self.fixed, self.latex = [], [], {}, {}
        self.refs = {}
        for name, p in params.items():
            p = p if isinstance(p, dict) else {"value": p}
            if p.get("derived") is not None and "prior" not in p and "value" not in p:
                continue
            self.latex[name] = p.get("latex", name)
            if "prior" in p:
                self.names.append(name)
                self.priors.append(_parse_prior(name, p["prior"]))
                self.refs[name] = p.get("ref")
            elif "value" in p:
                v = p["value"]
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise ValueError(f"Parameter {name}: only numerical fixed values are "
                                     f"supported by the JAX posterior, got {v!r}")
                self.fixed[name] = float(v)
        self.names = tuple(self.names)
        self._check_components()
        self._build_likelihood()
        self._map_parameters()
        self._build_model()

    # ------------------------------------------------------------------ set-up
    def _check_components(self):
        theory = self.info.get("theory") or {}
        for cls in _THEORIES:
            if _component(theory, cls)[0] is None:
                raise ValueError(f"The input has no {cls} theory: the JAX posterior models "
                                 f"the classy_szlite_cobaya theories only.")
        extra = [n for n in theory if all(_component({n: theory[n]}, c)[0] is None
                                          for c in _THEORIES)]
        if extra:
            raise ValueError(f"Theories {extra} are not modelled by the JAX posterior.")
        likes = self.info.get("likelihood") or {}
        if list(likes) != [_component(likes, _LIKE)[0]]:
            raise ValueError(f"The JAX posterior models exactly one {_LIKE} likelihood, "
                             f"got {list(likes)}.")
        _, cosmo_opts = _component(theory, "TSZCosmology")
        source = cosmo_opts.get("cosmology_source") or "emulator"
        if source != "emulator":
            # Provider mode takes P(k) from classy/camb, which JAX cannot differentiate.
            raise ValueError(f"TSZCosmology cosmology_source: {source}: the JAX posterior "
                             f"needs the embedded emulator (cosmology_source: emulator).")
        self.halo_model = dict(cosmo_opts.get("halo_model") or {})

    def _build_likelihood(self):
        name, opts = _component(self.info["likelihood"], _LIKE)
        opts = {k: v for k, v in opts.items() if k != "params"}
        # The Cobaya component itself reads data, cuts and covariance (same checks, same
        # errors), so the JAX posterior cannot use different data from cobaya-run.
        like = PlanckYMap2015(opts, packages_path=self.info.get("packages_path"), name=name)
        self.likelihood = like
        #: The component's pure likelihood (data, covariance, Cholesky factor).
        self.ymap = like.ymap
        self.ell = np.asarray(like.data.ell, float)

    def _map_parameters(self):
        known = set(self.names) | set(self.fixed)
        self._cosmo_names = {}
        for field, aliases in COSMO_ALIASES.items():
            present = [a for a in aliases if a in known]
            if len(present) > 1:
                raise ValueError(f"{field} is given twice, as {present}: keep one")
            if present:
                self._cosmo_names[field] = present[0]
        missing = [f for f in ("omega_b", "omega_cdm", "H0", "ln10_10_As", "n_s")
                   if f not in self._cosmo_names]
        if missing:
            raise ValueError(f"Cosmological parameters {missing} are missing from params.")
        profile_missing = [f for f in csl.ProfileParamsA10._fields if f not in known]
        if profile_missing:
            raise ValueError(f"Profile parameters {profile_missing} are missing from params.")
        fg_missing = [f"A_{f}" for f in FOREGROUNDS if f"A_{f}" not in known]
        if fg_missing:
            raise ValueError(f"Foreground amplitudes {fg_missing} are missing from params.")
        used = set(self._cosmo_names.values()) | set(csl.ProfileParamsA10._fields) | \
            {f"A_{f}" for f in FOREGROUNDS}
        unused = [n for n in self.names if n not in used]
        if unused:
            raise ValueError(f"Sampled parameters {unused} enter no part of the y-map model.")
        self.fast = all(self._cosmo_names[f] in self.fixed for f in self._cosmo_names)

    def _build_model(self):
        if self.fast:
            cosmo = self._cosmo({})
            self._ev = csl.cl_yy_factory(cosmo, self.ell, **self.halo_model)
            d = jax.jit(csl.derived)(cosmo)
            self._cosmo_derived = {k: float(v) for k, v in d.items()}

    # ------------------------------------------------------------------ parameters
    def values(self, theta) -> dict:
        """name -> value for every sampled and fixed parameter."""
        out = dict(self.fixed)
        out.update({n: theta[i] for i, n in enumerate(self.names)})
        return out

    def _cosmo(self, values: dict) -> csl.CosmoParams:
        v = {**self.fixed, **values}
        kw = {}
        for field, name in self._cosmo_names.items():
            x = v[name]
            if name in _LINEAR_AS:
                x = jnp.log(1e10 * x) if not isinstance(x, float) else math.log(1e10 * x)
            kw[field] = x
        return csl.CosmoParams(**kw)

    def _profile(self, values: dict) -> csl.ProfileParamsA10:
        return csl.ProfileParamsA10(**{f: values[f] for f in csl.ProfileParamsA10._fields})

    # ------------------------------------------------------------------ model
    def cl(self, theta):
        """(C1h, C2h) at the data bins, dimensionless, (n,) each."""
        values = self.values(theta)
        profile = self._profile(values)
        if self.fast:
            return self._ev(profile)
        return csl.cl_yy(self._cosmo(values), profile, self.ell, **self.halo_model)

    def log_likelihood(self, theta):
        """log L = -chi^2/2 (the component's :class:`~..likelihoods.ymap.YMapLikelihood`)."""
        values = self.values(theta)
        cl1, cl2 = self.cl(theta)
        amps = jnp.stack([jnp.asarray(values[f"A_{f}"], float) for f in FOREGROUNDS])
        return self.ymap.log_likelihood(cl1, cl2, amps)

    def log_prior(self, theta):
        """sum_i log prior_i(theta_i), normalised as Cobaya's (-inf outside the support)."""
        return sum(p.logpdf(theta[i]) for i, p in enumerate(self.priors))

    def log_posterior(self, theta):
        """log prior + log L (Cobaya's ``logpost``); -inf outside the priors."""
        lp = self.log_prior(theta)
        # Outside the prior the model may be NaN (emulator box): do not let it leak.
        return jnp.where(jnp.isfinite(lp), lp + self.log_likelihood(theta), -jnp.inf)

    def chi2(self, theta):
        """chi^2 = -2 log L."""
        return -2.0 * self.log_likelihood(theta)

    def derived(self, theta) -> dict:
        """sigma8, Omega_m, S8, h (cosmology) and F = sigma8 (Omega_m/B)^0.40 h^-0.21."""
        values = self.values(theta)
        if self.fast:
            d = {k: jnp.asarray(v) for k, v in self._cosmo_derived.items()}
        else:
            d = csl.derived(self._cosmo(values))
        a, b = F_EXPONENTS
        d["F"] = d["sigma8"] * (d["Omega_m"] / values["B"]) ** a * d["h"] ** b
        return {k: d[k] for k in DERIVED_NAMES}

    def derived_vector(self, theta):
        """(5,) derived values in :data:`DERIVED_NAMES` order."""
        d = self.derived(theta)
        return jnp.stack([jnp.asarray(d[k], float) for k in DERIVED_NAMES])

    # ------------------------------------------------------------------ unconstrained
    def from_unconstrained(self, u):
        """(theta, log |det d theta/d u|) from the unconstrained vector u."""
        pairs = [p.from_unconstrained(u[i]) for i, p in enumerate(self.priors)]
        theta = jnp.stack([t for t, _ in pairs])
        return theta, sum(j for _, j in pairs)

    def to_unconstrained(self, theta):
        """u with from_unconstrained(u)[0] = theta (traceable; theta inside the priors)."""
        return jnp.stack([p.to_unconstrained(theta[i]) for i, p in enumerate(self.priors)])

    def log_density_unconstrained(self, u):
        """log posterior density of u (includes the Jacobian): what NUTS samples."""
        theta, logdet = self.from_unconstrained(u)
        return self.log_posterior(theta) + logdet

    # ------------------------------------------------------------------ helpers
    def reference_point(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """A starting point: the YAML's ``ref`` (drawn if ``rng`` and a distribution are
        given, else its centre), else the prior centre; always inside the prior."""
        out = []
        for name, p in zip(self.names, self.priors):
            ref = self.refs.get(name)
            centre = 0.5 * (p.a + p.b) if p.kind == "uniform" else p.a
            if isinstance(ref, (int, float)) and not isinstance(ref, bool):
                x = float(ref)
            elif isinstance(ref, dict) and ref.get("dist", "norm") == "norm":
                loc, scale = float(ref.get("loc", centre)), float(ref.get("scale", 0.0))
                x = loc + (scale * rng.standard_normal() if rng is not None else 0.0)
            else:
                x = centre
            if p.kind == "uniform":
                w = p.b - p.a
                x = min(max(x, p.a + 1e-3 * w), p.b - 1e-3 * w)
            out.append(x)
        return np.array(out)

    def ranges(self) -> dict:
        """name -> (min, max) of the uniform priors (GetDist ``.ranges``)."""
        return {n: (p.a, p.b) for n, p in zip(self.names, self.priors) if p.kind == "uniform"}

    @property
    def output_prefix(self) -> str | None:
        return self.info.get("output")

    def __repr__(self):
        return (f"YMapPosterior({len(self.names)} sampled {list(self.names)}, "
                f"{'fixed cosmology (factory path)' if self.fast else 'full pipeline'}, "
                f"{self.ell.size} bins)")


def posterior_from_yaml(yaml_or_info, packages_path: str | os.PathLike | None = None
                        ) -> YMapPosterior:
    """:class:`YMapPosterior` from a Cobaya YAML path or input dict; ``packages_path`` (the
    ``-p`` of cobaya-run) locates the installed data."""
    return YMapPosterior(load_info(yaml_or_info, packages_path))
