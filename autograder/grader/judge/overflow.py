"""Why a test cell stopped with ``FloatingPointError: overflow encountered in exp``: a
teacher's test that runs an answer under ``np.errstate(over="raise")`` (A1's sigmoid test
does, on x = -1000 and 1000) stops at the first exp that overflows float64.

The note names where the overflow happened only by what the judge can verify: the
exception's type and message, and a frame of the kernel's traceback whose function is one
the teacher's answer cells define (``Sigmoid.__call__``). The traceback's other text (the
student's lines, their values) is the student's process talking and is never repeated.
"""
from __future__ import annotations

import ast
import re

from ..course import nbgrader_meta
from ..replay import cell_source
from .diagnose import MAX_SOURCE
from .redact import ANSI

OVERFLOW = "overflow encountered in exp"
# a traceback frame's header as IPython writes it: "Cell In[3], line 4, in Sigmoid.__call__(self, x)"
# or "File ~/helpers.py:12, in stable(x)"; the function's qualified name is group 1
FRAME = re.compile(r"^(?:Cell In\[\d+\], line \d+|File [^\n]{0,300}?:\d+), in "
                   r"([A-Za-z_]\w{0,60}(?:\.[A-Za-z_]\w{0,60}){0,3})\(", re.M)
MAX_ENTRIES = 40          # traceback entries read
MAX_ENTRY = 20_000        # characters read of one entry

STABLE = {
    "sigmoid": ("1 / (1 + exp(-x)) overflows for large negative x (exp(-x) = exp(1000) at "
                "x = -1000, beyond float64). Write a stable sigmoid that exponentiates only "
                "numbers <= 0: with e = exp(-|x|), sigmoid(x) = 1 / (1 + e) where x >= 0 and "
                "e / (1 + e) where x < 0 (split x by sign and compute each part on its own: "
                "np.where evaluates both branches on every x)"),
    "softmax": ("exp of large scores overflows float64: subtract each row's max before np.exp "
                "(softmax(z) = softmax(z - max(z)), so exp only sees numbers <= 0)"),
}
GENERIC = ("np.exp of a number above about 709 overflows float64: rewrite it so that exp only "
           "sees numbers <= 0")


def teacher_functions(source_nb: dict) -> set[str]:
    """Qualified names of the functions the teacher's answer cells define: top-level
    functions and the methods of top-level classes ("forward", "Sigmoid.__call__")."""
    names = set()
    for cell in source_nb.get("cells", []):
        if not (nbgrader_meta(cell).get("solution") and cell.get("cell_type") == "code"):
            continue
        try:
            tree = ast.parse(cell_source(cell)[:MAX_SOURCE])
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{m.name}" for m in node.body
                          if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return names


def overflow_note(cell: dict | None, functions: set[str]) -> str:
    """What to say about a test cell whose error is ``FloatingPointError: overflow
    encountered in exp`` raised inside one of ``functions`` (the teacher's, see
    :func:`teacher_functions`): where, and how to write that function stably. "" for any
    other error, or when no frame of the traceback is in one of ``functions``."""
    for output in (cell or {}).get("outputs") or []:
        if not (isinstance(output, dict) and output.get("output_type") == "error"):
            continue
        evalue = output.get("evalue")
        if output.get("ename") != "FloatingPointError" or not isinstance(evalue, str) \
                or not evalue.strip().startswith(OVERFLOW):
            return ""
        frames = []
        for entry in list(output.get("traceback") or [])[:MAX_ENTRIES]:
            if isinstance(entry, str):
                frames += FRAME.findall(ANSI.sub("", entry[:MAX_ENTRY]))
        inside = [f for f in frames if f in functions]
        if not inside:
            return ""
        where = inside[-1]   # the deepest of the teacher's functions on the way down
        advice = next((text for key, text in STABLE.items() if key in where.lower()), GENERIC)
        return (f"np.exp overflowed inside your {where} (the test runs it under "
                f"np.errstate(over=\"raise\"), which makes an overflow an error): {advice}")
    return ""
