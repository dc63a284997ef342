"""The make-up of a model: the sizes of its parameter tensors.

* ``check_parameter_sizes(model, sizes)``: the multiset of trainable tensor sizes equals
  ``sizes`` (names are the student's own, so only sizes are compared).
The layer types of a model are only the kernel's word (a list of names), so no check scores
them; a batch-norm layer shows up here as tensors of unexpected sizes.
"""
from __future__ import annotations

from collections import Counter

from ..core import Check
from .params import parameter_rows, trainable


class ParameterSizesCheck(Check):
    """The model's trainable parameter tensors have exactly the element counts ``sizes``."""

    kind = "parameter_sizes"
    collects = "the element counts of the model's trainable parameter tensors"
    compares_with = "the expected sizes"

    def __init__(self, sizes, name=None, points=1.0):
        super().__init__(name or "sizes of the parameter tensors", points, 0)
        self.sizes = sorted(int(s) for s in sizes)

    def collect(self, model):
        return {"rows": parameter_rows(model)}

    def verdict(self, ev):
        try:
            rows = trainable(ev["rows"])
        except (TypeError, ValueError, KeyError):
            return self.failed("the recorded parameter list is malformed")
        got = Counter(count for _, _, count in rows)
        want = Counter(self.sizes)
        if got == want:
            return self.passed(f"{len(self.sizes)} parameter tensors of the expected sizes")
        missing, extra = sorted((want - got).elements()), sorted((got - want).elements())
        names = {count: name for name, _, count in rows}
        text = []
        if missing:
            text.append(f"no tensor of size {', '.join(f'{m:,}' for m in missing)}")
        if extra:
            text.append("unexpected tensors " + ", ".join(f"{names[e]} ({e:,})" for e in extra))
        hint = ""
        if not extra and missing and all(m in want and m < 200 for m in missing):
            hint = ": a layer has no bias (bias=False?)"
        return self.failed("; ".join(text) + hint + f" (expected sizes {self.sizes})")


check_parameter_sizes = ParameterSizesCheck.function("check_parameter_sizes", "model")
