"""B12 ranges: C_ell on the default profile grid (n_x = 513) vs an 8x finer one (n_x = 4097) at
the edges of params.PROFILE_RANGES_B12 (the measurement quoted there). Reduced z and mass
grids (the x resolution does not depend on them). ~1 min on 2 cores.

    python benchmarks/check_b12_ranges.py
"""
import itertools, numpy as np
import classy_szlite_cobaya as csl
from classy_szlite_cobaya.params import PROFILE_RANGES_B12 as R
ell = np.array([10., 100., 1000., 5000.])
c = csl.CosmoParams()
base = dict(n_z=16, n_m=30)
def edge(f, s):  # just inside the open range
    lo, hi = R[f]; return lo + (hi - lo) * 1e-3 if s < 0 else hi - (hi - lo) * 1e-3
worst = 0
cases = [dict()]
for f in ("xc", "gamma", "alpha", "beta"):
    for s in (-1, 1):
        cases.append({f: edge(f, s)})
cases += [dict(xc=edge("xc", -1), gamma=edge("gamma", -1)), dict(xc=edge("xc", 1), beta=edge("beta", -1), alpha=edge("alpha",-1)),
          dict(alpha_z_xc=3 - 1e-3, alpha_m_xc=-0.3+1e-3), dict(alpha_z_beta=3-1e-3, alpha_m_beta=0.3-1e-3), dict(alpha_z_beta=-3+1e-3)]
for cs in cases:
    p = csl.ProfileParamsB12(**cs)
    a = np.array(csl.cl_yy(c, p, ell, **base))
    b = np.array(csl.cl_yy(c, p, ell, **base, n_x=4097))
    e = np.max(np.abs(a / b - 1)); worst = max(worst, e)
    print(cs, "%.1e" % e)
print("worst", worst)
