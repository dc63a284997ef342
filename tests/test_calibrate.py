"""autograder calibrate: the reference solution over seeds, judged as the grader judges."""
import pytest

from autograder.grader import calibrate, cli
from autograder.grader.course import Course
from tests import course_fixture as fx

SPECS = {"w.npz": {"threshold": 0.97}}


def runs(*accuracies, seconds=10.0):
    return [calibrate.Run(seed, seconds, {"w.npz": a}) for seed, a in enumerate(accuracies)]


def test_calibrating_the_tiny_course_writes_the_table_from_the_judges_accuracy(tmp_path):
    course = Course(fx.make_course(tmp_path))
    code = cli.main(["--course", str(tmp_path), "calibrate", fx.ASSIGNMENT, "--seeds", "2"])
    text = (course.root / "calibration" / f"{fx.ASSIGNMENT}.md").read_text()
    assert code == 0 and "FAILED" not in text
    row = next(line for line in text.splitlines() if line.startswith("| tiny_weights.npz"))
    low, mean, high, threshold = (float(x) for x in row.split("|")[2:6])
    assert 0.75 + 0.005 <= low <= mean <= high <= 1 and threshold == 0.75
    assert "| 0 |" in text and "| 1 |" in text and "cores" in text  # per seed, machine


def test_a_threshold_less_than_half_a_point_below_the_worst_seed_fails():
    assert calibrate.problems(runs(0.980, 0.975), SPECS, budget=60) == []
    found = calibrate.problems(runs(0.980, 0.974), SPECS, budget=60)
    assert len(found) == 1 and "w.npz" in found[0] and "0.9740" in found[0]


def test_a_run_over_the_budget_fails():
    found = calibrate.problems(runs(0.99, 0.99, seconds=61.0), SPECS, budget=60)
    assert [p.split(":")[0] for p in found] == ["seed 0", "seed 1"]


def test_an_assignment_without_a_judged_file_cannot_be_calibrated(tmp_path):
    course = Course(fx.make_course(tmp_path))
    with pytest.raises(ValueError, match="nothing to calibrate"):
        calibrate.calibrate(course, "no_such_assignment", 1)
