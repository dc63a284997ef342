"""A job's result: what its warm worker reported, turned into the status, message and
notes the coordinator records (sandbox limits that stopped the kernel named)."""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

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


def run_outcome(worker: WarmWorker, spec: Path, limit: float, then=()) -> dict:
    """The worker's outcome of the job ``spec``, with its "status" and "seconds" (a
    worker stopped past ``limit`` seconds, or dead, gives an outcome too); ``then``: the
    specs of the jobs after it, sent now so that the worker starts their kernels ahead."""
    start = time.perf_counter()
    try:
        outcome = worker.run(spec, limit, then)
        outcome["status"] = "graded" if outcome["success"] else "error"
    except WorkerTimeout:
        outcome = {"status": "timeout", "error": f"grading stopped after {limit} s (the "
                   "notebook's wall-clock limit and the grace period after it)"}
    except WorkerDied as err:
        outcome = {"status": "error", "error": f"the grading process failed: {str(err)[-500:]}"}
    return {**outcome, "seconds": time.perf_counter() - start}


def job_result(student: str, assignment: str, nonce: str, outcome: dict, limits) -> JobResult:
    """A job's result from its outcome, with notes on the limits that stopped it."""
    notes = sandbox_notes(outcome.get("sandbox", []), limits)
    notes += outcome.get("removed", [])
    if outcome.get("wall_clock"):
        notes.insert(0, f"stopped by the notebook's wall-clock limit ({limits.notebook_seconds} s)")
    graded = outcome["status"] == "graded"
    return JobResult(student, assignment, outcome["status"], outcome["seconds"],
                     "" if graded else outcome["error"][-4000:], nonce,
                     notes if outcome["status"] != "timeout" else [],
                     worker=outcome.get("worker", 0), peak_kb=outcome.get("peak_kb", {}))
