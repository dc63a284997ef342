"""The corpus of whole buggy notebooks (samples/sample_class.json) stays applicable to the
teacher notebooks: every edit finds its text, every lost cell is an autograded test, and
every expected message belongs to a cell the student loses."""
import pytest

from autograder.grader.course import Course
from autograder.grader import assignment
from autograder.grader.sample import load_mutations, mutate, reference_answers
from tests.conftest import REPO

COURSE = Course(REPO)
MUTATIONS = load_mutations(REPO / "samples" / "sample_class.json")


def test_the_corpus_covers_all_five_assignments():
    assert {m.assignment for m in MUTATIONS} == set(COURSE.assignments())
    assert sum(len(m.edits) for m in MUTATIONS) >= 20


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.student for m in MUTATIONS])
def test_each_corpus_student_applies_to_the_source_and_names_real_tests(mutation):
    answers = {}
    for notebook in COURSE.notebooks(mutation.assignment):
        answers.update(reference_answers(notebook))
    changed = mutate(answers, mutation)
    assert changed != answers
    tests = {cell.grade_id for cell in assignment.test_cells(COURSE, mutation.assignment)}
    assert set(mutation.loses) <= tests, f"not autograded tests: {set(mutation.loses) - tests}"
    assert set(mutation.says) <= set(mutation.loses), "a message is expected from a cell that passes"
    assert mutation.says, "each corpus student names the words of at least one message"


def test_students_have_distinct_names():
    names = [m.student for m in MUTATIONS]
    assert len(names) == len(set(names))
