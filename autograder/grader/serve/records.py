"""The records that cross from the queue (and the grading loop) to the web routes.

A submission row is read into a :class:`Submission`; its JSON form (``to_json``) is what
the API and the tests see, read back strictly by ``from_json`` (a field missing, unknown
or of the wrong type is a RecordError, never a guess), like run/records.py.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

STATES = ("queued", "grading", "graded", "failed")


class RecordError(ValueError):
    """A record this version of the service does not write."""


@dataclass
class Submission:
    """One accepted submission and, once graded, its scores.

    score/max_score: what the judge gave (autograded tests), for the instructor;
    shown_score/shown_max: what the student may see before the deadline (policy.py).
    counts: whether the gradebook holds this one (the policy's ``counts``)."""

    id: str
    student: str
    assignment: str
    created: float            # seconds since the epoch, when the 202 was sent
    state: str                # one of STATES
    late: bool
    notebook: str             # the released notebook's file name it was placed under
    hand_in: list[str] = field(default_factory=list)  # declared hand-in files it holds
    score: float | None = None
    max_score: float | None = None
    shown_score: float | None = None
    shown_max: float | None = None
    problem: str = ""
    graded: float | None = None
    counts: bool = False

    @classmethod
    def from_row(cls, row) -> "Submission":
        values = dict(zip([f.name for f in fields(cls)], row))
        values["late"], values["counts"] = bool(values["late"]), bool(values["counts"])
        values["hand_in"] = json.loads(values["hand_in"])
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Submission":
        data = json.loads(text)
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise RecordError(f"submission fields {found}, expected {sorted(names)}")
        kinds = {"id": str, "student": str, "assignment": str, "created": (int, float),
                 "state": str, "late": bool, "notebook": str, "hand_in": list,
                 "problem": str, "counts": bool}
        for name, kind in kinds.items():
            if not isinstance(data[name], kind) or (kind is not bool
                                                    and isinstance(data[name], bool)):
                raise RecordError(f"submission field {name} is a {type(data[name]).__name__}")
        for name in ("score", "max_score", "shown_score", "shown_max", "graded"):
            value = data[name]
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise RecordError(f"submission field {name} is a {type(value).__name__}")
        if data["state"] not in STATES:
            raise RecordError(f"submission state {data['state']!r}, expected one of {STATES}")
        return cls(**data)


# The columns of the submissions table, in the dataclass's order.
COLUMNS = ", ".join(f.name for f in fields(Submission))
