"""Failures explained by the notebook's shape: a test that fails because it uses an answer
which failed an earlier test says so, and a file the notebook never saved is explained by
the cell that should have saved it."""

import sys

import nbformat
import pytest

from autograder.grader.record import outcomes
from autograder.grader.course import Course
from autograder.grader.judge.verdict import CheckVerdict, Verdict
from autograder.grader.assignment import read_assignment
from autograder.grader.judge.diagnose import dependency_notes
from autograder.grader.judge.stops import saving_cell_problem, visible_stops


def cell(source, grade_id, solution=False, grade=False):
    c = nbformat.v4.new_code_cell(source)
    c.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                              "locked": not solution, "points": 1 if grade else 0,
                              "schema_version": 3}
    return c


ANSWERS = {
    "activations": "def sigmoid(x):\n    return x\n\ndef sigmoid_grad(s):\n    return s\n",
    "network": "def forward(x):\n    return sigmoid(x)\n\ndef backward(x):\n"
               "    return sigmoid_grad(forward(x))\n",
    # a local variable that shares a name with another answer is not a use of it
    "helpers": "def accuracy(y, p):\n    sigmoid = y == p\n    return sigmoid.mean()\n",
}
TESTS = {
    "test_sigmoid": "checks.check_elementwise(sigmoid, sigmoid_grad, 'sigmoid')",
    "test_backward": "checks.check_values(backward, 'double')",
    "test_accuracy_fn": "checks.check_values(accuracy, 'double')",
}


@pytest.fixture
def course(tmp_path):
    cells = []
    for (answer, text), (test, code) in zip(ANSWERS.items(), TESTS.items()):
        cells += [cell(text, answer, solution=True), cell(code, test, grade=True)]
    folder = tmp_path / "source" / "a1"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "a1.ipynb")
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=cells), submitted / "a1.ipynb")
    return Course(tmp_path), submitted


def verdicts(failed):
    return {test: Verdict("a1", test not in failed, 0.0, 1.0, "wrong" if test in failed else "")
            for test in TESTS}


def test_a_failure_caused_by_an_earlier_failed_answer_names_it(course):
    result = verdicts({"test_sigmoid", "test_backward"})
    dependency_notes(read_assignment(course[0], "a1"), course[1], result)
    message = result["test_backward"].message
    assert "this test uses your sigmoid" in message and "which failed test_sigmoid" in message
    assert "(through backward)" in message
    assert result["test_backward"].depends_on == ["test_sigmoid"]
    assert "which failed test_sigmoid" in result["test_backward"].notes[0]
    # results.json lists the note under the cell's checks (feedback pages show it too)
    assert any("which failed test_sigmoid" in line
               for line in outcomes.check_lines(result["test_backward"]))
    assert result["test_sigmoid"].message == "wrong"


def test_an_unrelated_failure_gets_no_dependency_note(course):
    result = verdicts({"test_sigmoid", "test_accuracy_fn"})
    dependency_notes(read_assignment(course[0], "a1"), course[1], result)
    assert result["test_accuracy_fn"].message == "wrong"
    assert result["test_accuracy_fn"].depends_on == []


def test_a_failure_after_passing_dependencies_is_its_own(course):
    result = verdicts({"test_backward"})
    dependency_notes(read_assignment(course[0], "a1"), course[1], result)
    assert result["test_backward"].message == "wrong"


def test_a_mangled_student_notebook_changes_no_message(course):
    (course[1] / "a1.ipynb").write_text("{not json")
    result = verdicts({"test_sigmoid", "test_backward"})
    dependency_notes(read_assignment(course[0], "a1"), course[1], result)
    assert result["test_backward"].message == "wrong"


def notebook_with_saver(folder, outputs, execution_count=3):
    saver = cell("train()\nnp.savez('a4_params.npz', **params)", "train", solution=True)
    saver.outputs, saver.execution_count = outputs, execution_count
    nbformat.write(nbformat.v4.new_notebook(cells=[saver]), folder / "a4.ipynb")


def test_a_saving_cell_that_crashed_is_named_with_its_error(tmp_path):
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="shapes", traceback=[])
    notebook_with_saver(tmp_path, [error])
    why = saving_cell_problem(tmp_path, "a4", "a4_params.npz")
    assert "stopped with ValueError before saving it" in why


def test_a_saving_cell_that_never_ran_says_so(tmp_path):
    notebook_with_saver(tmp_path, [], execution_count=None)
    assert "never ran" in saving_cell_problem(tmp_path, "a4", "a4_params.npz")


def test_a_forged_error_name_is_not_repeated(tmp_path):
    error = nbformat.v4.new_output("error", ename="x = secret()", evalue="", traceback=[])
    notebook_with_saver(tmp_path, [error])
    why = saving_cell_problem(tmp_path, "a4", "a4_params.npz")
    assert "secret" not in why and "stopped with an error" in why


VISIBLE = ('assert p.shape == (4,), "return three arrays of shape (n_classes,)"\n'
           'assert np.allclose(p, [0.5, 0]), f"precision is wrong: {p}"\n'
           'checks.check_values(precision, "double")\n'
           '### BEGIN HIDDEN TESTS\n'
           'assert secret(p), "the hidden assert says the answer is 42"\n'
           '### END HIDDEN TESTS\n')


def graded_test_cell(tmp_path, ename, evalue):
    """A course whose one test cell is VISIBLE, and a graded notebook where it raised."""
    source = tmp_path / "source" / "a2"
    source.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell(VISIBLE, "prf-tests", grade=True)]),
                   source / "a2.ipynb")
    executed = cell(VISIBLE, "prf-tests", grade=True)
    executed.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]
    graded = tmp_path / "graded"
    graded.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[executed]), graded / "a2.ipynb")
    verdict = {"prf-tests": Verdict("a2", False, 0.0, 1.0, "x: the test cell did not reach it")}
    visible_stops(read_assignment(Course(tmp_path), "a2"), graded, verdict)
    return verdict["prf-tests"].message


def test_a_cell_stopped_by_a_visible_assert_names_the_teachers_message(tmp_path):
    message = graded_test_cell(tmp_path, "AssertionError", "precision is wrong: [0.5 0.6]")
    assert "stopped at a visible test" in message and "'precision is wrong: '" in message
    assert "0.6" not in message   # the student's values are not repeated


def test_a_hidden_assert_message_is_never_repeated(tmp_path):
    message = graded_test_cell(tmp_path, "AssertionError", "the hidden assert says the answer is 42")
    assert "42" not in message and "hidden assert" not in message


def test_a_cell_stopped_by_an_exception_names_its_type(tmp_path):
    message = graded_test_cell(tmp_path, "NameError", "name 'precision' is not defined")
    assert "stopped with NameError" in message and "precision" not in message


# A1's sigmoid test runs the answer under np.errstate(over="raise"): a naive sigmoid stops
# the cell with FloatingPointError. The traceback's frames are as IPython 9 writes them.
SIGMOID_ANSWER = ("class Sigmoid:\n    def __call__(self, x):\n        return x\n\n"
                  "def helper(x):\n    return x\n")
SIGMOID_TEST = ('sigmoid = Sigmoid()\nwith np.errstate(over="raise"):\n'
                '    big = sigmoid(np.array([-1000.0, 1000.0]))\n'
                'checks.check_elementwise(sigmoid, sigmoid.gradient, "sigmoid")\n')


def frame(header, line="return 1.0 / (1.0 + np.exp(-x))  # my_secret_note"):
    """One traceback entry: the frame's header, in IPython's colours, and the student's line."""
    return (f"\x1b[36m{header.split(',')[0]}\x1b[39m\x1b[32m,{header.split(',', 1)[1]}\x1b[39m\n"
            f"\x1b[32m----> \x1b[39m\x1b[32m4\x1b[39m     {line}\n")


def stopped_by(tmp_path, ename, evalue, frames):
    """The message of A1-like sigmoid tests whose cell raised ``ename: evalue`` with the
    traceback ``frames`` (headers), in a course whose answer defines Sigmoid.__call__."""
    source = tmp_path / "source" / "a1"
    source.mkdir(parents=True)
    answer = cell(SIGMOID_ANSWER, "activations", solution=True)
    test = cell(SIGMOID_TEST, "test_sigmoid", grade=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[answer, test]), source / "a1.ipynb")
    executed = cell(SIGMOID_TEST, "test_sigmoid", grade=True)
    executed.outputs = [nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue,
        traceback=["\x1b[31m-----\x1b[39m", f"\x1b[31m{ename}\x1b[39m  Traceback",
                   frame("Cell In[7], line 3")] + [frame(f) for f in frames]
        + [f"\x1b[31m{ename}\x1b[39m: {evalue}"])]
    graded = tmp_path / "graded"
    graded.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[answer, executed]), graded / "a1.ipynb")
    verdict = {"test_sigmoid": Verdict("a1", False, 0.0, 1.0, "x: the test cell did not reach it")}
    visible_stops(read_assignment(Course(tmp_path), "a1"), graded, verdict)
    return verdict["test_sigmoid"].message


def test_an_exp_overflow_in_the_sigmoid_names_the_unstable_form_and_the_stable_one(tmp_path):
    message = stopped_by(tmp_path, "FloatingPointError", "overflow encountered in exp",
                         ["Cell In[3], line 4, in Sigmoid.__call__(self, x)"])
    assert ("the cell stopped with FloatingPointError before reaching the grader's checks: "
            "np.exp overflowed inside your Sigmoid.__call__" in message)
    assert "1 / (1 + exp(-x)) overflows for large negative x" in message
    assert "exp(-|x|)" in message
    assert "my_secret_note" not in message   # the student's line is never repeated


def test_an_overflow_deeper_in_a_helper_of_the_students_names_the_teachers_function(tmp_path):
    message = stopped_by(tmp_path, "FloatingPointError", "overflow encountered in exp",
                         ["Cell In[3], line 4, in Sigmoid.__call__(self, x)",
                          "File ~/my_helpers.py:9, in my_stable(x)"])
    assert "inside your Sigmoid.__call__" in message and "my_stable" not in message


@pytest.mark.parametrize("ename, evalue, frames", [
    # another error in the same function: not an overflow
    ("FloatingPointError", "invalid value encountered in divide",
     ["Cell In[3], line 4, in Sigmoid.__call__(self, x)"]),
    ("ZeroDivisionError", "overflow encountered in exp",
     ["Cell In[3], line 4, in Sigmoid.__call__(self, x)"]),
    # an overflow outside every function the teacher's answers define
    ("FloatingPointError", "overflow encountered in exp", ["Cell In[3], line 4, in my_sigmoid(x)"]),
    ("FloatingPointError", "overflow encountered in exp", ["Cell In[3], line 4, in Other.__call__(x)"]),
    ("FloatingPointError", "overflow encountered in exp", []),
])
def test_other_stops_get_no_overflow_explanation(tmp_path, ename, evalue, frames):
    message = stopped_by(tmp_path, ename, evalue, frames)
    assert f"stopped with {ename} before reaching the grader's checks: run it in your notebook" \
        in message
    assert "overflow" not in message.split("checks:")[-1] and "my_" not in message


# A course whose checks each name the function they exercise: forward reaches relu,
# backward reaches relu_grad, train reaches both.
PATH_ANSWERS = {
    "acts": "def relu(x):\n    return x\n\ndef relu_grad(x):\n    return x\n",
    "net": "def forward(x):\n    return relu(x)\n\ndef backward(x):\n    return relu_grad(x)\n",
    "train": "def train():\n    return backward(forward(1))\n",
}
PATH_TESTS = {   # dependencies tested before and after the cell that uses them
    "test_train": ["checks.check_values(train, 'double')"],
    "test_relu_grad": ["checks.check_values(relu_grad, 'double')"],
    "test_net": ["checks.check_values(forward, 'double')",
                 "checks.check_values(backward, 'double')"],
    "test_relu": ["checks.check_values(relu, 'double')"],
}


@pytest.fixture
def path_course(tmp_path):
    cells = [cell(text, answer, solution=True) for answer, text in PATH_ANSWERS.items()]
    cells += [cell("\n".join(calls), test, grade=True) for test, calls in PATH_TESTS.items()]
    for folder in (tmp_path / "source" / "a1", tmp_path / "submitted"):
        folder.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "a1.ipynb")
    return read_assignment(Course(tmp_path), "a1"), tmp_path / "submitted"


def check_verdicts(failed_checks):
    """A verdict per test whose checks pass except those in ``failed_checks``
    ({grade_id: indices of its failed checks})."""
    result = {}
    for test, calls in PATH_TESTS.items():
        failed = failed_checks.get(test, set())
        checks = [CheckVerdict(f"check {i}", i not in failed, "wrong" if i in failed else "")
                  for i in range(len(calls))]
        result[test] = Verdict("a1", not failed, 0.0, 1.0, "wrong" if failed else "", checks)
    return result


def test_a_failing_check_whose_dependency_passed_its_own_test_gets_no_note(path_course):
    # relu passed test_relu; train (which reaches relu) failed: relu is not blamed
    result = check_verdicts({"test_train": {0}, "test_net": {0}})
    dependency_notes(*path_course, result)
    assert result["test_net"].message == "wrong" and result["test_net"].depends_on == []


def test_a_failed_dependency_off_the_failing_checks_path_gets_no_note(path_course):
    # relu_grad failed its own test, but only forward's check failed and forward never
    # calls relu_grad (backward does, and its check passed)
    result = check_verdicts({"test_relu_grad": {0}, "test_net": {0}})
    dependency_notes(*path_course, result)
    assert result["test_net"].message == "wrong" and result["test_net"].depends_on == []


def test_a_failed_dependency_on_the_failing_checks_path_is_named(path_course):
    result = check_verdicts({"test_relu_grad": {0}, "test_net": {1}})
    dependency_notes(*path_course, result)
    assert result["test_net"].depends_on == ["test_relu_grad"]
    assert ("this test uses your relu_grad (through backward), which failed test_relu_grad"
            in result["test_net"].message)
    assert result["test_relu_grad"].message == "wrong"   # its own failure, no note


def test_a_name_error_names_the_answer_cell_that_defines_the_name(tmp_path):
    source = tmp_path / "source" / "a2"
    source.mkdir(parents=True)
    answer = cell("def softmax(x):\n    return x\n", "softmax-answer", solution=True)
    test = cell("checks.check_values(softmax, 'double')", "softmax-tests", grade=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[answer, test]), source / "a2.ipynb")
    executed = cell(test.source, "softmax-tests", grade=True)
    executed.outputs = [nbformat.v4.new_output(
        "error", ename="NameError", evalue="name 'softmax' is not defined", traceback=[])]
    graded = tmp_path / "graded"
    graded.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[answer, executed]), graded / "a2.ipynb")
    verdict = {"softmax-tests": Verdict("a2", False, 0.0, 1.0, "x: wrong")}
    visible_stops(read_assignment(Course(tmp_path), "a2"), graded, verdict)
    assert ("name 'softmax' is not defined: it is defined by your answer in cell "
            "softmax-answer (did that cell run without an error?)"
            in verdict["softmax-tests"].message)


def test_an_answer_the_test_cell_aliases_and_fails_in_part_is_still_named(tmp_path):
    # test_acts checks an instance the cell builds (act = Act()) and, separately, relu:
    # relu's check passes, Act's fails; net's failing check reaches Act through forward
    answers = {"acts": "class Act:\n    pass\n\ndef relu(x):\n    return x\n",
               "net": "def forward(x):\n    return Act()(x)\n"}
    tests = {"test_acts": "act = Act()\nchecks.check_values(relu, 'double')\n"
                          "checks.check_values(act, 'double')",
             "test_net": "checks.check_values(forward, 'double')"}
    cells = [cell(text, answer, solution=True) for answer, text in answers.items()]
    cells += [cell(code, test, grade=True) for test, code in tests.items()]
    for folder in (tmp_path / "source" / "a1", tmp_path / "submitted"):
        folder.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "a1.ipynb")
    result = {"test_acts": Verdict("a1", False, 0.5, 1.0, "wrong", [
                  CheckVerdict("relu", True, ""), CheckVerdict("act", False, "wrong")]),
              "test_net": Verdict("a1", False, 0.0, 1.0, "wrong",
                                  [CheckVerdict("forward", False, "wrong")])}
    dependency_notes(read_assignment(Course(tmp_path), "a1"), tmp_path / "submitted", result)
    assert "this test uses your Act (through forward), which failed test_acts" \
        in result["test_net"].message


# -- traced reach: only what a check's collect half really called is named --------------
BRANCH_ANSWERS = {
    "acts": "def relu(x):\n    return x\n\ndef relu_grad(x):\n    return x\n",
    # backward calls relu_grad only in a branch that never runs on the check's inputs
    "net": "def backward(x):\n    if x is None:\n        return relu_grad(x)\n    return relu(x)\n",
}
BRANCH_TESTS = {"test_acts": "checks.check_values(relu, 'double')\n"
                             "checks.check_values(relu_grad, 'double')",
                "test_net": "checks.check_values(backward, 'double')"}


@pytest.fixture
def branch_course(tmp_path):
    cells = [cell(text, answer, solution=True) for answer, text in BRANCH_ANSWERS.items()]
    cells += [cell(code, test, grade=True) for test, code in BRANCH_TESTS.items()]
    for folder in (tmp_path / "source" / "a1", tmp_path / "submitted"):
        folder.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "a1.ipynb")
    return read_assignment(Course(tmp_path), "a1"), tmp_path / "submitted"


def branch_verdicts():
    """relu_grad failed its own check; backward's check failed."""
    return {"test_acts": Verdict("a1", False, 0.5, 1.0, "wrong", [
                CheckVerdict("relu", True, ""), CheckVerdict("relu_grad", False, "wrong")]),
            "test_net": Verdict("a1", False, 0.0, 1.0, "wrong",
                                [CheckVerdict("backward", False, "wrong")])}


def test_a_function_called_only_in_a_branch_that_never_ran_is_not_named(branch_course):
    untraced = branch_verdicts()
    dependency_notes(*branch_course, untraced)   # old evidence: the static guess names it
    assert untraced["test_net"].depends_on == ["test_acts"]
    result = branch_verdicts()
    traces = {"test_acts": [["relu"], ["relu_grad"]], "test_net": [["backward", "relu"]]}
    dependency_notes(*branch_course, result, traces)
    assert result["test_net"].message == "wrong" and result["test_net"].depends_on == []


def test_a_function_the_check_really_called_is_named(branch_course):
    result = branch_verdicts()
    traces = {"test_acts": [["relu"], ["relu_grad"]],
              "test_net": [["backward", "relu_grad", "relu"]]}
    dependency_notes(*branch_course, result, traces)
    assert result["test_net"].depends_on == ["test_acts"]
    assert ("this test uses your relu_grad (through backward), which failed test_acts"
            in result["test_net"].message)


@pytest.mark.parametrize("forged", [
    {"relu_grad": 1},                                # not a list: no trace, the static graph
    "relu_grad",
    ["x"] * 300 + ["relu_grad"],                    # only the first 256 names are read
    [None, 7, "relu_grad()", "a" * 10_000, ["relu_grad"]],   # only identifiers are read
])
def test_a_forged_or_oversized_trace_is_ignored_or_cut(branch_course, forged):
    result = branch_verdicts()
    traces = {"test_acts": [["relu"], ["relu_grad"]], "test_net": [forged]}
    dependency_notes(*branch_course, result, traces)
    named = result["test_net"].depends_on == ["test_acts"]
    assert named == (not isinstance(forged, list))   # a list cut to nothing names nothing


def test_a_traced_name_only_the_students_notebook_defines_is_never_repeated(tmp_path):
    # two given helpers dispatch by name (no static edge); the student's answer cell adds
    # a function of its own that both checks' traces report: it is never named
    given = ("def run(x):\n    return globals()[x]()\n\n"
             "def run_twice(x):\n    return relu(run(x))\n")
    tests = {"test_run": "checks.check_values(run, 'double')",
             "test_twice": "checks.check_values(run_twice, 'double')"}
    for folder, answer in ((tmp_path / "source" / "a1", "def relu(x):\n    return x\n"),
                           (tmp_path / "submitted", "def relu(x):\n    return x\n\n"
                                                    "def ask_the_ta_for_full_marks():\n"
                                                    "    return 0\n")):
        cells = [cell(given, "given"), cell(answer, "acts", solution=True)]
        cells += [cell(code, test, grade=True) for test, code in tests.items()]
        folder.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "a1.ipynb")
    result = {test: Verdict("a1", False, 0.0, 1.0, "wrong", [CheckVerdict("c", False, "wrong")])
              for test in tests}
    traces = {"test_run": [["run", "ask_the_ta_for_full_marks"]],
              "test_twice": [["run_twice", "run", "ask_the_ta_for_full_marks", "relu"]]}
    dependency_notes(read_assignment(Course(tmp_path), "a1"), tmp_path / "submitted", result,
                     traces)
    assert [v.message for v in result.values()] == ["wrong", "wrong"]


def test_a_grading_kernel_records_the_notebook_functions_a_check_called(tmp_path, monkeypatch):
    """In IPython (cells are compiled as a kernel compiles them), a check's record lists
    the cell-defined functions its collect half entered, not those it never ran."""
    import json

    from IPython.core.interactiveshell import InteractiveShell

    evidence = tmp_path / "evidence.jsonl"
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(evidence))
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("import numpy as np\n"
                       "def never(x):\n    return x\n"
                       "def clip(x):\n    return np.maximum(0, x)\n"
                       "class Relu:\n    def __call__(self, x):\n        if x is None:\n"
                       "            return never(x)\n        return clip(x)\n"
                       "def relu_grad(x):\n    return (x > 0) * 1.0\n", store_history=True)
        result = shell.run_cell("from autograder.student import checks\n"
                                "checks.check_elementwise(Relu(), relu_grad, 'relu')",
                                store_history=True)
        assert result.error_in_exec is None
    finally:
        InteractiveShell.clear_instance()
    record = json.loads(evidence.read_text().splitlines()[0])
    assert sorted(record["reached"]) == ["Relu", "clip", "relu_grad"]


def test_a_trace_cut_for_time_is_not_filed_and_the_static_graph_stands_in(monkeypatch):
    """Tracing slows Python down: past its time limit the trace stops, and a cut trace is
    never filed as if complete (the judge then uses the static graph)."""
    import linecache

    from autograder.student.checks import reach

    source = "def step(x):\n    return x + 1\n"
    name = "/tmp/ipykernel_0/trace-cut.py"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {}
    exec(compile(source, name, "exec"), namespace)
    with reach.calls_recorded() as quick:
        namespace["step"](1)
    assert quick.filed() == ["step"]
    monkeypatch.setattr(reach, "TRACE_SECONDS", 1e-9)
    with reach.calls_recorded() as slow:
        for i in range(1000):
            namespace["step"](i)
    assert slow.names == ["step"] and slow.filed() is None
    assert sys.gettrace() is None   # the trace function is gone after the block
