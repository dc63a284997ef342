"""`autograder new` writes an assignment that releases, self-tests and grades as written;
`autograder selftest` (and release, before it releases) refuses an assignment whose
teacher's solution loses points, whose release earns points, whose checks name a missing
reference or repeat each other. Real nbgrader, sandbox and judge on the tiny skeleton."""
import json

import pytest

from autograder.grader import cli
from autograder.grader.collect import collect
from autograder.grader.course import Course, nbgrader_meta
from autograder.grader.grade import grade
from autograder.grader.judge.verdict import Verdict
from autograder.grader.record import gradebook
from autograder.grader.sample import fill, reference_answers
from autograder.grader.selftest import verdict_problems
from autograder.grader.selftest_static import static_problems
from tests.conftest import REPO

ID = "logreg"
HIDDEN = 'checks.check_values(softplus, "logreg_softplus", shape=(50,), scale=1000.0, seed=7)'
VISIBLE = 'checks.check_values(softplus, "logreg_softplus", shape=(4, 3))'


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test starts with no selftest remembered (and leaves the user's cache alone)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def new_course(tmp_path) -> Course:
    (tmp_path / "course" / "source").mkdir(parents=True)
    course = Course(tmp_path / "course")
    assert cli.main(["--course", str(course.root), "new", ID]) == 0
    return course


def edit_cell(course, grade_id, old, new):
    path = course.source / ID / f"{ID}.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            assert old in source
            cell["source"] = source.replace(old, new)
    path.write_text(json.dumps(nb))


def autograded_scores(course, student):
    return {i.name: i.score for i in gradebook.submission_items(course, ID, student)
            if i.kind == "autograded test"}


def test_a_new_assignment_releases_self_tested_and_grades_the_reference_full_and_the_release_zero(
        tmp_path, capsys):
    course = new_course(tmp_path)
    assert cli.main(["--course", str(course.root), "release", ID]) == 0
    out = capsys.readouterr().out
    assert "about 90 s" in out  # the skeleton's budget_seconds (60) + 30
    assert f"selftest {ID}: PASSED" in out and "untouched release none" in out
    assert (course.release / ID / f"{ID}.ipynb").is_file()
    nb = json.loads((course.root / "source" / ID / f"{ID}.ipynb").read_text())
    assert nb["metadata"]["autograder"] == {"from_scratch": True, "budget_seconds": 60}
    kinds = {nbgrader_meta(c)["grade_id"]: (c["cell_type"], nbgrader_meta(c)["grade"],
                                            nbgrader_meta(c)["solution"]) for c in nb["cells"]}
    assert kinds["softplus_answer"] == ("code", False, True)
    assert kinds["softplus_test"] == ("code", True, False)
    assert kinds["softplus_why"] == ("markdown", True, True)  # graded by hand

    # the real course's class: the teacher's solution and the untouched release
    released = json.loads((course.release / ID / f"{ID}.ipynb").read_text())
    incoming = tmp_path / "incoming"
    answers = reference_answers(course.source / ID / f"{ID}.ipynb")
    for student, nb in (("ref", fill(released, answers)), ("lazy", released)):
        (incoming / student).mkdir(parents=True)
        (incoming / student / f"{ID}.ipynb").write_text(json.dumps(nb))
    collect.collect(course, incoming)
    results = grade(course, [ID], workers=2, progress=False)
    assert [r.status for r in results] == ["graded", "graded"]
    assert autograded_scores(course, "ref") == {"softplus_test": 2}
    assert autograded_scores(course, "lazy") == {"softplus_test": 0}

    # released again unchanged: the selftest is not graded again
    assert cli.main(["--course", str(course.root), "release", ID]) == 0
    out = capsys.readouterr().out
    assert "not graded again" in out and "about 90 s" not in out


def test_new_refuses_an_existing_id_or_a_bad_name_in_one_line(tmp_path, capsys):
    course = new_course(tmp_path)
    capsys.readouterr()
    assert cli.main(["--course", str(course.root), "new", ID]) == 2
    assert cli.main(["--course", str(course.root), "new", "A6-LogReg"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "already exists" in err[0] and "'A6-LogReg' is not a valid assignment id" in err[1]


def test_a_misspelt_reference_name_is_refused_naming_the_cell_and_nothing_is_released(
        tmp_path, capsys):
    course = new_course(tmp_path)
    edit_cell(course, "softplus_test", HIDDEN, HIDDEN.replace("logreg_softplus",
                                                              "logistic_gradient"))
    assert cli.main(["--course", str(course.root), "selftest", ID]) == 1
    out = capsys.readouterr().out
    assert f"selftest {ID}: FAILED (1 problem(s))" in out
    assert "cell softplus_test" in out and "'values:logistic_gradient'" in out
    assert "register_reference('values:logistic_gradient'" in out and "not graded" in out
    assert cli.main(["--course", str(course.root), "release", ID]) == 2
    assert "selftest failed for logreg: nothing released" in capsys.readouterr().err
    assert not course.release.exists()
    assert cli.main(["--course", str(course.root), "release", "--no-selftest", ID]) == 0


@pytest.mark.parametrize("hidden", [
    VISIBLE,  # verbatim
    "_ = checks.check_values(softplus, 'logreg_softplus', shape=[4, 3], seed=0)",  # same check
])
def test_a_hidden_check_repeating_a_visible_one_is_refused(tmp_path, capsys, hidden):
    course = new_course(tmp_path)
    edit_cell(course, "softplus_test", HIDDEN, hidden)
    assert cli.main(["--course", str(course.root), "selftest", ID]) == 1
    out = capsys.readouterr().out
    assert "cell softplus_test: the hidden check" in out
    assert f"repeats the visible check `{VISIBLE}`" in out
    assert "duplicate check name 'logreg_softplus(x) on random inputs'" in out
    assert "Fix: give it other inputs" in out


def test_two_visible_checks_with_the_same_name_and_inputs_are_refused(tmp_path):
    course = new_course(tmp_path)
    edit_cell(course, "softplus_test", VISIBLE, VISIBLE + "\n" + VISIBLE)
    [problem] = static_problems(course, ID)
    assert "cell softplus_test: the check" in problem and "repeats the visible check" in problem


def test_a_solution_that_fails_its_own_hidden_check_is_refused(tmp_path, capsys):
    course = new_course(tmp_path)
    # right for the visible inputs, overflows to inf on the hidden ones (|x| ~ 1000)
    edit_cell(course, "softplus_answer", "return np.logaddexp(0.0, x)",
              "return np.log(1.0 + np.exp(x))")
    assert cli.main(["--course", str(course.root), "selftest", ID]) == 1
    out = capsys.readouterr().out
    assert "cell softplus_test: the teacher's solution earns 1/2" in out
    assert "Fix the solution cell or the check" in out


def test_a_release_that_earns_points_untouched_is_refused():
    course = Course(REPO)
    verdicts = {"test_relu": Verdict("a1_numpy_mlp", True, 1.0, 1.0, "")}
    [problem] = [p for p in verdict_problems(course, "a1_numpy_mlp", "untouched", verdicts)
                 if "test_relu" in p]
    assert "cell test_relu: the untouched release earns 1/1" in problem


def test_the_course_assignments_pass_the_static_selftest():
    """Their checks name registered references and none repeats another (A3's hidden
    optimizer check looks like its visible one, but on another model: not a repeat)."""
    course = Course(REPO)
    assert {a: static_problems(course, a) for a in course.assignments()} == {
        a: [] for a in course.assignments()}


def test_new_adds_its_reference_to_a_course_that_has_its_own(tmp_path):
    from autograder.grader.references import course_references
    from tests import course_fixture as fx

    course = Course(fx.make_course(tmp_path))
    assert cli.main(["--course", str(course.root), "new", ID]) == 0
    assert {"values:double", "values:logreg_softplus"} <= set(course_references(course.source))
    assert static_problems(course, ID) == [] and static_problems(course, fx.ASSIGNMENT) == []
