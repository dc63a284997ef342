"""Why a test cell stopped, from the student's executed notebook (hostile data: what cannot
be parsed is ignored and only changes a message, never a score).

* A visible assert that failed in a failed test cell is quoted with its message and the
  values the kernel recorded (see :func:`assert_notes`); a hidden one never is.
* A ``NameError`` in a test cell names the solution cell that should have defined it.
* An overflow in exp that stopped a test cell (``np.errstate(over="raise")``) inside one of
  the teacher's functions names that function and its stable form (overflow.py).
* A file the notebook should have saved and did not is explained by the cell that saves
  it: that cell stopped with an error, or never ran.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from ..assignment import Assignment
from ..course import nbgrader_meta
from ..replay import cell_source
from .diagnose import MAX_SOURCE, _cells, _is_test, definitions
from .overflow import overflow_note, teacher_functions
from .redact import ANSI, hidden_literals, shown_value
from .verdict import Verdict

# the judge's line a grading kernel adds to each failed assert (student/asserts.py)
ASSERT_RECORD = re.compile(r"\[autograder-assert\] (\{.{0,4000}?\})[ \t]*$", re.M)
MAX_RECORDS = 50       # assert records read from one cell's error
MAX_NOTED = 3          # failed visible asserts named in one cell's note


def saving_cell_problem(folder: Path, notebook: str, filename: str) -> str:
    """Why the notebook did not save ``filename``: the cell that saves it raised, or the
    notebook never reached it. Empty when no cell mentions the file."""
    savers = [c for c in _cells(folder / f"{notebook}.ipynb")
              if c.get("cell_type") == "code" and not _is_test(c)
              and filename in cell_source(c)[:MAX_SOURCE]]
    if not savers:
        return ""
    for cell in savers:
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and output.get("output_type") == "error":
                kind = output.get("ename")
                kind = kind if isinstance(kind, str) and kind.isidentifier() else "an error"
                return (f"the cell that saves {filename} stopped with {kind} before saving "
                        "it: fix that error, then rerun the notebook from the top")
    if all(c.get("execution_count") is None for c in savers):
        return (f"the cell that saves {filename} never ran (an earlier cell stopped the "
                "notebook, or it timed out): fix the first error, then rerun from the top")
    return ""


def visible_messages(source: str) -> list[str]:
    """The messages of the teacher's visible asserts in a test cell: whole strings, or the
    text before the first placeholder of an f-string. Hidden tests are left out."""
    visible, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
            hidden = "BEGIN" in line
            continue
        visible.append("" if hidden else line)
    messages = []
    try:
        tree = ast.parse("\n".join(l for l in visible if not l.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
                messages.append(node.msg.value)
            elif isinstance(node.msg, ast.JoinedStr) and node.msg.values \
                    and isinstance(node.msg.values[0], ast.Constant):
                messages.append(str(node.msg.values[0].value))
    return [m for m in messages if len(m) >= 8]


def visible_stops(assignment: Assignment, folder: Path,
                  verdicts: dict[str, Verdict]) -> None:
    """For a failed test cell, name what stopped it: a ``NameError`` for a name one of the
    teacher's solution cells defines names that cell; the visible asserts that failed in
    it, with their values (:func:`assert_notes`); for a cell whose checks were never
    reached and that recorded no assert, the teacher's visible assert that stopped it.
    Only the teacher's own words and names are repeated, and of what the kernel recorded
    only a visible assert's values, redacted: the text of an error is the student's
    process talking and could say anything."""
    for name, source_nb in assignment.sources.items():
        executed = {nbgrader_meta(c).get("grade_id"): c for c in _cells(folder / name)}
        defining, functions = defining_cells(source_nb), teacher_functions(source_nb)
        for cell in source_nb["cells"]:
            grade_id = nbgrader_meta(cell).get("grade_id")
            verdict = verdicts.get(grade_id)
            if not _is_test(cell) or not verdict or verdict.passed:
                continue
            ename, raised = _error(executed.get(grade_id))
            missing = _undefined_name(raised) if ename == "NameError" else ""
            if missing in defining:
                verdict.add_note(f"name {missing!r} is not defined: it is defined by your "
                                  f"answer in cell {defining[missing]} (did that cell run "
                                  "without an error?)")
                continue
            noted = assert_notes(cell_source(cell), executed.get(grade_id), assignment.hidden)
            for note in noted:
                verdict.add_note(note)
            if "did not reach it" not in verdict.message or (
                    noted and ename == "AssertionError"):   # already quoted, with values
                continue
            matched = [m for m in visible_messages(cell_source(cell))
                       if ename == "AssertionError" and raised.startswith(m)]
            if matched:
                verdict.add_note("the cell stopped at a visible test before reaching the "
                                  f"grader's checks: {matched[0]!r}")
            elif ename:
                why = overflow_note(executed.get(grade_id), functions) or \
                    "run it in your notebook to see where"
                verdict.add_note(f"the cell stopped with {ename} before reaching the grader's "
                                  f"checks: {why}")


def defining_cells(source_nb: dict) -> dict[str, str]:
    """{name: the grade_id (or "number N") of the teacher's solution cell that defines it}."""
    defining = {}
    for number, cell in enumerate(source_nb["cells"], start=1):
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.get("cell_type") == "code":
            for defined in definitions(cell_source(cell)):
                defining.setdefault(defined, meta.get("grade_id") or f"number {number}")
    return defining


def _undefined_name(evalue: str) -> str:
    """The name of ``name 'softmax' is not defined``; "" for any other text."""
    found = re.match(r"name '(\w+)' is not defined\b", evalue.strip()[:200])
    return found.group(1) if found else ""


def _error(cell: dict | None) -> tuple[str, str]:
    """(exception type, message) of the error a cell's outputs show; ("", "") if none."""
    for output in (cell or {}).get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            ename, evalue = output.get("ename"), output.get("evalue")
            ename = ename if isinstance(ename, str) and ename.isidentifier() else "an error"
            return ename, evalue if isinstance(evalue, str) else ""
    return "", ""


def _parsed(source: str) -> tuple[ast.Module | None, set[int]]:
    """A teacher's test cell parsed (lines numbered as the kernel numbers them: magics
    blanked, not removed), and the line numbers of its hidden region."""
    hidden, lines, inside = set(), source[:MAX_SOURCE].splitlines(), False
    for number, line in enumerate(lines, start=1):
        if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
            inside = "BEGIN" in line
            hidden.add(number)
        elif inside:
            hidden.add(number)
    try:
        return ast.parse("\n".join("" if l.lstrip().startswith(("%", "!")) else l
                                   for l in lines)), hidden
    except (SyntaxError, ValueError, RecursionError):
        return None, hidden


def _visible(node: ast.AST, hidden: set[int]) -> bool:
    return not hidden & set(range(node.lineno, (node.end_lineno or node.lineno) + 1))


def visible_asserts(source: str) -> dict[int, ast.Assert]:
    """{line: assert} for the asserts of a teacher's test cell that lie wholly outside its
    hidden region."""
    tree, hidden = _parsed(source)
    return {node.lineno: node for node in ast.walk(tree or ast.Module([], []))
            if isinstance(node, ast.Assert) and _visible(node, hidden)}


def visible_helper_asserts(source: str) -> dict[int, list[ast.Assert]]:
    """{line of a visible top-level call of a function the cell defines: that function's
    visible asserts} (student/asserts.py records their failures under the call's line)."""
    tree, hidden = _parsed(source)
    if tree is None:
        return {}
    functions = {node.name: node for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = {}
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id in functions and _visible(node, hidden)):
            found[node.lineno] = [a for a in ast.walk(functions[call.func.id])
                                  if isinstance(a, ast.Assert) and _visible(a, hidden)]
    return found


def recorded_asserts(cell: dict | None) -> dict[int, dict]:
    """{line: {"message", "left", "right"}} from the judge's lines in a test cell's error
    (its message and traceback): hostile text, so at most MAX_RECORDS records, each a
    JSON object with an int line and string fields, else skipped."""
    texts = []
    for output in (cell or {}).get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            texts += [output.get("evalue")] + list(output.get("traceback") or [])[:20]
    records = {}
    for text in texts:
        if not isinstance(text, str):
            continue
        for found in ASSERT_RECORD.finditer(ANSI.sub("", text[:200_000])):
            try:
                record = json.loads(found.group(1))
            except (ValueError, RecursionError):
                continue
            if (isinstance(record, dict) and type(record.get("line")) is int
                    and all(isinstance(record.get(k, ""), str)
                            for k in ("message", "left", "right"))):
                records.setdefault(record["line"], record)
            if len(records) >= MAX_RECORDS:
                return records
    return records


def _fstring_match(msg: ast.JoinedStr, recorded: str) -> tuple[list, re.Match | None]:
    """The f-string's parts (None for a field) and the recorded message matched against
    exactly its shape (None when it does not have it)."""
    parts = [p.value if isinstance(p, ast.Constant) else None for p in msg.values]
    pattern = "".join("(.*?)" if p is None else re.escape(str(p)) for p in parts)
    return parts, re.fullmatch(pattern, recorded[:4000], re.S) if parts else None


def _says(node: ast.Assert, recorded: str) -> bool:
    """Whether ``recorded`` is the message ``node`` gives (its string, or its f-string's
    shape): which of a helper function's asserts failed."""
    msg = node.msg
    if isinstance(msg, ast.Constant):
        return msg.value == recorded
    return isinstance(msg, ast.JoinedStr) and _fstring_match(msg, recorded)[1] is not None


def rendered_message(node: ast.Assert, recorded: str, hidden: list[str],
                     literals: list[str]) -> str:
    """The teacher's message of ``node`` as the kernel rendered it: a plain string as the
    teacher wrote it; an f-string's text from the teacher, its fields' values from the
    kernel's message when it has exactly the f-string's shape (each value cut, redacted
    and masked of hidden literals); otherwise the text before its first field."""
    msg = node.msg
    if isinstance(msg, ast.Constant) and isinstance(msg.value, str):
        return msg.value
    if not isinstance(msg, ast.JoinedStr):
        return ""
    parts, found = _fstring_match(msg, recorded)
    if found is None:
        prefix = parts[0] if parts and parts[0] is not None else ""
        return f"{prefix}..." if prefix else ""
    values = iter(found.groups())
    return "".join(str(p) if p is not None else shown_value(next(values), hidden, literals)
                   for p in parts)


def assert_notes(source: str, executed: dict | None, hidden: list[str]) -> list[str]:
    """A note for each VISIBLE assert of the teacher's test cell whose failure the kernel
    recorded (its judge's line, student/asserts.py): the teacher's message with the
    recorded values of its fields and, for a comparison, of both sides. A record for any
    other line (a hidden assert, a forged line number) is ignored."""
    recorded = recorded_asserts(executed)
    if not recorded:
        return []
    visible, literals, notes = visible_asserts(source), hidden_literals(hidden), []
    helpers = visible_helper_asserts(source)
    for line in sorted(set(recorded) & (set(visible) | set(helpers)))[:MAX_NOTED]:
        record, where = recorded[line], f"line {line}"
        if line not in visible:   # a call of the cell's function: the one assert it means
            said = [a for a in helpers[line] if _says(a, record.get("message", ""))]
            if len(said) != 1:
                continue
            node, where = said[0], f"line {said[0].lineno} (called at line {line})"
        else:
            node = visible[line]
        message = rendered_message(node, record.get("message", ""), hidden, literals)
        note = f"the visible test at {where} failed" + (f": {message!r}" if message else "")
        if line in visible and isinstance(node.test, ast.Compare) \
                and len(node.test.ops) == 1 and "left" in record and "right" in record:
            note += (f" (left: {shown_value(record['left'], hidden, literals)}, "
                     f"right: {shown_value(record['right'], hidden, literals)})")
        notes.append(note)
    return notes
