"""What the coordinator asks of the judge process for one submission (grade.finish_job ->
judge_process.serve, through a file in the job's folder): a ``JudgeRequest``, with a
strict ``from_json`` like the job's records (run/records.py); and what it gets back, a
``JudgeAnswer``."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
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


@dataclass
class JudgeAnswer:
    """The judge process's answer on one submission, as the coordinator receives it.

    verdicts      {grade_id: verdict as plain data} (judge/verdict.py reads it strictly)
    fingerprints  {judged file: fingerprint} for copy detection (judge/similarity.py)
    notes         why no verdicts came back (the judge failed, crashed or ran too long)
    """
    verdicts: dict = field(default_factory=dict)
    fingerprints: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @classmethod
    def from_process(cls, answer: dict) -> "JudgeAnswer":
        """From the process's RESULT line; a field of the wrong shape is dropped (the
        verdicts' own strict reading then reports what is missing)."""
        verdicts, prints = answer.get("verdicts"), answer.get("fingerprints")
        prints_ok = isinstance(prints, dict) and all(
            isinstance(k, str) and isinstance(v, dict) for k, v in prints.items())
        return cls(verdicts if isinstance(verdicts, dict) else {}, prints if prints_ok else {})
