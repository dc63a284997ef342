"""The journal of a grading run: which jobs are done, so that a run stopped half-way
(the coordinator killed, the machine rebooted) resumes where it stopped.

A job counts as done once its gradebook transaction has committed. A run that finishes
removes its journal, so the next ``autograder grade`` grades everything again.
"""
from __future__ import annotations

import json
import os

from ..course import Course


class Journal:
    def __init__(self, course: Course, jobs: list[tuple[str, str]]):
        self.path = course.root / ".grading-journal.json"
        self.jobs = [list(job) for job in jobs]
        self.done: list[list[str]] = []
        if self.path.is_file():
            try:
                saved = json.loads(self.path.read_text())
                if saved.get("jobs") == self.jobs:
                    self.done = [job for job in saved.get("done", []) if job in self.jobs]
            except (json.JSONDecodeError, AttributeError):
                pass  # a damaged journal: start again, re-grading gives the same scores
        self._write()

    def pending(self) -> list[tuple[str, str]]:
        return [tuple(job) for job in self.jobs if job not in self.done]

    def mark_done(self, student: str, assignment: str) -> None:
        self.done.append([student, assignment])
        self._write()

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")  # service processes share the course
        tmp.write_text(json.dumps({"jobs": self.jobs, "done": self.done}))
        os.replace(tmp, self.path)
