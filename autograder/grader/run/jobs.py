"""Grading jobs: which submissions to grade, and everything one job needs before it runs.

A job is one student's submission of one assignment, graded in a private scratch copy of
the course. Its nonce (the seed of the checks' hidden inputs) is derived from a secret of
the course, the student, the assignment and the submission's content: unpredictable for
students, and identical when the same submission is graded again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..course import BUDGET_SECONDS, DEFAULT_BUDGET_SECONDS, Course
from ..replay import judged_files

SECRET_FILE = ".autograder-secret"
EVIDENCE = "evidence.jsonl"  # in the job's runtime folder, written by the kernel's checks


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


def job_copy(course: Course, destination: Path) -> None:
    """A consistent copy of the gradebook without the source of solution cells."""
    with sqlite3.connect(course.gradebook) as src, sqlite3.connect(destination) as dst:
        src.backup(dst)
    with sqlite3.connect(destination) as db:
        db.execute("UPDATE source_cell SET source = '' WHERE name IN "
                   "(SELECT base_cell.name FROM base_cell JOIN solution_cells "
                   "ON base_cell.id = solution_cells.id)")
        db.commit()


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
                    jobdir / "submitted" / student / assignment, symlinks=True)
    job_copy(course, jobdir / "gradebook.db")


def course_secret(course: Course) -> bytes:
    """The course's grading secret (created once, readable by the instructor only)."""
    path = course.root / SECRET_FILE
    if not path.exists():
        tmp = path.with_name(f"{SECRET_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic, and the first secret written wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def submission_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def job_nonce(course: Course, student: str, assignment: str) -> str:
    """The seed of the job's hidden inputs: secret, and the same on every re-grade."""
    message = f"{student}|{assignment}|{submission_digest(course.submitted / student / assignment)}"
    return hmac.new(course_secret(course), message.encode(), hashlib.sha256).hexdigest()[:16]


def write_student_kit(repo: Path, destination: Path) -> Path:
    """A copy of the student side of the package (``autograder/__init__.py`` and
    ``autograder/student``): all a grading kernel may import of the kit."""
    package = destination / "autograder"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo / "autograder" / "__init__.py", package / "__init__.py")
    shutil.copytree(repo / "autograder" / "student", package / "student",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return destination


def data_paths() -> list[str]:
    """The data root and the decoded-data cache, as real paths (read-only in the sandbox)."""
    from ...student import data

    return [os.path.realpath(p) for p in (data.data_root(), data.cache_dir()) if p.exists()]


def kernel_env(nonce: str, jobdir: Path, threads: int) -> dict:
    """The environment of a grading kernel: no downloads, the job's nonce, the evidence
    file, the data, and ``threads`` BLAS/OpenMP threads (parallel jobs that each take
    every core slow each other down many times over)."""
    from ...student import data

    env = {"AUTOGRADER_OFFLINE": "1", "AUTOGRADER_NONCE": nonce, "PYTHONHASHSEED": "0",
           "AUTOGRADER_EVIDENCE": str(jobdir / "run" / EVIDENCE),
           "AUTOGRADER_DATA": os.path.realpath(data.data_root()),
           "AUTOGRADER_CACHE": os.path.realpath(data.cache_dir())}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(max(1, threads))
    return env


def write_job_spec(jobdir: Path, student: str, assignment: str, *, kit: Path, nonce: str,
                   threads: int, sandbox: bool, slot: int, limits, hide=()) -> Path:
    """``job.json``: what the worker needs to grade the job (``hide``: folders the sandbox
    shows empty, such as the autodiff libraries of a from-scratch assignment)."""
    spec = {"student": student, "assignment": assignment, "kit": str(kit),
            "sandbox": sandbox, "slot": slot, "hide": list(hide),
            "limits": limits.__dict__, "readonly": data_paths(),
            "kernel_env": kernel_env(nonce, jobdir, threads)}
    path = jobdir / "job.json"
    path.write_text(json.dumps(spec, indent=1))
    return path


def assignment_budget(assignment: str) -> int:
    return BUDGET_SECONDS.get(assignment, DEFAULT_BUDGET_SECONDS)


def prepare(course: Course, student: str, assignment: str, jobdir: Path, options: dict):
    """The job's scratch course in ``jobdir``; returns (nonce, limits, coordinator limit)."""
    jobdir.mkdir()
    prepare_job(course, student, assignment, jobdir)
    limits = options["limits"](assignment)
    # the worker stops the kernel at notebook_seconds; this is the backstop
    return job_nonce(course, student, assignment), limits, limits.notebook_seconds + 60


@dataclass
class Prepared:
    """A job ready for a worker: its folder, spec and limits."""
    student: str
    assignment: str
    jobdir: Path
    spec: Path
    nonce: str
    limits: object
    limit: float


def prepare_local(course: Course, student: str, assignment: str, workroot: Path, index: int,
                  slot: int, options: dict) -> Prepared:
    """Job ``index``'s scratch course and spec, for a kernel in sandbox slot ``slot``."""
    jobdir = workroot / f"j{index}"  # short: the kernel's socket paths must stay short
    nonce, limits, limit = prepare(course, student, assignment, jobdir, options)
    spec = write_job_spec(jobdir, student, assignment, kit=workroot / "kit", nonce=nonce,
                          threads=options["threads"], sandbox=options["sandbox"], slot=slot,
                          limits=limits, hide=options["hide"](assignment))
    return Prepared(student, assignment, jobdir, spec, nonce, limits, limit)


def wanted_files(course: Course, assignment: str) -> list[str]:
    """The files of a submission harvested first: the notebooks, the files judged."""
    return [p.name for p in course.notebooks(assignment)] + judged_files(course, assignment)
