"""docs/AUTHORING.md cannot rot: its blocks tagged ```bash guide:STEP / ```python guide:STEP
are run here, in order, on a fresh course (real nbgrader, sandbox and judge on the tiny
NumPy skeleton), and the scores and messages the guide quotes are asserted."""
import csv
import re
import shlex

import pytest

from autograder.grader import cli
from autograder.grader.course import Course
from autograder.grader.record import gradebook
from tests.conftest import REPO

GUIDE = REPO / "docs" / "AUTHORING.md"
BLOCK = re.compile(r"^```(bash|python) guide:(\w+)\n(.*?)^```$", re.M | re.S)
ID = "logreg"
STALE = ("2 students of logreg were graded against an older version of its tests: "
         "`autograder grade logreg --stale` re-grades them")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """No selftest remembered from elsewhere (and the user's cache left alone)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def guide_steps() -> dict:
    """{step: (language, code)} of the guide's tagged blocks, in the guide's order."""
    steps = {}
    for language, step, code in BLOCK.findall(GUIDE.read_text()):
        assert step not in steps, f"two guide blocks named {step}"
        steps[step] = (language, code)
    return steps


def run_step(step, course, capsys) -> str:
    """Run one guide block in the course directory; what it printed."""
    language, code = guide_steps()[step]
    capsys.readouterr()
    if language == "python":
        exec(compile(code, f"{GUIDE}:{step}", "exec"), {})
    else:
        for line in code.splitlines():
            if not line.strip():
                continue
            words = shlex.split(line)
            assert words[0] == "autograder", f"guide:{step} runs something else: {line}"
            assert cli.main(["--course", str(course.root), *words[1:]]) == 0, line
    return capsys.readouterr().out


def scores(course):
    return {student: {i.name: i.score for i in gradebook.submission_items(course, ID, student)
                      if i.kind == "autograded test"} for student in ("alice", "bob")}


def grades_csv(course):
    with open(course.root / "exports" / "grades.csv") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_the_guide_blocks_are_the_steps_the_test_runs():
    assert list(guide_steps()) == ["new", "release", "class", "grade", "points", "rerelease",
                                   "stale"]
    text = GUIDE.read_text()
    for quoted in ("**2 / 2**", "**1 / 2**", "**3 / 3**", "**1.5 / 3**", STALE,
                   "selftest logreg: PASSED", '"values:logreg_softplus"'):
        assert quoted in text


def test_the_guides_example_releases_grades_and_regrades_stale_work_as_it_says(
        tmp_path, monkeypatch, capsys):
    (tmp_path / "course" / "source").mkdir(parents=True)
    course = Course(tmp_path / "course")
    monkeypatch.chdir(course.root)

    run_step("new", course, capsys)
    assert (course.source / ID / f"{ID}.ipynb").is_file()
    assert 'register_reference("values:logreg_softplus"' in (
        course.source / "grader_references.py").read_text()

    out = run_step("release", course, capsys)
    assert "selftest logreg: PASSED" in out and "not graded again" in out
    assert (course.release / ID / f"{ID}.ipynb").is_file()

    run_step("class", course, capsys)
    run_step("grade", course, capsys)
    assert scores(course) == {"alice": {"softplus_test": 2}, "bob": {"softplus_test": 1}}
    rows = grades_csv(course)
    assert rows["alice"]["logreg tests"] == rows["bob"]["logreg tests"] == "current"
    assert rows["alice"]["logreg:softplus_why"] == "pending"  # formgrader's, by hand
    assert rows["bob"]["logreg:softplus_why"] == "0"  # left untouched

    run_step("points", course, capsys)
    out = run_step("rerelease", course, capsys)
    assert STALE in out and "PASSED" not in out
    rows = grades_csv(course)
    assert rows["alice"]["logreg tests"] == rows["bob"]["logreg tests"] == "older version"
    assert scores(course) == {"alice": {"softplus_test": 2}, "bob": {"softplus_test": 1}}

    run_step("stale", course, capsys)
    assert scores(course) == {"alice": {"softplus_test": 3}, "bob": {"softplus_test": 1.5}}
    rows = grades_csv(course)
    assert rows["alice"]["logreg tests"] == rows["bob"]["logreg tests"] == "current"
