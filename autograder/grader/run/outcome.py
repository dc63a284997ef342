"""A job's result: the ``records.Outcome`` its warm worker reported (or the coordinator
made for it), turned into the status, message and notes the coordinator records (sandbox
limits that stopped the kernel named)."""
from __future__ import annotations

import dataclasses
import signal
import time
from dataclasses import dataclass, field

from .records import JobSpec, Outcome
from .warm import WarmWorker, WorkerDied, WorkerTimeout

SIGNALS = {signal.SIGKILL: "killed", signal.SIGXCPU: "CPU time limit",
           signal.SIGXFSZ: "file size limit", signal.SIGSEGV: "crashed (segmentation fault)"}


@dataclass
class JobResult:
    student: str
    assignment: str
    status: str        # "graded", "timeout", "error"
    seconds: float
    message: str = ""
    nonce: str = ""    # the job's check nonce: the judge re-derives the same inputs
    notes: list[str] = field(default_factory=list)
    judge_seconds: float = 0.0  # the trusted judge's share, in the coordinator
    worker: int = 0    # the pid of the warm worker that ran the job
    peak_kb: dict = field(default_factory=dict)  # the worker's and kernel's peak memory


def sandbox_notes(endings: list[dict], limits) -> list[str]:
    """Notes on limits that stopped a sandboxed kernel, from its launcher's record."""
    notes = []
    for ending in endings:
        # bwrap reports a command killed by signal N as exit status 128 + N
        number = ending.get("signal") or max(0, ending.get("exit", 0) - 128)
        if ending.get("limit"):
            notes.append(f"stopped by the sandbox's limit on {ending['limit']}")
        elif number in SIGNALS:
            what = SIGNALS[number]
            if what == "CPU time limit":
                what += f" ({limits.cpu_seconds} s)"
            notes.append(f"the kernel was stopped: {what}")
    return notes


def run_outcome(worker: WarmWorker, spec: JobSpec, then=()) -> Outcome:
    """The outcome of the job ``spec``, from its worker, with the job's "seconds" (a
    worker stopped past the spec's backstop, or dead, or that answered no outcome, gives
    one too); ``then``: the specs of the jobs after it, sent now so that the worker starts
    their kernels ahead."""
    start, limit = time.perf_counter(), spec.backstop_seconds
    try:
        outcome = Outcome.from_json(worker.run(spec.file, limit, [s.file for s in then]))
    except WorkerTimeout:
        outcome = Outcome("timeout", f"grading stopped after {limit} s (the notebook's "
                          "wall-clock limit and the grace period after it)")
    except WorkerDied as err:
        outcome = Outcome("error", f"the grading process failed: {str(err)[-500:]}")
    except ValueError as err:  # (never expected: the worker is the kit's own)
        outcome = Outcome("error", f"the grading process answered no outcome: {err}")
    return dataclasses.replace(outcome, seconds=time.perf_counter() - start)


def job_result(spec: JobSpec, outcome: Outcome) -> JobResult:
    """A job's result from its outcome, with notes on the limits that stopped it."""
    limits = spec.limits
    notes = sandbox_notes(outcome.sandbox, limits) + outcome.removed
    if outcome.wall_clock:
        notes.insert(0, f"stopped by the notebook's wall-clock limit ({limits.notebook_seconds} s)")
    return JobResult(spec.student, spec.assignment, outcome.status, outcome.seconds,
                     "" if outcome.graded else outcome.error[-4000:], spec.nonce,
                     notes if outcome.status != "timeout" else [],
                     worker=outcome.worker, peak_kb=outcome.peak_kb)
