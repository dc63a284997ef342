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
                    problems.append(f"{layer}: {field} shape {tuple(got)}, expected {want}{hint}")
            want_count = math.prod(weight) + math.prod(bias)
            if row["count"] != want_count:
                problems.append(f"{layer}: count {row['count']}, expected {want_count:,}")
        extra = sorted(set(rows) - set(self.reference))
        if extra:
            problems.append(f"unexpected layers: {', '.join(extra)}")
        if problems:
            return self.failed("; ".join(problems))
        total = sum(math.prod(w) + math.prod(b) for w, b in self.reference.values())
        return self.passed(f"all {len(self.reference)} layers correct ({total:,} parameters)")


check_parameter_table = ParameterTableCheck.function("check_parameter_table", "table")
