"""Fingerprints of saved models, and the pairs of a batch that look copied.

A copy is easy to disguise: permute the hidden units of a layer (and the matching rows
of the next), add a unit that does nothing, rename or reorder the layers, add a little
noise, save it in another format. Comparing raw layouts misses all of these, so a
fingerprint describes a model by its *units*, which these disguises leave alone.

``fingerprint(path)`` records, for one saved model (a TorchScript archive, a
``state_dict`` file or an ``.npz``):

* ``sha256``: the file's bytes; equal files are copies;
* ``layout``: the shapes of its floating tensors, sorted;
* ``signature``: a hash of the weights in a canonical order rounded to 1e-5, equal for the
  same weights saved again (another format, another file name, TorchScript or state_dict);
* ``units``: groups of unit signatures. Every weight tensor (2 or more dimensions) is read
  as units: for a 4-D conv weight (out, in, kh, kw) a unit is a filter, its vector the
  ``in * kh * kw`` weights; a 2-D weight is read both ways (rows and columns), since a
  file does not say whether it is (in, out) or (out, in). Whatever the layer, one reading
  has vectors indexed by something a copier cannot permute: the pixels or input channels
  of the first layer, the classes of the last. Each unit vector is reduced to
  ``PROJECTION`` numbers by a fixed random projection (the same for every vector of that
  length; cosines survive it, Johnson-Lindenstrauss), dead units (a vector of near-zero
  norm: nothing comes in, or nothing goes out) are dropped, and at most ``MAX_UNITS``
  units per group and ``MAX_TOTAL_UNITS`` per model are kept (the largest vectors), so
  a fingerprint stays under about 150 KB of JSON whatever the model.

Names and file order are never used, so renamed or reordered layers change nothing.

``near_duplicates`` compares two models group by group (groups with vectors of the same
length): units are matched one to one, greedily by |cosine| (sign flips of a tanh unit
and rescaled relu units keep it), and a match counts when |cosine| > ``UNIT_COSINE``. The
similarity of two groups is the matched share of the smaller group's live units (so
padding a copy with extra junk units does not dilute it); a pair is flagged when some
group pair reaches ``SHARE_LIMIT``.

Why these limits. Every notebook seeds its generators with the same SEED, so honest
students with the same architecture start from the same weights, and a wide first layer
moves little in training: their units keep cosines of 0.99-0.9999 (units that never
activate keep their initial weights exactly). The unit limit is therefore tight,
1 - 3e-5 (a unit differing by 0.8 % of its norm). Measured on 784-64-10 MLPs trained
100-1000 SGD steps on MNIST (the setting of tests/test_fingerprint.py), matched shares:
another seed 0.0; the common seed with another minibatch order or learning rate 0.05
instead of 0.1, at most 0.03; learning rate 0.11, at most 0.16; a copy permuted,
rescaled and padded, with noise of 1e-3 or 3e-3 x each array's spread, 0.98-1.0. On a
small CIFAR-10 CNN (16 filters, 100-500 steps): another seed 0.0, the common seed with
another order or learning rate 0.06-0.25 (filters that never fire), permuted filters
1.0. Flagged although honest: the same run with a 1 % different learning rate
(0.83-1.0), in effect the same run. Not caught: a copy with noise of 1e-2 x the spread
(0.23-0.25), which moves its units as far as another learning rate from the same seed
does; no fingerprint of the weights alone separates the two, nor a copy fine-tuned for
an epoch. A flag is for a person to look at: two students whose notebooks are identical (same
architecture, seed and schedule) train identical models, which is itself worth a look.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

PROJECTION = 32          # numbers kept per unit
MIN_INPUTS = 8           # shorter unit vectors match by chance too easily
MAX_INPUTS = 1 << 16     # longer ones are skipped: the projection alone would take 16 MB+
MAX_UNITS = 64           # per group (the largest units), bounds size and comparison time
MAX_TOTAL_UNITS = 512    # per model
DEAD = 1e-3              # a unit under DEAD x its layer's 90th-percentile norm is dead
UNIT_COSINE = 1 - 3e-5   # |cosine| above which two units are the same unit
SHARE_LIMIT = 0.5        # share of the smaller group's units matched to flag a pair
# Vector lengths fixed by the data, read first (larger tensors first, at most
# GROUPS_PER_LENGTH of a length) so that many small unused tensors cannot crowd the real
# layers out of the budget: classes, flat MNIST and CIFAR-10 images, and the filters of
# a first conv layer on 1 or 3 channels.
ANCHORED = {10, 28 * 28, 3 * 32 * 32} | {c * k * k for c in (1, 3) for k in range(2, 12)}
GROUPS_PER_LENGTH = 4


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
            from .torchscript import load_archive

            module = load_archive(path)
            return [t.detach().double().numpy() for t in module.state_dict().values()
                    if t.is_floating_point()]
        except Exception as err:  # noqa: BLE001 (a torch.save zip, not TorchScript)
            if "TorchScript" not in str(err):
                raise
    from .loading import load_arrays

    return [np.asarray(a, np.float64) for a in load_arrays(path).values()
            if np.asarray(a).dtype.kind == "f"]


def _canonical(tensors: list[np.ndarray]) -> list[np.ndarray]:
    """The tensors in an order that does not depend on names or the file's order."""
    return sorted(tensors, key=lambda t: (t.shape, (np.round(t, 5) + 0.0).tobytes()))


def _axis_norms(t: np.ndarray, axis: int) -> np.ndarray:
    """The norm of each slice of ``t`` along ``axis``: one number per unit on that axis."""
    return np.sqrt(np.square(np.moveaxis(t, axis, 0).reshape(t.shape[axis], -1)).sum(1))


def _dead(norms: np.ndarray) -> np.ndarray:
    """True where a unit's norm is near zero next to its layer's typical unit."""
    return norms <= DEAD * np.percentile(norms, 90) if norms.size else norms.astype(bool)


def _readings(tensors: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(vectors (units, inputs), dead (units,)) for every reading of every weight tensor.

    A unit is dead when its own vector is near zero (nothing comes in) or when another
    tensor has an axis of the same length whose slice at that index is near zero (nothing
    goes out: the next layer's weights from that unit). Equal lengths by coincidence can
    only hide a unit, never invent a match.
    """
    weights = [t for t in tensors if t.ndim >= 2]
    gone: dict[int, np.ndarray] = {}   # axis length -> units dead somewhere on such an axis
    for t in weights:
        for axis in (0, 1):
            n = t.shape[axis]
            gone[n] = gone.get(n, np.zeros(n, bool)) | _dead(_axis_norms(t, axis))
    found = []
    for t in weights:
        views = [t.reshape(len(t), -1)] + ([t.T] if t.ndim == 2 else [])
        for vectors in views:
            if MIN_INPUTS <= vectors.shape[1] <= MAX_INPUTS and len(vectors) >= 2:
                norms = np.linalg.norm(vectors, axis=1)
                found.append((vectors, _dead(norms) | gone.get(len(vectors), False)))
    return found


def _signatures(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors (units, inputs) projected to (units, PROJECTION), normalised.

    The projection is fixed by the vector length, so every model's units of that length
    land in the same space; the cosine of two projections estimates theirs.
    """
    rng = np.random.default_rng(vectors.shape[1])
    projected = vectors @ rng.standard_normal((vectors.shape[1], PROJECTION))
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    return projected / np.where(norms > 0, norms, 1.0)


def unit_groups(tensors: list[np.ndarray]) -> list[dict]:
    """[{"inputs": length of a unit's vector, "units": [[PROJECTION floats], ...]}]: the
    live units of each reading, largest first, within MAX_UNITS and MAX_TOTAL_UNITS
    (readings of ANCHORED lengths first, larger tensors first, GROUPS_PER_LENGTH each)."""
    groups, budget, per_length = [], MAX_TOTAL_UNITS, {}
    tensors = [np.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0) for t in tensors]
    order = lambda r: (r[0].shape[1] not in ANCHORED, -r[0].size, r[0].shape)  # noqa: E731
    for vectors, dead in sorted(_readings(tensors), key=order):
        per_length[vectors.shape[1]] = per_length.get(vectors.shape[1], 0) + 1
        if per_length[vectors.shape[1]] > GROUPS_PER_LENGTH:
            continue
        live = vectors[~dead]
        keep = np.argsort(-np.linalg.norm(live, axis=1), kind="stable")[:min(MAX_UNITS, budget)]
        if len(keep) >= 2:
            units = np.round(_signatures(live[keep]), 5)
            units = units[np.lexsort(units.T[::-1])]   # canonical: sorted rows
            groups.append({"inputs": int(vectors.shape[1]), "units": units.tolist()})
            budget -= len(keep)
    return groups


def fingerprint(path) -> dict:
    """{"sha256", "layout", "signature", "units", "n"} of a saved model (plain JSON data),
    or {"sha256", "error"} when its weights cannot be read."""
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
            "units": unit_groups(tensors), "n": int(sum(t.size for t in tensors))}


def _normalised(units) -> np.ndarray:
    units = np.asarray(units, np.float64).reshape(len(units), -1)
    norms = np.linalg.norm(units, axis=1, keepdims=True)
    return units / np.where(norms > 0, norms, 1.0)


def _prepared(found: dict) -> list[tuple[int, np.ndarray]]:
    """(inputs, normalised units) of each group of a fingerprint, converted once; a
    malformed fingerprint (it crossed a process boundary) has none, never an exception."""
    try:
        groups = [(int(g["inputs"]), _normalised(g["units"])) for g in found.get("units", [])
                  if len(g["units"]) >= 2]
    except (TypeError, ValueError, KeyError, AttributeError):
        return []
    return [(n, u) for n, u in groups if u.shape[1] == PROJECTION and np.isfinite(u).all()]


def matched_share(a: np.ndarray, b: np.ndarray) -> float:
    """The share of the smaller group's units matched one to one with |cosine| >
    UNIT_COSINE (greedy, best pairs first; only pairs above the limit can match).
    a, b: normalised unit signatures (units, PROJECTION)."""
    close = np.abs(a @ b.T)
    rows, cols = np.nonzero(close > UNIT_COSINE)
    used_a, used_b = set(), set()
    for k in np.argsort(-close[rows, cols], kind="stable"):
        i, j = int(rows[k]), int(cols[k])
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a) / min(len(a), len(b))


def unit_similarity(fa, fb) -> float:
    """The best matched share over the groups of two fingerprints (or their _prepared
    groups) with vectors of equal length."""
    ga = _prepared(fa) if isinstance(fa, dict) else fa
    gb = _prepared(fb) if isinstance(fb, dict) else fb
    return max([matched_share(a, b) for na, a in ga for nb, b in gb if na == nb], default=0.0)


def _matching_pairs(prepared: dict) -> dict[tuple[str, str], float]:
    """{(student, student): best matched share} for the pairs whose share reaches
    SHARE_LIMIT, from {student: _prepared groups} (students in sorted order).

    All groups of one vector length are stacked, so each group meets every later one in
    one matrix product; the greedy matching (float64) runs only where the units with a
    close partner could reach the limit (most pairs of a class have none), which keeps
    a class of hundreds to seconds.
    """
    by_length: dict[int, list] = {}
    for student in sorted(prepared):
        for inputs, units in prepared[student]:
            by_length.setdefault(inputs, []).append((student, units))
    best: dict[tuple[str, str], float] = {}
    for entries in by_length.values():
        sizes = np.array([len(units) for _, units in entries])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        stacked = np.concatenate([units for _, units in entries]).astype(np.float32)
        for i, (student, units) in enumerate(entries[:-1]):  # float32: 1e-6 << 1 - limit
            close = np.abs(stacked[starts[i]:starts[i + 1]] @ stacked[starts[i + 1]:].T) \
                > UNIT_COSINE - 1e-6
            later = starts[i + 1:] - starts[i + 1]
            rows = np.logical_or.reduceat(close, later, axis=1).sum(0)
            cols = np.add.reduceat(close.any(0).astype(int), later)
            bound = np.minimum(rows, cols) / np.minimum(sizes[i], sizes[i + 1:])
            for j in np.nonzero(bound >= SHARE_LIMIT)[0]:
                other, their = entries[i + 1 + j]
                if other != student:
                    share = matched_share(units, their)
                    if share >= SHARE_LIMIT:
                        best[(student, other)] = max(best.get((student, other), 0.0), share)
    return best


def near_duplicates(fingerprints: dict) -> list[tuple[str, str, str, float]]:
    """(student, student, reason, similarity) for every suspicious pair of ``fingerprints``
    ({student: fingerprint}), sorted by student. reason: "identical file", "identical
    weights" or "matching units"; similarity: 1.0 when identical, else the share of units
    matched (see the module docstring)."""
    students = sorted(fingerprints)
    matching = _matching_pairs({s: _prepared(fingerprints[s]) for s in students
                                if "error" not in fingerprints[s]})
    pairs = []
    for i, a in enumerate(students):
        for b in students[i + 1:]:
            fa, fb = fingerprints[a], fingerprints[b]
            if fa.get("sha256") and fa.get("sha256") == fb.get("sha256"):
                pairs.append((a, b, "identical file", 1.0))
            elif "error" in fa or "error" in fb:
                continue
            elif fa.get("signature") and fa.get("signature") == fb.get("signature"):
                pairs.append((a, b, "identical weights", 1.0))
            elif (a, b) in matching:
                pairs.append((a, b, "matching units", round(matching[(a, b)], 4)))
    return pairs
