"""A function's values on fresh inputs, against the grader's reference of the same name.

For small exercises whose reference would be the answer (a one-line helper), the
reference lives on the grader side only (``register_reference("values:NAME", fn)``). In a
student's own Jupyter the check verifies what it can (a numeric result of the input's
shape) and says the values are compared at grading.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import to_array
from ..compare import compare
from ..core import Check, call_student, grader_reference


class ValuesCheck(Check):
    """``function(x)`` against the grader's reference ``reference`` on fresh random x.

    Input x: float64 array of ``shape``. The output must have the same shape.
    """

    kind = "values"
    collects = "function(x) on seeded random x"
    compares_with = (
        "the grader's reference function registered as values:NAME "
        "(source/grader_references.py)")
    needs_reference = "values:<reference>"

    def __init__(self, reference: str, shape=(5,), scale=3.0, seed=0, name=None, points=1.0):
        super().__init__(name or f"{reference}(x) on random inputs", points, seed)
        self.reference, self.shape, self.scale = reference, tuple(shape), float(scale)

    def inputs(self) -> dict:
        """x: float64 array of ``shape``, normal with std ``scale``."""
        return {"x": self.rng("x").normal(0, self.scale, self.shape)}

    def collect(self, function) -> dict:
        x = self.inputs()["x"]
        what = f"{self.reference}(x)"
        return {"y": to_array(call_student(function, x.copy(), what=what), what)}

    def verdict(self, evidence) -> object:
        x = self.inputs()["x"]
        y = np.asarray(evidence["y"], dtype=np.float64)
        if y.shape != x.shape:
            return self.failed(f"{self.reference}(x) has shape {y.shape} for an input of shape "
                               f"{x.shape}; it should keep the input's shape")
        reference = grader_reference(f"values:{self.reference}")
        if reference is None:
            return self.passed(f"{self.reference}(x) returns an array of the right shape; its "
                               "values are compared with a reference when your work is graded",
                               deferred=True)
        problem = compare(f"{self.reference}(x)", y, np.asarray(reference(x.copy())),
                          tolerances.VALUE)
        return self.failed(problem) if problem else self.passed()


check_values = ValuesCheck.function("check_values", "function")
