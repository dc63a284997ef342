"""Grading jobs: which submissions to grade, and everything one job needs before it runs.

A job is one student's submission of one assignment, graded in a private scratch copy of
the course. Its nonce (the seed of the checks' hidden inputs) is derived from a secret of
the course, the student, the assignment and the submission's content: unpredictable for
students, and identical when the same submission is graded again. A job's description is
a ``records.JobSpec``: decided here (``prepare``), placed on the machine that grades it
(``place``), written to the job's folder as ``job.json``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..course import Course
from ..assignment import judged_files, read_assignment
from .records import GradingSettings, JobSpec

if TYPE_CHECKING:
    from ..sandbox import Limits
    from ..sandbox.gpus import Gpu

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
    """A consistent copy of the gradebook, as a SQLite file, without the source of
    solution cells."""
    if course.db_url == f"sqlite:///{course.gradebook}":
        with sqlite3.connect(course.gradebook) as src, sqlite3.connect(destination) as dst:
            src.backup(dst)
    else:
        copy_from_database(course.db_url, destination)
    with sqlite3.connect(destination) as db:
        db.execute("UPDATE source_cell SET source = '' WHERE name IN "
                   "(SELECT base_cell.name FROM base_cell JOIN solution_cells "
                   "ON base_cell.id = solution_cells.id)")
        db.commit()


def copy_from_database(url: str, destination: Path) -> None:
    """nbgrader's tables of the gradebook at ``url`` (PostgreSQL) copied into a new SQLite
    file, read in one REPEATABLE READ transaction (a snapshot, as SQLite's backup is): the
    job's nbgrader works on a private file as it does with a SQLite gradebook."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, insert, select, text

    source, target = create_engine(url), create_engine(f"sqlite:///{destination}")
    try:
        Base.metadata.create_all(target)
        with source.connect().execution_options(isolation_level="REPEATABLE READ") as read, \
                target.begin() as write:
            for table in Base.metadata.sorted_tables:  # parents before children
                rows = [dict(row._mapping) for row in read.execute(select(table))]
                if rows:
                    write.execute(insert(table), rows)
            version = read.execute(text("SELECT version_num FROM alembic_version")).scalar()
            write.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            write.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
    finally:
        source.dispose()
        target.dispose()


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


def kernel_env(nonce: str, jobdir: Path, threads: int, gpu: "Gpu | None" = None,
               sandboxed: bool = True) -> dict:
    """The environment of a grading kernel: no downloads, the job's nonce, the evidence
    file, the data, ``threads`` BLAS/OpenMP threads (parallel jobs that each take
    every core slow each other down many times over) and the GPU it may use, if any
    (``CUDA_VISIBLE_DEVICES``, empty on the CPU: even a kernel without the sandbox then
    sees no GPU). The grader builds it whole; nothing is inherited from the host."""
    from ...student import data
    from ..sandbox import gpus

    env = {"AUTOGRADER_OFFLINE": "1", "AUTOGRADER_NONCE": nonce, "PYTHONHASHSEED": "0",
           "AUTOGRADER_EVIDENCE": str(jobdir / "run" / EVIDENCE),
           "AUTOGRADER_DATA": os.path.realpath(data.data_root()),
           "AUTOGRADER_CACHE": os.path.realpath(data.cache_dir())}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(max(1, threads))
    return {**env, **gpus.kernel_env(gpu, sandboxed)}


def place(spec: JobSpec, jobdir: Path, *, kit: Path, slot: int, threads: int,
          gpu: "Gpu | None" = None) -> JobSpec:
    """``spec`` placed on this machine: in ``jobdir``, with ``kit``, a kernel in sandbox slot
    ``slot`` using ``threads`` BLAS threads, this machine's data read-only, for a
    from-scratch assignment its autodiff libraries hidden, and for a job on the GPU
    the nodes of ``gpu`` (the worker's) bound into its sandbox; a CPU job gets none."""
    from ..sandbox import autodiff_paths, gpus

    if spec.device == "gpu" and gpu is None:
        raise RuntimeError(f"the job of {spec.student}/{spec.assignment} runs on a GPU, and "
                           "this worker has none (see `autograder doctor` on it)")
    gpu = gpu if spec.device == "gpu" else None
    return dataclasses.replace(
        spec, jobdir=str(jobdir), kit=str(kit), slot=slot, readonly=data_paths(),
        hide=autodiff_paths() if spec.hide_autodiff else [],
        kernel_env=kernel_env(spec.nonce, jobdir, threads, gpu, spec.sandbox),
        gpu=gpu, devices=gpus.device_binds(gpu) if gpu else [])


def assignment_budget(course: Course, assignment: str, device: str = "cpu") -> float:
    """Seconds the assignment's notebook should take on ``device``: its notebooks' metadata
    ``autograder.budget_seconds`` (CPU) or ``budget_seconds_gpu``, else the defaults
    (settings.py)."""
    return read_assignment(course, assignment).options.budget(device)


def assignment_limits(course: Course, assignment: str, device: str = "cpu",
                      **changes) -> "Limits":
    """The limits a grading kernel of ``assignment`` on ``device`` runs under: that
    device's budget's defaults, the overrides in its metadata, then ``changes``
    (``grade --set-limit``)."""
    limits = read_assignment(course, assignment).options.grading_limits(device=device)
    return dataclasses.replace(limits, **changes)


def batch_settings(course: Course, assignments, *, sandbox: bool, threads: int, limits,
                   limit: float | None = None, gpus=(), workers_per_gpu: int = 1,
                   gpu_jobs: bool = False) -> GradingSettings:
    """The settings of a batch grading ``assignments``: ``limits`` (assignment -> Limits;
    called with ``device="gpu"`` for an assignment graded on a GPU) and ``limit`` (seconds
    per notebook, if given) resolved once per assignment. With ``gpu_jobs`` (GPUs to grade
    on: ``gpus`` locally, GPU workers on a cluster) every assignment whose kernels see torch
    runs on a GPU; a from-scratch one (no autodiff library, so no torch) stays on the CPU."""
    assignments = sorted(set(assignments))
    scratch = frozenset(a for a in assignments if read_assignment(course, a).options.from_scratch)
    on_gpu = frozenset(a for a in assignments if gpu_jobs and a not in scratch)
    resolved = {a: limits(a, device="gpu") if a in on_gpu else limits(a) for a in assignments}
    if limit:
        resolved = {a: dataclasses.replace(l, notebook_seconds=limit) for a, l in resolved.items()}
    return GradingSettings(sandbox=sandbox, threads=threads, limits=resolved,
                           from_scratch=scratch,
                           wanted={a: wanted_files(course, a) for a in assignments},
                           gpus=tuple(gpus), workers_per_gpu=workers_per_gpu, on_gpu=on_gpu)


def prepare(course: Course, student: str, assignment: str, jobdir: Path,
            settings: GradingSettings) -> JobSpec:
    """The job's scratch course in ``jobdir``; returns its spec, not yet placed."""
    jobdir.mkdir()
    prepare_job(course, student, assignment, jobdir)
    return JobSpec(student=student, assignment=assignment,
                   nonce=job_nonce(course, student, assignment), sandbox=settings.sandbox,
                   hide_autodiff=assignment in settings.from_scratch,
                   limits=settings.limits[assignment],
                   wanted=list(settings.wanted.get(assignment, [])),
                   device=settings.device(assignment))


def prepare_local(course: Course, student: str, assignment: str, workroot: Path, index: int,
                  slot: int, settings: GradingSettings, gpu: "Gpu | None" = None) -> JobSpec:
    """Job ``index``'s scratch course and spec (written to ``job.json``), for a kernel in
    sandbox slot ``slot`` on this machine, given ``gpu`` (its worker's) if it runs on one."""
    jobdir = workroot / f"j{index}"  # short: the kernel's socket paths must stay short
    spec = place(prepare(course, student, assignment, jobdir, settings), jobdir,
                 kit=workroot / "kit", slot=slot, threads=settings.threads, gpu=gpu)
    spec.write()
    return spec


def wanted_files(course: Course, assignment: str) -> list[str]:
    """The files of a submission harvested first: the notebooks, the files judged, the
    files its metadata says are handed in (``autograder.hand_in``)."""
    found = [p.name for p in course.notebooks(assignment)] + judged_files(course, assignment)
    return found + [n for n in read_assignment(course, assignment).options.hand_in
                    if n not in found]
