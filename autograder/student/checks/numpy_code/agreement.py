"""Two implementations of one layer (A4's loop and im2col convolutions) compared with each
other and, optionally, with torch: the check names the one that is wrong.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import to_array
from ..compare import compare
from ..core import Check, StudentError
from .layer_mistakes import conv_forward_mistakes
from .layers import _run_layer, _seed_params, _student_params, reference_gradients


class LayersAgreeCheck(Check):
    """Two implementations of one layer (loop vs im2col) agree: forward, dx and grads.

    The same seeded parameters are written into both layers first. With ``reference``
    (e.g. "conv2d" and its options stride, pad) each is compared with torch too: the check
    names the one that is wrong and fails only when ``layer_b`` is.
    """

    kind = "layers_agree"
    collects = "forward, dx and gradients of both layers on the same seeded parameters and input"
    compares_with = "each other, and the torch reference layer where one is named"

    def __init__(self, x_shape, seed=0, name=None, points=1.0, reference=None,
                 labels=("the first layer", "the second layer"), **options):
        super().__init__(name or "two implementations agree", points, seed)
        self.x_shape, self.reference, self.options = tuple(x_shape), reference, options
        self.labels = tuple(labels)

    def collect(self, layers):
        first, second = layers
        params_a = _student_params(first, ())
        params_b = _student_params(second, sorted(params_a))
        for key, value in params_a.items():
            if np.shape(params_b[key]) != np.shape(value):
                raise StudentError(f"the two layers' {key!r} have different shapes "
                                   f"{np.shape(value)} and {np.shape(params_b[key])}")
        values = _seed_params(params_a, sorted(params_a), self.rng("params"))
        _seed_params(params_b, sorted(params_a), self.rng("params"))
        x = self.rng("x").normal(0, 1, self.x_shape)
        results = []
        for layer in (first, second):
            out, dout, dx, grads = _run_layer(layer, x, self.rng("dout"))
            grads = grads if isinstance(grads, dict) else {}
            results.append({"out": out, "dout": dout, "dx": dx, "grads": {
                k: to_array(grads[k], f"grads[{k!r}]") for k in values if k in grads}})
        return {"a": results[0], "b": results[1], "names": sorted(values), "params": values}

    def _disagreement(self, got, want, names, tol, mistakes=None) -> str | None:
        """The first difference between one layer's results and ``want``'s, or None
        (unusable values, such as a wrong shape, are a difference too); ``mistakes``:
        {message: forward output} of known wrong forward passes."""
        try:
            return self._first_difference(got, want, names, tol, mistakes)
        except StudentError as err:
            return str(err)

    def _first_difference(self, got, want, names, tol, mistakes=None) -> str | None:
        problem = compare("forward(x)", got["out"], np.asarray(want["out"]), tol,
                          mistakes=mistakes)
        problem = problem or compare("dx", got["dx"], np.asarray(want["dx"]), tol)
        for name in names:
            if name not in got["grads"]:
                return f"it stores no gradient of {name}"
            problem = problem or compare(f"gradient of {name}", got["grads"][name],
                                         np.asarray(want["grads"][name]), tol)
        return problem

    def verdict(self, ev):
        a, b, names = ev["a"], ev["b"], ev["names"]
        first, second = self.labels
        if self.reference is None:
            problem = self._disagreement(b, a, names, tolerances.AGREE)
            if problem:
                return self.failed(f"{second} disagrees with {first}: {problem}")
            return self.passed("both implementations agree")
        x = self.rng("x").normal(0, 1, self.x_shape)
        params = {k: np.asarray(v, dtype=np.float64) for k, v in ev["params"].items()}
        out, dx, grads = reference_gradients(self.reference, x, params,
                                             np.asarray(b["dout"]), self.options)
        want = {"out": out, "dx": dx, "grads": grads or {}}
        known = conv_forward_mistakes(out) if self.reference == "conv2d" else None
        wrong_b = self._disagreement(b, want, names, tolerances.LAYER, known)
        wrong_a = self._disagreement(a, want, names, tolerances.LAYER, known)
        if wrong_b:
            also = f" ({first} is wrong too)" if wrong_a else f" ({first} is right)"
            return self.failed(f"{second} disagrees with the reference{also}: {wrong_b}")
        if wrong_a:
            return self.passed(f"{second} matches the reference; {first} does not, which "
                               "its own test reports (it costs nothing here)")
        return self.passed("both implementations agree with the reference")


check_layers_agree = LayersAgreeCheck.function(
    "check_layers_agree", "layer_a", "layer_b", after=("reference", "labels"))
