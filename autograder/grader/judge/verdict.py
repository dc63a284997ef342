"""The judge's verdict on one test cell, as a typed record.

The judge decides a cell in its own process and sends the verdict to the coordinator,
which files it in the submission's grading record (record/grading_record.py); every
page reads it back from there. So the verdict is plain data with a version, written and
read by this module alone, and read strictly: a missing field, an unknown one or a value
of the wrong type is a :class:`VerdictError`, never a guess.

A check's facts travel as fields, so no page parses a message: the quantity compared,
its relative error and tolerance (a gradient), the accuracy, threshold, dataset and split
(a saved network), each None where it does not apply. The message is for reading only.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

VERSION = 1


class VerdictError(ValueError):
    """A verdict that is not one this version of the kit writes."""


@dataclass
class CheckVerdict:
    """One check of a cell: passed or not, its weight, its message and its facts."""

    name: str
    passed: bool
    message: str
    points: float = 0.0
    max_points: float = 1.0
    quantity: str | None = None        # what a comparison measured ("gradient of W1")
    relative_error: float | None = None  # its worst relative error, when it failed on it
    tolerance: float | None = None     # the relative error allowed
    accuracy: float | None = None      # the accuracy the judge measured
    per_class: list[float] | None = None  # the accuracy per class (10 numbers)
    threshold: float | None = None     # the accuracy required
    dataset: str | None = None         # "mnist", "cifar10"
    split: str | None = None           # "val", "test"

    @classmethod
    def from_result(cls, result) -> "CheckVerdict":
        """The verdict of a CheckResult the judge computed, its facts taken from the
        result's ``details`` and from a comparison's message (compare.Mismatch)."""
        facts = {**(getattr(result.message, "facts", None) or {}), **(result.details or {})}
        number = (lambda key: None if facts.get(key) is None else float(facts[key]))
        text = (lambda key: None if facts.get(key) is None else str(facts[key]))
        per_class = facts.get("per_class")
        return cls(str(result.name), bool(result.passed), str(result.message),
                   float(result.points), float(result.max_points), text("quantity"),
                   number("relative_error"), number("tolerance"), number("accuracy"),
                   None if per_class is None else [float(v) for v in per_class],
                   number("threshold"), text("dataset"), text("split"))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data) -> "CheckVerdict":
        values = _read(cls, data, "a check's verdict")
        if values["per_class"] is not None:
            values["per_class"] = [_number(v, "per_class") for v in values["per_class"]]
        return cls(**values)


@dataclass
class Verdict:
    """A test cell's score (its points times the weighted share of passing checks), its
    checks and the judge's notes (diagnose.py: why it probably failed)."""

    notebook: str
    passed: bool
    score: float
    max_score: float
    message: str
    checks: list[CheckVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)  # earlier failed cells it uses
    version: int = VERSION

    def add_note(self, note: str) -> None:
        """A cell-level explanation: listed under the cell's checks, and in its message."""
        self.notes.append(note)
        self.message += f" | {note}"

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["checks"] = [check.to_dict() for check in self.checks]
        return data

    @classmethod
    def from_dict(cls, data) -> "Verdict":
        values = _read(cls, data, "a cell's verdict")
        if values["version"] != VERSION:
            raise VerdictError(f"a cell's verdict of version {values['version']}; this kit "
                               f"reads version {VERSION}: grade the submission again")
        values["checks"] = [CheckVerdict.from_dict(c) for c in values["checks"]]
        for key in ("notes", "depends_on"):
            if not all(isinstance(v, str) for v in values[key]):
                raise VerdictError(f"a cell's verdict has {key} that are not all text")
        return cls(**values)


def verdicts_to_dict(verdicts: dict[str, Verdict]) -> dict[str, dict]:
    """{grade_id: verdict} as plain JSON data."""
    return {grade_id: verdict.to_dict() for grade_id, verdict in verdicts.items()}


def verdicts_from_dict(data) -> dict[str, Verdict]:
    """{grade_id: Verdict} from what verdicts_to_dict wrote; VerdictError if malformed."""
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise VerdictError("the verdicts are not a mapping from grade id to verdict")
    return {grade_id: Verdict.from_dict(v) for grade_id, v in data.items()}


# The JSON type each annotation allows (None where the annotation says ``| None``).
_TYPES = {"str": (str,), "bool": (bool,), "float": (int, float), "int": (int,),
          "list": (list,)}


def _read(cls, data, what: str) -> dict:
    """The fields of ``cls`` from the mapping ``data``, each of its declared type."""
    if not isinstance(data, dict):
        raise VerdictError(f"{what} is a {type(data).__name__}, not a mapping")
    names = [f.name for f in fields(cls)]
    unknown, missing = set(data) - set(names), set(names) - set(data)
    if unknown or missing:
        raise VerdictError(f"{what} has unknown fields {sorted(unknown)} or lacks "
                           f"{sorted(missing)}")
    values = {}
    for f in fields(cls):
        value, annotation = data[f.name], str(f.type)
        optional = annotation.endswith("| None")
        base = annotation.split("[")[0].split(" |")[0]
        if value is None and optional:
            values[f.name] = None
            continue
        allowed = _TYPES[base]
        if isinstance(value, bool) and bool not in allowed:
            raise VerdictError(f"{what}: {f.name} is a bool, not a {base}")
        if not isinstance(value, allowed):
            raise VerdictError(f"{what}: {f.name} is a {type(value).__name__}, not a {base}")
        values[f.name] = float(value) if base == "float" else value
    return values


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VerdictError(f"a check's verdict: {name} holds a {type(value).__name__}")
    return float(value)
