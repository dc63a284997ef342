"""A check decided only at grading says so in the student's notebook, even after ``;``.

A deferred check (its verdict needs a grader reference, e.g. ``check_values`` without the
course's reference) passes in a student's Jupyter on what it can decide there. Its note
is printed, because the kit's test lines end with ``;`` and a returned message would be
hidden; in a grading kernel nothing new is printed and the evidence recorded is the same.
"""
import nbformat
import numpy as np
from nbclient import NotebookClient

from autograder.student import checks
from autograder.student.checks.core import register_reference
from autograder.student.checks.evidence import read_evidence
from autograder.student.checks.numpy_code.values import ValuesCheck

NOTE = "decided when your work is graded"


def eight_times(x):
    return 8 * x  # the right shape, the wrong values: only the grader's reference tells


def test_a_deferred_check_prints_its_note_in_a_students_process(capsys):
    result = checks.check_values(eight_times, "double")
    out = capsys.readouterr().out
    assert result.passed and result.details["deferred"]
    assert NOTE in out and result.name in out


def test_a_check_decided_here_prints_nothing(capsys):
    register_reference("values:double", lambda x: 2 * x)
    assert checks.check_values(lambda x: 2 * x, "double").passed
    assert checks.check_softmax(lambda z: np.exp(z - z.max(1, keepdims=True))
                                / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    assert capsys.readouterr().out == ""


def test_a_failed_deferred_check_raises_without_a_note(capsys):
    try:
        checks.check_values(lambda x: x[:2], "double")
    except AssertionError as err:
        assert "shape" in str(err)
    else:
        raise AssertionError("a wrong shape must fail in the student's process")
    assert capsys.readouterr().out == ""


def test_in_a_grading_kernel_nothing_is_printed_and_the_evidence_is_the_same(
        tmp_path, monkeypatch, capsys):
    path = tmp_path / "evidence.jsonl"
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(path))
    result = checks.check_values(eight_times, "double", seed=3)
    assert capsys.readouterr().out == ""
    assert result.details == {"recorded": True} and result.points == 0.0
    (record,) = read_evidence(str(path))
    check = ValuesCheck("double", seed=3)
    assert record["identity"] == check.identity()
    np.testing.assert_array_equal(record["evidence"]["y"], check.collect(eight_times)["y"])


def test_the_note_shows_in_jupyter_when_the_line_ends_with_a_semicolon():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from autograder.student import checks\n"
        "checks.check_values(lambda x: 8 * x, 'double');")])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    shown = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert NOTE in shown and "double(x) on random inputs" in shown
    assert not [o for o in outputs if o.output_type == "execute_result"]  # the ; still hides it
