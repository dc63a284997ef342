"""Keep hidden tests out of everything a student reads.

Student code can read the running test cell (its frame, IPython's history) and put that
text anywhere: an exception message, a dictionary key, a later cell's output. Whatever
the kernel produced is therefore passed through :func:`redact` before it reaches a
message, a feedback page or an export.
"""
from __future__ import annotations

import re

REMOVED = "[hidden test text removed]"
MASKED = "[hidden]"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
VALUE_CHARS = 200   # of one value the kernel recorded, in a message
# literals of a hidden line worth masking: numbers of 3+ characters, strings of 6+
NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
STRING = re.compile(r"'([^'\\\n]{6,200})'" + r'|"([^"\\\n]{6,200})"')


def collapse(text: str) -> str:
    return " ".join(text.split())


def redact(text: str, hidden: list[str], limit: int | None = None) -> str:
    """``text`` without any hidden-test line (compared whitespace-collapsed) or control
    characters, cut to ``limit`` characters."""
    text = CONTROL.sub("", str(text))
    if hidden:
        flat = collapse(text)
        if any(line in flat for line in hidden):
            for line in hidden:
                flat = flat.replace(line, REMOVED)
            text = flat
    if limit is not None and len(text) > limit:
        text = text[:limit] + " [...]"
    return text


def student_error(evidence: dict, hidden: list[str]) -> str:
    """What to say about a student error the kernel recorded, in the judge's words.

    When the student's code raised, only the exception's type and place are named (its
    message is the student's process talking); other errors are the collect half's own
    descriptions, redacted and capped because they may quote the student's values.
    """
    raised = evidence.get("raised")
    if isinstance(raised, dict):
        what = raised.get("what") if isinstance(raised.get("what"), str) else "your code"
        kind = raised.get("type") if _identifier(raised.get("type")) else "an exception"
        place = ""
        if isinstance(raised.get("line"), int) and _identifier(raised.get("function")):
            place = f" at line {raised['line']} of {raised['function']}"
        return redact(f"{what} raised {kind}{place}; run the visible test in your notebook "
                      "to see the full error", hidden, 300)
    return redact(str(evidence.get("error", "")), hidden, 300)


def _identifier(value) -> bool:
    return isinstance(value, str) and value.isidentifier() and len(value) <= 60


def hidden_literals(hidden: list[str]) -> list[str]:
    """The numbers (3+ characters, underscores dropped) and strings (6+) written in the
    hidden-test lines ``hidden``, longest first: an expected value a hidden assert holds,
    which a value the kernel printed must not repeat."""
    found = {m.group(0).replace("_", "") for line in hidden for m in NUMBER.finditer(line)}
    found = {n for n in found if len(n) >= 3}
    found |= {a or b for line in hidden for a, b in STRING.findall(line)}
    return sorted(found, key=lambda text: (-len(text), text))


def shown_value(text: str, hidden: list[str], literals: list[str]) -> str:
    """A value the kernel recorded, fit to repeat: control characters and hidden lines
    removed, hidden literals masked, whitespace collapsed, cut to VALUE_CHARS."""
    text = collapse(redact(str(text)[:4 * VALUE_CHARS], hidden))
    for literal in literals:
        text = re.sub(rf"(?<![\d.]){re.escape(literal)}(?!\d)", MASKED, text)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + " [...]"
