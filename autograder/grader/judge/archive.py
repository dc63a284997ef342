"""The trusted judge of a student-designed network: a TorchScript archive, its parameter
cap, its accuracy on the grader's data, and fingerprints that flag copied models.

Why TorchScript and not ``torch.export``
----------------------------------------
Both turn a student's ``BetterCNN`` into a file that runs without the student's class.
But ``torch.export.load`` (torch 2.14) unpickles weights and constants with
``torch.load(weights_only=False)`` and ``pickle.loads``: loading an untrusted ``.pt2``
can run arbitrary Python. ``torch.jit.load`` reads ``data.pkl`` with TorchScript's own
restricted unpickler (tensors and TorchScript types only) and compiles the archive's
``code/`` with the TorchScript compiler, which can only call registered operators. torch
marks ``torch.jit`` deprecated (a FutureWarning) but it works on CPU in 2.14.1 and needs no
example input for ``torch.jit.script``; the notebook falls back to ``torch.jit.trace``.

What is refused before anything runs
------------------------------------
Links, oversized or malformed zips, and code or operators that reach files or other
machines: the list is ``torchscript.py``'s docstring, beside the code that refuses them.

Where it runs (defence in depth)
--------------------------------
The judge never loads an archive itself: ``evaluate_archive`` has the artifact inspector
(inspector.py, started by inspection.py) load and run it in the sandbox, unprivileged,
with nothing writable but its scratch folder, a memory and CPU limit and a wall-clock
limit (``INSPECT_SECONDS``, or the spec's ``"seconds"``), and give back its predictions
on the images (never the labels) and its parameter counts. So a scan that misses an
operator can write nowhere that matters, a ``forward`` that loops costs that submission
its check after the limit, and a crafted archive that crashes torch crashes only the
inspector. The judge scores the predictions against its own labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...student.checks.saved_files.accuracy import labels, score
from ...student.checks.saved_files.archive import accuracy_message, cap_message
from ...student.checks.core import Check, StudentError
from ...student.checks.result import CheckResult
from .torchscript import ArchiveError, _regular_file, load_archive

class ArchiveCheck(Check):
    kind = "archive_judge"

    def __init__(self, spec: dict):
        super().__init__(f"trusted re-check of {spec['path']}", 1.0, 0)


def evaluate_archive(path: Path, dataset: str, split: str, seconds: float | None = None) -> dict:
    """{"accuracy", "per_class", "n", "parameters", "hidden"} of the archive at ``path``,
    run by the sandboxed inspector on the split's images (``seconds``: its wall-clock
    limit); the accuracy is computed here, from the judge's own labels."""
    from .inspection import inspect

    _regular_file(Path(path))
    answer = inspect(Path(path), "archive", (dataset, split), seconds)
    truth = labels(dataset, split)
    try:
        predicted = np.asarray(answer.get("predictions"), dtype=np.int64)
        counts = {key: answer.get(key) for key in ("parameters", "hidden")}
    except (TypeError, ValueError, OverflowError):
        predicted, counts = None, {}
    if predicted is None or predicted.shape != truth.shape or \
            not all(isinstance(v, int) and v >= 0 for v in counts.values()) or \
            len(counts) != 2:
        raise ArchiveError("the evaluation of the archive gave a malformed answer; tell the "
                           "course staff")
    return {**score(predicted, truth), **counts}


def archive_per_class(path: Path, dataset: str, split: str) -> list:
    return evaluate_archive(path, dataset, split)["per_class"]


# The archive checks' references (installed by references.install, never on import): the
# judge's strict loader and its sandboxed evaluation instead of a torch.jit.load in-process.
REFERENCES = {"archive_loader": load_archive, "archive_per_class": archive_per_class,
              "archive_evaluation": evaluate_archive}


# ----------------------------------------------------------------------------- judging

def judge_archive(folder: Path, spec: dict) -> CheckResult:
    """The verdict on the archive ``spec["path"]`` in a submission ``folder``.

    spec: {"check": "archive_accuracy", "path": "a5_model.ts", "dataset": "cifar10",
    "threshold": 0.7, "parameter_cap": 1000000, "split": "test"}, and optionally "seconds"
    (the evaluation's wall-clock limit, default ``inspection.INSPECT_SECONDS``). Never raises: a refused,
    unreadable or failing archive is a failed result with a message.
    """
    check = ArchiveCheck(spec)
    folder = Path(folder)
    target = folder / spec["path"]
    if folder.resolve() not in target.resolve().parents and not target.is_symlink():
        return check.failed(f"the judge spec's path {spec['path']!r} leaves the submission")
    dataset, split = spec.get("dataset", "cifar10"), spec.get("split", "test")
    try:
        result = evaluate_archive(target, dataset, split, spec.get("seconds"))
    except StudentError as err:
        return check.failed(str(err))
    except Exception as err:  # noqa: BLE001 (never let a submission crash the judge)
        return check.failed(f"{spec['path']} could not be evaluated ({type(err).__name__}: "
                            f"{str(err)[:300]})")
    cap = spec.get("parameter_cap")
    details = {k: result[k] for k in ("accuracy", "per_class", "n", "parameters", "hidden")}
    details.update(dataset=dataset, split=split)  # fields of the verdict, never parsed
    if cap is not None:
        ok, text = cap_message(result, int(cap))
        if not ok:
            return check.failed(text, **details)
    details["threshold"] = float(spec["threshold"])
    ok, text = accuracy_message(result, dataset, split, details["threshold"])
    return check.passed(text, **details) if ok else check.failed(text, **details)
