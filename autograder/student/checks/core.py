"""The shape every check has: *collect* where the student's code runs, *judge* anywhere.

A check is a small class:

* ``inputs()``: the inputs the student's code is called on, derived only from the check's
  own parameters and its seed, so both halves can re-derive them.
* ``collect(student)``: calls the student's objects on those inputs and returns
  **plain data only** (NumPy arrays, numbers, strings, lists and dicts of them).
* ``judge(evidence)``: a pure function of that plain data and the check's own references
  (torch autograd, the grader's data). It never sees the student's objects, so a later
  stage can run it in a separate, trusted process.

``run(check, student)`` does both in one process (the notebook case). Any exception in
the student's code, and anything odd it returns, becomes a failed result with a message,
never a crash inside the check.

Some judges need a reference that is itself an answer to an exercise (a training loop, a
NumPy Adam). Those references live on the grader side (``autograder.grader.references``)
and reach a judge through :func:`grader_reference`; where they are absent (a student's
Jupyter, a grading kernel) the judge decides what it can without them and says so, and
the trusted judge re-scores the recorded evidence at grading.
"""
from __future__ import annotations

import hashlib
import os
import traceback

import numpy as np

from .result import CheckResult


class StudentError(Exception):
    """The student's code raised; carries a short description for the message."""


class Check:
    """Base class. Subclasses set ``kind`` and implement inputs/collect/judge."""

    kind = "check"

    def __init__(self, name: str, points: float = 1.0, seed: int = 0):
        self.name = name
        self.points = points
        self.seed = seed
        self.nonce = None  # the grading run's nonce when judged outside the kernel

    # -- the two halves --------------------------------------------------------
    def inputs(self) -> dict:
        return {}

    def collect(self, student) -> dict:
        raise NotImplementedError

    def judge(self, evidence: dict) -> CheckResult:
        raise NotImplementedError

    # -- helpers for subclasses ------------------------------------------------
    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded by the check's kind, name, seed and the run's nonce."""
        return np.random.default_rng(derive_seed(self.kind, self.name, self.seed, salt,
                                                 nonce=self.nonce))

    def passed(self, message: str = "correct", **details) -> CheckResult:
        return CheckResult(self.name, True, message, self.points, self.points, details)

    def failed(self, message: str, **details) -> CheckResult:
        return CheckResult(self.name, False, message, 0.0, self.points, details)


def derive_seed(*parts, nonce: str | None = None) -> int:
    """A 63-bit seed from the parts and the nonce (default ``$AUTOGRADER_NONCE``, set per
    grading run).

    Without a nonce the inputs are the same on every run (what a student sees); the
    grader sets a fresh nonce so a solution shaped to the visible inputs cannot pass.
    """
    if nonce is None:
        nonce = os.environ.get("AUTOGRADER_NONCE", "")
    text = "|".join(str(p) for p in (*parts, nonce))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


# kind -> callable, filled by autograder.grader.references when the grader side is loaded.
_GRADER_REFERENCES: dict = {}


def register_reference(kind: str, function) -> None:
    """Grader side only: make ``function`` the reference for checks of ``kind``."""
    _GRADER_REFERENCES[kind] = function


def grader_reference(kind: str):
    """The grader's reference for checks of ``kind``, or None where the grader side is absent."""
    return _GRADER_REFERENCES.get(kind)


def grading() -> bool:
    """True inside a grading kernel (evidence is recorded for the trusted judge)."""
    return bool(os.environ.get("AUTOGRADER_EVIDENCE"))


def call_student(function, *args, what: str = "your code"):
    """Call student code; turn any exception into a ``StudentError`` with a short trace."""
    try:
        return function(*args)
    except Exception as err:  # noqa: BLE001 (any student bug must become a message)
        frames = traceback.extract_tb(err.__traceback__)[-1:]
        where = f" (line {frames[0].lineno} of {frames[0].name})" if frames else ""
        raise StudentError(f"{what} raised {type(err).__name__}: {err}{where}") from None


def run(check: Check, student, raise_on_fail: bool = True) -> CheckResult:
    """Collect and judge in this process; assert-style unless ``raise_on_fail=False``."""
    try:
        evidence = check.collect(student)
    except StudentError as err:
        evidence = {"error": str(err)}
    record_evidence(check, evidence)
    if "error" in evidence:
        result = check.failed(evidence["error"])
    else:
        try:
            result = check.judge(evidence)
        except StudentError as err:
            result = check.failed(str(err))
    record_result(result)
    if raise_on_fail:
        result.raise_if_failed()
    return result


def record_result(result: CheckResult) -> None:
    """For calibration runs: append the result to ``$AUTOGRADER_RESULTS`` (JSON lines)."""
    path = os.environ.get("AUTOGRADER_RESULTS")
    if path:
        import json

        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(result.to_dict(), default=float) + "\n")


def record_evidence(check: Check, evidence: dict) -> None:
    """Hook for the hardened pipeline: append the evidence to ``$AUTOGRADER_EVIDENCE``."""
    path = os.environ.get("AUTOGRADER_EVIDENCE")
    if not path:
        return
    from .evidence import append_evidence  # only the grader needs it

    append_evidence(path, check, evidence)
