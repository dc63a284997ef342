"""Checks of A3's epoch functions: ``train_one_epoch(loader, model, device, optimizer,
log_interval)`` -> (logged losses, n_correct) and ``test_one_epoch(loader, model, device)`` ->
(mean loss, n_correct), on the tiny problem of :mod:`.torch_helpers`.

The numbers are compared with the grader's reference loops (a loop is the exercise itself);
without them the judge decides modes, types and counts and defers the values (``deferred``).
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Check, grader_reference
from .torch_helpers import (MISTAKEN_LOSS_CAUSES, _call_recording_modes, _close, _loss_values,
                            _number, _require_pair, _tiny_inputs, collect_evaluation, deferred,
                            preserved_rng, record_step_gradients, state_arrays, tiny_problem)

__all__ = ["check_train_one_epoch", "check_test_one_epoch"]


class TrainEpochCheck(Check):
    """``train_one_epoch(loader, model, device, optimizer, log_interval=k)`` on a tiny fixed
    model and loader (SGD with momentum), against a trusted re-computation.

    Expected return: (list of float losses of batches 0, k, 2k, ..., int number of correct
    training predictions). Also checked: training mode, the parameters after the epoch.
    """

    kind = "train_one_epoch"
    collects = (
        "the losses, count, final parameters and mode of train_one_epoch on a tiny fixed "
        "problem")
    compares_with = "the grader's reference training loop on the same problem"
    needs_reference = "train_one_epoch"

    def __init__(self, log_interval=10, seed=0, name=None, points=1.0):
        super().__init__(name or "train_one_epoch", points, seed)
        self.log_interval = int(log_interval)

    def inputs(self):
        return _tiny_inputs(self.rng("problem"))

    def collect(self, train_one_epoch):
        import torch

        params = self.inputs()
        with preserved_rng(self.seed):
            model, loader, optimizer = tiny_problem(params)
            model.eval()  # as after test_one_epoch: train_one_epoch must switch to training
            steps, handle = record_step_gradients(optimizer)  # per step: total |gradient|
            try:
                result, calls = _call_recording_modes(
                    model, lambda: train_one_epoch(loader, model, torch.device("cpu"), optimizer,
                                                   log_interval=self.log_interval),
                    "train_one_epoch(loader, model, device, optimizer, log_interval)")
            finally:
                handle.remove()
        _require_pair(result, "train_one_epoch", "(losses, n_correct)")
        losses, loss_types = _loss_values(result[0], "the list of losses")
        n_correct, correct_type = _number(result[1], "n_correct")
        return {"losses": losses, "loss_types": loss_types, "n_correct": n_correct,
                "correct_type": correct_type, "state": state_arrays(model),
                "training": [c[0] for c in calls],
                "step_gradients": np.array(steps, dtype=np.float64)}

    def verdict(self, ev):
        params = self.inputs()
        k = self.log_interval
        training = list(ev["training"])
        if not training:
            return self.failed("train_one_epoch never called the model")
        if not all(training):
            return self.failed("train_one_epoch ran the model in eval mode: call model.train() "
                               "at its start (dropout and batch norm train differently)")
        if any("Tensor" in t for t in ev["loss_types"]):
            return self.failed("the list holds loss tensors: append loss.item() (a float); a "
                               "tensor keeps its whole graph in memory")
        if ev["correct_type"] not in ("int", "int64", "int32"):
            return self.failed(f"n_correct is a {ev['correct_type']}, expected a Python int "
                               "(use .item() on the count)")
        n_batches = math.ceil(len(params["y"]) / params["batch_size"])
        got_losses = np.asarray(ev["losses"])
        expected_count = len(range(0, n_batches, k))
        if len(got_losses) != expected_count:
            return self.failed(f"{len(got_losses)} losses logged for {n_batches} batches with "
                               f"log_interval={k}; expected {expected_count} (batches 0, {k}, "
                               f"{2 * k}, ...)")
        initial = {key: np.asarray(v, np.float64) for key, v in params["weights"].items()}
        steps = ev.get("step_gradients")
        if isinstance(steps, np.ndarray) and steps.size and np.all(steps == 0):
            return self.failed("every optimizer.step() saw zero gradients: optimizer.zero_grad() "
                               "sits between loss.backward() and optimizer.step() and clears the "
                               "gradients before the step; call zero_grad() before backward()")
        if all(_close(ev["state"][key], value, 0, 1e-7) for key, value in initial.items()):
            return self.failed("the parameters did not change: call optimizer.step() after "
                               "loss.backward() for every batch")
        reference = grader_reference(self.kind)  # a training loop is the exercise itself
        if reference is None:
            return deferred(self, f"{len(got_losses)} losses and an int count, in training mode")
        losses, correct, state = reference(params, k)
        if not all(_close(ev["state"][key], value, 1e-4, 1e-5) for key, value in state.items()):
            _, _, accumulated = reference(params, k, "no_zero_grad")
            if all(_close(ev["state"][key], value, 1e-4, 1e-5) for key, value in accumulated.items()):
                return self.failed("the gradients pile up over the batches: call "
                                   "optimizer.zero_grad() before every loss.backward()")
            for mistake, cause in MISTAKEN_LOSS_CAUSES.items():
                _, _, mistaken = reference(params, k, mistake)
                if all(_close(ev["state"][key], value, 1e-4, 1e-5) for key, value in mistaken.items()):
                    return self.failed(f"after one epoch the parameters are those of a loop where "
                                       f"{cause}")
            return self.failed("after one epoch the parameters differ from a correct loop "
                               "(per batch: forward, mean cross-entropy on the logits, zero_grad, "
                               "backward, step)")
        if not _close(got_losses, losses):
            return self.failed(f"the logged losses {np.round(got_losses[:3], 4).tolist()}... differ "
                               f"from the expected {np.round(losses[:3], 4).tolist()}...: log "
                               "loss.item() of batches 0, k, 2k, ... (the mean cross-entropy of "
                               "that batch)")
        if ev["n_correct"] != correct:
            hint = ""
            if 0 < ev["n_correct"] <= 1 and correct > 1:
                hint = ": return the number of correct predictions, not the accuracy"
            return self.failed(f"n_correct is {ev['n_correct']:g}, expected {correct} (argmax of "
                               f"the logits equal to the label, summed over all batches){hint}")
        return self.passed(f"{len(got_losses)} losses and {correct} correct predictions as expected")


check_train_one_epoch = TrainEpochCheck.function("check_train_one_epoch", "train_one_epoch")


class TestEpochCheck(Check):
    """``test_one_epoch(loader, model, device)`` on a tiny fixed model with dropout and a loader
    whose last batch is smaller: must use eval mode, leave the parameters alone, and return
    (mean cross-entropy per example as a float, number correct as an int)."""

    kind = "test_one_epoch"
    collects = "the loss, count, mode and parameters of test_one_epoch on a tiny fixed problem"
    compares_with = "the grader's reference evaluation loop on the same problem"
    needs_reference = "test_one_epoch"
    __test__ = False  # not a pytest test class

    def __init__(self, seed=0, name=None, points=1.0):
        super().__init__(name or "test_one_epoch", points, seed)

    def inputs(self):
        return _tiny_inputs(self.rng("problem"), dropout=True)

    def collect(self, test_one_epoch):
        return collect_evaluation(self.inputs(), self.seed,
                                  lambda model, loader, device: test_one_epoch(loader, model, device),
                                  "test_one_epoch(loader, model, device)", "(mean_loss, n_correct)",
                                  "n_correct")

    def verdict(self, ev):
        params = self.inputs()
        training = np.asarray(ev["training"], dtype=bool)
        if training.size == 0:
            return self.failed("test_one_epoch never called the model")
        if training.any():
            return self.failed("test_one_epoch evaluated in training mode: call model.eval() at "
                               "its start (dropout must be off when testing)")
        initial = {key: np.asarray(v, np.float64) for key, v in params["weights"].items()}
        if not all(_close(ev["state"][key], value, 0, 1e-7) for key, value in initial.items()):
            return self.failed("test_one_epoch changed the model's parameters: evaluation must not "
                               "train")
        if "Tensor" in ev["loss_type"]:
            return self.failed("the mean loss is a tensor: return a Python float (.item())")
        reference = grader_reference(self.kind)  # an evaluation loop is the exercise itself
        if ev["n_correct_type"] not in ("int", "int64", "int32"):
            return self.failed(self._count_type_message(ev, params, reference))
        if reference is None:
            return deferred(self, "eval mode, parameters untouched, a float and an int")
        expected = reference(params)
        loss = ev["loss"]
        if not math.isclose(loss, expected["mean_loss"], rel_tol=1e-5, abs_tol=1e-7):
            hint = ""
            if math.isclose(loss, float(np.mean(expected["batch_means"])), rel_tol=1e-6):
                hint = (": that is the mean of the batch means; sum the per-example losses "
                        "(reduction='sum') and divide by the number of examples (the last batch "
                        "is smaller)")
            elif math.isclose(loss, sum(expected["batch_sums"]), rel_tol=1e-6):
                hint = ": divide the summed loss by the number of examples"
            elif math.isclose(loss, sum(expected["batch_means"]) * expected["mean_loss"]
                              / sum(expected["batch_sums"]), rel_tol=1e-6):
                hint = (": that is the sum of the batch means divided by the number of examples; "
                        "add the per-example losses (reduction='sum') before dividing")
            elif math.isclose(loss, sum(expected["batch_means"]), rel_tol=1e-6):
                hint = ": that is the sum of the batch means; average over the examples"
            return self.failed(f"mean loss {loss:.6f}, expected {expected['mean_loss']:.6f}{hint}")
        correct = expected["n_correct"]
        if ev["n_correct"] != correct:
            hint = ""
            if 0 < ev["n_correct"] <= 1 and correct > 1:
                hint = ": return the number of correct predictions, not the accuracy"
            return self.failed(f"n_correct is {ev['n_correct']:g}, expected {correct}{hint}")
        note = "" if not np.asarray(ev["grad"], dtype=bool).any() else " (tip: evaluate under torch.no_grad() to save memory and time)"
        return self.passed(f"mean loss and correct count as expected{note}")

    @staticmethod
    def _count_type_message(ev, params, reference) -> str:
        """A count that is not an int: when its value is the reference's accuracy on this
        problem (n_correct / n), the student returned the accuracy; otherwise only the type."""
        n = len(params["y"])
        if reference is not None:
            correct = reference(params)["n_correct"]
            value = ev["n_correct"]
            if value != correct and math.isclose(value, correct / n, rel_tol=1e-6):
                return (f"test_one_epoch returns the accuracy where the number of correct "
                        f"predictions is asked: its second value is {value:.6g} = {correct}/{n}; "
                        f"return n_correct, the count {correct} (an int)")
        return (f"n_correct is a {ev['n_correct_type']}, expected a Python int (use .item() on "
                "the count)")


check_test_one_epoch = TestEpochCheck.function("check_test_one_epoch", "test_one_epoch")
