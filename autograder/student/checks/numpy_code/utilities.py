"""Checks on A1's utilities: ``one_hot``, ``accuracy``, ``iterate_minibatches`` and the
``save_weights``/``load_weights`` round trip.

The judges decide by properties (one 1 per row at the label, every row once, rows
paired, the same arrays back) and NumPy built-ins, never with an implementation of the
exercise.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import evidence_array, number, to_array



# ----------------------------------------------------------------------------- one_hot

class OneHotCheck(Check):
    """``one_hot(y, num_classes)`` -> (N, num_classes), a single 1 per row at column y[n]."""

    kind = "one_hot"
    collects = "one_hot(y, num_classes) on seeded labels"
    compares_with = "the one-hot matrix built from the labels"

    def __init__(self, n=10, num_classes=3, seed=0, name=None, points=1.0):
        super().__init__(name or f"one_hot of {n} labels, {num_classes} classes", points, seed)
        self.n, self.num_classes = int(n), int(num_classes)

    def inputs(self):
        # The last class never occurs: the width must come from num_classes, not the labels.
        return {"y": self.rng().integers(0, max(1, self.num_classes - 1), self.n)}

    def collect(self, one_hot):
        y = self.inputs()["y"]
        return {"Y": to_array(call_student(one_hot, y.copy(), self.num_classes,
                                        what="one_hot(y, num_classes)"), "one_hot's result", dtype=None)}

    def verdict(self, ev):
        y, C = self.inputs()["y"], self.num_classes
        Y = evidence_array(ev["Y"], "Y")
        if Y.shape != (self.n, C):
            hint = ""
            if Y.shape == (C, self.n):
                hint = ": transposed, one row per example"
            elif Y.ndim == 2 and Y.shape[0] == self.n and Y.shape[1] == y.max() + 1:
                hint = (": the width came from the labels (max(y) + 1); use num_classes, a "
                        "batch may miss a class")
            return self.failed(f"one_hot(y, {C}) has shape {Y.shape}, expected (N, C) = "
                               f"{(self.n, C)}{hint}")
        if not np.all((Y == 0) | (Y == 1)) or not np.all(Y.sum(axis=1) == 1):
            return self.failed("every row of one_hot must hold a single 1 and zeros elsewhere")
        hot = Y.argmax(axis=1)
        if np.array_equal(hot, y):
            return self.passed()
        for shift in (-1, 1):
            if np.array_equal(hot, y + shift):
                return self.failed(f"row n has its 1 in column y[n] {shift:+d}: off by one; "
                                   "use column y[n]")
        bad = int(np.flatnonzero(hot != y)[0])
        return self.failed(f"row {bad} has its 1 in column {int(hot[bad])}, expected column "
                           f"y[{bad}] = {int(y[bad])}")


check_one_hot = OneHotCheck.function("check_one_hot", "one_hot")


# ----------------------------------------------------------------------------- accuracy

class AccuracyFunctionCheck(Check):
    """``accuracy(P, y)`` -> the fraction of rows whose arg-max is the label, for integer
    labels (N,) and for one-hot labels (N, C)."""

    kind = "accuracy_function"
    collects = "accuracy(P, y) for integer and one-hot labels"
    compares_with = "the fraction of arg-max hits computed from the same inputs"

    def __init__(self, n=20, num_classes=4, seed=0, name=None, points=1.0):
        super().__init__(name or f"accuracy on {n} rows", points, seed)
        self.n, self.num_classes = int(n), int(num_classes)

    def inputs(self):
        rng = self.rng()
        P = rng.random((self.n, self.num_classes))
        y = rng.integers(0, self.num_classes, self.n)
        y[: self.n // 2] = P[: self.n // 2].argmax(axis=1)  # about half right: a telling value
        return {"P": P, "y": y, "Y": np.eye(self.num_classes)[y]}

    def collect(self, accuracy):
        inp = self.inputs()
        labels = call_student(accuracy, inp["P"].copy(), inp["y"].copy(), what="accuracy(P, y)")
        hot = call_student(accuracy, inp["P"].copy(), inp["Y"].copy(), what="accuracy(P, Y one-hot)")
        return {"labels": number(labels, "accuracy(P, y)"),
                "one_hot": number(hot, "accuracy(P, Y) with one-hot Y")}

    def verdict(self, ev):
        inp = self.inputs()
        right = inp["P"].argmax(axis=1) == inp["y"]
        want = float(right.mean())
        for key, what in (("labels", "integer labels y (N,)"), ("one_hot", "one-hot labels Y (N, C)")):
            got = float(ev[key])
            if abs(got - want) <= 1e-9:
                continue
            cause = ""
            if abs(got - right.sum()) <= 1e-9:
                cause = f": that is the number of correct rows; divide by N = {self.n}"
            elif abs(got - 100 * want) <= 1e-7:
                cause = ": that is a percentage; return a fraction in [0, 1]"
            elif abs(got - (1 - want)) <= 1e-9:
                cause = ": that is the error rate, 1 - accuracy"
            elif key == "one_hot":
                cause = ": with one-hot labels, compare the arg-max of P with y.argmax(axis=1)"
            return self.failed(f"with {what}: got {got:.6g}, expected {want:.6g}{cause}")
        return self.passed()


check_accuracy_function = AccuracyFunctionCheck.function("check_accuracy_function", "accuracy")


# ----------------------------------------------------------------------------- minibatches

class MinibatchCheck(Check):
    """``iterate_minibatches(X, Y, batch_size, rng, shuffle)``: ceil(N/B) batches, every row
    once, X and Y rows paired, the order from rng when shuffling and unchanged without."""

    kind = "minibatches"
    collects = "the batches produced with and without shuffling, and again with the same rng"
    compares_with = "the row counts, pairing and order the seeded rng gives"

    def __init__(self, n=10, batch_size=4, seed=0, name=None, points=1.0):
        super().__init__(name or f"iterate_minibatches over {n} rows, batches of {batch_size}",
                         points, seed)
        self.n, self.batch_size = int(n), int(batch_size)

    def inputs(self):
        rng = self.rng()
        # Column 0 of X is the row index and column 0 of Y is 1000 + the row index, so the
        # judge sees which rows each batch holds and whether X and Y rows stayed paired.
        X = np.column_stack([np.arange(self.n), rng.normal(size=(self.n, 2))])
        Y = np.column_stack([1000 + np.arange(self.n), rng.normal(size=self.n)])
        return {"X": X, "Y": Y, "seeds": [int(s) for s in rng.integers(0, 2 ** 31, 3)]}

    def _pass(self, iterate, shuffle, seed):
        inp = self.inputs()
        rng = np.random.default_rng(seed)
        batches = call_student(
            lambda: list(iterate(inp["X"].copy(), inp["Y"].copy(), self.batch_size, rng,
                                 shuffle=shuffle)),
            what=f"iterate_minibatches(X, Y, {self.batch_size}, rng, shuffle={shuffle})")
        xs, ys = [], []
        for k, batch in enumerate(batches):
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise StudentError(f"batch {k} is a {type(batch).__name__}, expected a pair "
                                   "(X_batch, Y_batch)")
            xb = to_array(batch[0], f"X_batch {k}", dtype=None)
            yb = to_array(batch[1], f"Y_batch {k}", dtype=None)
            if xb.ndim != 2 or yb.ndim != 2 or xb.shape[1] != 3 or yb.shape[1] != 2:
                raise StudentError(f"batch {k} has shapes {xb.shape} and {yb.shape}: rows of X "
                                   "(B, 3) and Y (B, 2) expected")
            xs.append(xb[:, 0].astype(np.int64))
            ys.append((yb[:, 0] - 1000).astype(np.int64))
        return {"x": xs, "y": ys}

    def collect(self, iterate):
        seeds = self.inputs()["seeds"]
        return {"first": self._pass(iterate, True, seeds[0]),
                "again": self._pass(iterate, True, seeds[0]),
                "others": [self._pass(iterate, True, s) for s in seeds[1:]],
                "plain": self._pass(iterate, False, seeds[0])}

    def verdict(self, ev):
        n, B = self.n, self.batch_size
        runs = {k: ([evidence_array(x, "x", 1) for x in ev[k]["x"]],
                    [evidence_array(y, "y", 1) for y in ev[k]["y"]]) for k in ("first", "again", "plain")}
        for what, (xs, ys) in (("shuffle=True", runs["first"]), ("shuffle=False", runs["plain"])):
            sizes = [len(x) for x in xs]
            want = int(np.ceil(n / B))
            if not xs:
                return self.failed(f"{what}: no batch at all (is it a generator that yields?)")
            if len(xs) != want or any(s != B for s in sizes[:-1]) or sizes[-1] != n - B * (want - 1):
                hint = ""
                if 0 in sizes:
                    hint = ": an empty batch; step through the rows with range(0, N, batch_size)"
                elif len(xs) == n // B and n % B:
                    hint = (f": the last, partial batch of {n % B} rows is missing; yield it too "
                            "(every row once per pass)")
                return self.failed(f"{what}: {len(xs)} batches of sizes {sizes[:8]}"
                                   f"{'...' if len(sizes) > 8 else ''} for N = {n} and "
                                   f"batch_size = {B}; expected {want} batches of {B} rows"
                                   f" (the last may be smaller){hint}")
            if any(not np.array_equal(x, y) for x, y in zip(xs, ys)):
                return self.failed(f"{what}: the rows of X_batch and Y_batch are not paired: index "
                                   "X and Y with the same permutation")
            seen = np.concatenate(xs)
            if not np.array_equal(np.sort(seen), np.arange(n)):
                twice = int(n - np.unique(seen).size)
                return self.failed(f"{what}: not every row appears exactly once per pass ({twice} "
                                   "rows repeated, as many never seen): draw a permutation "
                                   "(rng.permutation(N)), not indices with replacement")
        if not np.array_equal(np.concatenate(runs["plain"][0]), np.arange(n)):
            return self.failed("shuffle=False must keep the rows in their original order")
        first = np.concatenate(runs["first"][0])
        if not np.array_equal(np.concatenate(runs["again"][0]), first):
            return self.failed("two passes with generators of the same seed gave different orders: "
                               "shuffle with the rng argument, not np.random")
        orders = [first] + [np.concatenate([evidence_array(x, "x", 1) for x in other["x"]])
                            for other in ev["others"]]
        if all(np.array_equal(order, np.arange(n)) for order in orders):
            return self.failed("shuffle=True kept the original order: visit the rows in a random "
                               "order drawn from rng (rng.permutation)")
        return self.passed()


check_minibatches = MinibatchCheck.function("check_minibatches", "iterate_minibatches")


# ----------------------------------------------------------------------------- save/load

class WeightsRoundTripCheck(Check):
    """``load_weights(path)`` gives back exactly what ``save_weights(path, params)`` stored,
    in the file at ``path`` (a temporary folder), one array per key."""

    kind = "weights_round_trip"
    collects = "the files written by save_weights and the arrays load_weights gives back"
    compares_with = "the seeded parameters that were saved"
    FILE = "weights.npz"

    def __init__(self, sizes=(3, 4, 2), seed=0, name=None, points=1.0):
        super().__init__(name or "save_weights / load_weights round trip", points, seed)
        self.sizes = [int(s) for s in sizes]

    def inputs(self):
        rng = self.rng()
        return {f"{p}{l}": rng.normal(size=(a, b) if p == "W" else (b,))
                for l, (a, b) in enumerate(zip(self.sizes, self.sizes[1:]), start=1) for p in "Wb"}

    def collect(self, student):
        save, load = student
        params = self.inputs()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, self.FILE)
            call_student(save, path, {k: v.copy() for k, v in params.items()},
                         what="save_weights(path, params)")
            files = sorted(os.listdir(folder))
            stored = []
            if self.FILE in files:
                try:
                    with np.load(path, allow_pickle=False) as f:
                        stored = sorted(f.files)
                except Exception:  # noqa: BLE001 (not an npz file: the judge says so)
                    stored = None
            back = call_student(load, path, what="load_weights(path)")
            keys = getattr(back, "files", None) or (list(back.keys()) if hasattr(back, "keys") else None)
            if keys is None:
                raise StudentError(f"load_weights returned a {type(back).__name__}, expected a "
                                   "dict of arrays")
            loaded = {}
            for key in keys:
                value = call_student(lambda k=key: back[k], what=f"reading {key!r} of load_weights' result")
                loaded[str(key)] = to_array(value, f"load_weights(path)[{key!r}]", dtype=None)
        return {"files": files, "stored": stored, "loaded": loaded}

    def verdict(self, ev):
        params = self.inputs()
        files = [str(f) for f in ev["files"]]
        if self.FILE not in files:
            return self.failed(f"save_weights(path, params) did not write the file it was given "
                               f"(the folder holds {files}): save to `path`")
        stored = ev["stored"]
        if stored is None or stored == ["arr_0"]:
            return self.failed("the file holds the whole dict as one pickled object: pass "
                               "the arrays to np.savez as keyword arguments, so that every "
                               "array is saved under its key")
        loaded = {k: evidence_array(v, k) for k, v in ev["loaded"].items()}
        if set(loaded) != set(params):
            positional = {f"arr_{i}" for i in range(len(params))}  # arrays passed positionally
            if isinstance(stored, list) and set(map(str, stored)) == positional:
                return self.failed(
                    f"load_weights gave back the keys {sorted(loaded)}, expected "
                    f"{sorted(params)}: the file holds arr_0 ... arr_{len(params) - 1}, the "
                    "names np.savez gives arrays passed positionally; save them by name, as "
                    "keyword arguments, so that every array keeps its key")
            return self.failed(f"load_weights gave back the keys {sorted(loaded)}, expected "
                               f"{sorted(params)}")
        for key, value in params.items():
            got = loaded[key]
            if got.shape != value.shape or not np.array_equal(got, value):
                return self.failed(f"{key} came back different (shape {got.shape}, expected "
                                   f"{value.shape}): store the arrays unchanged, in float64")
        return self.passed()


check_weights_round_trip = WeightsRoundTripCheck.function(
    "check_weights_round_trip", "save_weights", "load_weights")
