"""The judge's per-cell verdict as a typed record: a check's facts (quantity, relative
error, tolerance, accuracy, threshold, dataset, split) travel as fields from the check
that knows them to the page that shows them; the submission's one grading record holds
the verdicts, and both are read back strictly."""
import json

import numpy as np
import pytest

from autograder.grader import replay
from autograder.grader.judge import judge
from autograder.grader.judge.verdict import (CheckVerdict, Verdict, VerdictError,
                                             verdicts_from_dict, verdicts_to_dict)
from autograder.grader.record.grading_record import (RECORD, SIDECARS, GradingRecord,
                                                     RecordError, read_record, remove_planted,
                                                     write_record)
from autograder.grader.report import feedback
from autograder.grader.report.render import write_page
from autograder.student.checks.saved_files.accuracy import accuracy_verdict
from autograder.student.checks.evidence import append_evidence
from autograder.student.checks.numpy_code.functions import ElementwiseCheck
from autograder.student.checks.saved_files.saved_network import SavedNetworkCheck


def relu(x):
    return np.maximum(0, x)


def leaky_relu_grad(x):
    return (x > 0) * 1.0 + 0.01 * (x <= 0)  # the gradient of a leaky ReLU: wrong here


def judged_gradient(tmp_path) -> Verdict:
    """The judge's verdict on a ReLU whose gradient is wrong, from real evidence."""
    check = ElementwiseCheck("relu", shape=(5, 4), seed=3)
    path = tmp_path / "evidence.jsonl"
    append_evidence(str(path), check, check.collect((relu, leaky_relu_grad)), check.identity())
    record = json.loads(path.read_text().splitlines()[0])
    result = judge.judge_check(check, record, "", [])
    return judge.cell_verdict(replay.TestCell("a1", "relu_test", 2.0), [result], [])


def judged_accuracy() -> Verdict:
    check = SavedNetworkCheck("w.npz", [], "cifar10", threshold=0.9)
    per_class = np.full(10, 0.8)
    per_class[3] = 0.2
    result = accuracy_verdict(check, {"accuracy": 0.74, "n": 100, "per_class": per_class})
    return judge.cell_verdict(replay.TestCell("a5", "accuracy_test", 1.0), [result], [])


def test_a_failed_gradient_comparison_carries_its_facts_as_fields(tmp_path):
    check = judged_gradient(tmp_path).checks[0]
    assert not check.passed and check.quantity == "gradient(x)"
    assert check.relative_error > check.tolerance > 0
    assert f"relative error {check.relative_error:.2e} > {check.tolerance:.0e}" in check.message


def test_an_accuracy_verdict_carries_threshold_dataset_and_split():
    check = judged_accuracy().checks[0]
    assert (check.accuracy, check.threshold, check.dataset, check.split) == \
        (0.74, 0.9, "cifar10", "test")
    assert check.per_class[3] == 0.2


def test_the_feedback_page_reads_the_fields_not_the_message(tmp_path):
    gradient, accuracy = judged_gradient(tmp_path), judged_accuracy()
    rows = (feedback.gradient_rows("relu_test", gradient),
            feedback.accuracy_rows("accuracy_test", accuracy))
    assert rows[0][0].quantity == "gradient(x)" and rows[0][0].error == \
        f"{gradient.checks[0].relative_error:.2e}"
    assert rows[1][0].threshold == 0.9 and rows[1][0].per_class[3] == ("cat (3)", 0.2)
    for verdict in (gradient, accuracy):  # a message reworded (or forged) changes no fact
        for check in verdict.checks:
            check.message = "mnist is wrong: relative error 9e9 > 1e-99 (threshold 0.1)"
    assert (feedback.gradient_rows("relu_test", gradient),
            feedback.accuracy_rows("accuracy_test", accuracy)) == rows


def rendered_facts(tmp_path, gradient: Verdict, accuracy: Verdict) -> str:
    """The gradient and accuracy sections of a feedback page built from these verdicts."""
    model = feedback.FeedbackPage("a1", "ann", 0.0, 3.0, 0.0, 0.0, 0.0, "", [],
                                  feedback.gradient_rows("relu_test", gradient),
                                  feedback.accuracy_rows("accuracy_test", accuracy), [], [])
    html = write_page("feedback.html.j2", model, tmp_path / "page.html").read_text()
    return html[html.index('<section id="gradients"'):html.index('<section id="work"')]


def test_the_rendered_page_shows_the_same_facts_whatever_the_message_says(tmp_path):
    gradient, accuracy = judged_gradient(tmp_path), judged_accuracy()
    shown = rendered_facts(tmp_path, gradient, accuracy)
    error = f"{gradient.checks[0].relative_error:.2e}"
    assert "gradient(x)" in shown and error in shown and "threshold 0.9" in shown
    for check in gradient.checks + accuracy.checks:
        check.message = "the check failed"  # reworded: no number left in the text
    assert rendered_facts(tmp_path, gradient, accuracy) == shown


def test_a_message_that_looks_like_a_comparison_makes_no_gradient_row():
    forged = CheckVerdict("relu", False, "w is wrong: relative error 5.00e-01 > 1e-06")
    verdict = Verdict("a1", False, 0.0, 1.0, "relu: forged", [forged])
    assert feedback.gradient_rows("relu_test", verdict) == []


def test_verdicts_round_trip_through_json(tmp_path):
    verdicts = {"relu_test": judged_gradient(tmp_path), "accuracy_test": judged_accuracy()}
    verdicts["relu_test"].add_note("this test uses your relu")
    verdicts["relu_test"].depends_on = ["earlier_test"]
    text = json.dumps(verdicts_to_dict(verdicts))
    assert verdicts_from_dict(json.loads(text)) == verdicts
    assert json.loads(text)["relu_test"]["version"] == 1


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(surprise=1), "unknown fields ['surprise']"),
    (lambda d: d.pop("score"), "lacks ['score']"),
    (lambda d: d.update(score="3"), "score is a str, not a float"),
    (lambda d: d.update(passed=1), "passed is a int, not a bool"),
    (lambda d: d.update(version=2), "version 2"),
    (lambda d: d["checks"][0].update(tolerance="1e-6"), "tolerance is a str"),
    (lambda d: d["checks"][0].update(per_class=["x"]), "per_class holds a str"),
    (lambda d: d["checks"].append([]), "is a list, not a mapping"),
    (lambda d: d.update(notes=[3]), "notes that are not all text"),
])
def test_a_verdict_is_read_strictly(tmp_path, change, words):
    data = verdicts_to_dict({"relu_test": judged_gradient(tmp_path)})
    change(data["relu_test"])
    with pytest.raises(VerdictError, match=words.replace("[", r"\[").replace("]", r"\]")):
        verdicts_from_dict(data)


# ----------------------------------------------------------------- the grading record

def a_record(tmp_path) -> GradingRecord:
    return GradingRecord("timeout", "grading stopped after 40 s", ["the memory limit was reached"],
                         41.25, 2.5, {"relu_test": judged_gradient(tmp_path)},
                         {"tiny_weights.npz": {"sha256": "ab" * 32, "units": []}})


def test_a_grading_record_round_trips_through_its_file(tmp_path):
    record = a_record(tmp_path)
    folder = tmp_path / "autograded" / "ann" / "a1"
    write_record(folder, record)
    assert sorted(p.name for p in folder.iterdir()) == [RECORD]
    assert read_record(folder) == record
    assert record.problem == ("timeout: grading stopped after 40 s\n"
                              "the memory limit was reached")
    assert GradingRecord("graded", notes=[]).problem == ""
    assert read_record(tmp_path / "never-graded") is None


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(version=0), "version 0"),
    (lambda d: d.update(extra=1), "fields"),
    (lambda d: d.pop("fingerprints"), "fields"),
    (lambda d: d.update(seconds="41"), "seconds is a str"),
    (lambda d: d.update(notes=[None]), "notes that are not all text"),
    (lambda d: d["verdicts"]["relu_test"].update(score=None), "score is a NoneType"),
])
def test_a_grading_record_is_read_strictly(tmp_path, change, words):
    data = a_record(tmp_path).to_dict()
    change(data)
    (tmp_path / RECORD).write_text(json.dumps(data))
    with pytest.raises(RecordError, match=words) as raised:
        read_record(tmp_path)
    assert "grade the submission again" in str(raised.value)


def test_a_record_that_is_a_link_or_not_json_is_refused(tmp_path):
    (tmp_path / "elsewhere.json").write_text(json.dumps(a_record(tmp_path).to_dict()))
    (tmp_path / RECORD).symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(RecordError, match="not a regular file"):
        read_record(tmp_path)
    (tmp_path / RECORD).unlink()
    (tmp_path / RECORD).write_text("{not json")
    with pytest.raises(RecordError, match="cannot be read"):
        read_record(tmp_path)


def test_what_a_kernel_planted_under_the_graders_names_is_removed(tmp_path):
    for name in (RECORD, *SIDECARS):
        (tmp_path / name).write_text("planted")
    (tmp_path / "a1.ipynb").write_text("{}")
    remove_planted(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["a1.ipynb"]
