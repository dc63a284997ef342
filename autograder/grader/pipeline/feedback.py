"""Feedback: one HTML page per student and assignment.

It shows the score of every graded cell, the message of every failing test, the
student's own answers and plots, and nothing of the test code or the solutions.
(nbgrader's own feedback renders the autograded notebook, hidden tests included.)
"""
from __future__ import annotations

import html
from pathlib import Path

from . import gradebook, outcomes
from .course import Course, nbgrader_meta, read_notebook

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
td, th { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
.pass { color: #176b2c; } .fail { color: #a4161a; } .pending { color: #8a6d00; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.cell { margin: 1rem 0; } .test { border-left: 4px solid #999; padding-left: .6rem; }
img { max-width: 100%; }
"""


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _markdown(text: str) -> str:
    try:
        from nbconvert.filters.markdown import markdown2html
        return markdown2html(text)
    except Exception:  # noqa: BLE001 (fall back to plain text)
        return f"<pre>{html.escape(text)}</pre>"


def _outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        data = output.get("data", {})
        if kind == "stream":
            parts.append(f"<pre>{html.escape(_source({'source': output.get('text', '')}))}</pre>")
        elif "image/png" in data:
            png = data["image/png"]
            png = "".join(png) if isinstance(png, list) else png
            parts.append(f'<img alt="figure" src="data:image/png;base64,{png.strip()}">')
        elif "text/plain" in data:
            parts.append(f"<pre>{html.escape(_source({'source': data['text/plain']}))}</pre>")
        elif kind == "error":
            parts.append(f"<pre class='fail'>{html.escape(output.get('ename', ''))}: "
                         f"{html.escape(outcomes.ANSI.sub('', output.get('evalue', '')))}</pre>")
    return "".join(parts)


def _rubric(items, messages, failure) -> str:
    rows = []
    for item in items:
        if item.needs_manual_grade:
            status, css, note = "to be graded by hand", "pending", ""
        else:
            full = (item.score or 0) == item.max_score
            status, css = ("passed", "pass") if full else ("failed", "fail")
            note = messages.get((item.notebook, item.name), "") or ("" if full else failure)
        rows.append(f"<tr><td>{html.escape(item.name)}</td><td>{item.kind}</td>"
                    f"<td>{(item.score or 0):g} / {item.max_score:g}</td>"
                    f"<td class='{css}'>{status}</td><td>{html.escape(note)}</td></tr>")
    return ("<table><tr><th>item</th><th>kind</th><th>score</th><th>status</th>"
            "<th>message</th></tr>" + "".join(rows) + "</table>")


def _notebook_body(path: Path) -> str:
    parts = []
    for cell in read_notebook(path).get("cells", []):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code":
            # A test cell: its result only, never its code.
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            verdict = "<span class='fail'>failed</span>" if errors else "<span class='pass'>passed</span>"
            parts.append(f"<div class='cell test'><b>Test {html.escape(meta.get('grade_id', ''))}"
                         f"</b>: {verdict}{_outputs({'outputs': errors})}</div>")
        elif cell.get("cell_type") == "markdown":
            parts.append(f"<div class='cell'>{_markdown(_source(cell))}</div>")
        elif cell.get("cell_type") == "code":
            parts.append(f"<div class='cell'><pre>{html.escape(_source(cell))}</pre>"
                         f"{_outputs(cell)}</div>")
    return "".join(parts)


def feedback_page(course: Course, student: str, assignment: str) -> Path | None:
    """Write feedback/<student>/<assignment>/feedback.html; None if nothing was graded."""
    items = gradebook.submission_items(course, assignment, student)
    if not items:
        return None
    messages = outcomes.all_messages(course, student, assignment)
    failure = outcomes.failure_note(course, student, assignment)
    auto = [i for i in items if not i.needs_manual_grade]
    pending = [i for i in items if i.needs_manual_grade]
    score = sum((i.score or 0) for i in auto)
    body = [f"<h1>{html.escape(assignment)}: feedback for {html.escape(student)}</h1>",
            f"<p><b>Autograded score: {score:g} / {sum(i.max_score for i in auto):g}</b>"
            + (f"; {sum(i.max_score for i in pending):g} more points are graded by hand."
               if pending else "") + "</p>"]
    if failure:
        body.append(f"<p class='fail'><b>Grading problem:</b> {html.escape(failure)}</p>")
    body.append(_rubric(items, messages, failure))
    for path in outcomes.autograded_notebooks(course, student, assignment):
        body.append(f"<h2>{html.escape(path.name)}</h2>{_notebook_body(path)}")
    out = course.feedback / student / assignment / "feedback.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}"
                   f" feedback</title><style>{STYLE}</style></head><body>{''.join(body)}"
                   "</body></html>", encoding="utf-8")
    return out


def feedback(course: Course, assignments=None, students=None) -> list[Path]:
    pages = []
    for student in students or gradebook.students(course):
        for assignment in assignments or course.assignments():
            page = feedback_page(course, student, assignment)
            if page:
                pages.append(page)
    return pages
