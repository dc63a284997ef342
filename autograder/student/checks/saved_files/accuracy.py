"""Accuracy on the kit's own data with the grader's own preprocessing.

``evaluate`` measures a model in the student's own process (a number to print, never a
grade). A graded accuracy comes only from a file the notebook saved, which the judge
evaluates itself on its own copy of the data (``check_saved_network_accuracy``,
``check_archive_accuracy``): predictions collected in a kernel, which can read the test
labels, are a claim, so no check scores them.
"""
from __future__ import annotations

import numpy as np

from ... import data
from ..core import Check, StudentError, call_student

DATASETS = {
    "mnist": (data.mnist_arrays, (data.MNIST_MEAN,), (data.MNIST_STD,)),
    "cifar10": (data.cifar10_arrays, data.CIFAR10_MEAN, data.CIFAR10_STD),
}


def preprocessed(dataset: str, split: str, preprocess: str = "image") -> np.ndarray:
    """The split's images as the grader feeds them, without labels.

    "image": float32 (N, C, H, W), (pixel/255 - mean) / std per channel.
    "flat":  float64 (N, C*H*W), the same values flattened.
    "raw01": float32 (N, C, H, W) in [0, 1], not normalised.
    """
    load, mean, std = DATASETS[dataset]
    images, _ = load(split)
    x = np.asarray(images, dtype=np.float32) / 255.0
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    if preprocess != "raw01":
        x = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    if preprocess == "flat":
        return x.reshape(len(x), -1).astype(np.float64)
    if preprocess not in ("image", "raw01"):
        raise ValueError("preprocess must be 'image', 'flat' or 'raw01'")
    return np.ascontiguousarray(x)


def labels(dataset: str, split: str) -> np.ndarray:
    return np.asarray(DATASETS[dataset][0](split)[1])


def predict(model, x: np.ndarray, batch_size: int = 1000, device=None) -> np.ndarray:
    """Class predictions (N,) of a torch module or a NumPy callable, batch by batch."""
    predictions = []
    if hasattr(model, "eval") and hasattr(model, "parameters"):
        import torch

        device = device or next((p.device for p in model.parameters()), "cpu")
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(x), batch_size):
                    batch = torch.from_numpy(x[start:start + batch_size]).to(device)
                    scores = call_student(model, batch, what="model(x)")
                    predictions.append(_labels_from(scores, len(batch)))
        finally:
            model.train(was_training)
    else:
        for start in range(0, len(x), batch_size):
            batch = x[start:start + batch_size]
            predictions.append(_labels_from(call_student(model, batch, what="predict(x)"), len(batch)))
    return np.concatenate(predictions)


def _labels_from(scores, n: int) -> np.ndarray:
    if hasattr(scores, "detach"):
        scores = scores.detach().cpu().numpy()
    scores = np.asarray(scores)
    if scores.ndim == 2 and scores.shape[0] == n:
        return scores.argmax(axis=1)
    if scores.ndim == 1 and scores.shape[0] == n:
        return scores.astype(np.int64)
    raise StudentError(f"the model returned shape {scores.shape} for a batch of {n}: "
                       "expected class scores (N, 10) or labels (N,)")


def score(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Overall and per-class accuracy. Output: {"accuracy", "per_class" (10,), "n"}."""
    predicted = np.asarray(predicted).reshape(-1)
    if predicted.shape != truth.shape:
        raise StudentError(f"{predicted.shape[0]} predictions for {truth.shape[0]} images")
    correct = predicted == truth
    per_class = [float(correct[truth == c].mean()) for c in range(10)]
    return {"accuracy": float(correct.mean()), "per_class": per_class, "n": int(truth.size)}


def evaluate(model, dataset: str, split: str = "test", preprocess: str = "image",
             batch_size: int = 1000, device=None) -> dict:
    """Accuracy of a torch model (eval mode, no_grad) or a NumPy predict function.

    Output: {"accuracy": float, "per_class": list of 10 floats, "n": int}.
    """
    x = preprocessed(dataset, split, "flat" if preprocess == "flat" else preprocess)
    if preprocess == "flat" and hasattr(model, "parameters"):
        x = x.astype(np.float32)
    return score(predict(model, x, batch_size, device), labels(dataset, split))


def class_name(dataset: str, index: int) -> str:
    """A class as a student reads it: "cat" (CIFAR-10), "digit 7" (MNIST)."""
    from ...data import CIFAR10_CLASSES

    if dataset == "cifar10" and 0 <= index < len(CIFAR10_CLASSES):
        return f"{CIFAR10_CLASSES[index]} ({index})"
    return f"digit {index}" if dataset == "mnist" else str(index)


def accuracy_verdict(check: Check, result: dict):
    """The verdict of ``check`` on score() of predictions the judge computed itself:
    passed at or above ``check.threshold``; below it the message names the weakest class."""
    text = (f"{check.dataset} {check.split} accuracy {result['accuracy']:.4f} "
            f"(threshold {check.threshold}, {result['n']} images)")
    facts = {**result, "threshold": check.threshold, "dataset": check.dataset,
             "split": check.split}  # fields of the verdict: no page parses the message
    if result["accuracy"] >= check.threshold:
        return check.passed(text, **facts)
    worst = int(np.argmin(result["per_class"]))
    return check.failed(f"{text} is below the threshold; weakest class "
                        f"{class_name(check.dataset, worst)} at "
                        f"{result['per_class'][worst]:.3f}", **facts)
