"""Feedback: one HTML page per student and assignment.

It shows the score of every graded cell with the trusted judge's verdict on each of its
checks, the student's own answers and plots, and nothing of the test code or the
solutions. What the kernel printed is shown only as the student's own output, with any
hidden-test text removed. (nbgrader's own feedback renders the autograded notebook,
hidden tests included.)
"""
from __future__ import annotations

import html
from pathlib import Path

from . import gradebook, outcomes
from .course import Course, nbgrader_meta, read_notebook
from .redact import redact
from .replay import hidden_lines

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


def _text(value, hidden) -> str:
    return html.escape(redact(_source({"source": value}), hidden, 20_000))


def _outputs(cell, hidden) -> str:
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        data = output.get("data", {})
        if kind == "stream":
            parts.append(f"<pre>{_text(output.get('text', ''), hidden)}</pre>")
        elif "image/png" in data:
            png = data["image/png"]
            png = "".join(png) if isinstance(png, list) else png
            parts.append(f'<img alt="figure" src="data:image/png;base64,{png.strip()}">')
        elif "text/plain" in data:
            parts.append(f"<pre>{_text(data['text/plain'], hidden)}</pre>")
        elif kind == "error":
            error = outcomes.ANSI.sub("", f"{output.get('ename', '')}: {output.get('evalue', '')}")
            parts.append(f"<pre class='fail'>{_text(error, hidden)}</pre>")
    return "".join(parts)


def _rubric(items, verdicts, failure) -> str:
    rows = []
    for item in items:
        lines = outcomes.check_lines(verdicts.get((item.notebook, item.name)))
        if item.needs_manual_grade:
            status, css, note = "to be graded by hand", "pending", ""
        else:
            score = item.score or 0
            status, css = (("passed", "pass") if score == item.max_score else
                           ("partly passed", "fail") if score > 0 else ("failed", "fail"))
            note = "" if lines or score == item.max_score else failure
        checks = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        rows.append(f"<tr><td>{html.escape(item.name)}</td><td>{item.kind}</td>"
                    f"<td>{(item.score or 0):g} / {item.max_score:g}</td>"
                    f"<td class='{css}'>{status}</td><td>{html.escape(note)}"
                    f"{f'<ul>{checks}</ul>' if checks else ''}</td></tr>")
    return ("<table><tr><th>item</th><th>kind</th><th>score</th><th>status</th>"
            "<th>message</th></tr>" + "".join(rows) + "</table>")


def _notebook_body(path: Path, verdicts: dict, hidden: list[str]) -> str:
    parts = []
    for cell in read_notebook(path).get("cells", []):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code":
            # A test cell: the judge's verdict only, never its code or what the kernel said.
            verdict = verdicts.get((path.stem, meta.get("grade_id", "")))
            lines = outcomes.check_lines(verdict) or ["not graded"]
            score = (f"{verdict['score']:g} / {verdict['max_score']:g}" if verdict else "")
            parts.append(f"<div class='cell test'><b>Test {html.escape(meta.get('grade_id', ''))}"
                         f"</b> {score}<ul>"
                         + "".join(f"<li>{html.escape(line)}</li>" for line in lines)
                         + "</ul></div>")
        elif cell.get("cell_type") == "markdown":
            parts.append(f"<div class='cell'>{_markdown(_source(cell))}</div>")
        elif cell.get("cell_type") == "code":
            parts.append(f"<div class='cell'><pre>{_text(cell.get('source', ''), hidden)}</pre>"
                         f"{_outputs(cell, hidden)}</div>")
    return "".join(parts)


def feedback_page(course: Course, student: str, assignment: str) -> Path | None:
    """Write feedback/<student>/<assignment>/feedback.html; None if nothing was graded."""
    items = gradebook.submission_items(course, assignment, student)
    if not items:
        return None
    verdicts = outcomes.verdicts(course, student, assignment)
    hidden = hidden_lines(course, assignment)
    failure = redact(outcomes.failure_note(course, student, assignment), hidden, 4000)
    auto = [i for i in items if not i.needs_manual_grade]
    pending = [i for i in items if i.needs_manual_grade]
    score = sum((i.score or 0) for i in auto)
    body = [f"<h1>{html.escape(assignment)}: feedback for {html.escape(student)}</h1>",
            f"<p><b>Autograded score: {score:g} / {sum(i.max_score for i in auto):g}</b>"
            + (f"; {sum(i.max_score for i in pending):g} more points are graded by hand."
               if pending else "") + "</p>"]
    if failure:
        body.append(f"<p class='fail'><b>Grading problem:</b> {html.escape(failure)}</p>")
    body.append(_rubric(items, verdicts, failure))
    for path in outcomes.autograded_notebooks(course, student, assignment):
        body.append(f"<h2>{html.escape(path.name)}</h2>{_notebook_body(path, verdicts, hidden)}")
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
