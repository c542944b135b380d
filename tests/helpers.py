"""Shared test utilities (no fixtures with side effects here)."""
import numpy as np


def central_difference(f, x, rel_step):
    """Central finite difference df/dx with step rel_step * |x| (scalar x)."""
    h = rel_step * abs(x)
    return (np.asarray(f(x + h)) - np.asarray(f(x - h))) / (2 * h)


def max_rel(a, b):
    """max |a/b - 1| over all entries."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a / b - 1.0)))


#: CosmoParams fields of the input YAMLs' fixed massless, no-EDE cosmology (``mnu: 0``,
#: ``fEDE: 0``; N_ur stays at its default). Massless LambdaCDM with N_eff = 3.046, as CLASS
#: and class_sz references, is ``csl.MASSLESS_LCDM``.
YAML_LCDM = {"m_ncdm": 0.0, "fEDE": 0.0}
