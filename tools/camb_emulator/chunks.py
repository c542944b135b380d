"""Resumable chunked data generation, shared by ``generate.py`` (CAMB) and
``tools/class_cmb/generate_cmb.py`` (CLASS): each chunk is one ``.npz`` written atomically
(the package's ``atomic_write``: temporary file beside it, then rename), so a killed run
loses at most the chunks in flight and a rerun computes only the missing ones."""
from __future__ import annotations

import os

import numpy as np

from classy_szlite_cobaya.atomic import atomic_write


def save_chunk(path: str, **arrays) -> None:
    """``np.savez_compressed(path, **arrays)``, atomically."""
    atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrays))


def run_missing(data_dir: str, tasks, path_of, run_chunk, workers: int, label: str) -> None:
    """Run ``run_chunk(task)`` (returning (chunk index, seconds)) in a pool of ``workers``
    processes for every task whose chunk file ``path_of(task)`` does not exist yet, after
    removing the temporary files of a killed run. The workers are spawned, not forked: this
    module imports the package, hence JAX, which must not be forked."""
    from multiprocessing import get_context
    os.makedirs(data_dir, exist_ok=True)
    for f in os.listdir(data_dir):                # leftovers of a killed run (atomic_write's)
        if f.startswith("."):
            os.remove(os.path.join(data_dir, f))
    todo = [t for t in tasks if not os.path.exists(path_of(t))]
    print(f"{label}: {len(todo)} chunks to compute", flush=True)
    with get_context("spawn").Pool(workers) as pool:
        for c, dt in pool.imap_unordered(run_chunk, todo):
            print(f"  chunk {c} done in {dt:.0f} s", flush=True)
