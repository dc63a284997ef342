"""One record per graded submission: ``grading_record.json`` beside its autograded notebook.

The coordinator writes it after a job (grade.finish_job): how the job went (status, why,
notes, seconds in the kernel and in the judge), the trusted judge's verdict on every test
cell (judge/verdict.py), the fingerprints of the models the judge read (similarity.py) and
the version of the assignment's tests it was judged against with their points then
(versions.py: a submission graded against older tests is stale).
Every report (feedback, dashboard, export, summary, sample.verify) reads it through
:func:`load` alone; nothing reads the files earlier versions left beside it (SIDECARS).

The folder also holds what the student's kernel wrote, so the coordinator first deletes
whatever lies under these names, and the record is read strictly: a field missing, unknown
or of the wrong type is a :class:`RecordError` naming the file and what to do.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..judge.verdict import Verdict, VerdictError, verdicts_from_dict, verdicts_to_dict

RECORD = "grading_record.json"
VERSION = 2
# Version 1 records lack tests_version and points: read as judged against unknown tests
# (stale), with the points their verdicts were scored out of.
OLD_VERSIONS = (1,)
# Files earlier versions wrote beside the record (or a kernel planted): removed, never read.
SIDECARS = ("GRADING_FAILED.txt", "GRADING_NOTES.txt", "grading_job.json",
            "trusted_judge.json", "model_fingerprints.json")


class RecordError(ValueError):
    """A grading record this version of the kit cannot read."""


@dataclass
class GradingRecord:
    """How one submission's grading went, and what the judge decided."""

    status: str                 # "graded", "timeout", "error"
    message: str = ""           # why the job did not finish ("" when graded)
    notes: list[str] = field(default_factory=list)  # limits, harvest and judge problems
    seconds: float = 0.0        # in its kernel
    judge_seconds: float = 0.0  # in the trusted judge
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # {grade_id: verdict}
    fingerprints: dict[str, dict] = field(default_factory=dict)  # {judged file: fingerprint}
    tests_version: str = ""     # of the tests judged against (versions.py; "" unknown)
    points: dict[str, float] = field(default_factory=dict)  # {grade_id: its points then}
    version: int = VERSION

    @property
    def problem(self) -> str:
        """Why the submission could not be graded and the notes of its grading ("" when
        nothing went wrong): the text feedback pages and exports show."""
        lines = ([f"{self.status}: {self.message}"] if self.status != "graded" else [])
        return "\n".join(lines + self.notes).strip()

    def by_cell(self) -> dict[tuple[str, str], Verdict]:
        """{(notebook name, grade_id): verdict}."""
        return {(v.notebook, grade_id): v for grade_id, v in self.verdicts.items()}

    def to_dict(self) -> dict:
        return {"version": self.version, "status": self.status, "message": self.message[-4000:],
                "notes": list(self.notes), "seconds": round(self.seconds, 3),
                "judge_seconds": round(self.judge_seconds, 3),
                "verdicts": verdicts_to_dict(self.verdicts), "fingerprints": self.fingerprints,
                "tests_version": self.tests_version, "points": dict(self.points)}

    @classmethod
    def from_dict(cls, data) -> "GradingRecord":
        """The record ``to_dict`` wrote; RecordError for anything else."""
        old = isinstance(data, dict) and data.get("version") in OLD_VERSIONS
        expected = {"version", "status", "message", "notes", "seconds", "judge_seconds",
                    "verdicts", "fingerprints"} | (set() if old else {"tests_version", "points"})
        if not isinstance(data, dict) or set(data) != expected:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise RecordError(f"fields {found}, expected {sorted(expected)}")
        if data["version"] != VERSION and not old:
            raise RecordError(f"version {data['version']!r}; this kit reads version {VERSION}")
        if old:
            data = {**data, "tests_version": "", "points": {}}
        for key, kind in (("status", str), ("message", str), ("notes", list),
                          ("seconds", (int, float)), ("judge_seconds", (int, float)),
                          ("fingerprints", dict), ("tests_version", str),
                          ("points", dict)):
            if not isinstance(data[key], kind) or isinstance(data[key], bool):
                raise RecordError(f"{key} is a {type(data[key]).__name__}")
        if not all(isinstance(n, str) for n in data["notes"]):
            raise RecordError("notes that are not all text")
        if not all(isinstance(k, str) and isinstance(v, dict)
                   for k, v in data["fingerprints"].items()):
            raise RecordError("fingerprints that are not {file: fingerprint}")
        try:
            verdicts = verdicts_from_dict(data["verdicts"])
        except VerdictError as err:
            raise RecordError(str(err)) from None
        points = data["points"]
        if old:  # the points its verdicts were scored out of
            points = {grade_id: v.max_score for grade_id, v in verdicts.items()}
        if not all(isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                   for k, v in points.items()):
            raise RecordError("points that are not {grade_id: number}")
        return cls(data["status"], data["message"], data["notes"], float(data["seconds"]),
                   float(data["judge_seconds"]), verdicts, data["fingerprints"],
                   data["tests_version"], {k: float(v) for k, v in points.items()})


def remove_planted(folder: Path) -> None:
    """Delete what lies under the record's name and the old sidecars' (the kernel wrote
    into the folder the harvest copied; an earlier grading left its record)."""
    for name in (RECORD, *SIDECARS):
        (folder / name).unlink(missing_ok=True)


def write_record(folder: Path, record: GradingRecord) -> Path:
    """Write the record (whole or not at all: a new file renamed over the old)."""
    folder.mkdir(parents=True, exist_ok=True)
    path, partial = folder / RECORD, folder / f".{RECORD}.partial"
    partial.unlink(missing_ok=True)
    partial.write_text(json.dumps(record.to_dict(), indent=1))
    os.replace(partial, path)
    return path


def read_record(folder: Path) -> GradingRecord | None:
    """The record in ``folder``; None if there is none (never graded)."""
    path = folder / RECORD
    if not path.exists() and not path.is_symlink():
        return None
    try:
        if path.is_symlink() or not path.is_file():
            raise RecordError("not a regular file")
        return GradingRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (RecordError, ValueError, OSError) as err:
        raise RecordError(f"{path} cannot be read ({err}): grade the submission again "
                          "(`autograder grade` with its student and assignment)") from None


def load(course, student: str, assignment: str) -> GradingRecord | None:
    """The grading record of ``student``'s submission of ``assignment``; None if it was
    never graded. The one way every report reads a graded submission."""
    return read_record(course.autograded / student / assignment)


def class_fingerprints(course, assignment: str) -> dict[str, dict]:
    """{student: {judged file: fingerprint}} over the class, for similarity.copied_models."""
    found = {}
    for folder in sorted(course.autograded.glob(f"*/{assignment}")):
        record = read_record(folder)
        if record is not None and record.fingerprints:
            found[folder.parent.name] = record.fingerprints
    return found
