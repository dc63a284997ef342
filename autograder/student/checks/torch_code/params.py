"""Parameter counts of a model, and checks that show which layer is off.

The collect half lists every parameter tensor (name, shape, trainable); only the judge
adds them up. A counting function is an exercise (A2), so none is offered here.

The rows are the kernel's word, so a total alone proves nothing: with ``layers`` the judge
requires every trainable tensor to be one the test names, with the count or shape it gives
(a forger must know the whole layout, which is the exercise's answer), and rebuilds the
expected total from that layout.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from .model_faults import unregistered_modules, unregistered_message


def parameter_shapes(obj) -> list[tuple[str, tuple, bool]]:
    """(name, shape, trainable) for a torch module or a dict/list of NumPy arrays."""
    if hasattr(obj, "named_parameters"):
        return [(n, tuple(p.shape), bool(p.requires_grad)) for n, p in obj.named_parameters()]
    if isinstance(obj, dict):
        return [(str(k), tuple(np.shape(v)), True) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [(str(i), tuple(np.shape(v)), True) for i, v in enumerate(obj)]
    raise StudentError(f"cannot count the parameters of a {type(obj).__name__}: pass a torch "
                       "nn.Module or a dict/list of NumPy arrays")


def parameter_rows(obj) -> list:
    """Collect half: [name, shape, number of elements, trainable] per parameter tensor."""
    return [[n, list(s), int(np.prod(s)), t] for n, s, t in parameter_shapes(obj)]


def trainable(rows) -> list[tuple[str, tuple, int]]:
    """Judge half: (name, shape, count) of the trainable rows of ``parameter_rows``."""
    return [(str(n), tuple(s), int(c)) for n, s, c, t in rows if t is True]


def _table(rows, expected_layers) -> str:
    lines = [f"{'parameter':<28}{'shape':<20}{'count':>10}{'expected':>10}"]
    for name, shape, count in rows:
        want = "" if expected_layers is None else expected_layers.get(name, "?")
        lines.append(f"{name:<28}{str(shape):<20}{count:>10}{str(want):>10}")
    return "\n".join(lines)


def _fits(row, want) -> bool:
    """A row (count, shape) against a layout entry: a shape (tuple/list) or a count."""
    count, shape = row
    if isinstance(want, (tuple, list)):
        return tuple(int(n) for n in want) == tuple(shape) and count == int(np.prod(want))
    return count == int(want)


def _bias_sizes(rows) -> int:
    """How many bias parameters the weight matrices/kernels imply (torch: dim 0)."""
    return sum(shape[0] for _, shape, _ in rows if len(shape) >= 2)


def _layers_without_bias(rows) -> dict[str, int]:
    """{layer: biases it would have} for the weights ("<layer>.weight", 2-D or more) that
    have no "<layer>.bias" row, when some other layer has one (so biases are expected)."""
    names = {name for name, _, _ in rows}
    missing = {name[:-len(".weight")]: shape[0] for name, shape, _ in rows
               if name.endswith(".weight") and len(shape) >= 2
               and name[:-len(".weight")] + ".bias" not in names}
    return missing if any(name.endswith(".bias") for name in names) else {}


class ParameterCountCheck(Check):
    """The trainable parameters of a model (or dict of arrays) add up to ``expected``.

    layers: optional {parameter name: expected count or shape}, shown in the table.
    """

    kind = "parameter_count"
    collects = "the model's trainable parameter names and sizes"
    compares_with = "the expected total and per-layer counts or shapes"

    def __init__(self, expected, name="parameter count", layers=None, points=1.0):
        super().__init__(name, points, 0)
        self.expected, self.layers = int(expected), layers

    def collect(self, obj):
        return {"rows": parameter_rows(obj), "unregistered": unregistered_modules(obj)}

    def verdict(self, ev):
        rows = trainable(ev["rows"])
        total = sum(c for _, _, c in rows)
        table = _table(rows, self.layers)
        wrong_layers = []
        if self.layers:
            got = {n: (c, s) for n, s, c in rows}
            for name, want in self.layers.items():
                if name not in got or not _fits(got[name], want):
                    wrong_layers.append(name)
            wrong_layers += [name for name in got if name not in self.layers]
        if total == self.expected and not wrong_layers:
            return self.passed(f"{total:,} trainable parameters", table=table, total=total)
        cause = ""
        unbiased = _layers_without_bias(rows)
        if self.expected - total > 0 and self.expected - total == _bias_sizes(rows):
            cause = " That is exactly the number of biases the layers should have: are bias=False or the biases left out?"
        elif unbiased and self.expected - total == sum(unbiased.values()):
            cause = (" That is exactly the number of biases of the layers without one "
                     f"({', '.join(unbiased)}): built with bias=False?")
        plain = ev.get("unregistered")
        cause = cause or unregistered_message(plain if isinstance(plain, list) else [], total,
                                              self.expected)
        if wrong_layers:
            cause += f" Layers that differ: {', '.join(wrong_layers)}."
        return self.failed(f"{total:,} trainable parameters, expected {self.expected:,} "
                           f"(difference {total - self.expected:+,}).{cause}\n{table}", table=table)


check_parameter_count = ParameterCountCheck.function("check_parameter_count", "obj")


def random_models(seed: int, n: int = 3):
    """Small torch models with varied layers, some frozen, for testing a counting function."""
    import torch
    from torch import nn

    rng = np.random.default_rng(seed)
    models = []
    for i in range(n):
        c1, c2, h = (int(v) for v in rng.integers(2, 9, 3))
        model = nn.Sequential(nn.Conv2d(1, c1, 3, bias=bool(rng.integers(2))), nn.ReLU(),
                              nn.BatchNorm2d(c1), nn.Conv2d(c1, c2, 3), nn.Flatten(),
                              nn.Linear(c2 * 4, h),
                              nn.Linear(h, 10))
        if i == 0 or rng.integers(2):  # the first model always has a frozen layer
            for p in model[0].parameters():
                p.requires_grad_(False)
        model.register_buffer("not_a_parameter", torch.zeros(int(rng.integers(1, 50))))
        models.append(model)
    return models


class CountFunctionCheck(Check):
    """A student's ``count_parameters(model)`` on seeded random models (some frozen layers)."""

    kind = "count_function"
    collects = "count_parameters on seeded random models"
    compares_with = "the trainable parameter counts of those models"

    def __init__(self, seed=0, n_models=3, name="count_parameters on other models", points=1.0):
        super().__init__(name, points, seed)
        self.n_models = n_models

    def _models(self):
        return random_models(int(self.rng().integers(2 ** 31)), self.n_models)

    def collect(self, count_fn):
        counts = []
        for model in self._models():
            value = call_student(count_fn, model, what="count_parameters(model)")
            try:
                counts.append(int(value))
            except (TypeError, ValueError):
                raise StudentError(f"count_parameters returned {value!r}, expected an int") from None
        return {"counts": counts}

    def verdict(self, ev):
        if not isinstance(ev["counts"], list) or len(ev["counts"]) != self.n_models:
            return self.failed(f"counts for {self.n_models} models were expected, the record "
                               "holds something else")
        for i, (got, model) in enumerate(zip(ev["counts"], self._models())):
            rows = parameter_shapes(model)
            expected = sum(int(np.prod(s)) for _, s, t in rows if t)
            everything = sum(int(np.prod(s)) for _, s, _ in rows)
            buffers = sum(b.numel() for b in model.buffers())
            weights_only = {sum(int(np.prod(s)) for _, s, t in rows if t and len(s) >= 2),
                            sum(int(np.prod(s)) for _, s, _ in rows if len(s) >= 2)}
            if got == expected:
                continue
            cause = ""
            if got == everything:
                cause = ": it counted frozen parameters too (requires_grad=False); count only trainable ones"
            elif got == everything + buffers:
                cause = (": it counted model.state_dict() (or the buffers too), which also holds "
                         "buffers such as BatchNorm's running mean and variance, and the frozen "
                         "parameters; count p.numel() over model.parameters() with requires_grad")
            elif got == expected + buffers:
                cause = (": it counted the buffers too (model.buffers(), e.g. BatchNorm's running "
                         "statistics): they are not parameters")
            elif got in weights_only:
                cause = ": it counted only the weights; biases are parameters too"
            elif got == len([r for r in rows if r[2]]):
                cause = ": it counted parameter tensors, not their elements (use p.numel())"
            return self.failed(f"model {i}: got {got:,}, expected {expected:,}{cause}")
        return self.passed()


check_count_function = CountFunctionCheck.function("check_count_function", "count_fn")
