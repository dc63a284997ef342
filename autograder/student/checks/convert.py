"""The one converter of student values: what a student's code returned (lists, float32
tensors, ``None``, NaN, a tuple where one array was asked for) becomes a NumPy array or a
float, or a :class:`StudentError` whose message names the problem.

The judge-side readers at the end (``numeric``, ``field``, ``returned``, ``evidence_array``)
validate the same values again where they arrive as evidence, which may be forged.
"""
from __future__ import annotations

import numpy as np

from .result import Malformed, StudentError


def to_array(value, what: str, dtype=np.float64) -> np.ndarray:
    """Plain NumPy array from a student value (array, list, torch tensor, number).

    ``dtype`` None keeps the value's numeric dtype (booleans become int64). Raises
    StudentError naming ``what`` for None, a tuple of arrays or a non-numeric value.
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
    except Exception as err:  # noqa: BLE001 (a student object may fail in any way)
        raise StudentError(f"{what} cannot be turned into an array ({err})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise StudentError(f"{what} is not numeric (got {type(value).__name__} "
                           f"with dtype {array.dtype})")
    if dtype is None:
        return array.astype(np.int64) if array.dtype == bool else array
    return array.astype(dtype, copy=False)


def number(value, what: str) -> float:
    """A student's single number as a float; a tuple or an array of several entries fails."""
    if isinstance(value, tuple):
        raise StudentError(f"{what} is a tuple of {len(value)} items, expected one number")
    values = to_array(value, what, dtype=None)
    if values.size != 1:
        raise StudentError(f"{what} has shape {values.shape}, expected a single number")
    return float(values.reshape(-1)[0])


def tensor_record(value, what: str) -> dict:
    """A returned tensor (or array) as evidence: {"array", "dtype", "kind"}.

    kind is "tensor" for a torch.Tensor and the type's name otherwise, so the judge can
    name a function that returns a NumPy array or a list where a tensor is asked for.
    """
    kind = "tensor" if hasattr(value, "detach") and hasattr(value, "dtype") else type(value).__name__
    if kind == "tensor":
        dtype = str(value.dtype).replace("torch.", "")
        array = value.detach().cpu()
        array = array.double().numpy() if array.is_floating_point() else array.long().numpy()
    else:
        try:
            array = np.asarray(value)
        except Exception:  # noqa: BLE001 (a hostile object's __array__ may raise anything)
            raise StudentError(f"{what} is a {kind}, expected a tensor") from None
        if array.dtype.kind not in "biuf":
            raise StudentError(f"{what} is a {kind}, expected a tensor of numbers")
        dtype = str(array.dtype)
    return {"array": array, "dtype": dtype, "kind": kind}


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


# -- judge side: evidence is hostile data, read it back defensively ------------------------

def evidence_array(value, what: str, ndim: int | None = None) -> np.ndarray:
    """An array read back from evidence, validated; raises Malformed."""
    result = np.asarray(value)
    if result.dtype == object or not (np.issubdtype(result.dtype, np.number)
                                      or result.dtype == bool):
        raise Malformed(f"{what} is not numeric")
    if ndim is not None and result.ndim != ndim:
        raise Malformed(f"{what} has {result.ndim} dimensions, expected {ndim}")
    return result.astype(np.float64)


def numeric(value, shape=None) -> np.ndarray | None:
    """``value`` as a float64 array if it is a numeric array (of ``shape``), else None."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        return None
    if shape is not None and value.shape != tuple(shape):
        return None
    return value.astype(np.float64)


def field(evidence: dict, key: str, types=(str,), default=None):
    """evidence[key] if it has one of ``types``, else ``default`` (forged evidence)."""
    value = evidence.get(key, default) if isinstance(evidence, dict) else default
    return value if isinstance(value, types) else default


def returned(evidence: dict, key: str) -> dict:
    """The {"array", "dtype", "kind"} record under ``key`` (empty if forged or missing)."""
    value = evidence.get(key) if isinstance(evidence, dict) else None
    return value if isinstance(value, dict) else {}
