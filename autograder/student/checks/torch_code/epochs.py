"""Checks of A2's epoch functions: ``train_epoch(model, loader, optimizer, device)`` and
``evaluate(model, loader, device)``, both returning (mean loss per example, accuracy).

They run on the tiny problem of :mod:`.training` (a small CNN with fixed weights, a loader
whose last batch is smaller). What needs no answer is decided here: modes, types, how
often ``optimizer.step()`` ran and with which gradients, whether the parameters moved.
The numbers are compared with the grader's reference loops
(``autograder.grader.references.training``); without them (a student's Jupyter, a grading
kernel) the judge says that they are compared at grading.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Check, grader_reference
from ..convert import field, numeric
from .torch_helpers import (MISTAKEN_LOSS_CAUSES, _call_recording_modes, _number, _require_pair,
                            _tiny_inputs, collect_evaluation, deferred, preserved_rng,
                            record_step_gradients, state_arrays, tiny_problem)

__all__ = ["check_train_epoch", "check_evaluate"]

INT_OR_FLOAT = ("float", "float64", "float32", "int", "int64")


def _close(a, b, rtol=1e-4, atol=1e-5) -> bool:
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


def _same_state(state, reference, rtol=1e-4, atol=1e-5) -> bool:
    if not isinstance(state, dict):
        return False
    for key, value in reference.items():
        got = numeric(state.get(key))
        if got is None or got.shape != np.shape(value) or not np.allclose(got, value, rtol, atol):
            return False
    return True


def _loss_hint(loss: float, figures: dict) -> str:
    """Name the usual averaging mistakes from the reference's per-batch figures."""
    means, sizes = np.asarray(figures["batch_means"]), np.asarray(figures["batch_sizes"])
    candidates = [
        (float(means.mean()), "that is the mean of the batch means; weight each batch by its size "
                              "(loss.item() * len(y)) and divide by the number of examples (the "
                              "last batch is smaller)"),
        (float(means.sum()), "that is the sum of the batch losses; average over the examples"),
        (float(means.sum() / sizes.sum()), "that is the sum of the batch means divided by the "
                                           "number of examples; add loss.item() * len(y) per "
                                           "batch (or use reduction='sum') before dividing"),
        (float((means * sizes).sum()), "that is the summed loss; divide it by the number of "
                                       "examples"),
        (float(means[-1]), "that is the last batch's loss only; average over the whole epoch"),
    ]
    return next((": " + hint for value, hint in candidates if _close(loss, value, 1e-6, 1e-8)), "")


def _accuracy_hint(accuracy: float, figures: dict) -> str:
    if _close(accuracy, figures["n_correct"], 0, 1e-9) and figures["n_correct"] > 1:
        return ": that is the number of correct predictions; divide it by the number of examples"
    if accuracy > 1:
        return ": an accuracy lies between 0 and 1"
    return ""


class TrainEpochMeanCheck(Check):
    """``train_epoch(model, loader, optimizer, device)`` on a tiny fixed model and loader (SGD
    with momentum, last batch smaller): training mode, one step per batch with the batch's
    gradients, the parameters after the epoch, and (mean loss per example, accuracy)."""

    kind = "train_epoch"
    collects = (
        "the loss, accuracy, parameters, mode and step gradients of train_epoch on a tiny "
        "fixed problem")
    compares_with = "the grader's reference training epoch on the same problem"
    needs_reference = "train_epoch"

    def __init__(self, seed=0, name=None, points=1.0):
        super().__init__(name or "train_epoch", points, seed)

    def inputs(self):
        return _tiny_inputs(self.rng("problem"))

    def collect(self, train_epoch):
        import torch

        params = self.inputs()
        with preserved_rng(self.seed):
            model, loader, optimizer = tiny_problem(params)
            model.eval()  # as after an evaluation: train_epoch itself must switch to training
            steps, handle = record_step_gradients(optimizer)  # per step: total |gradient|
            try:
                result, calls = _call_recording_modes(
                    model, lambda: train_epoch(model, loader, optimizer, torch.device("cpu")),
                    "train_epoch(model, loader, optimizer, device)")
            finally:
                handle.remove()
        _require_pair(result, "train_epoch", "(mean_loss, accuracy)")
        loss, loss_type = _number(result[0], "the mean loss")
        accuracy, accuracy_type = _number(result[1], "the accuracy")
        return {"loss": loss, "loss_type": loss_type, "accuracy": accuracy,
                "accuracy_type": accuracy_type, "state": state_arrays(model),
                "training": np.array([c[0] for c in calls], dtype=bool),
                "step_gradients": np.array(steps, dtype=np.float64)}

    def verdict(self, ev):
        params = self.inputs()
        n_batches = math.ceil(len(params["y"]) / params["batch_size"])
        training = ev.get("training")
        steps = numeric(ev.get("step_gradients"))
        if not isinstance(training, np.ndarray) or steps is None or steps.ndim != 1:
            return self.failed("the recorded result is incomplete")
        if training.size == 0:
            return self.failed("train_epoch never called the model")
        if not training.all():
            return self.failed("train_epoch ran the model in eval mode: call model.train() at its "
                               "start (dropout and batch norm train differently)")
        if steps.size == 0:
            return self.failed("optimizer.step() was never called: after loss.backward(), call "
                               "optimizer.step() for every batch")
        if steps.size != n_batches:
            return self.failed(f"optimizer.step() ran {steps.size} times for {n_batches} batches: "
                               "one step per batch")
        if np.all(steps == 0):
            return self.failed("every optimizer.step() saw zero gradients: optimizer.zero_grad() "
                               "sits between loss.backward() and optimizer.step() and clears the "
                               "gradients before the step; call zero_grad() before backward()")
        for key in ("loss_type", "accuracy_type"):
            kind = field(ev, key, default="?")
            if kind not in INT_OR_FLOAT:
                what = "mean loss" if key == "loss_type" else "accuracy"
                return self.failed(f"the {what} is a {kind}, expected a Python float (.item())")
        loss, accuracy = float(ev["loss"]), float(ev["accuracy"])
        initial = {k: np.asarray(v, np.float64) for k, v in params["weights"].items()}
        if _same_state(ev.get("state"), initial, 0, 1e-7):
            return self.failed("the parameters did not change although optimizer.step() ran with "
                               "gradients: is the optimiser built for this model?")
        reference = grader_reference(self.kind)  # a training loop is the exercise itself
        if reference is None:
            if not 0 <= accuracy <= 1:
                return self.failed(f"the accuracy is {accuracy:g}, expected a value in [0, 1]: "
                                   "divide the number of correct predictions by the number of "
                                   "examples")
            return deferred(self, "training mode, one step per batch, a loss and an accuracy")
        figures = reference(params)
        if not _same_state(ev.get("state"), figures["state"]):
            if _same_state(ev.get("state"), figures["state_no_zero_grad"]):
                return self.failed("the gradients pile up over the batches: call "
                                   "optimizer.zero_grad() before every loss.backward()")
            for mistake, state in figures.get("mistaken_states", {}).items():
                if mistake in MISTAKEN_LOSS_CAUSES and _same_state(ev.get("state"), state):
                    return self.failed(f"after one epoch the parameters are those of a loop where "
                                       f"{MISTAKEN_LOSS_CAUSES[mistake]}")
            return self.failed("after one epoch the parameters differ from a correct loop (per "
                               "batch: forward, mean cross-entropy on the logits, zero_grad, "
                               "backward, step)")
        if not _close(loss, figures["mean_loss"]):
            return self.failed(f"mean loss {loss:.6f}, expected {figures['mean_loss']:.6f} (per "
                               f"example over the epoch){_loss_hint(loss, figures)}")
        if not _close(accuracy, figures["accuracy"], 1e-6, 1e-9):
            return self.failed(f"accuracy {accuracy:.6f}, expected {figures['accuracy']:.6f} "
                               "(argmax of each batch's logits equal to the label, over all "
                               f"examples){_accuracy_hint(accuracy, figures)}")
        return self.passed("parameters, mean loss and accuracy as expected")


check_train_epoch = TrainEpochMeanCheck.function("check_train_epoch", "train_epoch")


class EvaluateCheck(Check):
    """``evaluate(model, loader, device)`` on a tiny fixed model with dropout, left in training
    mode, and a loader whose last batch is smaller: eval mode, parameters untouched, and
    (mean cross-entropy per example, accuracy) as floats."""

    kind = "evaluate_epoch"
    collects = "the loss, accuracy, mode and parameters of evaluate on a tiny fixed problem"
    compares_with = "the grader's reference evaluation on the same problem"
    needs_reference = "evaluate_epoch"

    def __init__(self, seed=0, name=None, points=1.0):
        super().__init__(name or "evaluate", points, seed)

    def inputs(self):
        return _tiny_inputs(self.rng("problem"), dropout=True)

    def collect(self, evaluate):
        return collect_evaluation(self.inputs(), self.seed,
                                  lambda m, l, d: evaluate(m, l, d),
                                  "evaluate(model, loader, device)", "(mean_loss, accuracy)",
                                  "accuracy")

    def verdict(self, ev):
        params = self.inputs()
        training = ev.get("training")
        if not isinstance(training, np.ndarray) or training.size == 0:
            return self.failed("evaluate never called the model")
        if training.any():
            return self.failed("evaluate ran the model in training mode: call model.eval() at its "
                               "start (dropout must be off when evaluating)")
        initial = {k: np.asarray(v, np.float64) for k, v in params["weights"].items()}
        if not _same_state(ev.get("state"), initial, 0, 1e-7):
            return self.failed("evaluate changed the model's parameters: evaluation must not train")
        for key in ("loss_type", "accuracy_type"):
            kind = field(ev, key, default="?")
            if kind not in INT_OR_FLOAT:
                what = "mean loss" if key == "loss_type" else "accuracy"
                return self.failed(f"the {what} is a {kind}, expected a Python float (.item())")
        loss, accuracy = float(ev["loss"]), float(ev["accuracy"])
        grad = ev.get("grad")
        note = " (tip: evaluate under torch.no_grad() to save memory and time)" \
            if isinstance(grad, np.ndarray) and grad.any() else ""
        reference = grader_reference(self.kind)  # an evaluation loop is the exercise itself
        if reference is None:
            if not 0 <= accuracy <= 1:
                return self.failed(f"the accuracy is {accuracy:g}, expected a value in [0, 1]: "
                                   "divide the number of correct predictions by the number of "
                                   "examples")
            return deferred(self, "eval mode, parameters untouched, a loss and an accuracy" + note)
        figures = reference(params)
        if not _close(loss, figures["mean_loss"], 1e-5, 1e-7):
            return self.failed(f"mean loss {loss:.6f}, expected {figures['mean_loss']:.6f}"
                               f"{_loss_hint(loss, figures)}")
        if not _close(accuracy, figures["accuracy"], 1e-6, 1e-9):
            return self.failed(f"accuracy {accuracy:.6f}, expected {figures['accuracy']:.6f}"
                               f"{_accuracy_hint(accuracy, figures)}")
        return self.passed("mean loss and accuracy as expected" + note)


check_evaluate = EvaluateCheck.function("check_evaluate", "evaluate")
