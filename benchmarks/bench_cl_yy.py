"""Warm timings of C_ell^yy. Writes BENCHMARKS.md.

ell = geomspace(2, 5000, 30), n_z = 100, n_m = 200 (defaults otherwise). Median of repeated
warm (compiled) calls, wall clock, JAX on CPU, float64.

    python benchmarks/bench_cl_yy.py [--repeats 50] [--out BENCHMARKS.md]
"""
import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import classy_szlite_cobaya as csl

ELL = np.geomspace(2, 5000, 30)
OPTS = dict(n_z=100, n_m=200)
TARGETS_MS = {"factory forward": 2.0, "full pipeline": 15.0,
              "full pipeline, m_ncdm = 0.02 eV x 3, w0 = -0.9, wa = 0.1": 15.0,
              "full-pipeline grad (omega_b, omega_cdm, m_ncdm, w0, P0, beta), same point": 50.0,
              "full-pipeline grad (omega_b, omega_cdm, P0, beta)": 50.0,
              "full pipeline, + fEDE = 0.05": 15.0,
              "full pipeline, default CosmoParams (classy_szlite's: 3 x 0.02 eV, fEDE = 0.001)":
              15.0,
              "full-pipeline grad (omega_cdm, m_ncdm, w0, fEDE, log10z_c, thetai_scf, P0), "
              "same point": 50.0,
              "full pipeline, caller jitted": 15.0, "full-pipeline grad, caller jitted": 50.0}


def timeit(fn, repeats):
    jax.block_until_ready(fn())                     # compile + warm
    jax.block_until_ready(fn())
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def print_timings(rows, decimals: int = 1) -> None:
    """The machine line and a Markdown table of (quantity, seconds) rows, in ms."""
    print(f"Machine: {machine()}\n")
    print("| quantity | median [ms] |\n| --- | --- |")
    for name, seconds in rows:
        print(f"| {name} | {1e3 * seconds:.{decimals}f} |")


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, JAX {jax.__version__} "
            f"({jax.devices()[0].platform}), float64")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--out", default="BENCHMARKS.md")
    args = ap.parse_args()
    # massless LambdaCDM (the LambdaCDM network alone); the extended rows below add the
    # CAMB-trained corrections
    cosmo = csl.CosmoParams(**csl.MASSLESS_LCDM)
    prof = lambda P0, beta: csl.ProfileParamsA10(P0=P0, beta=beta, B=1.25)
    ev = csl.cl_yy_factory(cosmo, ELL, **OPTS)
    fwd = lambda: ev(prof(8.13, 5.48))
    loss = lambda P0, beta: jnp.sum(sum(ev(prof(P0, beta))))
    grad = jax.grad(loss, argnums=(0, 1))
    full = lambda: csl.cl_yy(cosmo, prof(8.13, 5.48), ELL, **OPTS)

    def full_loss(ob, oc, P0, beta):
        c = csl.CosmoParams(**dict(csl.MASSLESS_LCDM, omega_b=ob, omega_cdm=oc))
        return jnp.sum(sum(csl.cl_yy(c, prof(P0, beta), ELL, **OPTS)))
    full_grad = jax.grad(full_loss, argnums=(0, 1, 2, 3))
    # Extended cosmology (three 0.02 eV species, CPL w0-wa): the CAMB-trained correction to
    # P_lin and the massive-neutrino background enter every step.
    ext = dict(m_ncdm=0.02, w0=-0.9, wa=0.1, fEDE=0.0)
    full_ext = lambda: csl.cl_yy(csl.CosmoParams(**ext), prof(8.13, 5.48), ELL, **OPTS)

    def ext_loss(ob, oc, m_ncdm, w0, P0, beta):
        c = csl.CosmoParams(omega_b=ob, omega_cdm=oc, m_ncdm=m_ncdm, w0=w0, wa=ext["wa"],
                            fEDE=0.0)
        return jnp.sum(sum(csl.cl_yy(c, prof(P0, beta), ELL, **OPTS)))
    ext_grad = jax.grad(ext_loss, argnums=(0, 1, 2, 3, 4, 5))
    # + early dark energy: both CAMB-trained ratios enter.
    ede = dict(ext, fEDE=0.05)
    full_ede = lambda: csl.cl_yy(csl.CosmoParams(**ede), prof(8.13, 5.48), ELL, **OPTS)

    def ede_loss(oc, m_ncdm, w0, f, zc, th, P0):
        c = csl.CosmoParams(omega_cdm=oc, m_ncdm=m_ncdm, w0=w0, wa=ext["wa"], fEDE=f,
                            log10z_c=zc, thetai_scf=th)
        return jnp.sum(sum(csl.cl_yy(c, prof(P0, 5.48), ELL, **OPTS)))
    ede_grad = jax.grad(ede_loss, argnums=tuple(range(7)))
    full_grad_jit = jax.jit(full_grad)
    full_jit = jax.jit(lambda ob, oc: full_loss(ob, oc, 8.13, 5.48))
    build = lambda: csl.cl_yy_factory(cosmo._replace(omega_cdm=0.12), ELL, **OPTS).kernels
    batch = jax.tree.map(lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=float), (64,)),
                         csl.ProfileParamsA10(P0=jnp.linspace(6, 10, 64),
                                              beta=jnp.linspace(4.5, 5.5, 64), B=1.25))
    vm = jax.jit(jax.vmap(ev))
    fwd_jit = jax.jit(lambda P0, beta: ev(prof(P0, beta)))
    grad_jit = jax.jit(grad)
    rows = [
        ("factory forward", timeit(fwd, args.repeats)),
        ("factory grad (P0, beta)", timeit(lambda: grad(8.13, 5.48), args.repeats)),
        ("factory forward, caller jitted", timeit(lambda: fwd_jit(8.13, 5.48), args.repeats)),
        ("factory grad (P0, beta), caller jitted", timeit(lambda: grad_jit(8.13, 5.48), args.repeats)),
        ("factory build (new cosmology: emulator, sigma, HMF, kernels)", timeit(build, args.repeats)),
        ("full pipeline", timeit(full, args.repeats)),
        ("full-pipeline grad (omega_b, omega_cdm, P0, beta)",
         timeit(lambda: full_grad(0.0226, 0.118, 8.13, 5.48), max(10, args.repeats // 3))),
        ("full pipeline, caller jitted", timeit(lambda: full_jit(0.0224, 0.12), args.repeats)),
        ("full-pipeline grad, caller jitted",
         timeit(lambda: full_grad_jit(0.0226, 0.118, 8.13, 5.48), max(10, args.repeats // 3))),
        ("vmap over 64 profiles (one call)", timeit(lambda: vm(batch), args.repeats)),
        ("full pipeline, m_ncdm = 0.02 eV x 3, w0 = -0.9, wa = 0.1", timeit(full_ext, args.repeats)),
        ("full-pipeline grad (omega_b, omega_cdm, m_ncdm, w0, P0, beta), same point",
         timeit(lambda: ext_grad(0.0224, 0.12, 0.02, -0.9, 8.13, 5.48), max(10, args.repeats // 3))),
        ("full pipeline, + fEDE = 0.05", timeit(full_ede, args.repeats)),
        ("full pipeline, default CosmoParams (classy_szlite's: 3 x 0.02 eV, fEDE = 0.001)",
         timeit(lambda: csl.cl_yy(csl.CosmoParams(), prof(8.13, 5.48), ELL, **OPTS),
                args.repeats)),
        ("full-pipeline grad (omega_cdm, m_ncdm, w0, fEDE, log10z_c, thetai_scf, P0), same point",
         timeit(lambda: ede_grad(0.12, 0.02, -0.9, 0.05, 3.562, 2.83, 8.13),
                max(10, args.repeats // 3))),
    ]
    lines = ["## C_ell^yy (issue #2)", "",
             "Produced by `python benchmarks/bench_cl_yy.py` (median of repeated warm calls, "
             "wall clock).", "",
             f"- Machine: {machine()}",
             f"- Setup: ell = geomspace(2, 5000, 30), n_z = {OPTS['n_z']}, n_m = {OPTS['n_m']}, "
             "n_z_pk = 16 (emulator and sigma(R) z nodes), "
             "n_x = 513, B = 1.25", "",
             "| quantity | median [ms] | target (2-core CPU) |", "| --- | --- | --- |"]
    for name, t in rows:
        tgt = TARGETS_MS.get(name)
        lines.append(f"| {name} | {1e3 * t:.2f} | {'<= %g ms' % tgt if tgt else ''} |")
    t = dict(rows)
    vm_t = t["vmap over 64 profiles (one call)"]
    lines += ["",
              f"- grad / forward (factory, as called): "
              f"{t['factory grad (P0, beta)'] / t['factory forward']:.2f}; caller jitted: "
              f"{t['factory grad (P0, beta), caller jitted'] / t['factory forward, caller jitted']:.2f}"
              " (target <= 3)",
              f"- vmap throughput: {64 / vm_t:.0f} spectra/s ({1e3 * vm_t / 64:.3f} ms per profile)",
              "- 'as called': `ev(profile)` / `jax.grad(loss)(...)` from Python (includes "
              "argument checks and dispatch); 'caller jitted': the same wrapped in `jax.jit`."]
    write_section(args.out, "bench_cl_yy", "\n".join(lines))


def write_section(path, tag, text):
    """Replace the block between <!-- tag --> markers in ``path`` (other sections kept)."""
    begin, end = f"<!-- {tag} -->", f"<!-- /{tag} -->"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    block = f"{begin}\n{text}\n{end}"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    print(text)
    with open(path, "w") as fh:
        fh.write(new)


if __name__ == "__main__":
    main()
