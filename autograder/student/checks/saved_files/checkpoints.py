"""Checks of a training run's history and of best-checkpoint selection (A2).

* ``check_history_checkpoint``: the notebook's own run. The history has its four lists, one
  entry per epoch, and the saved checkpoint (read with ``weights_only=True``) has the best
  epoch's validation accuracy, which the judge recomputes from the saved arrays with the
  kit's own forward pass and data.
* ``check_best_checkpoint``: the student's ``fit`` on an injected problem where the check
  scripts the validation accuracy of every epoch (an optimiser that sets the weights), so
  that the best epoch is neither the first nor the last and the lowest validation loss is at
  yet another epoch: keeping the last epoch, or selecting by loss, cannot pass by chance.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

from .checkpoint_causes import (epoch_matches, missing_relu_message, network_scores, same_loss,
                                unmatched_message)
from .saved_network import saved_arrays, saved_file
from ..core import Check, StudentError, call_student, grader_reference
from ..convert import numeric
from .history import _history_evidence, _history_problem, _load_state
from ..torch_code.torch_helpers import preserved_rng

__all__ = ["check_history_checkpoint", "check_best_checkpoint"]

class HistoryCheckpointCheck(Check):
    """``history`` {"train_loss", "train_acc", "val_loss", "val_acc": one float per epoch} and
    the checkpoint at ``path`` (a state_dict, read with weights_only=True): its ``split``
    accuracy, recomputed by the judge with ``layers`` (as in check_saved_network_accuracy),
    must be the best of history["val_acc"] within ``tolerance``."""

    kind = "history_checkpoint"
    collects = "the history's four lists (the judge reads the checkpoint file itself)"
    compares_with = "the checkpoint's accuracy recomputed with the kit's forward pass and data"

    def __init__(self, path, layers, epochs, dataset="mnist", split="val", preprocess="flat",
                 tolerance=1e-3, name=None, points=1.0):
        self.path, self.layers, self.epochs = str(path), [dict(s) for s in layers], int(epochs)
        self.dataset, self.split, self.preprocess = dataset, split, preprocess
        self.tolerance = float(tolerance)
        super().__init__(name or f"history and best checkpoint {self.path}", points, 0)

    def collect(self, history):
        return _history_evidence(history)  # the judge reads the checkpoint file itself

    def verdict(self, ev):
        problem, history = _history_problem(ev, self.epochs)
        if problem:
            return self.failed(problem)
        state = saved_arrays(saved_file(self.folder, self.path))
        arrays = {k: v for k, v in state.items() if numeric(v) is not None}
        try:
            accuracy, loss = self._scores(arrays, self.split)
        except StudentError as err:
            return self.failed(str(err))
        val_acc, tol = history["val_acc"], self.tolerance
        best = int(np.argmax(val_acc))
        if abs(accuracy - val_acc[best]) <= tol:
            return self.passed(f"the checkpoint has the best epoch's {self.split} accuracy "
                               f"{accuracy:.4f} (epoch {best + 1} of {self.epochs})")
        text = (f"the checkpoint has {self.split} accuracy {accuracy:.4f}, the best epoch "
                f"({best + 1}) had {val_acc[best]:.4f}")
        # a save timing is named only when an epoch's accuracy and loss are the checkpoint's
        matches = epoch_matches(history, accuracy, loss, tol)
        if self.epochs - 1 in matches:
            return self.failed(f"{text}: the checkpoint is the last epoch's model (its accuracy "
                               "and loss are the last epoch's); save model.state_dict() only "
                               "when the validation accuracy beats the best so far")
        if matches:
            return self.failed(f"{text}: the checkpoint is epoch {matches[0] + 1}'s model (its "
                               "accuracy and loss are that epoch's); save whenever the "
                               "validation accuracy beats the best so far")
        skipped = missing_relu_message(arrays, self.layers, history, self.dataset, self.split,
                                       self.preprocess, tol)
        if skipped:
            return self.failed(f"{text}; {skipped}")
        if self.split != "test":
            test_acc, test_loss = self._scores(arrays, "test")
            if abs(test_acc - val_acc[best]) <= tol and same_loss(history["val_loss"][best], test_loss):
                return self.failed(f"{text}, which is the checkpoint's accuracy on the test set: "
                                   "the history's validation accuracies were measured on the test "
                                   f"images; validate on the {self.split} split and keep the test "
                                   "set for the final evaluation only")
        if accuracy > val_acc.max() + tol:
            return self.failed(f"{text}; it is above every epoch's recorded {self.split} accuracy, "
                               "which the timing of the save cannot explain: the history's "
                               f"figures were not measured on the plain {self.split} images (are "
                               "the validation batches augmented, or made from other images?)")
        return self.failed(unmatched_message(text, history, accuracy, loss, self.split, tol))

    def _scores(self, arrays: dict, split: str) -> tuple[float, float]:
        """The saved network's (accuracy, loss) on ``split``, with the kit's forward and data."""
        return network_scores(arrays, self.layers, self.dataset, split, self.preprocess)


check_history_checkpoint = HistoryCheckpointCheck.function("check_history_checkpoint", "history")


# ----------------------------------------------------------------------------- injected fit

def _scripted_optimizer(params, script: list):
    """An optimiser whose k-th step sets (weight, bias) to ``script[k-1]``, whatever the
    gradients: with one training batch per epoch, epoch e ends with the weights the check
    chose for it."""
    import torch

    class ScriptedSteps(torch.optim.Optimizer):
        def __init__(self):
            super().__init__(params, {})
            self.steps = 0

        @torch.no_grad()
        def step(self, closure=None):
            weight, bias = self.param_groups[0]["params"]
            values = script[min(self.steps, len(script) - 1)]
            weight.copy_(torch.from_numpy(values["weight"]))
            bias.copy_(torch.from_numpy(values["bias"]))
            self.steps += 1

    return ScriptedSteps()


def _scores(weight, bias, x, y):
    """(accuracy, mean cross-entropy) of the linear model (weight, bias) on (x, y): the
    grader's reference (a loss computation is an exercise), or None where it is absent (a
    student's Jupyter, a grading kernel: there the history's figures are judged at grading)."""
    reference = grader_reference("checkpoint_scores")
    return None if reference is None else reference(weight, bias, x, y)


class BestCheckpointCheck(Check):
    """``fit(model, train_loader, val_loader, optimizer, epochs, device, checkpoint_path)`` on
    an injected problem: one training batch per epoch, an optimiser that sets the weights so
    that the validation accuracy of each epoch is chosen by the check (best epoch neither first
    nor last, the lowest validation loss at another epoch). The history's validation lists
    must be those of the epochs and the checkpoint the best epoch's weights."""

    kind = "best_checkpoint"
    collects = "the history, the step count and the saved checkpoint of fit on an injected problem"
    compares_with = (
        "the epoch the check scripted to be best, and the grader's scores of every epoch")
    needs_reference = "checkpoint_scores"

    def __init__(self, epochs=4, seed=0, name=None, points=1.0):
        self.epochs = int(epochs)
        if self.epochs < 4:
            raise ValueError("epochs must be at least 4 (best, lowest loss and last all differ)")
        super().__init__(name or "fit keeps the best epoch's checkpoint", points, seed)

    def inputs(self):
        """A linear model on one-hot validation inputs, so every validation logit is a weight.

        Output: x_val (n, n), y_val, x_train (b, n), y_train, initial and script (one
        {"weight" (k, n), "bias" (k,)} per epoch), best (epoch index), lowest_loss (index).
        """
        rng = self.rng("problem")
        n, k, e = 20, 5, self.epochs
        y_val = rng.integers(0, k, n)
        best = int(rng.integers(1, e - 1))  # neither the first nor the last epoch
        lowest_loss = int(rng.choice([i for i in range(1, e - 1) if i != best]))
        plan = [(0.5, 6.0)] * e  # (share correct, confidence) per epoch
        plan[best], plan[e - 1], plan[lowest_loss] = (0.8, 12.0), (0.7, 12.0), (0.6, 2.0)
        script = []
        for share, scale in plan:
            right = rng.permutation(n) < round(share * n)
            weight = rng.normal(0, 0.01, (k, n))
            weight[np.where(right, y_val, (y_val + 1) % k), np.arange(n)] += scale
            script.append({"weight": weight.astype(np.float32), "bias": np.zeros(k, np.float32)})
        return {"x_val": np.eye(n, dtype=np.float32), "y_val": y_val.astype(np.int64),
                "x_train": rng.normal(0, 1, (8, n)).astype(np.float32),
                "y_train": rng.integers(0, k, 8).astype(np.int64),
                "initial": {"weight": rng.normal(0, 0.01, (k, n)).astype(np.float32),
                            "bias": np.zeros(k, np.float32)},
                "script": script, "best": best, "lowest_loss": lowest_loss}

    def collect(self, fit):
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = self.inputs()
        folder = tempfile.mkdtemp(prefix="best_checkpoint_")
        path = os.path.join(folder, "best.pt")
        try:
            with preserved_rng(self.seed):
                model = nn.Linear(*data["x_val"].shape[1:], len(data["initial"]["bias"]))
                with torch.no_grad():
                    model.weight.copy_(torch.from_numpy(data["initial"]["weight"]))
                    model.bias.copy_(torch.from_numpy(data["initial"]["bias"]))
                train = DataLoader(TensorDataset(torch.from_numpy(data["x_train"]),
                                                 torch.from_numpy(data["y_train"])), batch_size=8)
                val = DataLoader(TensorDataset(torch.from_numpy(data["x_val"]),
                                               torch.from_numpy(data["y_val"])), batch_size=20)
                optimizer = _scripted_optimizer(model.parameters(), data["script"])
                history = call_student(fit, model, train, val, optimizer, self.epochs,
                                       torch.device("cpu"), path,
                                       what="fit(model, train_loader, val_loader, optimizer, "
                                            "epochs, device, checkpoint_path)")
            evidence = {**_history_evidence(history), "steps": int(optimizer.steps)}
            evidence["state"] = _load_state(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return evidence

    def verdict(self, ev):
        data, e = self.inputs(), self.epochs
        steps = ev.get("steps")
        if not isinstance(steps, int) or steps != e:
            return self.failed(f"fit ran optimizer.step() {steps} times in {e} epochs of one "
                               "batch each: call train_epoch once per epoch (and check that "
                               "train_epoch passes its own test)")
        problem, history = _history_problem(ev, e)
        if problem:
            return self.failed(problem)
        val = [_scores(s["weight"], s["bias"], data["x_val"], data["y_val"]) for s in data["script"]]
        if any(v is None for v in val):  # no reference here: the checkpoint only
            selection = self._selection(ev, data, None)
            if selection.passed:
                selection.message += "; the history's figures are compared when graded"
                selection.details["deferred"] = True
            return selection
        val_acc, val_loss = np.array([v[0] for v in val]), np.array([v[1] for v in val])
        before = [data["initial"]] + data["script"][:-1]  # each epoch trains from the previous
        train_acc = np.array([_scores(s["weight"], s["bias"], data["x_train"], data["y_train"])[0]
                              for s in before])
        if not np.allclose(history["val_acc"], val_acc, atol=1e-6):
            if np.allclose(history["val_acc"], train_acc, atol=1e-6):
                return self.failed("history['val_acc'] holds the training accuracies: training and "
                                   "validation figures are swapped")
            return self.failed(f"history['val_acc'] is {np.round(history['val_acc'], 4).tolist()}, "
                               f"the validation accuracies of the epochs are "
                               f"{np.round(val_acc, 4).tolist()}: append evaluate(model, "
                               "val_loader, device)'s accuracy after each epoch")
        # the checkpoint is this test's subject: judged before the loss history, which only
        # repeats what evaluate's own test says
        selection = self._selection(ev, data, val_acc)
        if not selection.passed:
            return selection
        if not np.allclose(history["val_loss"], val_loss, rtol=1e-4, atol=1e-5):
            return self.failed(f"history['val_loss'] is {np.round(history['val_loss'], 4).tolist()}, "
                               f"expected {np.round(val_loss, 4).tolist()} (the validation loss of "
                               "each epoch)")
        return selection

    def _selection(self, ev, data, val_acc):
        """Is the checkpoint the best epoch's model? If not, which one it is."""
        e = self.epochs
        state = ev.get("state") if isinstance(ev.get("state"), dict) else {}
        saved = [numeric(state.get(key)) for key in ("weight", "bias")]
        if any(a is None for a in saved) or saved[0].shape != data["initial"]["weight"].shape:
            return self.failed(f"the checkpoint holds {sorted(state)}: save model.state_dict()")
        candidates = [("before training", data["initial"])] + \
            [(f"epoch {i + 1}", s) for i, s in enumerate(data["script"])]
        found = next((label for label, s in candidates
                      if np.allclose(saved[0], s["weight"], atol=1e-6)
                      and np.allclose(saved[1], s["bias"], atol=1e-6)), None)
        best, lowest = data["best"], data["lowest_loss"]
        summary = (f"best validation accuracy at epoch {best + 1}" if val_acc is None else
                   f"validation accuracies {np.round(val_acc, 2).tolist()}, best at epoch {best + 1}")
        if found == f"epoch {best + 1}":
            return self.passed(f"the checkpoint is epoch {best + 1}, the best one ({summary})")
        if found == f"epoch {e}":
            return self.failed(f"the checkpoint is the last epoch's model; {summary}: save "
                               "model.state_dict() only when the validation accuracy beats the "
                               "best so far")
        if found == f"epoch {lowest + 1}":
            return self.failed(f"the checkpoint is epoch {lowest + 1}, the lowest validation loss; "
                               f"{summary}: select by validation accuracy")
        if found == "before training":
            return self.failed(f"the checkpoint holds the weights before training; {summary}: "
                               "save after training and validating the epoch")
        if found == "epoch 1":
            return self.failed(f"the checkpoint is the first epoch's model; {summary}: update the "
                               "best accuracy so far and save again whenever an epoch beats it")
        if found is not None:
            return self.failed(f"the checkpoint is {found}'s model; {summary}: keep the best "
                               "accuracy so far and save whenever an epoch beats it")
        return self.failed(f"the checkpoint matches no epoch's weights; {summary}")


check_best_checkpoint = BestCheckpointCheck.function("check_best_checkpoint", "fit")
