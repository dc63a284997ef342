"""Saved NumPy networks: the grader's own forward pass, its accuracy, and why it differs.

A network the notebook saved as arrays (.npz) is evaluated with the grader's forward
pass, not the student's. When that accuracy is below the threshold although the notebook
may have printed a good one, the usual cause is a convention, not the training: conv
weights gathered in another order by the student's im2col, the flattened features in
(H, W, C) order, inputs not normalised. The judge then re-reads the arrays under each of
these conventions and, when one of them reaches the threshold, names it and the fix.
"""
from __future__ import annotations

import numpy as np

from pathlib import Path

from .accuracy import accuracy_verdict, labels, preprocessed, score
from ..core import Check, StudentError, grader_reference

DIAGNOSIS_IMAGES = 2000   # enough to tell 0.15 from 0.60, cheap to run a few times


def network_forward(arrays: dict, layers: list, x):
    """The trusted forward pass of a saved NumPy network, in torch. Output: scores (N, C)."""
    import torch
    import torch.nn.functional as F

    def param(key):
        if key not in arrays:
            raise StudentError(f"the saved file has no array {key!r} (it has {sorted(arrays)})")
        return torch.as_tensor(np.asarray(arrays[key], dtype=np.float32))

    h = torch.as_tensor(x, dtype=torch.float32)
    for spec in layers:
        kind = spec["type"]
        try:
            if kind == "linear":  # NumPy layout: W (in, out)
                h = h.reshape(len(h), -1) @ param(spec["W"]) + param(spec["b"]).reshape(-1)
            elif kind == "torch_linear":  # nn.Linear layout: weight (out, in)
                h = F.linear(h.reshape(len(h), -1), param(spec["W"]), param(spec["b"]))
            elif kind == "conv2d":
                h = F.conv2d(h, param(spec["W"]), param(spec["b"]).reshape(-1),
                             stride=spec.get("stride", 1), padding=spec.get("pad", 0))
            elif kind == "maxpool2d":
                h = F.max_pool2d(h, spec.get("kernel", 2), spec.get("stride", 2))
            elif kind == "avgpool2d":
                h = F.avg_pool2d(h, spec.get("kernel", 2), spec.get("stride", 2))
            elif kind in ("softmax", "log_softmax"):
                h = getattr(F, kind)(h, dim=1)
            elif kind == "flatten":
                h = h.reshape(len(h), -1)
            elif kind in ("relu", "sigmoid", "tanh"):
                h = getattr(torch, kind)(h)
            elif kind in ("dropout", "dropout2d"):
                pass  # identity at evaluation time
            else:
                raise ValueError(f"unknown layer type {kind!r}")
        except RuntimeError as err:  # shape mismatches in the saved arrays
            raise StudentError(f"the saved parameters do not fit layer {spec}: {err}") from None
    return h


def saved_arrays(path) -> dict:
    """The plain arrays of the .npz at ``path`` (no pickle), through the grader's loader
    where registered (it refuses links and oversized files). Output: {key: ndarray}."""
    loader = grader_reference("saved_arrays")
    if loader is not None:
        return loader(Path(path))
    if Path(path).suffix != ".npz":  # a torch state_dict
        from .history import _load_state

        return _load_state(str(path))
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {k: np.asarray(saved[k]) for k in saved.files}
    except FileNotFoundError:
        raise StudentError(f"{Path(path).name} not found: run the cell that saves the "
                           "weights") from None
    except Exception as err:  # noqa: BLE001 (corrupt or pickled files)
        raise StudentError(f"{Path(path).name} cannot be read as an .npz of arrays "
                           f"({err})") from None


def saved_file(folder, path: str) -> Path:
    """``path`` inside ``folder`` (the submission when judged by the grader, else the current
    directory); a path that leaves it is the submission's mistake."""
    if folder is None:  # the student's own process: any path of theirs
        return Path(path)
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise StudentError(f"the saved file's path {path!r} leaves the notebook's folder")
    return Path(folder) / path


class SavedNetworkCheck(Check):
    """Accuracy of a saved .npz network, evaluated by the grader's own forward pass on the
    file itself (the grader reads it from the submission, never from what the kernel says).

    layers: [{"type": "linear", "W": "W1", "b": "b1"}, {"type": "relu"}, {"type":
    "conv2d", "W": key, "b": key, "stride": 1, "pad": 2}, {"type": "maxpool2d"},
    {"type": "flatten"}, ...]; keys index the arrays in the file. "torch_linear" takes
    an nn.Linear weight (out, in); "dropout" is the identity.
    """

    # Accuracy of saved NumPy parameters, evaluated without running any student code.
    #
    # The judge reads the file itself (from the submission's folder when the grader judges):
    # arrays the kernel reported are never scored, so a kernel cannot claim a network it did
    # not save.

    kind = "saved_network"
    collects = "nothing but the path: the judge reads the saved .npz itself"
    compares_with = "the kit's labels, with the judge's own forward pass of the saved arrays"

    def __init__(self, path, layers, dataset, threshold, split="test", preprocess="flat",
                 name=None, points=1.0):
        super().__init__(name or f"{dataset} {split} accuracy of {path} >= {threshold}",
                         points, 0)
        self.path, self.layers, self.dataset = str(path), list(layers), dataset
        self.threshold, self.split, self.preprocess = threshold, split, preprocess

    def collect(self, _student=None):
        return {"path": self.path}  # nothing to claim: the judge reads the file

    def judge_spec(self) -> dict | None:
        """What the judge grades the cell on when this call is on the test split: the saved
        file, re-read and evaluated by the trusted judge (judge.judge_saved_file). The test
        cell's code line is the only place its parameters are written; replay derives this
        from it. None on any other split (the student's own feedback, not a grade)."""
        if self.split != "test":
            return None
        return {"check": "saved_network_accuracy", "path": self.path, "layers": self.layers,
                "dataset": self.dataset, "threshold": self.threshold, "split": self.split,
                "preprocess": self.preprocess}

    def verdict(self, ev):
        return self.judge_arrays(saved_arrays(saved_file(self.folder, self.path)))

    def judge_arrays(self, arrays: dict):
        """The verdict on arrays the judge loaded itself (never on arrays from evidence)."""
        import torch

        x = preprocessed(self.dataset, self.split, self.preprocess)
        with torch.no_grad():
            predicted = np.concatenate([
                network_forward(arrays, self.layers, x[i:i + 1000]).argmax(1).numpy()
                for i in range(0, len(x), 1000)])
        verdict = accuracy_verdict(self, score(predicted, labels(self.dataset, self.split)))
        if not verdict.passed:
            why = explain_low_accuracy(arrays, self.layers, self.dataset, self.split,
                                       self.preprocess, self.threshold)
            verdict.message += f". {why}" if why else ""
        return verdict


check_saved_network_accuracy = SavedNetworkCheck.function("check_saved_network_accuracy")



# ----------------------------------------------------------------------------- diagnosis

def _conv_variants(arrays: dict, layers: list):
    """(what the student did, the fix, arrays re-read the grader's way) for conv weights:
    every conv layer at once, since one im2col serves them all."""
    keys = [spec["W"] for spec in layers if spec.get("type") == "conv2d"
            and np.ndim(arrays.get(spec.get("W"))) == 4]
    if not keys:
        return
    names = ", ".join(keys)

    def channel_last(W):
        F, C, HH, WW = W.shape
        return W.reshape(F, HH, WW, C).transpose(0, 3, 1, 2)

    for reread, did, fix in (
            (channel_last, f"the filters of {names} are laid out (F, HH, WW, C) inside (your "
             "im2col gathers each patch channel-last)",
             "gather patches in (C, HH, WW) order so that W.reshape(F, -1) matches"),
            (lambda W: W[:, :, ::-1, ::-1], f"the filters of {names} are flipped (your layer "
             "computes a convolution; the grader and the notebook compute a cross-correlation)",
             "do not flip the kernel in forward"),
            (lambda W: W.transpose(0, 1, 3, 2), f"the rows and columns of each filter of "
             f"{names} are swapped by your im2col", "gather each patch row by row (HH, then WW)")):
        variant = dict(arrays)
        for key in keys:
            variant[key] = np.ascontiguousarray(reread(np.asarray(arrays[key])))
        yield did, fix, variant


def _flatten_variants(arrays: dict, layers: list, x):
    """The first linear layer after a flatten, read as if features were (H, W, C)."""
    import torch

    for i, spec in enumerate(layers):
        if spec.get("type") != "flatten":
            continue
        try:
            with torch.no_grad():
                shape = network_forward(arrays, layers[:i], x[:1]).shape[1:]
        except StudentError:
            return
        after = [s for s in layers[i + 1:] if s.get("type") == "linear"]
        if len(shape) != 3 or not after or np.ndim(arrays.get(after[0]["W"])) != 2:
            return
        (C, H, W), key = shape, after[0]["W"]
        weights = np.asarray(arrays[key])
        if weights.shape[0] != C * H * W:
            return
        reordered = weights.reshape(H, W, C, -1).transpose(2, 0, 1, 3).reshape(C * H * W, -1)
        yield (f"{key} expects the flattened features in (H, W, C) order",
               "flatten the (N, C, H, W) activations with x.reshape(N, -1)",
               {**arrays, key: reordered})
        return


def _input_variants(dataset: str, split: str, preprocess: str, n: int):
    """The same images prepared the other ways students often do."""
    raw = preprocessed(dataset, split, "raw01")[:n]
    for x, did, fix in ((raw, "the network was trained on inputs in [0, 1] that were not normalised",
                         "normalise with the training mean and std as the notebook asks"),
                        (raw * 255.0, "the network was trained on raw pixel values 0..255",
                         "divide by 255 and normalise as the notebook asks")):
        yield did, fix, (x.reshape(len(x), -1).astype(np.float64) if preprocess == "flat" else x)


def _accuracy(arrays, layers, x, truth) -> float:
    import torch

    try:
        with torch.no_grad():
            predicted = network_forward(arrays, layers, x).argmax(1).numpy()
    except StudentError:
        return 0.0
    return float((predicted == truth).mean())


def explain_low_accuracy(arrays: dict, layers: list, dataset: str, split: str,
                         preprocess: str, threshold: float) -> str:
    """Why a saved network the grader scores low may look fine in the notebook: the first
    convention under which it reaches the threshold, and what to change. Empty when no
    convention explains it (then the training itself is the problem)."""
    n = DIAGNOSIS_IMAGES
    x = preprocessed(dataset, split, preprocess)[:n]
    truth = labels(dataset, split)[:n]
    candidates = [(did, fix, variant, x) for did, fix, variant in _conv_variants(arrays, layers)]
    candidates += [(did, fix, variant, x)
                   for did, fix, variant in _flatten_variants(arrays, layers, x)]
    candidates += [(did, fix, arrays, other)
                   for did, fix, other in _input_variants(dataset, split, preprocess, n)]
    for did, fix, variant, inputs in candidates:
        accuracy = _accuracy(variant, layers, inputs, truth)
        if accuracy >= threshold:
            return (f"Likely cause: {did}. Read that way, your saved network reaches "
                    f"{accuracy:.3f} on {n:,} {split} images; the grader reads the arrays as "
                    "the notebook specifies (conv weights (F, C, HH, WW), features flattened "
                    f"(C, H, W), normalised inputs). Fix: {fix}, then retrain and save again")
    return ""
