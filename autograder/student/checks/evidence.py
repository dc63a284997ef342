"""Evidence files: what the collect half wrote, for the trusted judge to read.

One JSON object per line; arrays are stored as {"__array__": [...], "dtype", "shape"}.
No pickle, so reading an evidence file can never execute code.
"""
from __future__ import annotations

import json

import numpy as np


def encode(value):
    if isinstance(value, np.ndarray):
        return {"__array__": value.reshape(-1).tolist(), "dtype": str(value.dtype),
                "shape": list(value.shape)}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value):
    if isinstance(value, dict):
        if "__array__" in value:
            dtype = np.dtype(value["dtype"])
            if dtype.kind not in "biuf":
                raise ValueError(f"evidence array with unsupported dtype {dtype}")
            return np.asarray(value["__array__"], dtype=dtype).reshape(value["shape"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def append_evidence(path: str, check, evidence: dict, identity: str) -> None:
    record = {"kind": check.kind, "name": check.name, "seed": check.seed,
              "identity": identity, "evidence": encode(evidence)}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_evidence(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [dict(r, evidence=decode(r["evidence"])) for r in map(json.loads, f) if r]
