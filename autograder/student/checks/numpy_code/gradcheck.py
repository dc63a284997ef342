"""A student's own gradient checker (A1): central differences and a relative error.

The kit offers no numerical differentiation (it would differentiate for students in the
from-scratch assignments), so the students write it. The judge knows the exact gradient
of the test function in closed form, and the closed-form error of the usual mistakes
(forward differences, a step of h instead of 2h), so it needs no differencing of its own.

* ``check_numerical_gradient(numerical_gradient)``: ``numerical_gradient(f, x)`` -> array
  shaped like x, on f(x) = sum(w * sin(x)), without changing x.
* ``check_relative_error(relative_error)``: ``relative_error(a, b)`` -> the number
  max |a - b| / max(|a| + |b|, 1e-12) over all entries.
"""
from __future__ import annotations

import numpy as np

from ..convert import to_array
from ..compare import compare
from ..core import Check, StudentError, call_student

STEP = 1e-5       # the h the notebook asks for
# Central differences at h=1e-5 on f = sum(w sin x) err by about 1e-10 in absolute terms
# (rounding of f over 2h, and h**2/6 times the third derivative): large relative to a
# gradient entry near 0, so errors are taken relative to at least FLOOR. Forward
# differences err by about h/2 |w sin x|, some 5e-6, far above TOLERANCE * FLOOR.
TOLERANCE = 1e-6
FLOOR = 1e-3


class NumericalGradientCheck(Check):
    """``numerical_gradient(f, x)`` (central differences, h = 1e-5) on f = sum(w sin(x))."""

    kind = "numerical_gradient"
    collects = "the numerical gradient, how often f was called and whether x was changed"
    compares_with = "the analytic gradient of f = sum(w sin(x))"

    def __init__(self, shape=(3, 4), seed=0, name=None, points=1.0):
        super().__init__(name or f"numerical_gradient on a {tuple(shape)} input", points, seed)
        self.shape = tuple(shape)

    def inputs(self) -> dict:
        """x, w: float64 arrays of ``shape``; f(x) = sum(w * sin(x))."""
        rng = self.rng("x")
        return {"x": rng.normal(0, 1.5, self.shape), "w": rng.normal(0, 1, self.shape)}

    def collect(self, numerical_gradient) -> dict:
        inp = self.inputs()
        x, w = inp["x"].copy(), inp["w"]
        calls = []

        def f(value):
            calls.append(1)
            return float(np.sum(w * np.sin(np.asarray(value, dtype=np.float64))))

        grad = call_student(numerical_gradient, f, x, what="numerical_gradient(f, x)")
        return {"grad": to_array(grad, "numerical_gradient(f, x)"),
                "x_change": float(np.max(np.abs(x - inp["x"]))), "calls": len(calls)}

    def verdict(self, ev):
        inp = self.inputs()
        x, w = inp["x"], inp["w"]
        exact = w * np.cos(x)
        grad = np.asarray(ev["grad"], dtype=np.float64)
        if grad.shape != x.shape:
            return self.failed(f"numerical_gradient returned shape {grad.shape} for x of shape "
                               f"{x.shape}: return one partial derivative per entry of x")
        if ev["x_change"] > 1e-12:
            return self.failed(f"numerical_gradient changed x (by up to {ev['x_change']:.2g}): "
                               "put x[i] back to its old value after each perturbation")
        if ev["calls"] < x.size:
            return self.failed(f"numerical_gradient called f only {ev['calls']} times for "
                               f"{x.size} entries: perturb every entry of x (np.nditer or a "
                               "loop over x.size with x.reshape(-1))")
        mistakes = {
            "these are forward differences (f(x+h) - f(x)) / h, whose error is O(h); use "
            "central differences (f(x+h) - f(x-h)) / (2h)":
                exact - STEP / 2 * w * np.sin(x),
            "the central difference was divided by h instead of 2h": 2 * exact,
        }
        problem = compare("numerical_gradient(f, x)", grad, exact, TOLERANCE, floor=FLOOR,
                          mistakes=mistakes)
        return self.failed(problem) if problem else self.passed(
            "matches the exact gradient of a test function")


check_numerical_gradient = NumericalGradientCheck.function(
    "check_numerical_gradient", "numerical_gradient")


def _pairs(rng, shape) -> list:
    """(a, b) pairs that tell the usual formulas apart: generic, equal, zeros, opposite."""
    a, b = rng.normal(0, 1, shape), rng.normal(0, 1, shape)
    return [(a, b), (a, a.copy()), (np.zeros(shape), np.zeros(shape)), (a, -a),
            (10 * a, 10 * a + rng.normal(0, 1e-3, shape))]


class RelativeErrorCheck(Check):
    """``relative_error(a, b)`` = max |a - b| / max(|a| + |b|, 1e-12) on chosen pairs."""

    kind = "relative_error"
    collects = "relative_error(a, b) on chosen pairs of arrays"
    compares_with = "the formula max |a - b| / max(|a| + |b|, 1e-12)"

    def __init__(self, shape=(4, 3), seed=0, name=None, points=1.0):
        super().__init__(name or "relative_error", points, seed)
        self.shape = tuple(shape)

    def collect(self, relative_error) -> dict:
        values = []
        for a, b in _pairs(self.rng("pairs"), self.shape):
            value = call_student(relative_error, a.copy(), b.copy(), what="relative_error(a, b)")
            array = to_array(value, "relative_error(a, b)")
            if array.size != 1:
                raise StudentError(f"relative_error(a, b) returned {array.size} numbers for "
                                   f"arrays of shape {self.shape}: return one number, the "
                                   "largest error over all entries")
            values.append(float(array.reshape(-1)[0]))
        return {"values": np.array(values)}

    def verdict(self, ev):
        got = np.asarray(ev["values"], dtype=np.float64)
        pairs = _pairs(self.rng("pairs"), self.shape)
        if got.shape != (len(pairs),):
            return self.failed("the recorded relative errors are malformed")
        want = np.array([np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12))
                         for a, b in pairs])
        if not np.isfinite(got[2]):
            return self.failed("relative_error of two zero arrays is not finite (0/0): guard "
                               "the denominator, max(|a| + |b|, 1e-12)")
        one_sided = np.array([np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))
                              for a, b in pairs])
        mean = np.array([np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12))
                         for a, b in pairs])
        mistakes = {"it divides by |a| only; divide by |a| + |b| so that neither array is "
                    "taken as the truth": one_sided,
                    "it averages over the entries; report the largest error (np.max)": mean}
        problem = compare("relative_error(a, b)", got, want, 1e-9, mistakes=mistakes)
        return self.failed(problem) if problem else self.passed()


check_relative_error = RelativeErrorCheck.function("check_relative_error", "relative_error")
