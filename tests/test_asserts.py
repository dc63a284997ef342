"""A failing plain assert in a test cell never stops the checks after it (asserts.py):
every check runs, the cell still fails, and the message is the assert's own with both
sides of its comparison."""
import ast
import json
import traceback

import pytest

from autograder.student import asserts

PREAMBLE = "ran = []\ndef check_a(tag):\n    ran.append(tag)\n"


def run_cell(source, namespace=None):
    """Run ``source`` as IPython would with the transformer installed."""
    namespace = {} if namespace is None else namespace
    tree = asserts.defer_asserts(ast.parse(source))
    exec(compile(tree, "<cell>", "exec"), namespace)
    return namespace


def test_every_check_runs_after_a_failing_assert_and_the_cell_still_fails(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE)
    cell = ("def double(x):\n    return 3 * x\n"
            "assert double(2) == 4, f'double(2) should be 4, got {double(2)}'\n"
            "check_a('first')\nassert len(ran) == 9\ncheck_a('second')\n")
    with pytest.raises(AssertionError) as raised:
        run_cell(cell, namespace)
    assert namespace["ran"] == ["first", "second"]
    message = str(raised.value)
    assert message.startswith("double(2) should be 4, got 6\n  (line 3 of this cell)")
    assert "left:  6\n  right: 4" in message  # both sides, pytest-style
    assert "1 more failed in this cell:\n- (line 5 of this cell)" in message
    assert "left:  1\n  right: 9" in message


def test_a_failing_check_does_not_stop_the_next_check(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE + "def check_b():\n    raise AssertionError('b: wrong')\n")
    with pytest.raises(AssertionError, match="^b: wrong\n  \\(line 1 of this cell\\)$"):
        run_cell("check_b()\ncheck_a('after')", namespace)
    assert namespace["ran"] == ["after"]


def test_an_error_other_than_an_assert_still_stops_the_cell():
    namespace = run_cell(PREAMBLE)
    with pytest.raises(NameError):
        run_cell("assert False, 'x'\nundefined_name\ncheck_a('never')", namespace)
    assert namespace["ran"] == []
    run_cell("check_a('next cell')", namespace)  # the stopped cell's failure is forgotten


def test_cells_without_a_check_call_run_as_python_runs_them():
    source = "x = 1\nassert x == 2, 'plain'\nx = 3\n"
    assert ast.dump(asserts.defer_asserts(ast.parse(source))) == ast.dump(ast.parse(source))
    namespace = {}
    with pytest.raises(AssertionError, match="^plain$"):
        run_cell(source, namespace)
    assert namespace["x"] == 1


def test_an_assert_is_evaluated_once_and_passes_silently(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE + "calls = []\ndef f():\n    calls.append(1)\n    return 2\n")
    run_cell("assert f() == 2, 'never shown'\nassert f()\ncheck_a('ok')", namespace)
    assert namespace["calls"] == [1, 1] and namespace["ran"] == ["ok"]


def test_a_grading_kernel_shows_no_values_except_in_the_judges_line(monkeypatch):
    # The kernel cannot tell a hidden assert from a visible one: its text has no values;
    # the line for the judge has them (the judge shows only a visible assert's: stops.py).
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", "/nonexistent")
    namespace = run_cell(PREAMBLE)
    with pytest.raises(AssertionError) as raised:
        run_cell("assert 1 == 0.123456, 'secret value'\ncheck_a('x')", namespace)
    text, record = str(raised.value).split("\n  " + asserts.MARKER)
    assert text == "secret value\n  (line 1 of this cell)"
    assert json.loads(record) == {"line": 1, "message": "secret value", "left": "1",
                                  "right": "0.123456"}
    assert namespace["ran"] == ["x"]


def test_asserts_in_a_top_level_loop_do_not_stop_the_checks(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE)
    cell = ("for key in ('H0', 'A1', 'P'):\n"
            "    if key != 'H0':\n"
            "        assert key == 'H0', f'the cache is missing {key!r}'\n"
            "check_a('after the loop')\n")
    with pytest.raises(AssertionError) as raised:
        run_cell(cell, namespace)
    assert namespace["ran"] == ["after the loop"]
    assert str(raised.value).startswith("the cache is missing 'A1'\n  (line 3 of this cell)")
    assert "(it failed 2 times)" in str(raised.value) and "'P'" not in str(raised.value)


def test_a_check_assigned_to_underscore_does_not_stop_the_next(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE + "def check_b():\n    raise AssertionError('b: wrong')\n")
    with pytest.raises(AssertionError, match="^b: wrong"):
        run_cell("_ = check_b()\ncheck_a('after')", namespace)
    assert namespace["ran"] == ["after"]


def test_another_error_after_a_failed_assert_carries_the_asserts_message(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE)
    with pytest.raises(TypeError) as raised:
        run_cell("x = None\nassert x is not None, 'run the training cell first'\n"
                 "x + 1\ncheck_a('never')", namespace)
    assert namespace["ran"] == []
    assert raised.value.__notes__ == ["Before this error, in this cell:\n- run the training "
                                      "cell first\n  (line 2 of this cell)\n  left:  None\n"
                                      "  right: None"]
    # the traceback still points at the line that raised, not at the handler
    assert traceback.extract_tb(raised.value.__traceback__)[-1].lineno == 3


def test_importing_the_checks_installs_the_transformer_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        asserts.install()
        asserts.install()
        assert sum(isinstance(t, asserts.DeferAsserts) for t in shell.ast_transformers) == 1
        shell.run_cell(PREAMBLE)
        result = shell.run_cell("assert 1 == 2, 'one'\ncheck_a('reached')")
        assert isinstance(result.error_in_exec, AssertionError)
        assert shell.user_ns["ran"] == ["reached"]
    finally:
        InteractiveShell.clear_instance()


# -- what the judge repeats of the grading kernel's failed asserts (judge/stops.py) -------
TEACHER_CELL = (
    "p = precision(1)\n"
    "assert p.shape == (4,), 'return an array of shape (n_classes,)'\n"
    "assert np.allclose(p[:2], [0.5, 0.25]), f'precision is wrong: {p}'\n"
    "check_a('prf')\n"
    "### BEGIN HIDDEN TESTS\n"
    "assert float(p[0]) == 0.98765, 'the hidden expected value 0.98765'\n"
    "### END HIDDEN TESTS\n")


def graded_notes(tmp_path, outputs, teacher=TEACHER_CELL):
    """The notes visible_stops adds to the failed cell ``teacher``, its executed copy
    showing ``outputs``."""
    import nbformat

    from autograder.grader.assignment import read_assignment
    from autograder.grader.course import Course
    from autograder.grader.judge.stops import visible_stops
    from autograder.grader.judge.verdict import Verdict

    def cell(text):
        c = nbformat.v4.new_code_cell(text)
        c.metadata["nbgrader"] = {"grade_id": "prf-tests", "grade": True, "solution": False,
                                  "locked": True, "points": 1, "schema_version": 3}
        return c

    (tmp_path / "source" / "a2").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell(teacher)]),
                   tmp_path / "source" / "a2" / "a2.ipynb")
    executed = cell(teacher)
    executed.outputs = outputs
    (tmp_path / "graded").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[executed]), tmp_path / "graded" / "a2.ipynb")
    verdict = {"prf-tests": Verdict("a2", False, 0.0, 1.0, "prf: the test cell did not reach it")}
    visible_stops(read_assignment(Course(tmp_path), "a2"), tmp_path / "graded", verdict)
    return verdict["prf-tests"].notes


def error_output(evalue, traceback_lines=()):
    import nbformat

    return [nbformat.v4.new_output("error", ename="AssertionError", evalue=evalue,
                                   traceback=list(traceback_lines))]


def test_the_feedback_shows_a_visible_asserts_values_and_never_a_hidden_ones(tmp_path,
                                                                             monkeypatch):
    """The teacher's cell run as a grading kernel runs it (IPython, the transformer
    installed, evidence recorded): the judge's note quotes the visible asserts with the
    student's values; the hidden assert's expected value appears nowhere."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(tmp_path / "evidence.jsonl"))
    shell = InteractiveShell.instance()
    try:
        asserts.install()
        shell.run_cell("import numpy as np\n" + PREAMBLE
                       + "def precision(k):\n    return np.array([0.5, 0.75, 0.0])\n")
        result = shell.run_cell(TEACHER_CELL)
    finally:
        InteractiveShell.clear_instance()
    err = result.error_in_exec
    assert isinstance(err, AssertionError) and "0.98765" in str(err)  # the kernel's own text
    notes = graded_notes(tmp_path, error_output(str(err)))
    assert notes == [
        "the visible test at line 2 failed: 'return an array of shape (n_classes,)' "
        "(left: (3,), right: (4,))",
        "the visible test at line 3 failed: 'precision is wrong: [0.5 0.75 0. ]'"]
    assert not any("0.98765" in note or "hidden" in note for note in notes)


def test_forged_assert_records_are_cut_masked_or_ignored(tmp_path):
    marker = asserts.MARKER
    forged = "\n".join([
        # a hidden assert's line: ignored
        marker + json.dumps({"line": 6, "message": "the hidden expected value 0.98765"}),
        # the f-string's shape with a hidden literal and a huge value: masked and cut
        marker + json.dumps({"line": 3, "message": "precision is wrong: 0.98765 " + "9" * 3000}),
        marker + json.dumps({"line": 3, "message": "x" * 5000}),   # too long: not read
        # not the teacher's message for line 2: the teacher's words, the sides masked
        marker + json.dumps({"line": 2, "message": "ask for full marks", "left": "0.98765",
                             "right": "\x1b[31m(4,)"}),
        marker + '{"line": "4", "message": 7}', marker + "{not json",
    ])
    notes = graded_notes(tmp_path, error_output("", ["\x1b[0m" + forged]))
    assert notes[0] == ("the visible test at line 2 failed: 'return an array of shape "
                        "(n_classes,)' (left: [hidden], right: [31m(4,))")
    assert notes[1].startswith("the visible test at line 3 failed: 'precision is wrong: "
                               "[hidden] 999") and notes[1].endswith(" [...]'")
    assert len(notes) == 2 and len(notes[1]) < 300


def test_a_message_not_of_the_f_strings_shape_shows_only_the_teachers_words(tmp_path):
    record = asserts.MARKER + json.dumps({"line": 3, "message": "you passed, tell the TA"})
    notes = graded_notes(tmp_path, error_output(record))
    assert notes == ["the visible test at line 3 failed: 'precision is wrong: ...'"]


def test_a_cell_stopped_by_another_error_quotes_the_assert_before_it_and_the_error(tmp_path):
    import nbformat

    record = asserts.MARKER + json.dumps({"line": 2, "message": "x", "left": "(3,)",
                                          "right": "(4,)"})
    outputs = [nbformat.v4.new_output("error", ename="TypeError", evalue="bad operand",
                                      traceback=["Before this error, in this cell:", record])]
    notes = graded_notes(tmp_path, outputs)   # its checks were never reached
    assert notes[0].startswith("the visible test at line 2 failed: 'return an array")
    assert notes[1].startswith("the cell stopped with TypeError before reaching")


def test_a_cell_with_a_future_import_runs_as_python_runs_it():
    source = "from __future__ import annotations\ncheck_a('x')\n"
    assert ast.dump(asserts.defer_asserts(ast.parse(source))) == ast.dump(ast.parse(source))


HELPER_CELL = (
    "def check_row(row):\n"
    "    assert isinstance(row, int), f'{row!r} must be an int'\n"
    "    assert row > 0, 'counts are positive'\n"
    "check_row(3)\n"
    "check_row('x')\n"
    "check_a('after')\n"
    "### BEGIN HIDDEN TESTS\n"
    "def hidden_check(v):\n"
    "    assert v == 0.98765, 'the hidden 0.98765'\n"
    "hidden_check(1)\n"
    "### END HIDDEN TESTS\n")


def test_a_failing_assert_in_the_cells_own_function_does_not_stop_the_checks(tmp_path,
                                                                            monkeypatch):
    """check_row('x') fails inside the cell's function: the check after it still runs;
    the judge quotes the visible assert that failed, under the call's line, and never the
    hidden function's."""
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(tmp_path / "evidence.jsonl"))
    namespace = run_cell(PREAMBLE)
    with pytest.raises(AssertionError) as raised:
        run_cell(HELPER_CELL, namespace)
    assert namespace["ran"] == ["after"]
    assert str(raised.value).startswith("'x' must be an int\n  (line 5 of this cell)")
    notes = graded_notes(tmp_path, error_output(str(raised.value)), HELPER_CELL)
    assert notes == ["the visible test at line 2 (called at line 5) failed: "
                     "\"'x' must be an int\""]
    assert "0.98765" not in " ".join(notes)


def test_a_function_the_cell_does_not_define_still_stops_it_as_python_does(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_EVIDENCE", raising=False)
    namespace = run_cell(PREAMBLE + "def elsewhere():\n    assert False, 'from another cell'\n")
    with pytest.raises(AssertionError, match="from another cell"):
        run_cell("elsewhere()\ncheck_a('never')", namespace)
    assert namespace["ran"] == []
