r"""What the tSZ integrals need from a pressure profile: one interface, one object per profile.

Every profile here has the form (M the profile's mass: the true mass divided by the mass bias
B; M_Delta and R_Delta at ``delta_c`` times the critical density, R_Delta = (3 M / (4 pi
delta_c rho_crit(z)))^(1/3), physical):

    y_ell(M, z) = Y(z) M^p G(q; M, z),   q = (ell + 1/2) R_Delta / D_A,
    G(q; M, z) = int_0^{x_out} dx x^2 sinc(q x) p(x; M, z),   x = r / R_Delta,

with Y(z) [per Msun^p] the amplitude (``amplitude``), p the mass exponent
(``mass_exponent``) and p(x; M, z) the dimensionless shape (``shape``, amplitude fields such
as P0 included). The transform is linear in p(x) (``profiles.transform``), so the kernels
need only the shape on the x nodes.

* Self-similar profiles (A10: p(x) independent of M and z) use the ln q lattice of
  ``tsz.kernels``: one matrix-vector product per profile for all (ell, M, z).
* Profiles whose shape depends on M and z (B12) do not fit that lattice (G differs at every
  lattice node); they use the direct (z, ln M) quadrature: the shape on an [n_z, n_m, n_x]
  grid, one matrix product with the Filon matrix, 4-point interpolation in ln q.
"""
from __future__ import annotations

from typing import Callable

__all__ = ["ProfileModel", "model_for"]


class ProfileModel:
    """A pressure profile family as the kernels see it (hashable: a static jit argument).

    name : "A10", "B12";  params_type : its NamedTuple pytree;
    delta_c : overdensity (x critical density) of its mass and radius (500, 200);
    self_similar : shape independent of M and z (lattice path) or not (direct path);
    mass_exponent : p of y = Y(z) M^p G;
    amplitude(grids) -> Y(z_a) [n_z], per Msun^p (C_ell dimensionless);
    shape(x, profile, ln_m, z) -> p(x) (broadcast over x, ln_m = ln(M/Msun), z; a
        self-similar shape ignores ln_m and z).
    """

    def __init__(self, name: str, params_type: type, delta_c: float, self_similar: bool,
                 mass_exponent: float, amplitude: Callable, shape: Callable):
        self.name, self.params_type, self.delta_c = name, params_type, float(delta_c)
        self.self_similar, self.mass_exponent = bool(self_similar), float(mass_exponent)
        self.amplitude, self.shape = amplitude, shape

    def __repr__(self):
        return f"ProfileModel({self.name})"

    def __hash__(self):
        return hash(("ProfileModel", self.name))

    def __eq__(self, other):
        return isinstance(other, ProfileModel) and other.name == self.name


def model_for(profile_or_type) -> ProfileModel:
    """The :class:`ProfileModel` of a profile pytree, its type, or its name ("A10", "B12");
    TypeError/ValueError otherwise."""
    from . import a10, b12
    models = (a10.MODEL, b12.MODEL)
    for m in models:
        if (profile_or_type is m.params_type or isinstance(profile_or_type, m.params_type)
                or (isinstance(profile_or_type, str) and profile_or_type == m.name)):
            return m
    if isinstance(profile_or_type, str):
        raise ValueError(f"profile = {profile_or_type!r}: allowed {[m.name for m in models]}")
    raise TypeError(f"profile must be a ProfileParamsA10 or ProfileParamsB12 (or the type, or "
                    f"'A10' / 'B12'), got {type(profile_or_type).__name__}")
