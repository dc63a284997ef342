"""The real course: the release matches source/, and every assignment's reference
solution survives a graded round trip (full marks) while the untouched release gets
zero without crashing the kernel. Each real notebook runs once here (nbval runs it once
more on source/)."""
import filecmp
import json
import shutil

import pytest

from autograder.pipeline import collect, gradebook, grade, release
from autograder.pipeline.course import Course
from autograder.pipeline.sample import fill, reference_answers
from tests.conftest import REPO

ASSIGNMENTS = Course(REPO).assignments()


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "source", root / "source",
                    ignore=shutil.ignore_patterns("*.npz", "*.pt", "*.pth", ".ipynb_checkpoints"))
    course = Course(root)
    release.release(course)
    return course


def test_there_are_five_assignments():
    assert ASSIGNMENTS == ["a1_numpy_mlp", "a2_torch_mlp", "a3_torch_cnn", "a4_numpy_cnn",
                           "a5_cifar10"]


def test_committed_release_matches_a_fresh_release_of_source(course_copy):
    fresh, committed = course_copy.release, REPO / "assignments"
    comparison = filecmp.dircmp(fresh, committed)
    stale = []

    def walk(cmp, prefix=""):
        stale.extend(prefix + n for n in cmp.left_only + cmp.right_only + cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(comparison)
    assert not stale, (f"assignments/ is out of date for {stale}: run `autograder release --all`"
                       " and commit assignments/")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_gets_full_marks_and_untouched_release_gets_zero(course_copy, assignment,
                                                                   tmp_path):
    incoming = tmp_path / "incoming"
    for source_nb in course_copy.notebooks(assignment):
        released = json.loads((course_copy.release / assignment / source_nb.name).read_text())
        for student, nb in (("reference", fill(released, reference_answers(source_nb))),
                            ("untouched", released)):
            (incoming / student).mkdir(parents=True, exist_ok=True)
            (incoming / student / source_nb.name).write_text(json.dumps(nb))
    collect.collect(course_copy, incoming, replace=True)
    results = grade.grade(course_copy, [assignment], workers=1, progress=False)
    assert {r.student: r.status for r in results} == {"reference": "graded", "untouched": "graded"}
    tests = {s: [i for i in gradebook.submission_items(course_copy, assignment, s)
                 if i.kind == "autograded test"] for s in ("reference", "untouched")}
    assert tests["reference"], "the assignment has no autograded tests"
    lost = [(i.name, i.score, i.max_score) for i in tests["reference"] if i.score != i.max_score]
    assert not lost, f"the reference solution lost points: {lost}"
    gained = [(i.name, i.score) for i in tests["untouched"] if i.score]
    assert not gained, f"the untouched release scored: {gained}"
