"""A failing plain assert in a test cell never stops the checks after it (asserts.py):
every check runs, the cell still fails, and the message is the assert's own with both
sides of its comparison."""
import ast

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


def test_a_grading_kernel_shows_no_values(monkeypatch):
    # A hidden assert's expected value must not reach the feedback; its message still does.
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", "/nonexistent")
    namespace = run_cell(PREAMBLE)
    with pytest.raises(AssertionError) as raised:
        run_cell("assert 1 == 0.123456, 'secret value'\ncheck_a('x')", namespace)
    assert str(raised.value) == "secret value\n  (line 1 of this cell)"
    assert namespace["ran"] == ["x"]


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
