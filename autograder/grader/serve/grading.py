"""The service's grading loop: queued submissions through the same pipeline as
``autograder grade``.

A batch (submissions.claim: one assignment, at most one submission per student) is placed
under ``submitted/<student>/<assignment>/`` as collect would, graded by ``grade.grade``
(warm workers or a Dask scheduler, every kernel in the sandbox, the trusted judge, the
gradebook written by this process alone), and its feedback pages written by
``report.feedback`` (leak-checked). Then each submission's grading record and page are kept
under ``serve/feedback/<id>/``, its scores go into its row in one transaction, and the
gradebook is made to hold the submission that counts (policy.counting): when the one just
graded is not it (late, or not the best), the one that counts is graded again (grading is
deterministic: the same scores).
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
import traceback
from pathlib import Path

from .. import grade
from ..assignment import read_assignment
from ..course import Course
from ..record import gradebook, grading_record
from ..record.journal import Journal
from ..report import feedback
from ..sandbox.slots import hold_first_free
from ..release.leakcheck import LeakError
from . import database, policy, submissions, uploads, visibility
from .records import Submission


# Sandbox slots of service processes, 64 each: apart from a local `grade`'s 0, 1, ...,
# cluster workers' 32-95 and the judge's 1000-1063.
SLOT_RANGES = range(128, 960, 64)
_slots = None  # (first slot, the lock file held for the life of the process)


def machine_slots() -> int:
    """The first of 64 sandbox slots no other service process on this machine holds: as
    root a slot is the kernel's uid, and several services may grade at once."""
    global _slots
    if _slots is None:
        _slots = hold_first_free(SLOT_RANGES, "autograder-serve-slots")
        if _slots is None:
            raise RuntimeError(f"{len(SLOT_RANGES)} service processes hold every range of "
                               "sandbox slots on this machine: start fewer")
    return _slots[0]


def snapshot_folder(course: Course, submission_id: str) -> Path:
    return database.folder(course) / "feedback" / submission_id


def full_page(course: Course, submission_id: str) -> Path:
    """The submission's full feedback page (feedback.html as ``autograder feedback``
    writes it), kept when it was graded."""
    return snapshot_folder(course, submission_id) / feedback.PAGE


def kept_record(course: Course, submission_id: str) -> grading_record.GradingRecord | None:
    return grading_record.read_record(snapshot_folder(course, submission_id))


class Grader:
    """Grades the queue; ``run`` until ``stop`` is set (a thread of ``autograder serve``)."""

    def __init__(self, course: Course, workers: int | None = None, scheduler: str | None = None,
                 overrides: dict | None = None, batch: int = 16, sandbox: bool = True):
        self.course, self.workers, self.scheduler = course, workers, scheduler
        self.overrides, self.batch, self.sandbox = overrides or {}, batch, sandbox
        self.stop = threading.Event()
        self.now: list[Submission] = []  # being graded (the dashboard shows them)

    def run(self, poll: float = 0.5) -> None:
        while not self.stop.is_set():
            try:
                if not self.grade_next():
                    self.stop.wait(poll)
            except Exception:  # the loop must outlive any one batch's bug
                traceback.print_exc(file=sys.stderr)
                self.stop.wait(5)

    def grade_next(self) -> int:
        """Claim and grade one batch; how many submissions it held. Where several
        processes share the queue (PostgreSQL), what a killed one was grading is taken
        back first."""
        if database.shared(self.course):
            submissions.requeue_interrupted(self.course)
        rows = submissions.claim(self.course, self.batch)
        if rows:
            self.now = rows
            try:
                self.grade_batch(rows)
            finally:
                self.now = []
        return len(rows)

    def _grade(self, assignment: str, rows: list[Submission]) -> None:
        """Place ``rows``'s uploads and grade them, then write their feedback pages."""
        declared = read_assignment(self.course, assignment).options.hand_in
        for row in rows:
            uploads.place_for(self.course, row.student, assignment, row.id, row.notebook,
                              declared, row.hand_in, row.created)
        students = [row.student for row in rows]
        # grade's journal knows (student, assignment) pairs, not which upload they held: a
        # batch cut short by a kill is graded again whole (the queue is the service's record)
        Journal(self.course, []).finish()
        workers = min(self.workers, 32) if self.workers else None  # within its 64 slots
        grade.grade(self.course, [assignment], students, workers=workers,
                    progress=False, scheduler=self.scheduler, sandbox=self.sandbox,
                    first_slot=machine_slots())
        try:
            feedback.feedback(self.course, [assignment], students)
        except LeakError as err:  # the leaking page is deleted; the scores stand
            print(f"serve: {err}", file=sys.stderr)

    def grade_batch(self, rows: list[Submission]) -> None:
        assignment = rows[0].assignment
        rules = policy.policy_of(self.course, assignment, self.overrides)
        try:
            self._grade(assignment, rows)
        except Exception as err:  # grading could not run at all (no sandbox, ...)
            traceback.print_exc(file=sys.stderr)
            for row in rows:
                row.state, row.graded = "failed", time.time()
                row.problem = f"the service could not grade it ({type(err).__name__}): " \
                              "tell the course staff"
                submissions.finish(self.course, row)
            return
        task = read_assignment(self.course, assignment)
        for row in rows:
            self.score(row, task, rules)
        # before the rows leave 'grading': until then no process takes these students'
        # next submissions, whose folders and gradebook rows a grading again would share
        try:
            self.keep_counting(assignment, rows, rules)
        except Exception:  # the scores stand; the gradebook may hold another submission
            traceback.print_exc(file=sys.stderr)
        for row in rows:
            submissions.finish(self.course, row)

    def score(self, row: Submission, task, rules: policy.Policy) -> None:
        """Keep the submission's record and page, and set its scores on ``row``."""
        course, student = self.course, row.student
        record = grading_record.load(course, student, task.name)
        out = snapshot_folder(course, row.id)
        out.mkdir(parents=True, exist_ok=True)
        page = feedback.page_path(course, student, task.name)
        if page.is_file():
            shutil.copyfile(page, out / feedback.PAGE)
        row.graded = time.time()
        if record is None:
            row.state, row.problem = "failed", "no grading record was written: tell the course staff"
        else:
            grading_record.write_record(out, record)
            auto = [i for i in gradebook.submission_items(course, task.name, student)
                    if i.kind == "autograded test"]
            shown = visibility.shown_results(task, record, rules.feedback_before_deadline)
            row.state = "graded"
            row.score = round(sum(i.score or 0 for i in auto), 3)
            row.max_score = round(sum(i.max_score for i in auto), 3)
            row.shown_score, row.shown_max, row.problem = shown.score, shown.max_score, shown.problem

    def keep_counting(self, assignment: str, rows: list[Submission], rules) -> None:
        """Make the gradebook hold each student's submission that counts (policy.counting)."""
        again = []
        for row in rows:  # ``row``: just graded, its scores not yet stored
            mine = [s for s in submissions.of_student(self.course, row.student)
                    if s.assignment == assignment and s.id != row.id] + [row]
            counting = policy.counting(rules, mine)
            submissions.set_counting(self.course, row.student, assignment,
                                     counting.id if counting else None)
            if counting is not None and counting.id != row.id:
                again.append(counting)
        if again:
            self._grade(assignment, again)
