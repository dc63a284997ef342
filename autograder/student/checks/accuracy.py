"""Accuracy on the kit's own data with the grader's own preprocessing.

The student's model (or the parameters it saved) is evaluated on a split from
``autograder.student.data``; the labels never leave the judge half.
"""
from __future__ import annotations

import numpy as np

from .. import data
from .core import Check, StudentError, call_student, run

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
    from ..data import CIFAR10_CLASSES

    if dataset == "cifar10" and 0 <= index < len(CIFAR10_CLASSES):
        return f"{CIFAR10_CLASSES[index]} ({index})"
    return f"digit {index}" if dataset == "mnist" else str(index)


class AccuracyCheck(Check):
    kind = "accuracy"

    def __init__(self, dataset, threshold, split="test", preprocess="image", name=None,
                 points=1.0):
        super().__init__(name or f"{dataset} {split} accuracy >= {threshold}", points, 0)
        self.dataset, self.threshold, self.split, self.preprocess = dataset, threshold, split, preprocess

    def collect(self, model):
        x = preprocessed(self.dataset, self.split, self.preprocess)
        if self.preprocess == "flat" and hasattr(model, "parameters"):
            x = x.astype(np.float32)
        return {"predictions": predict(model, x).astype(np.int64)}

    def judge(self, ev):
        result = score(np.asarray(ev["predictions"]), labels(self.dataset, self.split))
        return self._verdict(result)

    def _verdict(self, result):
        text = (f"{self.dataset} {self.split} accuracy {result['accuracy']:.4f} "
                f"(threshold {self.threshold}, {result['n']} images)")
        if result["accuracy"] >= self.threshold:
            return self.passed(text, **result)
        worst = int(np.argmin(result["per_class"]))
        return self.failed(f"{text} is below the threshold; weakest class "
                           f"{class_name(self.dataset, worst)} at "
                           f"{result['per_class'][worst]:.3f}", **result)


def check_accuracy(model, dataset, threshold, split="test", preprocess="image", name=None,
                   points=1.0, raise_on_fail=True):
    """The model's accuracy on ``split``, computed by the grader, is at least ``threshold``."""
    return run(AccuracyCheck(dataset, threshold, split, preprocess, name, points), model,
               raise_on_fail)


class EvalDeterministicCheck(Check):
    kind = "eval_deterministic"

    def __init__(self, x_shape, seed=0, name=None, points=1.0):
        super().__init__(name or "evaluation is deterministic (dropout off)", points, seed)
        self.x_shape = tuple(x_shape)

    def collect(self, model):
        import torch

        x = torch.tensor(self.rng().normal(0, 1, self.x_shape), dtype=torch.float32)
        device = next((p.device for p in model.parameters()), "cpu")
        outputs = []
        with torch.no_grad():
            for _ in range(2):
                out = call_student(model, x.to(device), what="model(x)")
                outputs.append(out.detach().cpu().double().numpy())
        return {"first": outputs[0], "second": outputs[1], "training": bool(model.training)}

    def judge(self, ev):
        if ev["training"]:
            return self.failed("the model is in training mode: call model.eval() before "
                               "evaluating (dropout and batch norm behave differently)")
        if not np.array_equal(np.asarray(ev["first"]), np.asarray(ev["second"])):
            return self.failed("two evaluations of the same input differ: dropout is still "
                               "active; call model.eval() before evaluating")
        return self.passed()


def check_eval_deterministic(model, x, name=None, points=1.0, raise_on_fail=True):
    """Two forward passes of ``model`` on inputs shaped like ``x`` agree, and eval mode is on.

    x: a tensor or a shape tuple; only its shape is used (inputs come from the seed).
    """
    shape = tuple(x.shape) if hasattr(x, "shape") else tuple(x)
    return run(EvalDeterministicCheck(shape, 0, name, points), model, raise_on_fail)
