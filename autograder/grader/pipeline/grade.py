"""Grade: autograde every submission, each in its own process and private course copy.

Per job: copy the submission and a solution-free gradebook into a scratch course,
run ``autograder.grader.pipeline.worker`` there with a per-cell timeout fitted to the
assignment's budget and a wall-clock limit for the whole notebook (its kernel imports only
the student side of the kit), then (coordinator only) merge the scores into the course
gradebook, keep the autograded notebook, and let the trusted judge (judge.py) re-score
accuracy from the saved weights and replay the checks whose reference is grader-only.
A crash or timeout scores that submission 0 with a note; the batch goes on.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import gradebook, judge
from .course import Course, cell_timeout, notebook_limit, student_env
from .worker import write_student_kit

REPO = Path(__file__).resolve().parents[3]  # the kit's own code, whatever the course


@dataclass
class JobResult:
    student: str
    assignment: str
    status: str        # "graded", "timeout", "error"
    seconds: float
    message: str = ""
    nonce: str = ""    # the job's check nonce: the judge re-derives the same inputs


class GradeError(RuntimeError):
    pass


def find_jobs(course: Course, assignments=None, students=None) -> list[tuple[str, str]]:
    """(student, assignment) pairs present under submitted/."""
    jobs = []
    if not course.submitted.is_dir():
        return jobs
    for student_dir in sorted(p for p in course.submitted.iterdir() if p.is_dir()):
        if students and student_dir.name not in students:
            continue
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if assignments and assignment_dir.name not in assignments:
                continue
            jobs.append((student_dir.name, assignment_dir.name))
    return jobs


def prepare_job(course: Course, student: str, assignment: str, jobdir: Path) -> None:
    """A scratch course: the submission, the released helper files, the gradebook.

    Helper files come from the release (what students were given), not from source/:
    a teacher's run leaves trained weights in source/, and a submission that fails to
    save its own must not be graded on the teacher's.
    """
    released = course.release / assignment
    (jobdir / "source" / assignment).mkdir(parents=True)
    for path in released.rglob("*"):
        if path.is_file() and path.suffix != ".ipynb":
            target = jobdir / "source" / assignment / path.relative_to(released)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    shutil.copytree(course.submitted / student / assignment,
                    jobdir / "submitted" / student / assignment)
    gradebook.job_copy(course, jobdir / "gradebook.db")


EVIDENCE = "evidence.jsonl"


def run_job(course: Course, student: str, assignment: str, workroot: Path,
            limit: int | None = None, threads: int = 1) -> tuple[JobResult, Path]:
    jobdir = Path(tempfile.mkdtemp(prefix=f"{student}--{assignment}--", dir=workroot))
    start = time.perf_counter()
    prepare_job(course, student, assignment, jobdir)
    limit = limit or notebook_limit(assignment)
    nonce = secrets.token_hex(8)
    command = [sys.executable, "-m", "autograder.grader.pipeline.worker", str(jobdir), assignment,
               student, "--cell-timeout", str(cell_timeout(assignment)),
               "--kit", str(workroot / "kit")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=student_env(nonce, jobdir / EVIDENCE, threads),
                               start_new_session=True)  # its own group: kill kernels too
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return JobResult(student, assignment, "timeout", time.perf_counter() - start,
                         f"grading stopped after {limit} s (the notebook's limit)", nonce), jobdir
    seconds = time.perf_counter() - start
    lines = [line for line in out.splitlines() if line.startswith("{")]
    try:
        outcome = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return JobResult(student, assignment, "error", seconds,
                         f"the grading process failed: {err.strip()[-500:]}", nonce), jobdir
    if not outcome["success"]:
        return JobResult(student, assignment, "error", seconds, outcome["error"][-500:],
                         nonce), jobdir
    return JobResult(student, assignment, "graded", seconds, nonce=nonce), jobdir


def finish_job(course: Course, result: JobResult, jobdir: Path) -> None:
    """Coordinator side: merge scores and keep the autograded notebook (or the failure)."""
    out = course.autograded / result.student / result.assignment
    produced = jobdir / "autograded" / result.student / result.assignment
    if result.status == "graded":
        gradebook.merge_job(course, jobdir / "gradebook.db", result.assignment, result.student)
        gradebook.copy_tree(produced, out)
        verdicts = judge.judge_submission(course, result.assignment, out,
                                          jobdir / EVIDENCE, result.nonce)
        gradebook.apply_verdicts(course, result.assignment, result.student, verdicts)
    else:
        gradebook.record_failure(course, result.assignment, result.student)
        if produced.exists():
            gradebook.copy_tree(produced, out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "GRADING_FAILED.txt").write_text(f"{result.status}: {result.message}\n")
    shutil.rmtree(jobdir, ignore_errors=True)


def grade(course: Course, assignments=None, students=None, workers: int | None = None,
          progress: bool = True, limit: int | None = None) -> list[JobResult]:
    """Autograde every matching submission; returns one JobResult per submission."""
    jobs = find_jobs(course, assignments, students)
    missing = sorted({a for _, a in jobs if not gradebook.has_assignment(course, a)})
    if missing:
        raise GradeError(f"assignment(s) {missing} are not in the gradebook: run "
                         "`autograder release` first")
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    results = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="grading", unit="submission")
    with tempfile.TemporaryDirectory(prefix="autograder-jobs-") as workroot, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        write_student_kit(REPO, Path(workroot) / "kit")
        threads = max(1, (os.cpu_count() or 1) // workers)
        futures = [pool.submit(run_job, course, s, a, Path(workroot), limit, threads)
                   for s, a in jobs]
        for future in as_completed(futures):
            result, jobdir = future.result()
            finish_job(course, result, jobdir)   # only this thread writes the gradebook
            results.append(result)
            if bar:
                bar.set_postfix_str(f"{result.student}/{result.assignment}: {result.status}")
                bar.update()
    if bar:
        bar.close()
    return sorted(results, key=lambda r: (r.student, r.assignment))
