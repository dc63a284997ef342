"""The judge's pieces without a kernel: rebuilding checks from a test cell's source,
sharing a cell's points among its checks, and judging evidence that is missing, forged
or malformed."""
import json

import numpy as np
import pytest

from autograder.grader.judge import judge, redact
from autograder.grader import replay
from autograder.grader.judge.evidence import read_records
from autograder.student import checks
from autograder.student.checks.evidence import append_evidence
from autograder.student.checks.numpy_code.functions import ElementwiseCheck

CELL = """
relu = ReLU()
assert np.allclose(relu(np.array([-1.0])), [0.0]), "a plain assert counts for nothing"
SHAPE = (4, 3)
checks.check_elementwise(relu, relu.gradient, "relu", shape=SHAPE, seed=0)
### BEGIN HIDDEN TESTS
_ = checks.check_elementwise(relu, relu.gradient, "relu", shape=(2 * 3, 7 - 2), seed=7, points=2)
### END HIDDEN TESTS
"""


def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    return (x > 0).astype(float)


def test_a_cell_rebuilds_to_the_checks_the_kernel_runs():
    built = replay.cell_checks(CELL, "cell")
    assert [(c.reference, c.shape, c.seed, c.points) for c in built] == [
        ("relu", (4, 3), 0, 1.0), ("relu", (6, 5), 7, 2)]
    kernel_side = ElementwiseCheck("relu", shape=(6, 5), seed=7, points=2)
    assert built[1].identity() == kernel_side.identity()
    assert built[0].identity() != built[1].identity()


def test_literals_of_the_teachers_given_cells_are_known():
    call = "checks.check_adam(run_adam, lr=LR, steps=STEPS, seed=1)"
    (check,) = replay.cell_checks(call, "cell", known={"LR": 0.01, "STEPS": 3})
    assert (check.lr, check.steps) == (0.01, 3)


@pytest.mark.parametrize("source, words", [
    ("def helper():\n    checks.check_adam(run_adam, lr=0.1)\nhelper()", "inside a function"),
    ("for lr in (0.1, 0.2):\n    checks.check_adam(run_adam, lr=lr)", "inside a function, loop"),
    ("checks.check_adam(run_adam, lr=choose_lr())", "not a literal"),
    ("checks.check_nothing(run_adam)", "not a check of the library"),
    ("checks.check_adam(*arguments)", "unpacks arguments"),
])
def test_a_check_call_the_judge_cannot_replay_is_refused_with_the_reason(source, words):
    with pytest.raises(replay.ReplayError, match=words):
        replay.cell_checks(source, "nb.ipynb cell t1")


def record(tmp_path, check, student):
    """What a grading kernel writes for ``check`` (collect only), read back as the judge does."""
    path = tmp_path / "evidence.jsonl"
    append_evidence(str(path), check, check.collect(student), check.identity())
    records, _ = read_records(path)
    return path, records[check.identity()][-1]


def test_evidence_is_judged_with_the_jobs_nonce(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_NONCE", "job-nonce")
    kernel_check = ElementwiseCheck("relu", shape=(5, 4), seed=3)
    _, evidence = record(tmp_path, kernel_check, (relu, relu_grad))
    judged = judge.judge_check(ElementwiseCheck("relu", shape=(5, 4), seed=3), evidence,
                               "job-nonce", [])
    assert judged.passed
    elsewhere = judge.judge_check(ElementwiseCheck("relu", shape=(5, 4), seed=3), evidence,
                                  "another-nonce", [])
    assert not elsewhere.passed and "forward(x)" in elsewhere.message


def test_missing_and_malformed_evidence_fail_their_check_with_a_message():
    check = ElementwiseCheck("relu", shape=(5, 4), seed=3)
    missing = judge.judge_check(check, None, "n", [])
    assert not missing.passed and "no result was recorded" in missing.message
    forged = {"identity": check.identity(), "evidence": {"y": {"__array__": ["a"],
                                                               "dtype": "object", "shape": [1]}}}
    malformed = judge.judge_check(check, forged, "n", [])
    assert not malformed.passed and "malformed" in malformed.message


def test_a_student_exception_is_named_by_type_and_place_never_by_its_message():
    check = ElementwiseCheck("relu", shape=(5, 4), seed=3)
    secret = 'checks.check_elementwise(relu, relu.gradient, "relu", shape=(9, 9), seed=1101)'

    def leaky(x):
        raise ValueError(secret)

    evidence = {"identity": check.identity(),
                "evidence": json.loads(json.dumps(_encoded(check, (relu, leaky))))}
    result = judge.judge_check(check, evidence, "", [redact.collapse(secret)])
    assert not result.passed
    assert "gradient(x) raised ValueError at line" in result.message
    assert secret not in result.message


def _encoded(check, student):
    """The evidence a grading kernel records when ``student`` runs in ``check``."""
    import os
    import tempfile

    from autograder.student.checks.core import run

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "e.jsonl")
        os.environ["AUTOGRADER_EVIDENCE"] = path
        try:
            result = run(check, student, raise_on_fail=False)
        finally:
            del os.environ["AUTOGRADER_EVIDENCE"]
        assert result.details == {"recorded": True}  # a grading kernel decides nothing
        with open(path) as f:
            return json.loads(f.readline())["evidence"]


def test_a_cells_points_are_shared_among_its_checks_by_weight():
    cell = replay.TestCell("nb", "t", points=4.0)
    ok = checks.CheckResult("a", True, "ok", 1, 1)
    bad = checks.CheckResult("b", False, "wrong", 0, 1)
    assert judge.cell_verdict(cell, [ok, ok, ok, bad]).score == 3.0
    heavy = checks.CheckResult("c", False, "wrong", 0, 2)
    verdict = judge.cell_verdict(cell, [ok, ok, heavy])
    assert verdict.score == 2.0 and verdict.message == "c: wrong"
    assert [c.name for c in verdict.checks] == ["a", "a", "c"]


def test_redaction_removes_hidden_lines_however_they_are_spaced():
    hidden = [redact.collapse("checks.check_values(double, 'double', shape=(3, 5), seed=12)")]
    text = "got:\n  checks.check_values(double,  'double', shape=(3, 5),   seed=12)\nend"
    cleaned = redact.redact(text, hidden)
    assert "seed=12" not in cleaned and redact.REMOVED in cleaned
