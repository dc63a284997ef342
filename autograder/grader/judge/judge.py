"""The trusted judge: every point of every autograded test cell, decided outside the kernel.

For each test cell of the teacher's notebook (replay.py rebuilds its checks from
``source/``) the judge looks up the evidence the grading kernel recorded for each check,
gives the check the job's nonce (so it re-derives the kernel's inputs) and judges it with
its own references. A cell scores its points times the weighted share of passing checks
(``points=`` of each call, default 1). Nothing the kernel concluded, printed or raised
decides a point; missing or malformed evidence fails its check with a message.

A test cell whose check of a saved file (weights, a model archive) is on the test split
is graded on that file alone, by the judge spec replay derives from that code line
(``replay.cell_judge_spec``)::

    {"check": "saved_network_accuracy", "path": "a1_weights.npz", "layers": [...],
     "dataset": "mnist", "threshold": 0.97, "split": "test", "preprocess": "flat"}

The judge never opens such a file itself: the sandboxed artifact inspector (inspector.py,
run by inspection.py) loads it as plain arrays (``np.load(allow_pickle=False)``,
``torch.load(weights_only=True)``) and hands back their bytes under a checked header; the
judge evaluates them with the kit's own forward pass and data. The judge never imports,
unpickles, executes or parses anything from the submission.
"""
from __future__ import annotations

from pathlib import Path


from ...student.checks.core import StudentError
from ...student.checks.evidence import decode
from ...student.checks.result import CheckResult
from .. import references
from .diagnose import dependency_notes
from .stops import saving_cell_problem, visible_stops
from .evidence import read_records
from .inspection import InspectionError, inspect
from .redact import redact, student_error
from .verdict import CheckVerdict, Verdict, verdicts_to_dict
from ..replay import TestCell
from ..assignment import Assignment, read_assignment


def judge_saved_file(folder: Path, spec: dict, notebook: str = "") -> CheckResult:
    """A judge spec's verdict on the file the notebook saved."""
    from ...student.checks.saved_files.saved_network import SavedNetworkCheck

    name = f"trusted re-check of {spec['path']}"
    check = SavedNetworkCheck(spec["path"], spec.get("layers", []), spec.get("dataset", ""),
                              spec.get("threshold", 1.0), spec.get("split", "test"),
                              spec.get("preprocess", "flat"), name)
    target = (folder / spec["path"]).resolve()
    if folder.resolve() not in target.parents:
        return check.failed(f"the judge spec's path {spec['path']!r} leaves the submission")
    if not (folder / spec["path"]).exists() and not (folder / spec["path"]).is_symlink():
        why = saving_cell_problem(folder, notebook, Path(spec["path"]).name)
        return check.failed(f"{spec['path']} was not saved by the notebook: "
                            + (why or "run the cell that saves it, to the end"))
    if spec.get("check") == "archive_accuracy":
        from .archive import judge_archive

        return judge_archive(folder, spec)
    if not target.is_file():
        return check.failed(f"{spec['path']} is not a regular file")
    try:
        arrays = inspect(folder / spec["path"], "arrays", seconds=spec.get("seconds"))["arrays"]
    except InspectionError as err:
        return check.failed(f"{spec['path']} cannot be read as plain arrays ({err.unreadable})"
                            if err.unreadable else str(err))
    except Exception as err:  # noqa: BLE001 (the grader's own failure costs this check only)
        return check.failed(f"the grader could not inspect {spec['path']} ({type(err).__name__}: "
                            f"{str(err)[:200]}); tell the course staff")
    try:
        return check.judge_arrays(arrays)
    except StudentError as err:
        return check.failed(str(err))
    except Exception as err:  # noqa: BLE001 (any unreadable file is the submission's fault)
        return check.failed(f"{spec['path']} cannot be read as plain arrays "
                            f"({type(err).__name__})")


def judge_check(check, record: dict | None, nonce: str, hidden: list[str],
                folder: Path | None = None) -> CheckResult:
    """One check's verdict from the evidence the kernel filed for it (``folder``: the
    harvested submission, for checks that also read a file it saved)."""
    if record is None:
        return check.failed("no result was recorded for this check: the test cell did not "
                            "reach it (did an earlier line of the cell, or an earlier cell, "
                            "fail or stop the notebook?)")
    check.nonce, check.folder = nonce, folder
    try:
        evidence = decode(record["evidence"])
        if "error" in evidence:
            return check.failed(student_error(evidence, hidden))
        result = check.judge(evidence)
    except StudentError as err:
        return check.failed(redact(str(err), hidden, 600))
    except Exception as err:  # noqa: BLE001 (forged or malformed evidence is the submission's)
        return check.failed(f"the recorded result is malformed ({type(err).__name__}); it was "
                            "not produced by this check on the grader's inputs")
    if result.details.get("deferred"):
        return check.failed("the grader could not compare the values (its reference for "
                            f"{check.kind!r} is missing); tell the course staff")
    return result


def cell_verdict(cell: TestCell, results: list[CheckResult],
                 hidden: list[str] | None = None) -> Verdict:
    """A test cell's score: its points times the weighted share of passing checks; each
    check's message and quantity redacted of the hidden lines ``hidden``."""
    weights = [max(0.0, float(r.max_points)) for r in results]
    total = sum(weights) or 1.0
    share = sum(w for w, r in zip(weights, results) if r.passed) / total
    checks = [_check_verdict(r, hidden) for r in results]
    failures = [c for c in checks if not c.passed]
    message = "; ".join(f"{names}: {text}" for text, names in _grouped(failures))
    return Verdict(cell.notebook, not failures, round(cell.points * share, 6), cell.points,
                   message, checks)


def _check_verdict(result: CheckResult, hidden: list[str] | None) -> CheckVerdict:
    """A check's verdict; its texts redacted (they may quote what the kernel produced)."""
    verdict = CheckVerdict.from_result(result)
    if hidden is not None:
        verdict.message = redact(verdict.message, hidden, 2000)
        if verdict.quantity is not None:
            verdict.quantity = redact(verdict.quantity, hidden, 200)
    return verdict


def _grouped(failures: list[CheckVerdict]) -> list[tuple[str, str]]:
    """(message, the checks that failed with it), in order: a message said once."""
    names: dict[str, list[str]] = {}
    for result in failures:
        names.setdefault(result.message, []).append(result.name)
    return [(text, ", ".join(group)) for text, group in names.items()]


def judge_cells(course, assignment: str | Assignment, folder: Path,
                evidence: Path | None = None, nonce: str = "") -> dict[str, Verdict]:
    """{grade_id: Verdict} for every autograded test cell of a harvested submission
    (``assignment``: its name, or the Assignment the batch read: assignment.read_assignment)."""
    references.install(course.source)  # the kit's and the course's, before any check
    if not isinstance(assignment, Assignment):
        assignment = read_assignment(course, assignment)
    hidden = assignment.hidden
    records, note = read_records(evidence) if evidence is not None else ({}, "")
    verdicts, seen, traces = {}, {}, {}
    for cell in assignment.fresh_cells():
        if cell.judge_spec:
            results = [judge_saved_file(folder, cell.judge_spec, cell.notebook)]
        else:
            results, traces[cell.grade_id] = [], []
            for check in cell.checks:
                identity = check.identity()
                k = seen[identity] = seen.get(identity, -1) + 1
                filed = records.get(identity, [])
                record = filed[k] if k < len(filed) else None
                results.append(judge_check(check, record, nonce, hidden, folder))
                traces[cell.grade_id].append(record and record.get("reached"))
        verdict = cell_verdict(cell, results, hidden)
        if note and not verdict.passed:
            verdict.message += f" ({note})"
        verdicts[cell.grade_id] = verdict
    dependency_notes(assignment, folder, verdicts, traces)
    visible_stops(assignment, folder, verdicts)
    return verdicts


def judge_submission(course, assignment: str | Assignment, folder: Path,
                     evidence: Path | None = None, nonce: str = "") -> dict[str, dict]:
    """{grade_id: verdict as plain data} (verdict.py), to cross to the coordinator, which
    files it in the submission's grading record (record/grading_record.py)."""
    return verdicts_to_dict(judge_cells(course, assignment, folder, evidence, nonce))
