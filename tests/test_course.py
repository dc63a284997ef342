"""The real course: the release matches source/; the untouched release of every
assignment is graded to zero without crashing the kernel; the reference solution of A1,
A2 and A4 (about 25 s a submission) survives a graded round trip with full marks (A1 over
three seeds), and each of their combined-mistake students and a sample of the
whole-notebook corpus (tests/corpus/notebooks) loses exactly the cells it should, each
with its own words.

nbval runs every teacher notebook once more (with its hidden tests) on source/. To keep
CI under 45 minutes the reference round trip of A3 and A5 (60 to 250 s a submission) runs
only with AUTOGRADER_ROUNDTRIP=all (and in `make demo-all`, which grades the whole sample
class), with five seeds each and the whole corpus.
"""
import filecmp
import json
import os
import shutil

import pytest

from autograder.grader.collect import collect
from autograder.grader.record import gradebook
from autograder.grader import grade
from autograder.grader.release import release
from autograder.grader.course import NEVER_RELEASED, Course
from autograder.grader.sample import build, fill, load_mutations, reference_answers, verify
from tests.conftest import REPO
from tests.corpus import notebooks

ASSIGNMENTS = Course(REPO).assignments()
ROUND_TRIP = (ASSIGNMENTS if os.environ.get("AUTOGRADER_ROUNDTRIP") == "all"
              else ["a1_numpy_mlp", "a2_torch_mlp", "a4_numpy_cnn"])


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "source", root / "source",
                    ignore=shutil.ignore_patterns(*NEVER_RELEASED))
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


def grade_students(course, assignments, students, tmp_path):
    """Collect the given students' versions of ``assignments`` and grade them in one batch;
    {(assignment, student): autograded items}."""
    incoming = tmp_path / "incoming"
    for assignment in assignments:
        for source_nb in course.notebooks(assignment):
            released = json.loads((course.release / assignment / source_nb.name).read_text())
            versions = {"reference": fill(released, reference_answers(source_nb)),
                        "untouched": released}
            for student in students:
                (incoming / student).mkdir(parents=True, exist_ok=True)
                (incoming / student / source_nb.name).write_text(json.dumps(versions[student]))
    collect.collect(course, incoming, replace=True)
    results = grade.grade(course, assignments, students=students, workers=2, progress=False)
    assert {(r.assignment, r.student): r.status for r in results} == {
        (a, s): "graded" for a in assignments for s in students}
    return {(a, s): [i for i in gradebook.submission_items(course, a, s)
                     if i.kind == "autograded test"] for a in assignments for s in students}


@pytest.fixture(scope="module")
def untouched(course_copy, tmp_path_factory):
    """The untouched release of every assignment, graded once in one batch."""
    return grade_students(course_copy, ASSIGNMENTS, ["untouched"],
                          tmp_path_factory.mktemp("untouched"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_gets_zero_without_crashing(untouched, assignment):
    tests = untouched[(assignment, "untouched")]
    assert tests, "the assignment has no autograded tests"
    gained = [(i.name, i.score) for i in tests if i.score]
    assert not gained, f"the untouched release scored: {gained}"


def reference_seeds(assignment: str) -> int:
    """How many differently named copies of the reference to grade: each job draws the
    judge's inputs from its own nonce, so each copy is another seed."""
    if os.environ.get("AUTOGRADER_ROUNDTRIP") == "all":
        return 5
    return 3 if assignment == "a1_numpy_mlp" else 1


@pytest.mark.parametrize("assignment", ROUND_TRIP)
def test_reference_keeps_full_marks_and_each_corpus_mistake_loses_only_its_cells(
        course_copy, assignment, tmp_path):
    """The reference over several seeds, the combined-mistake students of the sample class
    (samples/sample_class.json) and the whole-notebook corpus (tests/corpus/notebooks, a
    sample unless AUTOGRADER_ROUNDTRIP=all), in one batch: each mistake loses exactly its
    cells, each with its own words, and each correct alternative keeps every point."""
    combined = [m for m in load_mutations(REPO / "samples" / "sample_class.json")
                if m.assignment == assignment and m.student.endswith("-mistakes")]
    assert combined, f"the sample class has no combined-mistake student for {assignment}"
    mutations = combined + notebooks.sample(notebooks.load(assignment))
    incoming = tmp_path / "incoming"
    build(course_copy, incoming, [assignment], mutations)
    for source_nb in course_copy.notebooks(assignment):
        reference = next(incoming.glob(f"reference_*_{source_nb.name}")).read_text()
        for k in range(2, reference_seeds(assignment) + 1):
            (incoming / f"reference-seed{k}").mkdir(exist_ok=True)
            (incoming / f"reference-seed{k}" / source_nb.name).write_text(reference)
    collect.collect(course_copy, incoming, replace=True)
    seeds = ["reference"] + [f"reference-seed{k}" for k in range(2, reference_seeds(assignment) + 1)]
    students = seeds + [m.student for m in mutations]
    results = grade.grade(course_copy, [assignment], students=students, workers=2, progress=False)
    assert {r.student: r.status for r in results} == {s: "graded" for s in students}
    for seed in seeds:
        lost = [(i.name, i.score, i.max_score)
                for i in gradebook.submission_items(course_copy, assignment, seed)
                if i.kind == "autograded test" and i.score != i.max_score]
        assert not lost, f"the reference lost points as {seed}: {lost}"
    problems = [p for p in verify(course_copy, [assignment], mutations)
                if not p.startswith("untouched/")]
    assert not problems, "\n".join(problems)
