"""Evidence files: what the collect half wrote, for the trusted judge to read.

One JSON object per line, in the form :func:`encode` gives (the kit's one JSON encoder);
arrays are stored as {"__array__": [...], "dtype", "shape"}.
No pickle, so reading an evidence file can never execute code.
"""
from __future__ import annotations

import json
import math

import numpy as np

from .result import StudentError


def encode(value):
    """The one JSON form of plain data: evidence, a check's parameters (its identity),
    calibration results. Arrays become {"__array__": flat values, "dtype", "shape"}, NumPy
    scalars Python numbers, tuples lists, sets sorted lists; anything else is left for
    ``json.dumps`` to refuse (TypeError: not plain data)."""
    if isinstance(value, np.ndarray):
        return {"__array__": value.reshape(-1).tolist(), "dtype": str(value.dtype),
                "shape": list(value.shape)}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [encode(v) for v in sorted(value, key=repr)]
    if isinstance(value, np.generic):
        return value.item()
    return value


ARRAY_VALUES_LIMIT = 4_000_000  # values in one recorded array (a model's weights: ~10^5)
MALFORMED = "the recorded result is malformed"


def decode_array(value: dict) -> np.ndarray:
    """An array from its record, checked first: a numeric dtype, a shape of at most 32
    non-negative ints whose product is the number of values, at most ARRAY_VALUES_LIMIT
    values. Raises StudentError saying what is wrong (the kernel wrote it)."""
    flat, shape = value.get("__array__"), value.get("shape")
    try:
        dtype = np.dtype(value.get("dtype"))
    except (TypeError, ValueError):
        raise StudentError(f"{MALFORMED}: an array has no valid dtype") from None
    if dtype.kind not in "biuf":
        raise StudentError(f"{MALFORMED}: an array has the unsupported dtype {dtype}")
    if not isinstance(flat, list) or len(flat) > ARRAY_VALUES_LIMIT:
        raise StudentError(f"{MALFORMED}: an array is not a list of at most "
                           f"{ARRAY_VALUES_LIMIT:,} values")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(type(n) is int and 0 <= n <= ARRAY_VALUES_LIMIT for n in shape)
            and math.prod(shape) == len(flat)):
        raise StudentError(f"{MALFORMED}: an array's shape does not match its "
                           f"{len(flat)} values")
    try:
        return np.asarray(flat, dtype=dtype).reshape(shape)
    except (TypeError, ValueError, OverflowError):
        raise StudentError(f"{MALFORMED}: an array holds values that are not {dtype} "
                           "numbers") from None


def decode(value):
    """Plain data from its JSON form, arrays rebuilt (see decode_array)."""
    if isinstance(value, dict):
        if "__array__" in value:
            return decode_array(value)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def append_evidence(path: str, check, evidence: dict, identity: str) -> None:
    """Append the check's record; ``reached``: the notebook's definitions its collect
    half called (reach.py), which the judge uses for a note only."""
    record = {"kind": check.kind, "name": check.name, "seed": check.seed,
              "identity": identity, "evidence": encode(evidence)}
    reached = getattr(check, "reached", None)
    if reached is not None:
        record["reached"] = list(reached)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_evidence(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [dict(r, evidence=decode(r["evidence"])) for r in map(json.loads, f) if r]
