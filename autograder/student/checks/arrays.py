"""Turning what a student returned into a float64 array, or a clear failure.

Students return lists, float32 tensors, ``None``, NaN. Each case gets its own message
instead of a crash inside the check.
"""
from __future__ import annotations

import numpy as np

from .core import StudentError


def to_array(value, what: str, dtype=np.float64) -> np.ndarray:
    """Plain NumPy array from a student value (array, list, torch tensor, number).

    Raises StudentError naming ``what`` for None, non-numeric or non-finite values.
    """
    if value is None:
        raise StudentError(f"{what} is None: did you forget a `return`?")
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, tuple) and len(value) in (2, 3) and not np.isscalar(value[0]):
        raise StudentError(f"{what} is a tuple of {len(value)} items, expected one array "
                           "(are you returning more than asked?)")
    try:
        array = np.asarray(value)
    except Exception as err:  # noqa: BLE001
        raise StudentError(f"{what} cannot be turned into an array ({err})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise StudentError(f"{what} is not numeric (got {type(value).__name__} "
                           f"with dtype {array.dtype})")
    return array.astype(dtype, copy=False) if dtype is not None else array


def finite_or_fail(array: np.ndarray, what: str, hint: str = "") -> None:
    """Fail with the count and first position of NaN/inf entries."""
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[first]) else "inf"
        raise StudentError(f"{what} contains {int(bad.sum())} non-finite value(s) "
                           f"(first: {kind} at index {first}){': ' + hint if hint else ''}")


def shape_or_fail(array: np.ndarray, expected: tuple, what: str) -> None:
    """Fail with a message that guesses the usual reasons for a wrong shape."""
    if array.shape == tuple(expected):
        return
    hint = ""
    if array.ndim == 2 and array.shape[::-1] == tuple(expected):
        hint = " (it is transposed)"
    elif array.shape[1:] == tuple(expected) and array.ndim == len(expected) + 1:
        hint = " (one value per sample: sum over the batch axis 0)"
    elif array.size == int(np.prod(expected)):
        hint = f" (same number of entries: reshape to {tuple(expected)})"
    elif array.ndim == 0 and len(expected) > 0:
        hint = " (a single number where an array was expected)"
    raise StudentError(f"{what} has shape {array.shape}, expected {tuple(expected)}{hint}")


def plain(value):
    """Recursively turn evidence into JSON-friendly plain data (for the trusted judge)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    return value
