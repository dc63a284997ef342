"""Checks on evaluation helpers: A1's ``confusion_matrix`` and ``most_confused_pairs``,
A4's ``per_class_accuracy``. The judges count with ``np.bincount``.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import evidence_array, to_array
from ..judging import same


def _labels(rng, n, num_classes, missing_class):
    """True labels (the last class absent when ``missing_class``) and predictions."""
    true = rng.integers(0, num_classes - 1 if missing_class else num_classes, n)
    pred = np.where(rng.random(n) < 0.4, true, rng.integers(0, num_classes, n))
    return true, pred


class ConfusionMatrixCheck(Check):
    """``confusion_matrix(y_true, y_pred, num_classes)`` -> int (C, C), rows the true class;
    the last class never occurs among the true labels."""

    kind = "confusion_matrix"
    collects = "the confusion matrix of seeded labels and predictions"
    compares_with = "the matrix counted from the same labels"

    def __init__(self, num_classes=7, n=500, seed=0, name=None, points=1.0):
        super().__init__(name or f"confusion_matrix, {num_classes} classes", points, seed)
        self.num_classes, self.n = int(num_classes), int(n)

    def inputs(self):
        true, pred = _labels(self.rng(), self.n, self.num_classes, True)
        return {"true": true, "pred": pred}

    def collect(self, confusion_matrix):
        inp = self.inputs()
        M = call_student(confusion_matrix, inp["true"].copy(), inp["pred"].copy(),
                         self.num_classes, what="confusion_matrix(y_true, y_pred, num_classes)")
        return {"M": to_array(M, "confusion_matrix's result", np.float64)}

    def verdict(self, ev):
        inp, C = self.inputs(), self.num_classes
        want = np.bincount(inp["true"] * C + inp["pred"], minlength=C * C).reshape(C, C)
        M = evidence_array(ev["M"], "M")
        if M.shape != (C, C):
            hint = (": the size came from the labels; use num_classes (a class may have no "
                    "images)" if M.ndim == 2 and M.shape[0] < C else "")
            return self.failed(f"the matrix has shape {M.shape}, expected (num_classes, "
                               f"num_classes) = {(C, C)}{hint}")
        if np.array_equal(M, want):
            return self.passed()
        mistakes = {
            "transposed: rows are the true class, columns the predicted class (M[true, pred])":
                want.T,
            "M[y_true, y_pred] += 1 counts a repeated (true, pred) pair only once (NumPy "
            "buffers fancy-index updates): use an unbuffered addition (see np.add.at) or a "
            "loop":
                (want > 0).astype(float),
            "the rows are normalised: count the examples, do not divide":
                want / np.maximum(want.sum(axis=1, keepdims=True), 1),
        }
        for message, wrong in mistakes.items():
            if same(M, wrong, 1e-9):
                return self.failed(f"the confusion matrix is wrong: {message}")
        bad = tuple(int(i) for i in np.argwhere(M != want)[0])
        return self.failed(f"the confusion matrix is wrong: M{bad} = {M[bad]:g}, expected "
                           f"{want[bad]} (the number of examples of true class {bad[0]} "
                           f"predicted as {bad[1]}); total {M.sum():g}, expected {want.sum()}")


check_confusion_matrix = ConfusionMatrixCheck.function(
    "check_confusion_matrix", "confusion_matrix")


def _top_pairs(scores: dict, k: int) -> list:
    return [list(p) for p, _ in sorted(scores.items(), key=lambda item: -item[1])[:k]]


def _a_top_k(pairs: list, scores: dict, k: int) -> bool:
    """Whether ``pairs`` are k distinct keys of ``scores`` (i < j), in decreasing order of
    score, none scoring less than a pair left out: a top k under ``scores``, whichever way
    its ties were broken."""
    chosen = [tuple(p) for p in pairs]
    if len(chosen) != k or len(set(chosen)) != k or not all(p in scores for p in chosen):
        return False
    values = [scores[p] for p in chosen]
    rest = [v for p, v in scores.items() if p not in chosen]
    return values == sorted(values, reverse=True) and (not rest or min(values) >= max(rest))


class ConfusedPairsCheck(Check):
    """``most_confused_pairs(M, k)`` -> the k pairs (i, j), i < j, with the largest
    M[i, j] + M[j, i], most confused first."""

    kind = "most_confused_pairs"
    collects = "the pairs returned for a seeded confusion matrix"
    compares_with = "the k largest symmetric off-diagonal sums"

    def __init__(self, num_classes=5, k=2, seed=0, name=None, points=1.0):
        super().__init__(name or f"most_confused_pairs, k={k}", points, seed)
        self.num_classes, self.k = int(num_classes), int(k)

    def inputs(self):
        rng, C = self.rng(), self.num_classes
        while True:  # distinct pair sums, so that the answer is unique
            M = rng.integers(0, 40, (C, C))
            M[np.diag_indices(C)] = rng.integers(200, 400, C)
            sums = sorted((M + M.T)[np.triu_indices(C, 1)].tolist(), reverse=True)
            if len(set(sums[: self.k + 1])) == len(sums[: self.k + 1]):
                return {"M": M}

    def collect(self, most_confused_pairs):
        M = self.inputs()["M"]
        pairs = call_student(most_confused_pairs, M.copy(), self.k, what="most_confused_pairs(M, k)")
        if not isinstance(pairs, (list, tuple, np.ndarray)):
            raise StudentError(f"most_confused_pairs returned a {type(pairs).__name__}, expected "
                               "a list of (i, j) pairs")
        rows = []
        for pair in pairs:
            values = to_array(pair, "a pair", dtype=None).reshape(-1)
            if values.size != 2:
                raise StudentError(f"{pair!r} is not a pair (i, j) of class indices")
            rows.append([int(v) for v in values])
        return {"pairs": rows}

    def verdict(self, ev):
        M, C, k = self.inputs()["M"], self.num_classes, self.k
        pairs = [[int(i), int(j)] for i, j in ev["pairs"]]
        both = {(i, j): int(M[i, j] + M[j, i]) for i in range(C) for j in range(i + 1, C)}
        want = _top_pairs(both, k)
        if pairs == want:
            return self.passed()
        if len(pairs) != k:
            return self.failed(f"asked for k = {k} pairs, got {len(pairs)}")
        if sorted(map(sorted, pairs)) == sorted(want) and pairs != want and \
                [sorted(p) for p in pairs] == want:
            return self.failed(f"got {pairs}: write each pair as (i, j) with i < j")
        one_way = {}
        for i in range(C):
            for j in range(C):
                if i != j:
                    key = (min(i, j), max(i, j))
                    one_way[key] = max(one_way.get(key, 0), int(M[i, j]))
        mistakes = {
            "only one direction was counted: a pair {i, j} is confused M[i, j] + M[j, i] times":
                _top_pairs(one_way, k),
            "the most confused pairs come first (sort by decreasing count)":
                _top_pairs({p: -s for p, s in both.items()}, k),
            "a pair (i, i) on the diagonal is no confusion: use i != j":
                _top_pairs({**both, **{(i, i): int(2 * M[i, i]) for i in range(C)}}, k),
        }
        for message, wrong in mistakes.items():
            if [sorted(p) for p in pairs] == wrong:
                return self.failed(f"got {pairs}, expected {want}: {message}")
        for i, j, what in ((0, 1, "M[i, j] (i < j)"), (1, 0, "M[j, i] (i < j)")):
            one_side = {(a, b): int(M[(a, b)[i], (a, b)[j]]) for a, b in both}
            if _a_top_k(pairs, one_side, k):
                return self.failed(f"got {pairs}, expected {want}: only one direction was "
                                   f"counted, {what}: a pair {{i, j}} is confused "
                                   "M[i, j] + M[j, i] times; add both cells")
        return self.failed(f"got {pairs}, expected {want} (counts {[both[tuple(p)] for p in want]})")


check_most_confused_pairs = ConfusedPairsCheck.function(
    "check_most_confused_pairs", "most_confused_pairs")


class PerClassAccuracyCheck(Check):
    """``per_class_accuracy(y_true, y_pred, num_classes)`` -> (C,) accuracy on the images of
    each true class, NaN for a class without images (the last one when ``missing_class``)."""

    kind = "per_class_accuracy"
    collects = "the per-class accuracies of seeded labels and predictions"
    compares_with = "the accuracies counted per true class, NaN for an absent class"

    def __init__(self, num_classes=10, n=300, missing_class=True, seed=0, name=None, points=1.0):
        super().__init__(name or f"per_class_accuracy, {num_classes} classes", points, seed)
        self.num_classes, self.n, self.missing_class = int(num_classes), int(n), bool(missing_class)

    def inputs(self):
        true, pred = _labels(self.rng(), self.n, self.num_classes, self.missing_class)
        return {"true": true, "pred": pred}

    def collect(self, per_class_accuracy):
        inp = self.inputs()
        acc = call_student(per_class_accuracy, inp["true"].copy(), inp["pred"].copy(),
                           self.num_classes, what="per_class_accuracy(y_true, y_pred, num_classes)")
        return {"acc": to_array(acc, "per_class_accuracy's result", np.float64)}

    def verdict(self, ev):
        inp, C = self.inputs(), self.num_classes
        true, pred = inp["true"], inp["pred"]
        hits = np.bincount(true[true == pred], minlength=C).astype(float)
        per_true, per_pred = np.bincount(true, minlength=C), np.bincount(pred, minlength=C)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = np.where(per_true > 0, hits / per_true, np.nan)
            by_pred = np.where(per_pred > 0, hits / per_pred, np.nan)
        acc = evidence_array(ev["acc"], "acc")
        if acc.shape != (C,):
            return self.failed(f"the result has shape {acc.shape}, expected one accuracy per "
                               f"class, ({C},)")
        if same(acc, want, 1e-9):
            return self.passed()
        absent = np.isnan(want)
        if same(acc[~absent], want[~absent], 1e-9):
            return self.failed(f"class {int(np.flatnonzero(absent)[0])} has no images: its "
                               f"accuracy must be NaN (np.nan), got {acc[absent][0]:g}")
        mistakes = {
            "it divides by the number of images PREDICTED as class k; divide by the number "
            "whose TRUE label is k": by_pred,
            "these are percentages; return fractions in [0, 1]": 100 * want,
            "every class got the overall accuracy": np.full(C, np.mean(true == pred)),
        }
        for message, wrong in mistakes.items():
            if same(acc[~absent], wrong[~absent], 1e-9):
                return self.failed(f"per-class accuracy is wrong: {message}")
        bad = int(np.flatnonzero(~np.isclose(acc, want, equal_nan=True))[0])
        return self.failed(f"class {bad}: got {acc[bad]:.6g}, expected {want[bad]:.6g} (correct "
                           "predictions among the images whose TRUE label is the class)")


check_per_class_accuracy = PerClassAccuracyCheck.function(
    "check_per_class_accuracy", "per_class_accuracy")
