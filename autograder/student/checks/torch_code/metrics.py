"""Check of per-class precision, recall and F1 (A2's ``precision_recall_f1``).

The inputs always hold a class that is never predicted and a class that never occurs, so
the 0/0 cases (defined as 0) are exercised; the judge counts with ``np.bincount``.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import numeric, tensor_record

__all__ = ["check_precision_recall_f1"]


def _counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int):
    """(true positives, predicted per class, actual per class), float64 (n_classes,) each."""
    hits = np.bincount(y_true[y_true == y_pred], minlength=n_classes).astype(np.float64)
    return (hits, np.bincount(y_pred, minlength=n_classes).astype(np.float64),
            np.bincount(y_true, minlength=n_classes).astype(np.float64))


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _nan_f1_message(got: np.ndarray, f1: np.ndarray, p_plus_r: np.ndarray) -> str:
    """The message for an F1 with NaN/inf entries. The cause (an unguarded 2PR / (P + R)) is
    named only when the NaNs sit exactly on the classes with P + R = 0 and every other class
    is right: that is the output of the unguarded formula on these labels."""
    bad = np.flatnonzero(~np.isfinite(got))
    zero = np.flatnonzero(p_plus_r == 0)
    finite = np.isfinite(got)
    if np.array_equal(bad, zero) and np.allclose(got[finite], f1[finite], atol=1e-8):
        classes = ", ".join(str(c) for c in bad)
        return (f"F1 is NaN for class{'es' if bad.size > 1 else ''} {classes}, exactly where "
                "precision + recall = 0 (2PR / (P + R) is 0/0 there), and right for every other "
                "class: define F1 = 0 where P + R = 0 (divide only where the denominator is > 0)")
    return (f"F1 of class {bad[0]} is {got[bad[0]]}, expected {f1[bad[0]]:.4f} (its precision "
            f"+ recall is {p_plus_r[bad[0]]:.4f}); F1 = 2PR / (P + R), and 0 where P + R = 0")


class PrecisionRecallF1Check(Check):
    """``precision_recall_f1(y_true, y_pred, n_classes)`` on int64 labels (n_samples,) returns
    three float arrays (n_classes,); a class never predicted and a class that never occurs
    must get 0 (not NaN) where a denominator is 0."""

    kind = "precision_recall_f1"
    collects = "the three arrays returned on seeded labels"
    compares_with = "precision, recall and F1 counted from the same labels"

    def __init__(self, n_classes=10, n_samples=500, seed=0, name=None, points=1.0):
        self.n_classes, self.n_samples = int(n_classes), int(n_samples)
        if self.n_classes < 3:
            raise ValueError("n_classes must be at least 3")
        super().__init__(name or f"precision, recall and F1 for {self.n_classes} classes",
                         points, seed)

    def inputs(self):
        rng = self.rng("labels")
        k, n = self.n_classes, self.n_samples
        never_predicted, never_true = rng.choice(k, 2, replace=False)
        y_true = rng.integers(0, k, n)
        y_true[y_true == never_true] = (never_true + 1) % k
        y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, k, n))
        y_pred[y_pred == never_predicted] = (never_predicted + 1) % k
        if never_true == (never_predicted + 1) % k:  # keep the never-true class a false positive
            y_pred[:3] = never_true
        return {"y_true": y_true.astype(np.int64), "y_pred": y_pred.astype(np.int64),
                "never_predicted": int(never_predicted), "never_true": int(never_true)}

    def collect(self, precision_recall_f1):
        data = self.inputs()
        result = call_student(precision_recall_f1, data["y_true"].copy(), data["y_pred"].copy(),
                              self.n_classes,
                              what=f"precision_recall_f1(y_true, y_pred, {self.n_classes})")
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise StudentError(f"precision_recall_f1 returned a {type(result).__name__}, expected "
                               "(precision, recall, f1)")
        return {key: tensor_record(value, key)
                for key, value in zip(("precision", "recall", "f1"), result)}

    def verdict(self, ev):
        data = self.inputs()
        k = self.n_classes
        got = {}
        for key in ("precision", "recall", "f1"):
            record = ev.get(key) if isinstance(ev.get(key), dict) else {}
            array = numeric(record.get("array"))
            if array is None or array.shape != (k,):
                shape = getattr(record.get("array"), "shape", None)
                hint = (": one value per class, not an average over the classes"
                        if shape == () else "")
                return self.failed(f"{key} has shape {shape}, expected ({k},){hint}")
            got[key] = array
        tp, predicted, actual = _counts(data["y_true"], data["y_pred"], k)
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        f1 = _ratio(2 * precision * recall, precision + recall)
        expected = {"precision": precision, "recall": recall, "f1": f1}
        c_pred, c_true = data["never_predicted"], data["never_true"]
        for key, where, why in (("precision", c_pred, f"class {c_pred} is never predicted "
                                                      "(TP + FP = 0)"),
                                ("recall", c_true, f"class {c_true} never occurs (TP + FN = 0)")):
            if not np.isfinite(got[key][where]):
                return self.failed(f"{key} of class {where} is {got[key][where]}: {why}, and the "
                                   "value is then defined as 0 (divide only where the "
                                   "denominator is > 0)")
        if np.allclose(got["precision"], recall) and np.allclose(got["recall"], precision):
            return self.failed("precision and recall are swapped: precision = TP / (TP + FP) "
                               "divides by the number of predictions of the class, recall = "
                               "TP / (TP + FN) by the number of examples of the class")
        for key in ("precision", "recall"):
            if not np.allclose(got[key], expected[key], atol=1e-8):
                c = int(np.argmax(np.abs(np.nan_to_num(got[key], nan=9) - expected[key])))
                return self.failed(f"{key} of class {c} is {got[key][c]:.4f}, expected "
                                   f"{expected[key][c]:.4f} (TP {tp[c]:.0f}, predicted "
                                   f"{predicted[c]:.0f}, actual {actual[c]:.0f})")
        bad = np.flatnonzero(~np.isfinite(got["f1"]))
        if bad.size:
            return self.failed(_nan_f1_message(got["f1"], f1, precision + recall))
        if not np.allclose(got["f1"], f1, atol=1e-8):
            hint = ""
            if np.allclose(got["f1"], (precision + recall) / 2, atol=1e-8):
                hint = (": that is the arithmetic mean of precision and recall; F1 is their "
                        "harmonic mean 2 p r / (p + r)")
            c = int(np.argmax(np.abs(got["f1"] - f1)))
            return self.failed(f"F1 of class {c} is {got['f1'][c]:.4f}, expected {f1[c]:.4f}{hint}")
        return self.passed(f"precision, recall and F1 of all {k} classes correct, including a "
                           "class never predicted and a class that never occurs")


check_precision_recall_f1 = PrecisionRecallF1Check.function(
    "check_precision_recall_f1", "precision_recall_f1")
