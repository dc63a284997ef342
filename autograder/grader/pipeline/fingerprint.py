"""Fingerprints of saved models, and the pairs of a batch that look copied.

``fingerprint(path)`` records, for one saved model (a TorchScript archive, a
``state_dict`` file or an ``.npz``):

* ``sha256``: the file's bytes; equal files are copies;
* ``layout``: the shapes of its floating tensors, sorted (stable) by shape, so renaming or
  reordering layers of equal shape keeps the layout;
* ``signature``: a hash of the weights in that order rounded to 1e-5, equal for the same
  weights saved again (another format, another file name, TorchScript or state_dict);
* ``sketch``: a 512-number count-sketch of the weights, each tensor standardised first
  (so that batch-norm scales near 1 do not dominate); the cosine of two sketches estimates
  the cosine of the two standardised weight vectors (error about (1 - cos) / sqrt(512)
  near 1, about 0.05 for unrelated models), without keeping a million numbers per student.

``near_duplicates`` flags pairs with the same file, the same signature, or (same layout)
a sketch cosine above ``COSINE_LIMIT``. A flag is for a person to look at: two students
whose notebooks are identical (same architecture, seed and schedule) train identical
models, which is itself worth a look. Fine-tuning a copied model for an epoch or two moves
it below the limit; the fingerprint does not claim to catch that.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

SKETCH_SIZE = 512
COSINE_LIMIT = 0.999


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def saved_tensors(path: Path) -> list[np.ndarray]:
    """The floating tensors of a saved model as float64 arrays, in the file's order."""
    path = Path(path)
    if zipfile.is_zipfile(path) and path.suffix != ".npz":
        try:
            from .archive import load_archive

            module = load_archive(path)
            return [t.detach().double().numpy() for t in module.state_dict().values()
                    if t.is_floating_point()]
        except Exception as err:  # noqa: BLE001 (a torch.save zip, not TorchScript)
            if "TorchScript" not in str(err):
                raise
    from .judge import load_arrays

    return [np.asarray(a, np.float64) for a in load_arrays(path).values()
            if np.asarray(a).dtype.kind == "f"]


def _canonical(tensors: list[np.ndarray]) -> list[np.ndarray]:
    return [t for _, t in sorted(enumerate(tensors), key=lambda it: (it[1].shape, it[0]))]


def _sketch(tensors: list[np.ndarray]) -> np.ndarray:
    parts = []
    for t in tensors:
        flat = t.reshape(-1)
        spread = flat.std()
        parts.append((flat - flat.mean()) / spread if flat.size > 1 and spread > 0
                     else np.zeros_like(flat))
    vector = np.concatenate(parts) if parts else np.zeros(0)
    rng = np.random.default_rng(vector.size)  # the same buckets for every model of this size
    buckets = rng.integers(0, SKETCH_SIZE, vector.size)
    signs = rng.choice(np.array([-1.0, 1.0]), vector.size)
    return np.bincount(buckets, weights=signs * vector, minlength=SKETCH_SIZE)


def fingerprint(path) -> dict:
    """{"sha256", "layout", "signature", "sketch" (list of 512 floats), "n"} of a saved
    model, or {"sha256", "error"} when its weights cannot be read."""
    path = Path(path)
    found = {"sha256": file_sha256(path)}
    try:
        tensors = _canonical(saved_tensors(path))
    except Exception as err:  # noqa: BLE001 (an unreadable file still has a hash)
        return {**found, "error": f"{type(err).__name__}: {str(err)[:200]}"}
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(str(t.shape).encode())
        digest.update((np.round(t, 5) + 0.0).tobytes())
    return {**found, "layout": [list(t.shape) for t in tensors], "signature": digest.hexdigest(),
            "sketch": _sketch(tensors).round(6).tolist(), "n": int(sum(t.size for t in tensors))}


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def near_duplicates(fingerprints: dict) -> list[tuple[str, str, str, float]]:
    """(student, student, reason, similarity) for every suspicious pair of ``fingerprints``
    ({student: fingerprint}), sorted by student. reason: "identical file", "identical
    weights" or "near-identical weights"; similarity: the sketch cosine (1.0 when equal)."""
    students = sorted(fingerprints)
    pairs = []
    for i, a in enumerate(students):
        for b in students[i + 1:]:
            fa, fb = fingerprints[a], fingerprints[b]
            if fa.get("sha256") and fa.get("sha256") == fb.get("sha256"):
                pairs.append((a, b, "identical file", 1.0))
            elif "error" in fa or "error" in fb or fa.get("layout") != fb.get("layout"):
                continue
            elif fa.get("signature") == fb.get("signature"):
                pairs.append((a, b, "identical weights", 1.0))
            else:
                similarity = cosine(fa.get("sketch", []), fb.get("sketch", []))
                if similarity > COSINE_LIMIT:
                    pairs.append((a, b, "near-identical weights", round(similarity, 6)))
    return pairs
