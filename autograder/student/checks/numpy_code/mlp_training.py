"""A1's training loop judged on an easy problem: three Gaussian blobs in 4-D.

The kernel runs the student's ``train`` once; the judge checks the history it returned
(keys, one value per epoch, losses going down) against what it recomputes itself from the
final parameters with torch: the last validation loss and accuracy must be those of the
final parameters on the *validation* set, which names a history with train and
validation swapped.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import evidence_array, to_array

from .mlp import torch_mlp

KEYS = ("train_loss", "val_loss", "val_acc")


class TrainCheck(Check):
    """``train(params, X_train, Y_train, X_val, Y_val, optimizer, epochs, batch_size,
    activation, rng=..., progress=False)`` on three 4-D blobs (200 training, 100 validation
    rows; a 4-hidden-3 MLP): the history's keys and lengths, parameters updated in place,
    the last validation loss and accuracy those of the final parameters, the training loss
    going down and the validation accuracy at least ``min_val_acc``."""

    kind = "mlp_train"
    collects = "the history and final parameters of train on three seeded blobs"
    compares_with = "the expected history keys and lengths, and min_val_acc"

    def __init__(self, activation="relu", epochs=4, batch_size=16, hidden=16, min_val_acc=0.8,
                 seed=0, name=None, points=1.0):
        super().__init__(name or f"train on three blobs ({activation})", points, seed)
        self.activation, self.epochs, self.batch_size = activation, int(epochs), int(batch_size)
        self.hidden, self.min_val_acc = int(hidden), float(min_val_acc)

    def inputs(self):
        rng = self.rng()
        # Centres 5*sqrt(2) apart (orthonormal directions): any correct loop separates them.
        centres = 5.0 * np.linalg.qr(rng.normal(size=(4, 4)))[0][:3]
        y = rng.integers(0, 3, 300)
        X = centres[y] + rng.normal(size=(300, 4))
        sizes = (4, self.hidden, 3)
        params = {}
        for l, (a, b) in enumerate(zip(sizes, sizes[1:]), start=1):
            r = np.sqrt(6 / (a + b))
            params[f"W{l}"], params[f"b{l}"] = rng.uniform(-r, r, (a, b)), np.zeros(b)
        return {"X": X, "Y": np.eye(3)[y], "y": y, "params": params,
                "seed": int(rng.integers(2 ** 31))}

    def collect(self, student):
        train, optimizer = student
        inp = self.inputs()
        params = {k: v.copy() for k, v in inp["params"].items()}
        X, Y = inp["X"], inp["Y"]
        history = call_student(
            lambda: train(params, X[:200].copy(), Y[:200].copy(), X[200:].copy(), Y[200:].copy(),
                          optimizer, epochs=self.epochs, batch_size=self.batch_size,
                          activation=self.activation, rng=np.random.default_rng(inp["seed"]),
                          progress=False),
            what="train(params, X_train, Y_train, X_val, Y_val, optimizer, ...)")
        if not isinstance(history, dict):
            raise StudentError(f"train returned a {type(history).__name__}, expected the history "
                               "dict {'train_loss': [...], 'val_loss': [...], 'val_acc': [...]}")
        values = {}
        for key, value in history.items():
            try:
                values[str(key)] = [float(np.asarray(v)) for v in value]
            except (TypeError, ValueError):
                raise StudentError(f"history[{key!r}] is not a list of numbers (one per "
                                   "epoch)") from None
        return {"history": values,
                "params": {k: to_array(params.get(k), f"params[{k!r}] after training", np.float64)
                           for k in inp["params"]}}

    def verdict(self, ev):
        inp = self.inputs()
        history = {k: evidence_array(v, k, 1) for k, v in ev["history"].items()}
        if set(history) != set(KEYS):
            return self.failed(f"the history has the keys {sorted(history)}, expected "
                               f"{sorted(KEYS)}")
        n_batches = int(np.ceil(200 / self.batch_size))
        for key in KEYS:
            if len(history[key]) != self.epochs:
                hint = (": one value per batch; record the mean over each epoch's batches"
                        if len(history[key]) == self.epochs * n_batches else "")
                return self.failed(f"history[{key!r}] holds {len(history[key])} values for "
                                   f"{self.epochs} epochs; expected one per epoch{hint}")
        params = {k: evidence_array(v, k) for k, v in ev["params"].items()}
        if all(np.array_equal(params[k], v) for k, v in inp["params"].items()):
            return self.failed("the parameters did not change: train must update the params dict "
                               "it is given, in place (optimizer.update(params, grads))")
        return self._history(history, params, inp)

    def _history(self, history, params, inp):
        X, Y, y = inp["X"], inp["Y"], inp["y"]
        if any(params[k].shape != v.shape for k, v in inp["params"].items()):
            raise StudentError("train changed the shapes of the parameters")
        figures = {}
        for split, rows in (("train", slice(0, 200)), ("val", slice(200, 300))):
            P = torch_mlp(params, X[rows], self.activation)["P"]
            figures[f"{split}_loss"] = float(-np.mean(np.log(np.clip(P[Y[rows] == 1], 1e-12, 1))))
            figures[f"{split}_acc"] = float(np.mean(P.argmax(axis=1) == y[rows]))
        val_loss, val_acc = history["val_loss"][-1], history["val_acc"][-1]
        train_loss = history["train_loss"]
        def near(a, b):
            return abs(a - b) <= 1e-6 * max(1, b)

        # swapped only when val_loss is not the validation loss too: diverged parameters
        # give the same clipped loss, -log(1e-12), on both sets
        if near(train_loss[-1], figures["val_loss"]) and not near(val_loss, figures["val_loss"]):
            return self.failed("history['train_loss'] holds the validation loss: train and "
                               "validation are swapped; train_loss is the mean of the epoch's "
                               "batch losses, val_loss the loss on X_val, Y_val")
        if abs(val_loss - figures["val_loss"]) > 1e-6 * max(1, figures["val_loss"]):
            if abs(val_loss - figures["train_loss"]) <= 1e-6 * max(1, figures["train_loss"]):
                return self.failed("history['val_loss'] holds the loss on the training set: train "
                                   "and validation are swapped; evaluate X_val, Y_val")
            return self.failed(f"history['val_loss'][-1] = {val_loss:.6g}, but the final "
                               f"parameters have a validation cross-entropy of "
                               f"{figures['val_loss']:.6g}: after each epoch, compute the "
                               "cross-entropy (without penalty) on the whole validation set")
        if abs(val_acc - figures["val_acc"]) > 1e-9:
            if abs(val_acc - 100 * figures["val_acc"]) <= 1e-7:
                cause = ": that is a percentage; record a fraction in [0, 1]"
            elif abs(val_acc - figures["train_acc"]) <= 1e-9:
                cause = ": that is the training accuracy; train and validation are swapped"
            else:
                cause = ": compute it after the epoch's updates, on X_val and Y_val"
            return self.failed(f"history['val_acc'][-1] = {val_acc:.6g}, but the final "
                               f"parameters have a validation accuracy of "
                               f"{figures['val_acc']:.6g}{cause}")
        if train_loss[-1] > train_loss[0]:
            return self.failed(f"the training loss went up on an easy problem: "
                               f"{np.round(train_loss, 4).tolist()}: the parameters moved up "
                               "the gradient; check the sign of the update (params -= lr * "
                               "grads) and of the gradients it is given")
        if not train_loss[-1] < train_loss[0]:
            return self.failed(f"the training loss did not go down on an easy problem: "
                               f"{np.round(train_loss, 4).tolist()}")
        if val_acc < self.min_val_acc:
            return self.failed(f"validation accuracy on an easy 3-blob problem is only "
                               f"{val_acc:.2f} (at least {self.min_val_acc} expected)")
        return self.passed(f"history {np.round(train_loss, 3).tolist()} (train loss), "
                           f"validation accuracy {val_acc:.2f}")


check_train = TrainCheck.function("check_train", "train", "optimizer")
