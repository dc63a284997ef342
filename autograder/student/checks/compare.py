"""Relative error, and comparisons that explain a mismatch.

There is deliberately no numerical differentiation here: in a from-scratch assignment it
would be an oracle for the gradients students must derive (they write their own checker).
"""
from __future__ import annotations

import numpy as np

from . import tolerances
from .convert import finite_or_fail, shape_or_fail, to_array
from .core import StudentError


def relative_errors(a, b, floor: float = tolerances.FLOOR) -> np.ndarray:
    """Elementwise ``|a - b| / max(floor, |a| + |b|)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))


def relative_error(a, b, floor: float = tolerances.FLOOR) -> float:
    """The worst elementwise relative error between two arrays of the same shape."""
    errors = relative_errors(a, b, floor)
    return float(errors.max()) if errors.size else 0.0


def explain_mismatch(observed: np.ndarray, expected: np.ndarray, batch: int | None = None) -> str:
    """Guess the cause of a mismatch: zero, sign flip, a constant factor, transposed."""
    largest = float(np.max(np.abs(expected))) if expected.size else 0.0
    if largest > 0 and float(np.max(np.abs(observed))) <= 1e-9 * largest:
        # exact zeros, or rounding noise around zero (x - x): never "a factor of 2e-17"
        return "it is zero everywhere (is the gradient computed and returned/stored?)"
    ee = float(np.vdot(expected, expected))
    if ee > 0:
        factor = float(np.vdot(observed, expected)) / ee
        if relative_error(observed, factor * expected) < 1e-6 and abs(factor - 1) > 1e-6:
            if abs(factor + 1) < 1e-6:
                return "the sign is flipped"
            if batch and abs(factor - batch) < 1e-6 * batch:
                return (f"it is {batch}x too large: the batch size N={batch}; "
                        "average over the batch (divide by N)")
            if batch and abs(factor - 1 / batch) < 1e-6:
                return f"it is {batch}x too small: divided by the batch size N={batch} once too often"
            for value, text in ((2.0, "2x too large (a factor 2 from the square?)"),
                                (0.5, "2x too small (a missing factor 2 from the square?)")):
                if abs(factor - value) < 1e-6:
                    return f"it is {text}"
            return f"it is off by a constant factor of {factor:.4g}"
    if observed.ndim == 2 and observed.shape[0] == observed.shape[1] \
            and relative_error(observed, expected.T) < 1e-6:
        return "it is transposed"
    return ""


def worst_entries(observed: np.ndarray, expected: np.ndarray, errors: np.ndarray, k: int = 3):
    """The k worst coordinates as (index, observed, expected) tuples of plain numbers."""
    order = np.argsort(errors.reshape(-1))[::-1][:k]
    rows = []
    for flat_index in order:
        index = tuple(int(i) for i in np.unravel_index(flat_index, errors.shape))
        rows.append((index, float(observed[index]), float(expected[index])))
    return rows


def compare(what: str, observed, expected: np.ndarray, tol: float, *,
            floor: float = tolerances.FLOOR, batch: int | None = None,
            mistakes: dict | None = None, hint: str = "") -> str | None:
    """None when ``observed`` matches ``expected`` within ``tol``, else a message.

    ``mistakes`` maps a message to the array a known wrong implementation produces; when
    the observed value equals one of them, that message names the cause.
    Raises StudentError for unusable values (None, wrong shape, NaN).
    """
    observed_raw = observed
    observed = to_array(observed, what)
    expected = np.asarray(expected, dtype=np.float64)
    shape_or_fail(observed, expected.shape, what)
    finite_or_fail(observed, what, hint)
    errors = relative_errors(observed, expected, floor)
    worst = float(errors.max()) if errors.size else 0.0
    if worst <= tol:
        return None
    for message, wrong in (mistakes or {}).items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == observed.shape and relative_error(observed, wrong, floor) <= tol:
            return f"{what} is wrong: {message}"
    rows = worst_entries(observed, expected, errors)
    where = "; ".join(f"at {i}: got {o:.6g}, expected {e:.6g}" for i, o, e in rows)
    cause = explain_mismatch(observed, expected, batch)
    dtype = getattr(getattr(observed_raw, "dtype", None), "name", "")
    if not cause and dtype == "float32":
        cause = "it was computed in float32: keep float64 for gradient checks"
    bad = int((errors > tol).sum())
    message = (f"{what} is wrong: relative error {worst:.2e} > {tol:.0e} "
               f"in {bad} of {errors.size} entries ({where})")
    if cause:
        message += f"; {cause}"
    if hint:
        message += f". Hint: {hint}"
    return Mismatch(message, quantity=what, relative_error=worst, tolerance=tol)


class Mismatch(str):
    """A comparison's message that also carries its facts (``facts``: quantity,
    relative_error, tolerance), so that the judge's verdict holds them as fields and no
    page parses the text. Adding text keeps the facts (``problem + cause``)."""

    def __new__(cls, text: str, **facts):
        made = super().__new__(cls, text)
        made.facts = facts
        return made

    def __add__(self, other: str) -> "Mismatch":
        return Mismatch(str(self) + other, **self.facts)


def numerical_floor(expected: np.ndarray) -> float:
    """Relative-error floor for comparisons with central differences (see tolerances)."""
    scale = float(np.max(np.abs(expected))) if np.size(expected) else 0.0
    return max(tolerances.FLOOR, tolerances.NUMERICAL_FLOOR * scale)


__all__ = ["relative_error", "relative_errors", "compare", "Mismatch",
           "explain_mismatch", "numerical_floor", "StudentError"]
