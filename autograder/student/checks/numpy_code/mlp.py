"""Checks on A1's MLP building blocks: ``init_params``, ``forward`` and ``predict``.

The judges use torch (imported lazily, mlp_passes.py) as the oracle of the forward pass and
plain statistics for the initialisers, so no answer to an exercise lives here.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import evidence_array, to_array
from ..judging import same
from .mlp_passes import forward_mistakes, torch_mlp

METHODS = ("uniform", "gaussian", "glorot")
BIG = (400, 300)  # the layer whose statistics are judged: 120,000 weights


def random_mlp(rng, sizes, batch):
    """Parameters (scaled like Glorot, biases non-zero) and inputs for a forward check."""
    params = {}
    for layer, (d_in, d_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0, 1.5 / np.sqrt(d_in), (d_in, d_out))
        params[f"b{layer}"] = rng.normal(0, 0.5, d_out)
    return params, rng.normal(0, 1, (batch, sizes[0]))


# ----------------------------------------------------------------------------- init_params

def _stats(w: np.ndarray) -> dict:
    return {"min": float(w.min()), "max": float(w.max()), "mean": float(w.mean()),
            "std": float(w.std())}


def _glorot_cause(top: float, fan_in: int, fan_out: int, std: float) -> str:
    """Name the usual wrong Glorot range from the largest |w| (None if none fits)."""
    r = np.sqrt(6 / (fan_in + fan_out))
    if top > r and abs(std - np.sqrt(2 / (fan_in + fan_out))) < 0.003:
        return "that is Glorot *normal* (std sqrt(2/(fan_in+fan_out))); draw U(-r, r) instead"
    # N(0, r): std r, and a normal tail (|w| beyond 3 std); U(-r, r) has std r/sqrt(3), and a
    # uniform with std r (range sqrt(3) r) stops at 1.73 std
    if top > 3 * std and abs(std - r) < 0.02 * r:
        return (f"the weights have std {std:.4g}, about r, and go beyond [-r, r]: they were "
                "drawn from a normal distribution N(0, r) (rng.normal(0, r, ...)) instead of "
                "U(-r, r); draw rng.uniform(-r, r, size), whose std is r/sqrt(3)")
    for value, text in ((np.sqrt(6 / fan_in), "sqrt(6/fan_in): use fan_in + fan_out"),
                        (np.sqrt(6 / fan_out), "sqrt(6/fan_out): use fan_in + fan_out"),
                        (np.sqrt(2 / (fan_in + fan_out)), "sqrt(2/(fan_in+fan_out)), the Glorot "
                         "normal std: the uniform range needs 6, not 2"),
                        (np.sqrt(1 / fan_in), "1/sqrt(fan_in)"),
                        (6 / (fan_in + fan_out), "6/(fan_in+fan_out): the square root is missing"),
                        (1.0, "1: the range r is not used")):
        if 0.97 * value <= top <= value * (1 + 1e-9):
            return f"your range matches r = {text}"
    return ""


class InitParamsCheck(Check):
    """``init_params(sizes, method, rng)`` for the three methods: keys W1, b1, ..., shapes
    (sizes[l-1], sizes[l]) and (sizes[l],), zero biases, the given rng used, and the
    statistics of each method on a 400x300 layer."""

    kind = "init_params"
    collects = "the parameter dicts of each method, their shapes and statistics on a 400x300 layer"
    compares_with = "the expected shapes, zero biases and each method's standard deviation"

    def __init__(self, sizes, seed=0, name=None, points=1.0):
        super().__init__(name or f"init_params {'-'.join(map(str, sizes))}", points, seed)
        self.sizes = [int(s) for s in sizes]

    def inputs(self):
        return {"seeds": [int(s) for s in self.rng().integers(0, 2 ** 31, 3)]}

    def _call(self, init_params, sizes, method, seed):
        params = call_student(init_params, list(sizes), method, np.random.default_rng(seed),
                              what=f"init_params({list(sizes)}, {method!r}, rng)")
        if not isinstance(params, dict):
            raise StudentError(f"init_params returned a {type(params).__name__}, expected a dict "
                               "{'W1': ..., 'b1': ..., ...}")
        return {str(k): to_array(v, f"{method}: params[{k!r}]", np.float64) for k, v in params.items()}

    def collect(self, init_params):
        seeds = self.inputs()["seeds"]
        evidence = {}
        for method in METHODS:
            evidence[method] = self._call(init_params, self.sizes, method, seeds[0])
            big = self._call(init_params, [self.sizes[0], *BIG], method, seeds[1])
            if "W2" not in big or big["W2"].size == 0:
                raise StudentError(f"{method}: init_params({[self.sizes[0], *BIG]}) has no W2")
            evidence[f"{method}_big"] = _stats(big["W2"])
        again = self._call(init_params, self.sizes, "glorot", seeds[0])
        other = self._call(init_params, self.sizes, "glorot", seeds[2])
        evidence["glorot_again"], evidence["glorot_other"] = again.get("W1"), other.get("W1")
        return evidence

    def verdict(self, ev):
        sizes = self.sizes
        expected = {f"{p}{l}" for l in range(1, len(sizes)) for p in "Wb"}
        for method in METHODS:
            params = {k: evidence_array(v, k) for k, v in ev[method].items()}
            if set(params) != expected:
                hint = (" (layers are numbered from 1: W1, b1, ...)" if "W0" in params else "")
                return self.failed(f"{method}: keys {sorted(params)}, expected {sorted(expected)}{hint}")
            for l in range(1, len(sizes)):
                W, b, want = params[f"W{l}"], params[f"b{l}"], (sizes[l - 1], sizes[l])
                if W.shape != want:
                    hint = (": transposed; W{l} is (fan_in, fan_out) = (sizes[l-1], sizes[l])"
                            if W.shape == want[::-1] else "")
                    return self.failed(f"{method}: W{l} has shape {W.shape}, expected {want}{hint}")
                if b.shape != (sizes[l],):
                    return self.failed(f"{method}: b{l} has shape {b.shape}, expected "
                                       f"{(sizes[l],)} (a 1-D vector)")
                if np.any(b != 0):
                    return self.failed(f"{method}: b{l} is not zero; biases start at zero, only "
                                       "the weights are random")
        first = evidence_array(ev["glorot"]["W1"], "W1")
        if not same(evidence_array(ev["glorot_again"], "W1"), first, 0):
            return self.failed("two calls with generators of the same seed gave different weights: "
                               "draw from the rng argument (rng.uniform, rng.normal), not np.random")
        if same(evidence_array(ev["glorot_other"], "W1"), first, 0):
            return self.failed("generators of different seeds gave the same weights: the rng "
                               "argument is ignored (a fixed seed inside init_params?)")
        result = self._statistics(ev)
        if not result.passed:
            return result
        for l in range(1, len(sizes)):  # the range follows each layer's own fans
            W, want = evidence_array(ev["glorot"][f"W{l}"], "W"), (sizes[l - 1], sizes[l])
            if np.abs(W).max() > np.sqrt(6 / sum(want)) * (1 + 1e-9):
                return self.failed(f"glorot: W{l} {want} reaches |w| = {np.abs(W).max():.4g}, "
                                   f"more than r = sqrt(6/({want[0]}+{want[1]})) = "
                                   f"{np.sqrt(6 / sum(want)):.4g}: use this layer's fan_in and fan_out")
        return result

    def _statistics(self, ev):
        fan_in, fan_out = BIG
        s = {m: {k: float(v) for k, v in ev[f"{m}_big"].items()} for m in METHODS}
        if same(list(s["uniform"].values()), list(s["glorot"].values()), 1e-12) or \
                same(list(s["gaussian"].values()), list(s["glorot"].values()), 1e-12):
            return self.failed("two methods gave the same weights: the method argument is "
                               "ignored (pick the initialiser with INITIALISERS[method])")
        u = s["uniform"]
        if u["min"] < -1 or u["max"] > 1 or u["max"] < 0.99 or u["min"] > -0.99:
            hint = (": rng.random draws from [0, 1); use rng.uniform(-1, 1, size)"
                    if u["min"] >= 0 else "")
            return self.failed(f"uniform: weights of a {fan_in}x{fan_out} layer span "
                               f"[{u['min']:.3g}, {u['max']:.3g}], expected to fill U(-1, 1){hint}")
        g = s["gaussian"]
        if abs(g["std"] - 0.1) > 0.005 or abs(g["mean"]) > 0.005:
            hint = ""
            if abs(g["std"] - 0.01) < 0.0005:
                hint = ": 0.01 is the variance 0.1**2; rng.normal takes the standard deviation"
            elif abs(g["std"] - 1) < 0.05:
                hint = ": rng.normal without scale; pass the std (scale=0.1)"
            return self.failed(f"gaussian: mean {g['mean']:.4f} and std {g['std']:.4f} over "
                               f"{fan_in * fan_out:,} weights, expected mean 0 and std 0.1{hint}")
        r = np.sqrt(6 / (fan_in + fan_out))
        gl = s["glorot"]
        top = max(abs(gl["min"]), gl["max"])
        if top > r * (1 + 1e-9) or top < 0.95 * r or abs(gl["mean"]) > 0.05 * r:
            cause = _glorot_cause(top, fan_in, fan_out, gl["std"])
            return self.failed(f"glorot: weights of a {fan_in}x{fan_out} layer span "
                               f"[{gl['min']:.4g}, {gl['max']:.4g}], expected to fill U(-r, r) with "
                               f"r = sqrt(6/({fan_in}+{fan_out})) = {r:.4g}"
                               + (f"; {cause}" if cause else ""))
        return self.passed()


check_init_params = InitParamsCheck.function("check_init_params", "init_params")


# ----------------------------------------------------------------------------- forward

class ForwardCheck(Check):
    """``forward(params, X, activation)`` -> (P, cache): P against torch's softmax MLP, and
    the cache's H0, A_l, H_l (1 <= l < L) and P keys with their values."""

    kind = "mlp_forward"
    collects = "P and the cache's keys and values on seeded parameters and batch"
    compares_with = "the same softmax MLP computed in torch"

    def __init__(self, sizes, activation="relu", batch=5, seed=0, name=None, points=1.0):
        super().__init__(name or f"forward {'-'.join(map(str, sizes))} {activation}", points, seed)
        self.sizes, self.activation, self.batch = [int(s) for s in sizes], activation, int(batch)

    def inputs(self):
        params, X = random_mlp(self.rng(), self.sizes, self.batch)
        return {"params": params, "X": X}

    def collect(self, forward):
        inp = self.inputs()
        result = call_student(forward, {k: v.copy() for k, v in inp["params"].items()},
                              inp["X"].copy(), self.activation, what="forward(params, X, activation)")
        if not isinstance(result, tuple) or len(result) != 2:
            raise StudentError(f"forward must return a pair (P, cache), got {type(result).__name__}")
        P, cache = result
        if not isinstance(cache, dict):
            raise StudentError(f"the cache is a {type(cache).__name__}, expected a dict")
        return {"P": to_array(P, "P", np.float64), "keys": sorted(str(k) for k in cache),
                "cache": {str(k): to_array(v, f"cache[{k!r}]", np.float64) for k, v in cache.items()
                          if str(k) == "H0" or str(k)[:1] in "AH" and str(k)[1:].isdigit()}}

    def verdict(self, ev):
        inp = self.inputs()
        ref = torch_mlp(inp["params"], inp["X"], self.activation)
        P, L = evidence_array(ev["P"], "P"), len(self.sizes) - 1
        if P.shape != ref["P"].shape:
            return self.failed(f"P has shape {P.shape}, expected (N, C) = {ref['P'].shape}")
        if not same(P, ref["P"], 1e-7):
            for message, wrong in forward_mistakes(inp["params"], inp["X"],
                                                   self.activation).items():
                if same(P, wrong, 1e-7):
                    return self.failed(f"the probabilities P are wrong: {message}")
            rows = "" if np.allclose(P.sum(axis=1), 1) else " (its rows do not sum to 1)"
            return self.failed(f"the probabilities P differ from the expected ones{rows}: max "
                               f"difference {np.abs(P - ref['P']).max():.3g}")
        needed = ["H0"] + [f"{p}{l}" for l in range(1, L) for p in "AH"] + ["P"]
        missing = [k for k in needed if k not in ev["keys"]]
        if missing:
            return self.failed(f"the cache is missing {missing} (it has {ev['keys']}): backward "
                               "needs every A_l and H_l")
        ref["H0"] = inp["X"]
        for key in needed[:-1]:
            got = evidence_array(ev["cache"][key], key)
            if same(got, ref[key], 1e-7):
                continue
            other = {"A": "H", "H": "A"}[key[0]] + key[1:]
            if other in ref and same(got, ref[other], 1e-7):
                return self.failed(f"cache[{key!r}] holds {other}: A_l is the pre-activation "
                                   "H_(l-1) W_l + b_l and H_l = f(A_l)")
            return self.failed(f"cache[{key!r}] has the wrong values (shape {got.shape}, "
                               f"expected {ref[key].shape})")
        return self.passed()


check_mlp_forward = ForwardCheck.function("check_mlp_forward", "forward")


# ----------------------------------------------------------------------------- predict

class PredictCheck(ForwardCheck):
    """``predict(params, X, activation)`` -> int labels (N,), the arg-max class."""

    kind = "mlp_predict"
    collects = "the predicted labels on seeded parameters and batch"
    compares_with = "the arg-max of the same MLP computed in torch"
    SHIFT = 100.0   # below every output score of these small networks, far above underflow

    def __init__(self, sizes, activation="relu", batch=20, seed=0, name=None, points=1.0):
        super().__init__(sizes, activation, batch, seed,
                         name or f"predict {'-'.join(map(str, sizes))} {activation}", points)

    def inputs(self):
        """The forward check's inputs, every output score lowered by SHIFT (100): softmax
        and its arg-max do not change when one number is added to every class's score,
        but a forward that applies a ReLU to the scores then clips every row to zeros
        (arg-max 0), so this check sees that on every row, not only where random scores
        all fell below zero."""
        inp = super().inputs()
        last = f"b{len(self.sizes) - 1}"
        inp["params"][last] = inp["params"][last] - self.SHIFT
        return inp

    def collect(self, predict):
        inp = self.inputs()
        labels = call_student(predict, {k: v.copy() for k, v in inp["params"].items()},
                              inp["X"].copy(), self.activation, what="predict(params, X, activation)")
        return {"labels": to_array(labels, "predict's result", dtype=None)}

    def verdict(self, ev):
        inp = self.inputs()
        P = torch_mlp(inp["params"], inp["X"], self.activation)["P"]
        labels, want = evidence_array(ev["labels"], "labels"), P.argmax(axis=1)
        if labels.shape == P.shape:
            return self.failed("predict returned an (N, C) array: return the class labels, "
                               "the arg-max along axis 1, shape (N,)")
        if labels.shape != want.shape:
            hint = " (arg-max along axis 0? use axis=1)" if labels.shape == (P.shape[1],) else ""
            return self.failed(f"predict returned shape {labels.shape}, expected (N,) = "
                               f"{want.shape}{hint}")
        if np.array_equal(labels, want):
            return self.passed()
        if self.activation != "relu" and np.array_equal(
                labels, torch_mlp(inp["params"], inp["X"], "relu")["P"].argmax(axis=1)):
            return self.failed(f"predict ignores activation={self.activation!r}: pass it on to forward")
        wrong = int((labels != want).sum())
        return self.failed(f"{wrong} of {len(want)} predicted labels differ from the arg-max "
                           "of the network's probabilities")


check_predict = PredictCheck.function("check_predict", "predict")
