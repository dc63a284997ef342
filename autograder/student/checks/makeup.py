"""The make-up of a model: the sizes of its parameter tensors and the layer types it uses.

* ``check_parameter_sizes(model, sizes)``: the multiset of trainable tensor sizes equals
  ``sizes`` (names are the student's own, so only sizes are compared).
* ``check_no_layers(model, ("BatchNorm", "Dropout"))``: no module whose class name starts
  with one of the given prefixes.
"""
from __future__ import annotations

from collections import Counter

from .core import Check, StudentError, run
from .params import parameter_rows, trainable


class ParameterSizesCheck(Check):
    kind = "parameter_sizes"

    def __init__(self, sizes, name=None, points=1.0):
        super().__init__(name or "sizes of the parameter tensors", points, 0)
        self.sizes = sorted(int(s) for s in sizes)

    def collect(self, model):
        return {"rows": parameter_rows(model)}

    def judge(self, ev):
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


def check_parameter_sizes(model, sizes, name=None, points=1.0, raise_on_fail=True):
    """The model's trainable parameter tensors have exactly the element counts ``sizes``."""
    return run(ParameterSizesCheck(sizes, name, points), model, raise_on_fail)


class NoLayersCheck(Check):
    kind = "no_layers"

    def __init__(self, prefixes=("BatchNorm", "Dropout"), name=None, points=1.0):
        super().__init__(name or f"no {' or '.join(prefixes)} layers", points, 0)
        self.prefixes = [str(p) for p in prefixes]

    def collect(self, model):
        if not hasattr(model, "named_modules"):
            raise StudentError(f"got a {type(model).__name__}, expected a torch nn.Module")
        return {"modules": [[name, type(m).__name__] for name, m in model.named_modules()]}

    def judge(self, ev):
        modules = ev.get("modules")
        if not isinstance(modules, list):
            return self.failed("the recorded module list is malformed")
        found = [(str(n), str(t)) for n, t in modules
                 if any(str(t).startswith(p) for p in self.prefixes)]
        if found:
            listed = ", ".join(f"{t} ({n or 'the model'})" for n, t in found)
            return self.failed(f"the model has {listed}; this network has no "
                               f"{' or '.join(self.prefixes)} layers")
        return self.passed(f"no {' or '.join(self.prefixes)} layers")


def check_no_layers(model, prefixes=("BatchNorm", "Dropout"), name=None, points=1.0,
                    raise_on_fail=True):
    """No module of ``model`` has a class name starting with one of ``prefixes``."""
    return run(NoLayersCheck(prefixes, name, points), model, raise_on_fail)
