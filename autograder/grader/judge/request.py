"""What the coordinator asks of the judge process for one submission (grade.finish_job ->
judge_process.serve, through a file in the job's folder): a ``JudgeRequest``, with a
strict ``from_json`` like the job's records (run/records.py)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from ..run.records import checked


@dataclass(frozen=True)
class JudgeRequest:
    """Judge one harvested submission.

    course      the course's root folder
    assignment  the assignment the submission is of
    folder      its harvested (autograded) folder, where the verdicts are written
    evidence    the evidence file its kernel filed ("": none)
    nonce       the job's check nonce: the judge re-derives the same hidden inputs
    sandbox     saved models are inspected in the sandbox (as the job's kernels ran)
    """
    course: str
    assignment: str
    folder: str
    evidence: str
    nonce: str
    sandbox: bool = True
    version: int = 1

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> "JudgeRequest":
        return cls(**checked(cls, data))

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json()))
        return path

    @classmethod
    def read(cls, path: Path) -> "JudgeRequest":
        return cls.from_json(json.loads(Path(path).read_text()))
