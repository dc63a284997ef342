"""A student's own network saved as a TorchScript archive, evaluated without its Python class.

A5 lets students design their architecture, so the grader cannot rebuild the model from a
``state_dict``. The notebook saves ``torch.jit.script(model)`` (or ``torch.jit.trace``)
to ``a5_model.ts``; a TorchScript archive carries its own compiled graph, so it loads with
``torch.jit.load`` and runs without the student's ``BetterCNN`` class or notebook.

This module is the student side: in a student's Jupyter (and in a grading kernel) it loads
the archive with ``torch.jit.load``. The trusted judge registers a stricter loader (size
caps, no links, an operator allow-list: ``autograder.grader.judge.archive``) under the
reference kind ``"archive_loader"``, and this module uses it wherever it is registered.

Checks:
* ``check_archive_accuracy(path, dataset, threshold, split="val", parameter_cap=None)``:
  the archive's accuracy on a split of the kit's data (and its parameter count).
* ``check_class_acc_of_archive(values, path, dataset, split="test")``: a student's table of
  per-class accuracies agrees with the per-class accuracy of the saved archive.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .accuracy import labels, preprocessed, score
from ..core import Check, StudentError, grader_reference
from .saved_network import saved_file

# BatchNorm keeps its running statistics as buffers; every other floating buffer counts as
# a parameter, so weights hidden in buffers do not slip under the cap.
STATISTIC_BUFFERS = ("running_mean", "running_var")
STATISTIC_MAX_LENGTH = 4096


def class_names(dataset: str) -> tuple:
    from ... import data

    return {"cifar10": data.CIFAR10_CLASSES, "mnist": data.MNIST_CLASSES}[dataset]


def load_archive(path):
    """The TorchScript module saved at ``path`` (CPU), through the grader's loader if present."""
    loader = grader_reference("archive_loader")
    if loader is not None:
        return loader(Path(path))
    import torch

    path = Path(path)
    if not path.is_file():
        raise StudentError(f"{path.name} not found: run the cell that saves the model archive")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still works
            return torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001 (anything unreadable is the submission's)
        raise StudentError(f"{path.name} cannot be loaded as a TorchScript archive "
                           f"({type(err).__name__}: {str(err)[:300]})") from None


def archive_counts(module) -> dict:
    """{"parameters": elements of all parameters, "hidden": elements of floating buffers that
    are not batch-norm statistics (they are counted as parameters too)}."""
    parameters = sum(int(p.numel()) for p in module.parameters())
    hidden = 0
    for name, buffer in module.named_buffers():
        if not buffer.is_floating_point():
            continue
        statistic = (name.rsplit(".", 1)[-1] in STATISTIC_BUFFERS and buffer.dim() == 1
                     and buffer.numel() <= STATISTIC_MAX_LENGTH)
        if not statistic:
            hidden += int(buffer.numel())
    return {"parameters": parameters, "hidden": hidden}


def archive_predictions(module, x: np.ndarray, n_classes: int = 10,
                        batch_size: int = 500) -> np.ndarray:
    """Class predictions (N,) int64 of a loaded archive on images x float32 (N, C, H, W),
    in eval mode and without gradients. Malformed outputs raise ``StudentError``."""
    import torch

    module.eval()
    predictions = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(x[start:start + batch_size]))
            try:
                scores = module(batch)
            except Exception as err:  # noqa: BLE001
                raise StudentError(f"the saved model raised {type(err).__name__} on a batch of "
                                   f"shape {tuple(batch.shape)}: {str(err)[:300]}") from None
            if not isinstance(scores, torch.Tensor):
                raise StudentError(f"the saved model returned a {type(scores).__name__}, "
                                   "expected a tensor of logits")
            if tuple(scores.shape) != (len(batch), n_classes):
                raise StudentError(f"the saved model returned shape {tuple(scores.shape)} for a "
                                   f"batch of {len(batch)}, expected ({len(batch)}, {n_classes})")
            scores = scores.detach().to(torch.float64)
            if not torch.isfinite(scores).all():
                raise StudentError("the saved model's outputs contain NaN or inf")
            predictions.append(scores.argmax(dim=1).numpy().astype(np.int64))
    return np.concatenate(predictions) if predictions else np.zeros(0, np.int64)


def archive_evaluation(path, dataset: str, split: str) -> dict:
    """{"accuracy", "per_class", "n", "parameters", "hidden"} of the archive at ``path``,
    evaluated here on the kit's data: the grader's cached, sandboxed evaluation where
    registered, else a fresh one (a student's Jupyter)."""
    reference = grader_reference("archive_evaluation")
    if reference is not None:
        return dict(reference(Path(path), dataset, split))
    module = load_archive(path)
    predicted = archive_predictions(module, preprocessed(dataset, split, "image"))
    return {**score(predicted, labels(dataset, split)), **archive_counts(module)}


def archive_per_class(path, dataset: str, split: str) -> list:
    """The per-class accuracy (10 floats) of the archive at ``path`` on ``split``: the
    grader's cached evaluation where registered, else a fresh one."""
    reference = grader_reference("archive_per_class")
    if reference is not None:
        return list(reference(Path(path), dataset, split))
    module = load_archive(path)
    predicted = archive_predictions(module, preprocessed(dataset, split, "image"))
    return score(predicted, labels(dataset, split))["per_class"]


def accuracy_message(result: dict, dataset: str, split: str, threshold: float) -> tuple[bool, str]:
    """(passed, message) naming the accuracy, the threshold and the weakest class by name."""
    names = class_names(dataset)
    worst = int(np.argmin(result["per_class"]))
    text = (f"{dataset} {split} accuracy {result['accuracy']:.4f} (threshold {threshold}, "
            f"{result['n']:,} images; weakest class {names[worst]} at "
            f"{result['per_class'][worst]:.3f})")
    if result["accuracy"] >= threshold:
        return True, text
    return False, f"{text} is below the threshold"


def cap_message(counts: dict, cap: int) -> tuple[bool, str]:
    total = counts["parameters"] + counts["hidden"]
    hidden = (f" ({counts['hidden']:,} of them in buffers that are not batch-norm statistics)"
              if counts["hidden"] else "")
    if total <= cap:
        return True, f"{total:,} parameters{hidden} (cap {cap:,})"
    return False, (f"the saved model has {total:,} parameters{hidden}, more than the cap of "
                   f"{cap:,} (by {total - cap:,})")


class ArchiveAccuracyCheck(Check):
    """The TorchScript archive at ``path`` reaches ``threshold`` accuracy on ``split`` of the
    kit's ``dataset`` (the kit's preprocessing: (x/255 - mean)/std per channel, NCHW), and
    has at most ``parameter_cap`` parameters. The message names the weakest class."""

    kind = "archive_accuracy"
    collects = "nothing but the path: the judge evaluates the saved archive itself"
    compares_with = "the kit's labels, with the archive run in the grader's sandboxed inspector"

    def __init__(self, path, dataset, threshold, split="val", parameter_cap=None, name=None,
                 points=1.0):
        super().__init__(name or f"{dataset} {split} accuracy of {path} >= {threshold}", points, 0)
        self.path, self.dataset, self.split = str(path), dataset, split
        self.threshold = float(threshold)
        self.parameter_cap = None if parameter_cap is None else int(parameter_cap)

    def collect(self, _student=None):
        return {"path": self.path}  # nothing to claim: the judge evaluates the archive itself

    def judge_spec(self) -> dict | None:
        """What the judge grades the cell on when this call is on the test split: the
        archive, evaluated by the trusted judge in its sandboxed inspector
        (judge.archive.judge_archive). Derived from the test cell's code line, the only
        place its parameters are written; None on any other split."""
        if self.split != "test":
            return None
        return {"check": "archive_accuracy", "path": self.path, "dataset": self.dataset,
                "threshold": self.threshold, "parameter_cap": self.parameter_cap,
                "split": self.split}

    def verdict(self, ev):
        path = saved_file(self.folder, self.path)
        result = archive_evaluation(path, self.dataset, self.split)
        if self.parameter_cap is not None:
            ok, text = cap_message(result, self.parameter_cap)
            if not ok:
                return self.failed(text)
        ok, text = accuracy_message(result, self.dataset, self.split, self.threshold)
        return self.passed(text) if ok else self.failed(text)


check_archive_accuracy = ArchiveAccuracyCheck.function("check_archive_accuracy")


class ClassAccuracyAgreementCheck(Check):
    """``values`` (10 per-class accuracies) agree within ``atol`` with the per-class
    accuracy of the archive at ``path`` on ``split``, computed by the grader."""

    # The student's per-class table against the per-class accuracy of the saved archive.
    #
    # ``folder`` is where the archive lies when judged outside the kernel (the judge sets it,
    # like ``nonce``); None means the current directory (a student's Jupyter).

    kind = "class_acc_of_archive"
    collects = "the student's table of per-class accuracies"
    compares_with = "the per-class accuracy of the saved archive, evaluated by the grader"

    def __init__(self, path, dataset, split="test", atol=2e-3, name=None, points=1.0):
        super().__init__(name or f"per-class {split} accuracy of {path}", points, 0)
        self.path, self.dataset, self.split, self.atol = str(path), dataset, split, float(atol)
        self.folder = None

    def collect(self, values):
        try:
            array = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise StudentError(f"the per-class accuracies are a {type(values).__name__} that is "
                               "not a list of 10 numbers") from None
        return {"values": array}

    def verdict(self, ev):
        got = np.asarray(ev.get("values"), dtype=np.float64).reshape(-1)
        names = class_names(self.dataset)
        if got.shape != (len(names),):
            return self.failed(f"{got.size} values, expected one per class ({len(names)}: "
                               f"{', '.join(names)})")
        want = np.asarray(archive_per_class(saved_file(self.folder, self.path), self.dataset,
                                            self.split))
        if np.allclose(got, want, atol=self.atol, equal_nan=True):
            return self.passed(f"the table matches the saved model's per-class {self.split} "
                               "accuracy")
        if np.allclose(got, want * 100, atol=self.atol * 100):
            return self.failed("the values are percentages: give fractions in [0, 1]")
        worst = int(np.nanargmax(np.abs(got - want)))
        hint = ""
        if math.isclose(float(np.nanmean(got)), float(np.mean(want)), abs_tol=0.01) and \
                np.nanstd(got) < 1e-9:
            hint = ": every class has the same value, that is the overall accuracy"
        return self.failed(f"class {names[worst]}: {got[worst]:.3f} in the table, the saved "
                           f"model gets {want[worst]:.3f} on the {self.split} split{hint} "
                           "(evaluate the model loaded from the saved file, in eval mode, on "
                           "the whole split)")


check_class_acc_of_archive = ClassAccuracyAgreementCheck.function(
    "check_class_acc_of_archive", "values")
