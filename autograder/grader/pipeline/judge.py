"""The trusted judge: re-score accuracy from the files a submission saved, outside the
student's kernel.

A test cell in the source notebook may carry a judge spec in its metadata::

    "autograder": {"judge": {"check": "saved_network_accuracy", "path": "a1_weights.npz",
                             "layers": [...], "dataset": "mnist", "threshold": 0.97,
                             "preprocess": "flat"}}

After nbgrader has run the submission, the coordinator loads the saved parameters as
plain arrays (``np.load(allow_pickle=False)`` or ``torch.load(weights_only=True)``) and
evaluates them with the kit's own forward pass and data. A spec with ``"check":
"archive_accuracy"`` names a TorchScript archive instead (a student-designed network,
A5), judged by archive.py. If the judge fails, the cell
scores 0 whatever the kernel reported: a student who patches ``autograder.student.checks`` in
their kernel, or prints a fake accuracy, gains nothing. The spec comes from source/,
never from the submission.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...student.checks.accuracy import SavedNetworkCheck
from ...student.checks.core import StudentError
from ...student.checks.result import CheckResult
from .course import Course, nbgrader_meta, read_notebook

VERDICTS = "trusted_judge.json"


def judge_specs(course: Course, assignment: str) -> list[tuple[str, str, dict]]:
    """(notebook name, grade id, spec) for every judged test cell of an assignment."""
    specs = []
    for notebook in course.notebooks(assignment):
        for cell in read_notebook(notebook)["cells"]:
            spec = cell.get("metadata", {}).get("autograder", {}).get("judge")
            if spec:
                specs.append((notebook.stem, nbgrader_meta(cell)["grade_id"], spec))
    return specs


def judged_files(course: Course, assignment: str) -> list[str]:
    """The files the judge reads from a submission's folder."""
    return [spec["path"] for _, _, spec in judge_specs(course, assignment)]


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Plain arrays from an untrusted .npz or torch state_dict file (no pickle code runs)."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as saved:
            return {k: np.asarray(saved[k]) for k in saved.files}
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise StudentError(f"{path.name} holds a {type(state).__name__}, expected a state_dict")
    return {str(k): v.detach().cpu().numpy() for k, v in state.items() if hasattr(v, "detach")}


def run_judge(folder: Path, spec: dict) -> CheckResult:
    if spec.get("check") == "archive_accuracy":  # a student-designed network (A5)
        from .archive import judge_archive

        return judge_archive(folder, spec)
    name = f"trusted re-check of {spec['path']}"
    check = SavedNetworkCheck(spec["path"], spec["layers"], spec["dataset"], spec["threshold"],
                              spec.get("split", "test"), spec.get("preprocess", "flat"), name)
    target = (folder / spec["path"]).resolve()
    if folder.resolve() not in target.parents:
        return check.failed(f"the judge spec's path {spec['path']!r} leaves the submission")
    if not target.is_file():
        return check.failed(f"{spec['path']} was not saved by the notebook")
    try:
        return check.judge({"arrays": load_arrays(target)})
    except StudentError as err:
        return check.failed(str(err))
    except Exception as err:  # noqa: BLE001 (any unreadable file is the submission's fault)
        return check.failed(f"{spec['path']} cannot be read ({type(err).__name__}: {err})")


def judge_submission(course: Course, assignment: str, folder: Path,
                     evidence: Path | None = None, nonce: str = "") -> dict[str, dict]:
    """Run every judge on an autograded folder; write and return the verdicts by grade id.

    Accuracy is judged from the saved weights; checks whose reference is grader-only are
    replayed from the kernel's ``evidence`` with the job's ``nonce`` (replay.py).
    """
    from .replay import replay_submission

    (folder / VERDICTS).unlink(missing_ok=True)  # the kernel could have planted one
    verdicts = {}
    for notebook, grade_id, spec in judge_specs(course, assignment):
        result = run_judge(folder, spec)
        verdicts[grade_id] = {"notebook": notebook, **result.to_dict()}
    if evidence is not None:
        for grade_id, verdict in replay_submission(course, assignment, evidence, nonce).items():
            if grade_id in verdicts and not verdicts[grade_id]["passed"]:
                continue  # the accuracy judge's failure already explains the cell
            verdicts[grade_id] = verdict
    if verdicts:
        (folder / VERDICTS).write_text(json.dumps(verdicts, indent=1, default=float))
    return verdicts


def read_verdicts(folder: Path) -> dict[str, dict]:
    path = folder / VERDICTS
    return json.loads(path.read_text()) if path.exists() else {}
