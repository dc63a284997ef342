"""Replay: the trusted judge re-scores check calls whose reference is grader-only.

Some checks can only be judged with a reference that answers the exercise (a training
loop, an evaluation loop). Those references never reach a grading kernel, where the check
only decides what needs no answer and records its evidence. Here, outside the kernel, the
judge reads the check calls of each test cell from ``source/`` (never from the
submission), rebuilds each check with the job's nonce, finds the evidence the kernel
recorded for it and judges it with the grader's reference.

Evidence is hostile data: read with a size cap, JSON only (no pickle), and anything
missing or malformed fails that check with a message.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from ...student.checks.evidence import decode
from ...student.checks.result import CheckResult
from ...student.checks.training import TestEpochCheck, TrainEpochCheck
from .. import references  # noqa: F401 (registers the grader's references with the judges)
from .course import Course, nbgrader_meta, read_notebook

EVIDENCE_LIMIT_BYTES = 64 * 1024 * 1024
# check function -> (Check class, its parameters after the student's object, in order)
REPLAYED = {
    "check_train_one_epoch": (TrainEpochCheck, ("log_interval", "seed", "name", "points")),
    "check_test_one_epoch": (TestEpochCheck, ("seed", "name", "points")),
}
NOT_PARAMETERS = ("raise_on_fail",)


class ReplayError(RuntimeError):
    """A check call in source/ that the judge cannot rebuild (the teacher's to fix)."""


@dataclass
class ReplayedCall:
    notebook: str
    grade_id: str
    check: object


def _parameters(call: ast.Call, names: tuple, where: str) -> dict:
    """Literal keyword and positional parameters of a check call (the student's object,
    the first argument, is not a parameter)."""
    found = {}
    try:
        for name, node in zip(names, call.args[1:]):
            found[name] = ast.literal_eval(node)
        for keyword in call.keywords:
            if keyword.arg not in NOT_PARAMETERS:
                found[keyword.arg] = ast.literal_eval(keyword.value)
    except ValueError:
        raise ReplayError(f"{where}: {ast.unparse(call)} has a parameter that is not a "
                          "literal; the judge needs literal parameters to replay it") from None
    return found


def replayed_calls(course: Course, assignment: str) -> list[ReplayedCall]:
    """Every replayed check call of the assignment's test cells, in notebook order."""
    calls = []
    for notebook in course.notebooks(assignment):
        for cell in read_notebook(notebook)["cells"]:
            meta = nbgrader_meta(cell)
            if not meta.get("grade") or meta.get("solution") or cell.get("cell_type") != "code":
                continue
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            try:
                tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                           for line in source.splitlines()))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in REPLAYED:
                    cls, names = REPLAYED[node.func.attr]
                    where = f"{notebook.name} cell {meta['grade_id']}"
                    calls.append(ReplayedCall(notebook.stem, meta["grade_id"],
                                              cls(**_parameters(node, names, where))))
    return calls


def read_evidence(path: Path) -> tuple[list[dict], str]:
    """(records, note) from a kernel's evidence file; malformed lines are skipped."""
    if not path.is_file() or path.is_symlink():
        return [], "no evidence was recorded"
    if path.stat().st_size > EVIDENCE_LIMIT_BYTES:
        return [], f"the evidence file is larger than {EVIDENCE_LIMIT_BYTES // 2**20} MB"
    records, skipped = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
                if isinstance(record, dict) and isinstance(record.get("evidence"), dict):
                    records.append(record)
                else:
                    skipped += 1
            except (json.JSONDecodeError, RecursionError):
                skipped += 1
    return records, f"{skipped} malformed evidence line(s) ignored" if skipped else ""


def judge_call(check, records: list[dict], nonce: str) -> CheckResult:
    """The verdict on one replayed check from the last evidence recorded for it."""
    mine = [r for r in records if r.get("kind") == check.kind and r.get("name") == check.name
            and r.get("seed") == check.seed]
    if not mine:
        return check.failed("no result was recorded for this check: the test cell did not "
                            "reach it (did an earlier cell fail?)")
    check.nonce = nonce
    try:
        evidence = decode(mine[-1]["evidence"])
        if "error" in evidence:
            return check.failed(str(evidence["error"])[:2000])
        return check.judge(evidence)
    except Exception as err:  # noqa: BLE001 (forged or malformed evidence is the submission's)
        return check.failed(f"the recorded result is malformed ({type(err).__name__}); it was "
                            "not produced by this check on the grader's inputs")


def replay_submission(course: Course, assignment: str, evidence_file: Path,
                      nonce: str) -> dict[str, dict]:
    """{grade_id: verdict} for every test cell with replayed checks.

    A cell passes when all its replayed checks pass; its message is the first failure's.
    """
    calls = replayed_calls(course, assignment)
    if not calls:
        return {}
    records, note = read_evidence(evidence_file)
    verdicts = {}
    for call in calls:
        result = judge_call(call.check, records, nonce)
        verdict = verdicts.setdefault(call.grade_id, {"notebook": call.notebook, "passed": True,
                                                      "message": "", "checks": []})
        verdict["checks"].append(result.to_dict())
        if not result.passed and verdict["passed"]:
            verdict["passed"] = False
            verdict["message"] = f"{result.name}: {result.message}" + (f" ({note})" if note else "")
    return verdicts
