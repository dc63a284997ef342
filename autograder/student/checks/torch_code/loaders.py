"""Check that a training loader shuffles: its order must change from one epoch to the next.

SGD on a loader that yields the same order every epoch (``shuffle=False``, or data shuffled
once before the loader was built) still trains, so no accuracy check notices it; only the
order itself shows it. The kernel records the labels of two epochs; the judge compares them.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from .torch_helpers import preserved_rng

__all__ = ["check_loader_shuffles"]


def _labels(batch) -> list[int]:
    """The labels of one batch: the second item of an (x, y) pair, as plain ints."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise StudentError(f"the loader yielded a {type(batch).__name__}, expected (x, y) "
                           "batches")
    y = batch[1]
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.dtype.kind not in "iub" or y.ndim > 1:
        raise StudentError(f"the loader's labels are {y.dtype} of shape {y.shape}, expected "
                           "one integer class per example")
    return [int(v) for v in y.reshape(-1)]


class LoaderShufflesCheck(Check):
    """``loader`` (an iterable of (x, y) batches, e.g. a DataLoader) iterated for two epochs
    of at most ``batches`` batches each: the order of the labels must differ between the
    epochs (``shuffle=True``); the global RNGs are seeded and restored around it."""

    kind = "loader_shuffles"
    collects = "the labels of the first batches of two epochs of the loader"
    compares_with = "each other: the same order twice means no shuffling"

    def __init__(self, batches=20, seed=0, name=None, points=1.0):
        self.batches = int(batches)
        super().__init__(name or "the training loader shuffles every epoch", points, seed)

    def collect(self, loader):
        epochs = []
        with preserved_rng(self.seed):
            for _ in range(2):
                labels, complete = [], True
                iterator = call_student(iter, loader, what="iter(loader)")
                for _ in range(self.batches):
                    batch = call_student(next, iterator, None, what="next(iter(loader))")
                    if batch is None:
                        break
                    labels += _labels(batch)
                else:
                    complete = False
                epochs.append({"labels": labels, "complete": complete})
        return {"epochs": epochs}

    def verdict(self, ev):
        epochs = ev.get("epochs")
        if not isinstance(epochs, list) or len(epochs) != 2 \
                or not all(isinstance(e, dict) and isinstance(e.get("labels"), list)
                           for e in epochs):
            return self.failed("no two epochs of labels were recorded")
        first, second = (e["labels"] for e in epochs)
        if not first or not second:
            return self.failed("the loader yielded no batches")
        if len(first) != len(second) or (epochs[0].get("complete") and sorted(first) != sorted(second)):
            return self.failed(f"the loader's two epochs differ in content ({len(first)} and "
                               f"{len(second)} labels): iterate over the same dataset each epoch")
        if len(set(first)) < 2:
            return self.failed(f"the first {len(first)} labels are all {first[0]}: the order "
                               "cannot be judged (is the dataset one class, or sorted by class "
                               "and not shuffled?)")
        if first == second:
            cause = ""
            if first == sorted(first):
                cause = " It yields them sorted by class, as stored."
            return self.failed(f"the loader yields its examples in the same order in both "
                               f"epochs (the first {len(first)} labels are identical): pass "
                               f"shuffle=True to the training DataLoader; shuffling the data "
                               f"once before building the loader is not enough.{cause}")
        return self.passed("the order changes between epochs")


check_loader_shuffles = LoaderShufflesCheck.function("check_loader_shuffles", "loader")
