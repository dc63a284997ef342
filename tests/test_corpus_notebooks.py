"""The whole-notebook corpus (tests/corpus/notebooks/) stays applicable to the teacher
notebooks, without grading: each edit finds its text once, each lost cell is an autograded
test, each mistake names the words of its messages, and the corpus is as broad as issue
#23 asks. tests/test_course.py grades it end to end."""
import pytest

from autograder.grader import assignment
from autograder.grader.course import Course
from autograder.grader.sample import load_mutations, mutate, reference_answers
from tests.conftest import REPO
from tests.corpus import notebooks

COURSE = Course(REPO)
CORPUS = notebooks.load()


def answers_of(assignment_name: str) -> dict[str, str]:
    answers = {}
    for notebook in COURSE.notebooks(assignment_name):
        answers.update(reference_answers(notebook))
    return answers


def test_the_corpus_has_120_mistakes_over_five_assignments_and_10_correct_alternatives():
    mistakes = [m for m in CORPUS if not notebooks.is_correct(m)]
    assert len(mistakes) >= 120
    assert {m.assignment for m in mistakes} == set(COURSE.assignments())
    assert len([m for m in CORPUS if notebooks.is_correct(m)]) >= 10


def test_each_file_holds_only_its_own_assignment():
    for path in sorted(notebooks.FOLDER.glob("*.json")):
        assert {m.assignment for m in load_mutations(path)} <= {path.stem}, path.name


@pytest.mark.parametrize("mutation", CORPUS, ids=[m.student for m in CORPUS])
def test_each_corpus_entry_applies_once_and_names_real_tests(mutation):
    answers = answers_of(mutation.assignment)
    for edit in mutation.edits:
        assert answers.get(edit["cell"], "").count(edit["find"]) == 1, (
            f"{edit['find']!r} must occur exactly once in the answer of {edit['cell']}")
    assert mutate(answers, mutation) != answers
    tests = {cell.grade_id for cell in assignment.test_cells(COURSE, mutation.assignment)}
    assert set(mutation.loses) <= tests, f"not autograded tests: {set(mutation.loses) - tests}"
    assert set(mutation.says) <= set(mutation.loses), "a message is expected from a cell that passes"
    if notebooks.is_correct(mutation):
        assert mutation.names_cause is None and not mutation.says
    else:
        assert mutation.says, "each mistake names the words of at least one message"
        assert isinstance(mutation.names_cause, bool), "say whether the words name the cause"


@pytest.mark.parametrize("assignment_name", COURSE.assignments())
def test_every_correct_alternative_of_an_assignment_applies_in_one_notebook(assignment_name):
    """CI grades them together (notebooks.all_alternatives): each edit still finds its text
    once after the others."""
    alternatives = [m for m in notebooks.load(assignment_name) if notebooks.is_correct(m)]
    (combined,) = notebooks.all_alternatives(notebooks.load(assignment_name))
    answers = answers_of(assignment_name)
    changed = mutate(answers, combined)
    for m in alternatives:
        for edit in m.edits:
            assert edit["replace"] in changed[edit["cell"]], (m.student, edit["cell"])
    assert combined.student == f"{assignment_name[:2]}-every-alternative"
    assert combined.student not in {m.student for m in CORPUS}


def test_corpus_students_have_distinct_names_and_none_shadows_the_sample_class():
    names = [m.student for m in CORPUS]
    sample_class = {m.student for m in load_mutations(REPO / "samples" / "sample_class.json")}
    assert len(names) == len(set(names))
    assert not set(names) & (sample_class | {"reference", "untouched", "tamperer"})


def test_no_two_mistakes_are_the_same_edit():
    edits = {}
    for m in CORPUS:
        key = (m.assignment, tuple((e["cell"], e["find"], e["replace"]) for e in m.edits))
        edits.setdefault(key, []).append(m.student)
    assert [names for names in edits.values() if len(names) > 1] == []
