"""One source of truth: a check's parameters are written once, in the test cell's code line
the instructor reads and edits; an assignment's settings in its notebook's metadata."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from autograder.grader import assignment as assignments, cli, replay
from autograder.grader.course import Course
from autograder.grader.release import release
from autograder.grader.release.release import ReleaseError
from autograder.grader.run.jobs import assignment_budget, assignment_limits, batch_settings
from autograder.grader.sandbox import Limits
from autograder.grader.settings import DEFAULT_BUDGET_SECONDS, SettingsError
from tests import course_fixture as fx

REPO = Path(__file__).resolve().parents[1]
A1 = "a1_numpy_mlp"
A1_HIDDEN = ('checks.check_saved_network_accuracy("a1_weights.npz", A1_LAYERS, "mnist", '
             'threshold=0.97, split="test", preprocess="flat");')
A1_VISIBLE = A1_HIDDEN.replace('split="test"', 'split="val"')
TINY_HIDDEN = "checks.check_saved_network_accuracy('tiny_weights.npz', LAYERS, 'mnist', 0.75)"


def edit_cell(path: Path, grade_id: str, edit) -> None:
    """Rewrite the source of one cell of the notebook at ``path`` with ``edit(source)``;
    ``edit`` may also change the cell (its metadata) in place."""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            source = "".join(cell["source"])
            new = edit(source, cell)
            assert new != source or cell["metadata"].get("autograder"), "the edit changed nothing"
            cell["source"] = new
    path.write_text(json.dumps(notebook, indent=1))


def cell_of(course: Course, assignment: str, grade_id: str) -> replay.TestCell:
    return next(c for c in assignments.test_cells(course, assignment) if c.grade_id == grade_id)


def a1_course(tmp_path) -> Course:
    shutil.copytree(REPO / "source" / A1, tmp_path / "source" / A1)
    return Course(tmp_path)


def test_the_a1_threshold_edited_in_its_code_lines_is_the_one_judged(tmp_path):
    course = a1_course(tmp_path)
    notebook = course.source / A1 / f"{A1}.ipynb"
    assert cell_of(course, A1, "test_accuracy").judge_spec["threshold"] == 0.97
    edit_cell(notebook, "test_accuracy", lambda s, _: s.replace("threshold=0.97", "threshold=0.985"))
    assert cell_of(course, A1, "test_accuracy").judge_spec == {
        "check": "saved_network_accuracy", "path": "a1_weights.npz", "dataset": "mnist",
        "threshold": 0.985, "split": "test", "preprocess": "flat",
        "layers": [{"type": "linear", "W": "W1", "b": "b1"}, {"type": "relu"},
                   {"type": "linear", "W": "W2", "b": "b2"}]}


def test_a_threshold_edited_in_one_line_only_is_refused_not_ignored(tmp_path):
    course = a1_course(tmp_path)
    edit_cell(course.source / A1 / f"{A1}.ipynb", "test_accuracy",
              lambda s, _: s.replace(A1_HIDDEN, A1_HIDDEN.replace("0.97", "0.985")))
    with pytest.raises(ReleaseError, match=r"val-split and test-split checks of a1_weights.npz "
                                           r"disagree \(threshold 0.97 vs 0.985\)"):
        release.release(course, [A1])
    assert not course.release.exists()


def test_a_judge_spec_left_in_the_metadata_must_agree_with_the_code(tmp_path):
    course = Course(fx.make_course(tmp_path))
    notebook = course.source / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"

    def stale_copy(threshold):
        def edit(source, cell):
            cell["metadata"]["autograder"] = {"judge": {**fx.JUDGE, "threshold": threshold}}
            return source
        return edit

    edit_cell(notebook, "centroid_test", stale_copy(0.75))  # the same as the code: harmless
    assert cell_of(course, fx.ASSIGNMENT, "centroid_test").judge_spec == fx.JUDGE
    edit_cell(notebook, "centroid_test", stale_copy(0.5))
    with pytest.raises(replay.ReplayError, match="delete metadata.autograder.judge"):
        assignments.test_cells(course, fx.ASSIGNMENT)


def test_a_check_that_would_count_for_nothing_beside_a_judged_file_is_refused(tmp_path):
    course = Course(fx.make_course(tmp_path))
    edit_cell(course.source / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb", "centroid_test",
              lambda s, _: "checks.check_values(double, 'double', shape=(4,))\n" + s)
    with pytest.raises(replay.ReplayError, match="would count for nothing"):
        assignments.test_cells(course, fx.ASSIGNMENT)


def centroid_weights(folder: Path) -> None:
    """The tiny course's reference answer to centroid_answer, saved as the notebook saves
    it (nearest class mean: about 0.82 on the MNIST test split)."""
    from autograder.student import data

    X, y = data.mnist_arrays("train")
    X = ((X / 255.0 - data.MNIST_MEAN) / data.MNIST_STD).reshape(len(X), -1)
    centroids = np.stack([X[y == c].mean(axis=0) for c in range(10)])
    np.savez(folder / "tiny_weights.npz", W1=centroids.T, b1=-0.5 * (centroids ** 2).sum(axis=1))


def test_the_judge_grades_a_saved_file_on_the_threshold_of_the_code_line(tmp_path, data_root,
                                                                         grader_references):
    from autograder.grader.judge.judge import judge_cells

    course = Course(fx.make_course(tmp_path / "course"))
    folder = tmp_path / "submission"
    folder.mkdir()
    centroid_weights(folder)
    verdict = judge_cells(course, fx.ASSIGNMENT, folder)["centroid_test"]
    assert verdict.passed and verdict.score == 2
    edit_cell(course.source / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb", "centroid_test",
              lambda s, _: s.replace(TINY_HIDDEN, TINY_HIDDEN.replace("0.75", "0.95")))
    verdict = judge_cells(course, fx.ASSIGNMENT, folder)["centroid_test"]
    assert not verdict.passed and verdict.score == 0
    assert "(threshold 0.95," in verdict.message


def set_settings(course: Course, **settings) -> None:
    path = course.source / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    notebook = json.loads(path.read_text())
    notebook["metadata"]["autograder"] = settings
    path.write_text(json.dumps(notebook, indent=1))


def test_a_budget_in_the_notebooks_metadata_reaches_the_jobs_limits(tmp_path):
    course = Course(fx.make_course(tmp_path))
    assert assignment_budget(course, fx.ASSIGNMENT) == DEFAULT_BUDGET_SECONDS == 120
    set_settings(course, budget_seconds=45, limits={"memory_bytes": 2 << 30},
                 hand_in=["notes.txt"])
    expected = Limits.for_budget(45)
    expected.memory_bytes = 2 << 30
    assert assignment_limits(course, fx.ASSIGNMENT) == expected
    assert (expected.cell_seconds, expected.notebook_seconds) == (135, 300)
    # what a grading batch resolves for its jobs, with and without --set-limit
    settings = batch_settings(course, [fx.ASSIGNMENT], sandbox=True, threads=1,
                              limits=lambda a: assignment_limits(course, a))
    assert settings.limits[fx.ASSIGNMENT] == expected
    assert settings.wanted[fx.ASSIGNMENT][-1] == "notes.txt"
    changed = cli.parse_limits(["processes=64"], course)(fx.ASSIGNMENT)
    assert changed.processes == 64 and changed.memory_bytes == 2 << 30
    assert changed.notebook_seconds == 300


@pytest.mark.parametrize("settings, named", [
    ({"budget_seconds": "fast"}, "budget_seconds is 'fast'"),
    ({"budget_seconds": 0}, "budget_seconds is 0"),
    ({"limits": {"memory": 5}}, "limits.memory = 5"),
    ({"hand_in": "report.pdf"}, "hand_in must be a list")])
def test_a_wrong_setting_is_named_and_refused_at_release(tmp_path, settings, named):
    course = Course(fx.make_course(tmp_path))
    set_settings(course, **settings)
    with pytest.raises(SettingsError, match=f"source/{fx.ASSIGNMENT}: metadata autograder.{named}"):
        assignment_limits(course, fx.ASSIGNMENT)
    with pytest.raises(ReleaseError, match=named):
        release.release(course)


def test_the_five_course_assignments_keep_their_budgets_in_their_notebooks():
    course = Course(REPO)
    assert {a: assignment_budget(course, a) for a in course.assignments()} == {
        "a1_numpy_mlp": 120, "a2_torch_mlp": 180, "a3_torch_cnn": 180, "a4_numpy_cnn": 300,
        "a5_cifar10": 420}
    for path in sorted(REPO.glob("source/*/*.ipynb")) + sorted(REPO.glob("assignments/*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        assert not [c for c in cells if "autograder" in c["metadata"]], path  # no hidden copy
