"""Quick-start: print C_ell^yy for the default cosmology and A10 profile.

    python -m classy_szlite_cobaya.example
"""
import time

import numpy as np

import classy_szlite_cobaya as csl


def main():
    ell = np.geomspace(10, 5000, 12)
    t = time.perf_counter()
    ev = csl.cl_yy_factory(csl.CosmoParams(), ell)        # cosmology grids, built once
    cl_1h, cl_2h = ev(csl.ProfileParamsA10(B=1.25))       # profile-dependent part
    print(f"# classy_szlite_cobaya {csl.__version__}: C_ell^yy at the default cosmology "
          "(classy_szlite's: Planck 2018, 3 x 0.02 eV neutrinos, fEDE = 0.001), A10, B = 1.25"
          f"  (first call incl. compilation {time.perf_counter() - t:.1f} s)")
    print("# derived: " + ", ".join(f"{k} = {float(v):.4f}"
                                      for k, v in csl.derived(csl.CosmoParams()).items()))
    print("#     ell        C_1h          C_2h     1e12 D_ell(total)")
    for l, a, b in zip(ell, np.asarray(cl_1h), np.asarray(cl_2h)):
        print(f"{l:9.1f}  {a:.5e}  {b:.5e}  {1e12 * l * (l + 1) / (2 * np.pi) * (a + b):.5f}")


if __name__ == "__main__":
    main()
