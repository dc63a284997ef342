"""Shared pieces of the judges of the checks on NumPy exercises (A1, A4): torch imported
lazily, and comparisons of arrays (student values are converted by :mod:`.convert`).

Nothing here imports torch: the from-scratch assignments' grading kernels have none, so
the judges that need it import it lazily (:func:`lazy_torch`).
"""
from __future__ import annotations

import numpy as np


def lazy_torch():
    """torch, imported only by a judge (the kernels of A1 and A4 have no torch)."""
    import torch

    return torch


def same(a, b, tol: float = 1e-9) -> bool:
    """Same shape and equal up to ``tol`` relative to the larger magnitude (NaN == NaN)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.nanmax(np.abs(b))) if b.size and not np.all(np.isnan(b)) else 1.0)
    return bool(np.allclose(a, b, rtol=0, atol=tol * scale, equal_nan=True))


def first_difference(observed: np.ndarray, expected: np.ndarray, tol: float = 1e-9) -> str:
    """Where two same-shape arrays first differ, and how many entries do."""
    bad = ~np.isclose(observed, expected, rtol=0, atol=tol * max(1.0, np.nanmax(np.abs(expected))),
                      equal_nan=True)
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {bad.size} entries differ (first at {where}: got "
            f"{observed[where]:.6g}, expected {expected[where]:.6g})")
