"""The check of a hand-filled parameter table: per layer, the shapes of the weight and the bias
and the number of parameters, as a student works them out for a model before building it.

``check_parameter_table(table, reference)``: ``table`` is {layer: {"weight": shape, "bias":
shape, "count": int}}; ``reference`` is {layer: (weight shape, bias shape)}, and the counts
are derived from its shapes. The collect half only reads the student's dict into plain
lists and numbers; the judge names every wrong cell (a transposed nn.Linear weight among
them), missing layer and unexpected one.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Check, StudentError

__all__ = ["check_parameter_table"]


def _shape(value):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return "invalid"


class ParameterTableCheck(Check):
    """A hand-filled table {layer: {"weight": shape, "bias": shape, "count": int}} against
    ``reference`` {layer: (weight shape, bias shape)} (counts derived from the shapes)."""

    kind = "parameter_table"
    collects = "the student's hand-filled table"
    compares_with = "the reference shapes and the counts derived from them"

    def __init__(self, reference, name=None, points=1.0):
        super().__init__(name or "parameter table", points, 0)
        self.reference = {layer: (tuple(w), tuple(b)) for layer, (w, b) in reference.items()}

    def collect(self, table):
        if not isinstance(table, dict):
            raise StudentError(f"the table is a {type(table).__name__}, expected a dict "
                               "{layer: {'weight': shape, 'bias': shape, 'count': int}}")
        rows = {}
        for layer, row in table.items():
            if not isinstance(row, dict):
                raise StudentError(f"row {layer!r} is a {type(row).__name__}, expected a dict with "
                                   "'weight', 'bias' and 'count'")
            count = row.get("count")
            try:
                count = None if count is None else int(count)
            except (TypeError, ValueError):
                count = "invalid"
            rows[str(layer)] = {"weight": _shape(row.get("weight")), "bias": _shape(row.get("bias")),
                                "count": count}
        return {"rows": rows}

    def verdict(self, ev):
        rows = ev["rows"]
        problems = []
        for layer, (weight, bias) in self.reference.items():
            row = rows.get(layer)
            if row is None:
                problems.append(f"layer {layer} is missing")
                continue
            for field, want in (("weight", weight), ("bias", bias)):
                got = row[field]
                if got is None or got == "invalid":
                    problems.append(f"{layer}: {field} shape not filled in (a tuple of ints)")
                elif tuple(got) != want:
                    hint = ""
                    if len(want) == 2 and tuple(got) == want[::-1]:
                        hint = " (transposed: nn.Linear stores (out_features, in_features))"
                    elif field == "weight":
                        hint = self._flatten_hint(layer, tuple(got), want)
                    problems.append(f"{layer}: {field} shape {tuple(got)}, expected {want}{hint}")
            want_count = math.prod(weight) + math.prod(bias)
            own_count = (math.prod(row["weight"]) + math.prod(row["bias"])
                         if all(isinstance(row[f], list) for f in ("weight", "bias")) else None)
            if row["count"] != want_count and not (problems and row["count"] == own_count):
                problems.append(f"{layer}: count {row['count']}, expected {want_count:,}")
        extra = sorted(set(rows) - set(self.reference))
        if extra:
            problems.append(f"unexpected layers: {', '.join(extra)}")
        if problems:
            return self.failed("; ".join(problems))
        total = sum(math.prod(w) + math.prod(b) for w, b in self.reference.values())
        return self.passed(f"all {len(self.reference)} layers correct ({total:,} parameters)")

    def _flatten_hint(self, layer, got, want) -> str:
        """For the first linear layer after the convolutions: its in_features is channels x
        height x width of the last feature maps. When the student's number is the same
        channels times another square size, say which sizes the two numbers mean."""
        if len(got) != 2 or len(want) != 2 or got[0] != want[0]:
            return ""
        layers = list(self.reference)
        convs = [w for w, _ in (self.reference[n] for n in layers[:layers.index(layer)]) if len(w) == 4]
        if not convs:
            return ""
        channels = convs[-1][0]
        sides = [math.isqrt(n // channels) if n % channels == 0 else 0 for n in (got[1], want[1])]
        if not all(sides) or any(s * s * channels != n for s, n in zip(sides, (got[1], want[1]))):
            return ""
        (g, w), c = sides, channels
        lenet = " (5x5 is their size in LeNet on 32x32 images)" if (g, w, c) == (5, 4, 16) else ""
        return (f": {layer} was given {c}*{g}*{g} = {got[1]} inputs ({c} feature maps of "
                f"{g}x{g}) instead of {c}*{w}*{w} = {want[1]}: for this model's input the last "
                f"feature maps are {w}x{w} when they are flattened{lenet}")


check_parameter_table = ParameterTableCheck.function("check_parameter_table", "table")
