"""Small helpers shared by the checks on PyTorch code: turning what the student's code
returned into plain evidence, and validating that evidence again in the judge (where it is
hostile data: a forged file may hold anything).
"""
from __future__ import annotations

import numpy as np

from .core import StudentError


def tensor_evidence(value, what: str) -> dict:
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
