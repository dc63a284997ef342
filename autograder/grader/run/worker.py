"""Grading jobs in a worker process: ``python -m autograder.grader.run.worker JOB`` grades
one job; ``... worker --serve`` is a warm worker grading job after job (spec paths on stdin).

JOB is the job's spec (``job.json``, a ``records.JobSpec`` written by jobs.prepare_local or
on a Dask worker by cluster.grade_packed) in a private copy of the course:
the submission, a gradebook without reference solutions, the released helper files. The
worker runs nbgrader's autograde there; the notebook's kernel runs in the sandbox (or,
with ``--no-sandbox``, as a plain process) and can import only the student side of the
kit. The job's folders as the kernel sees them:

    <job>/autograded/<student>/<assignment>/   the notebook's folder: writable
    <job>/run/                                 connection file, sockets, evidence: writable
    <job>/...                                  gradebook, submission, status: invisible

The kernel and its whole sandbox are stopped, and dead, right after the notebook's last
cell (the hook "stop", kernels.stop), before nbgrader writes the autograded notebook or
changes anything in its folder: no process of the student's can race the grader's writes.

It prints the job's ``records.Outcome`` (status "graded" or "error"; its fields are
documented there) as one JSON line; a warm worker prefixes it with ``RESULT``.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import traceback
from pathlib import Path

from . import kernels
from ..course import Course
from .records import JobSpec, Outcome

READY = "@@worker-ready"
RESULT = "@@result "


def sandbox_endings(jobdir: Path) -> list[dict]:
    """How each sandboxed kernel of the job ended, as its launcher recorded it."""
    path = jobdir / "sandbox-status.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stop_kernel_at(seconds: float, stopped: list, kernel) -> threading.Timer:
    """Past the notebook's wall clock, stop the job's kernel (its launcher takes the whole
    sandbox with it): the cells left get an error, the tests that passed keep their
    points. The coordinator's own limit, a minute later, is only the backstop. Only this
    job's kernel: the next job's, started ahead, is not this job's to stop."""
    pid = kernels.launcher_pid(kernel)

    def stop():
        stopped.append(seconds)
        kernels.remember_sandbox(kernel)  # so that kernels.stop waits for all of it
        try:
            os.kill(pid, signal.SIGKILL)  # bwrap's --die-with-parent takes the sandbox along
        except (OSError, TypeError):
            pass

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    return timer


class Ahead:
    """The next job, read while the current one runs, and its kernel once launched."""

    def __init__(self, specs: "queue.Queue[str | None]"):
        self.specs, self.spec, self.kernel, self.ended = specs, None, None, False

    def peek(self) -> None:
        """Take the next spec if the coordinator has sent it, and launch its kernel."""
        if self.spec is not None or self.ended:
            return
        try:
            line = self.specs.get_nowait()
        except queue.Empty:
            return
        if line is None:
            self.ended = True
            return
        self.spec = Path(line).resolve()
        try:
            self.kernel = kernels.launch(JobSpec.read(self.spec), self.spec.parent)
        except Exception:  # noqa: BLE001 (the job then starts its kernel itself, and says why)
            self.kernel = None

    def take(self) -> tuple[Path | None, object]:
        """The next job's spec (waiting for it) and its kernel if one was launched."""
        if self.spec is None and not self.ended:
            line = self.specs.get()
            self.ended = line is None
            self.spec = None if line is None else Path(line).resolve()
        spec, kernel, self.spec, self.kernel = self.spec, self.kernel, None, None
        return spec, kernel


def grade_job(spec_file: Path, kernel=None, between_cells=None) -> Outcome:
    """Autograde the job described by ``spec_file`` (``kernel``: its kernel, if started
    ahead); returns its outcome."""
    from .execute import autograde, autograde_steps

    job = JobSpec.read(spec_file)
    jobdir = spec_file.parent
    kernel = kernel or kernels.launch(job, jobdir)
    stopped, timer = [], None
    try:
        config = kernels.job_config(job, jobdir)
        config.Autograde.autograde_preprocessors = autograde_steps()
        config.CappedExecute.output_limit = job.limits.output_bytes
        api = Course(jobdir).api(config=config)
        timer = stop_kernel_at(job.limits.notebook_seconds, stopped, kernel)
        # "stop": after the last cell, before nbgrader writes into the kernel's folder
        hooks = {"kernel": kernel, "between_cells": between_cells,
                 "hand_over": lambda: kernels.hand_over(job, jobdir),
                 "stop": lambda: (timer.cancel(), kernels.stop(kernel))}
        result = autograde(api, job.assignment, job.student, hooks)
    finally:
        if timer is not None:
            timer.cancel()
        kernels.stop(kernel)
    error = "" if result["success"] else "\n".join(
        filter(None, [result.get("log"), result.get("error")]))
    return Outcome("graded" if result["success"] else "error", error[-4000:],
                   sandbox=sandbox_endings(jobdir), wall_clock=bool(stopped),
                   removed=result["removed"][:20], worker=os.getpid(), peak_kb=peak_kb())


def peak_kb() -> dict:
    """Peak resident memory so far (kB) of this worker and of its largest kernel."""
    import resource

    return {"worker": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "kernel": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


def serve() -> int:
    """A warm worker: grade the job of each spec path read from stdin, one after the
    other, answering each with one line ``RESULT`` + JSON on stdout.

    nbgrader and the kit are imported once; every job still gets its own kernel (in a
    fresh sandbox) and its own scratch course. The next job's kernel is launched when a
    job starts, or between two of its cells if its spec arrives later (kernels.py). The kernels
    inherit neither channel: stdin becomes /dev/null and stdout the log (stderr), so a
    kernel can neither take the next job's line nor forge an answer.
    """
    from .execute import autograde_steps  # noqa: F401 (nbgrader, imported once)

    jobs = os.fdopen(os.dup(0), "r")      # os.dup: not inherited by the kernels
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    specs: "queue.Queue[str | None]" = queue.Queue()

    def read():
        for line in jobs:
            specs.put(line.strip())
        specs.put(None)

    threading.Thread(target=read, daemon=True).start()
    answers.write(READY + "\n")
    answers.flush()
    ahead = Ahead(specs)
    while True:
        spec, kernel = ahead.take()
        if spec is None:
            break
        ahead.peek()  # the next job's spec is usually here already: launch its kernel now
        try:
            outcome = grade_job(spec, kernel, between_cells=ahead.peek)
        except Exception:  # noqa: BLE001 (one broken job never stops the worker)
            outcome = Outcome("error", traceback.format_exc()[-4000:])
        answers.write(RESULT + json.dumps(outcome.to_json()) + "\n")
        answers.flush()
    return 0


def main(argv=None) -> int:
    argv = argv or sys.argv[1:]
    if argv == ["--serve"]:
        return serve()
    outcome = grade_job(Path(argv[0]).resolve())
    print(json.dumps(outcome.to_json()))
    return 0 if outcome.graded else 1


if __name__ == "__main__":
    sys.exit(main())
