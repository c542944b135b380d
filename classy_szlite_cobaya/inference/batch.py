r"""Batched evaluation: ``jax.vmap`` of the full C_ell^yy pipeline.

    cl_yy_batch(cosmos, profiles, ell) -> (C1h, C2h), each (n_batch, n_ell), dimensionless,

with ``cosmos`` a CosmoParams and ``profiles`` a ProfileParamsA10 whose fields are (n_batch,)
arrays (or scalars, broadcast). Each row equals ``csl.cl_yy(cosmo_i, profile_i, ell)``; points
outside the emulator box give NaN rows (the traced validation), never an exception.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..params import CosmoParams, ProfileParamsA10
from ..tsz.power_spectrum import _pipeline, prepare

__all__ = ["cl_yy_batch", "stack_params"]


def stack_params(cls, rows):
    """A ``cls`` (CosmoParams/ProfileParamsA10) of (n,) arrays from a list of instances."""
    return cls(*[jnp.asarray(np.array([float(r[i]) for r in rows])) for i in range(len(cls._fields))])


@partial(jax.jit, static_argnames=("layout", "chunk"))
def _batch(cosmos, profiles, layout, chunk):
    one = lambda cp: _pipeline(cp[0], cp[1], layout)  # noqa: E731
    n = cosmos[0].shape[0]
    if n <= chunk:
        return jax.vmap(one)((cosmos, profiles))
    # vmap inside chunks of `chunk` points, a sequential loop over chunks: the vmapped
    # intermediates grow ~45 MB per point, so a 1024-point vmap would need ~45 GB.
    return jax.lax.map(one, (cosmos, profiles), batch_size=chunk)


def cl_yy_batch(cosmos: CosmoParams, profiles: ProfileParamsA10, ell, chunk: int = 64,
                **options):
    """(C1h, C2h) of shape (n_batch, n_ell) for a batch of cosmologies and profiles.

    Fields may be scalars (shared by the batch) or (n_batch,) arrays; options as in
    :func:`classy_szlite_cobaya.cl_yy`. ``chunk``: largest number of points vmapped at once
    (memory ~45 MB per point at the default settings); bigger batches loop over chunks.
    One compiled program per (batch size, chunk, ell, options).
    """
    layout, _ = prepare(ell, **options)
    sizes = {np.shape(v)[0] for v in (*cosmos, *profiles) if np.ndim(v) > 0}
    if len(sizes) > 1:
        raise ValueError(f"batched fields have different lengths {sorted(sizes)}")
    n = sizes.pop() if sizes else 1
    bc = lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=float), (n,))  # noqa: E731
    cosmos = CosmoParams(*map(bc, cosmos))
    profiles = ProfileParamsA10(*map(bc, profiles))
    return _batch(cosmos, profiles, layout, int(chunk))
