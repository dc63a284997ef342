"""The student's own work in an autograded notebook, for their feedback page.

Only answer cells (code and written) and the figures the notebook produced are taken:
never a test cell (its code is hidden, its output may quote it), never the given text of
the chapter. Every text passes through :func:`redact`, is cut before it is redacted (a
200 MB output costs no more than a short one) and figures are downscaled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..record import outcomes
from ..course import nbgrader_meta, read_notebook
from ..judge.redact import redact
from .render import MAX_LINES, MAX_TEXT, cut, png_data_uri

MAX_OUTPUTS = 6    # outputs of one cell shown
MAX_FIGURES = 12   # figures of one notebook shown


@dataclass
class Output:
    kind: str        # "text", "error" or "image"
    text: str = ""
    src: str = ""    # data URI of an image


@dataclass
class WorkCell:
    """One answer cell: the student's code or written answer, and what it printed."""

    notebook: str
    name: str
    kind: str                      # "code" or "written"
    source: str
    outputs: list[Output] = field(default_factory=list)
    score: float | None = None     # a written answer's manual score, once given
    max_score: float | None = None
    comment: str = ""              # the manual grader's comment, once given


@dataclass
class Figure:
    notebook: str
    cell: int        # 1-based position in the notebook
    src: str


def _head(value, limit: int = MAX_TEXT + 1) -> str:
    """The first ``limit`` characters of a notebook string (a str or a list of str)."""
    if isinstance(value, str):
        return value[:limit]
    parts, size = [], 0
    for piece in value if isinstance(value, list) else []:
        parts.append(str(piece)[:limit - size])
        size += len(parts[-1])
        if size >= limit:
            break
    return "".join(parts)


def clean(value, hidden: list[str], lines: int = MAX_LINES, limit: int = MAX_TEXT) -> str:
    """A notebook string cut to size (``lines`` lines at most), then redacted."""
    total = (len(value) if isinstance(value, str) else
             sum(len(str(p)) for p in value) if isinstance(value, list) else 0)
    return redact(cut(_head(value, limit + 1), limit, lines, total), hidden, limit + 200)


def outputs(cell: dict, hidden: list[str]) -> list[Output]:
    """The text outputs of a cell (images are collected as figures)."""
    shown = []
    for output in cell.get("outputs", [])[:MAX_OUTPUTS]:
        if not isinstance(output, dict):
            continue
        kind, data = output.get("output_type"), output.get("data", {}) or {}
        if kind == "stream":
            shown.append(Output("text", clean(output.get("text", ""), hidden)))
        elif kind == "error":
            error = outcomes.ANSI.sub("", f"{_head(output.get('ename', ''), 200)}: "
                                          f"{_head(output.get('evalue', ''), 1000)}")
            shown.append(Output("error", clean(error, hidden)))
        elif "text/plain" in data and "image/png" not in data:
            shown.append(Output("text", clean(data["text/plain"], hidden)))
    return shown


def figures(cell: dict, notebook: str, index: int) -> list[Figure]:
    found = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if isinstance(output, dict) else {}
        if isinstance(data, dict) and "image/png" in data:
            src = png_data_uri(_head(data["image/png"], 4 * 2**20))
            if src:
                found.append(Figure(notebook, index, src))
    return found


def own_work(path: Path, hidden: list[str], manual: dict) -> tuple[list[WorkCell], list[Figure]]:
    """(answer cells, figures) of an autograded notebook. ``manual``: {(notebook, name):
    (score, max_score, comment)} of written answers graded by hand."""
    cells, found = [], []
    for index, cell in enumerate(read_notebook(path).get("cells", []), start=1):
        if not isinstance(cell, dict):
            continue
        meta, kind = nbgrader_meta(cell), cell.get("cell_type")
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test cell: the rubric says what it found
        if kind == "code" and len(found) < MAX_FIGURES:
            found += figures(cell, path.stem, index)[:MAX_FIGURES - len(found)]
        if not meta.get("solution"):
            continue
        name = meta.get("grade_id", f"cell {index}")
        score, max_score, comment = manual.get((path.stem, name), (None, None, ""))
        cells.append(WorkCell(path.stem, name, "code" if kind == "code" else "written",
                              clean(cell.get("source", ""), hidden, 150, 12_000),
                              outputs(cell, hidden) if kind == "code" else [],
                              score, max_score, redact(comment or "", hidden, 2000)))
    return cells, found
