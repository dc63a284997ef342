"""Shared pieces of the checks on NumPy exercises (A1, A4): a judge that never crashes on
hostile evidence, and small converters for what a student returned.

Nothing here imports torch: the from-scratch assignments' grading kernels have none, so
the judges that need it import it lazily (:func:`lazy_torch`).
"""
from __future__ import annotations

import numpy as np

from .core import Check, StudentError, grading


class Malformed(Exception):
    """Evidence that cannot have come from this check on its inputs."""


class SafeCheck(Check):
    """A check whose judge turns malformed evidence into a failure with a message.

    Subclasses implement ``verdict(evidence)``; a StudentError raised there becomes a
    failure with its own message, anything else (missing keys, wrong types: evidence the
    check did not produce) a failure that says so, never an exception.
    """

    def judge(self, evidence):
        try:
            return self.verdict(evidence)
        except StudentError as err:
            return self.failed(str(err))
        except ImportError:
            # No torch in a from-scratch grading kernel: there the verdict counts for nothing
            # and the trusted judge, which has torch, decides from the recorded evidence.
            if grading():
                return self.passed("recorded; judged when your work is graded", deferred=True)
            return self.failed("this check's judge needs torch, which is not installed here")
        except (Malformed, KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            return self.failed(f"the recorded result is malformed ({type(err).__name__}: "
                               f"{str(err)[:200]}); it was not produced by this check on its "
                               "inputs")

    def verdict(self, evidence):
        raise NotImplementedError


def lazy_torch():
    """torch, imported only by a judge (the kernels of A1 and A4 have no torch)."""
    import torch

    return torch


def array(value, what: str, dtype=None) -> np.ndarray:
    """A student's value as a NumPy array of numbers (any numeric dtype unless given)."""
    if value is None:
        raise StudentError(f"{what} is None: did you forget a `return`?")
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        result = np.asarray(value)
    except Exception as err:  # noqa: BLE001 (a student object may fail in any way)
        raise StudentError(f"{what} cannot be turned into an array ({err})") from None
    if result.dtype == object or not (np.issubdtype(result.dtype, np.number)
                                      or result.dtype == bool):
        raise StudentError(f"{what} is not an array of numbers (got {type(value).__name__})")
    if result.dtype == bool:
        result = result.astype(np.int64)
    return result.astype(dtype) if dtype is not None else result


def number(value, what: str) -> float:
    """A student's single number as a float; arrays with more than one entry fail."""
    if isinstance(value, tuple):
        raise StudentError(f"{what} is a tuple of {len(value)} items, expected one number")
    values = array(value, what)
    if values.size != 1:
        raise StudentError(f"{what} has shape {values.shape}, expected a single number")
    return float(values.reshape(-1)[0])


def evidence_array(value, what: str, ndim: int | None = None) -> np.ndarray:
    """An array read back from evidence, validated (judge side)."""
    result = np.asarray(value)
    if result.dtype == object or not (np.issubdtype(result.dtype, np.number)
                                      or result.dtype == bool):
        raise Malformed(f"{what} is not numeric")
    if ndim is not None and result.ndim != ndim:
        raise Malformed(f"{what} has {result.ndim} dimensions, expected {ndim}")
    return result.astype(np.float64)


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
