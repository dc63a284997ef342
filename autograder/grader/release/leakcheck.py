"""The leak check: no solution line, hidden-test line or mark scheme from source/ may
appear in a released notebook, its metadata, its outputs, or any released file.

A secret line that also appears in the public part of the source (given code, question
text) is not a secret. Very short lines (``return x``, ``else:``) are ignored: they say
nothing about the answer and appear everywhere.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..course import read_notebook

MIN_SECRET_LENGTH = 16
SUBSTRING_LENGTH = 40
REGIONS = (
    ("solution", "BEGIN SOLUTION", "END SOLUTION"),
    ("hidden test", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    ("mark scheme", "BEGIN MARK SCHEME", "END MARK SCHEME"),
)


class LeakError(RuntimeError):
    """Secret source content was found in released files."""


@dataclass(frozen=True)
class Leak:
    released_file: str
    kind: str
    source_notebook: str
    line: str

    def __str__(self) -> str:
        return f"{self.released_file}: {self.kind} line from {self.source_notebook}: {self.line!r}"


def normalise(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def split_lines(notebook: Path) -> tuple[dict[str, str], set[str]]:
    """({normalised secret line: kind}, {normalised public line}) of a source notebook."""
    secret, public = {}, set()
    for cell in read_notebook(notebook).get("cells", []):
        kind = None
        for line in _cell_text(cell).splitlines():
            for name, begin, end in REGIONS:
                if begin in line:
                    kind = name
                    break
                if end in line:
                    kind = None
                    break
            else:
                text = normalise(line)
                if kind:
                    secret.setdefault(text, kind)
                else:
                    public.add(text)
    return secret, public


def secret_lines(notebooks: list[Path]) -> dict[str, tuple[str, str]]:
    """{line: (kind, notebook)} for lines that are secret in one notebook and public in none.

    A line given to students in any notebook (a common loop header, say) is no secret.
    """
    secrets, public = {}, set()
    for notebook in notebooks:
        secret, shown = split_lines(notebook)
        public |= shown
        for line, kind in secret.items():
            secrets.setdefault(line, (kind, notebook.name))
    return {line: found for line, found in secrets.items()
            if len(line) >= MIN_SECRET_LENGTH and line not in public}


def _strings(value):
    """Every string inside nested JSON data (metadata, outputs), unescaped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def released_text(path: Path) -> str:
    """Everything a student could read in a released file, as text lines."""
    if path.suffix == ".ipynb":
        try:
            nb = read_notebook(path)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return path.read_text(encoding="utf-8", errors="replace")
        parts = list(_strings(nb.get("metadata", {})))
        for cell in nb.get("cells", []):
            parts.append(_cell_text(cell))
            parts.extend(_strings(cell.get("metadata", {})))
            parts.extend(_strings(cell.get("outputs", [])))
        return "\n".join(parts)
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return ""  # binary files (images) carry no source lines
    if path.suffix in (".html", ".htm"):  # the markup, and what a reader sees in it
        text = html.unescape(text) + "\n" + html.unescape(TAG.sub("\n", text))
    return text


TAG = re.compile(r"<[^>]*>")
IMPORT = re.compile(r"^(import|from) [\w.]+( import |$| as )")


def find_leaks(source_notebooks: list[Path], released_files: list[Path],
               base: Path | None = None, kinds=None, skip_imports: bool = False) -> list[Leak]:
    """Every secret line of the source notebooks found in the released files.

    kinds: only these kinds of secret (e.g. a student's feedback page may show the
    student's own, correct, solution, but never a hidden test or a mark scheme).
    skip_imports: import statements are no secret (for the kit's own Python files, which
    import the same libraries as any hidden test).
    """
    secrets = {line: found for line, found in secret_lines(source_notebooks).items()
               if (kinds is None or found[0] in kinds)
               and not (skip_imports and IMPORT.match(line))}
    leaks = []
    for path in released_files:
        lines = {normalise(line) for line in released_text(path).splitlines()}
        text = "\n".join(lines)
        name = str(path.relative_to(base)) if base else str(path)
        for secret, (kind, notebook) in secrets.items():
            # Whole lines always; inside other text only when long enough to be telling
            # (a short `for _ in range(50):` is no secret inside someone else's line).
            if secret in lines or (len(secret) >= SUBSTRING_LENGTH and secret in text):
                leaks.append(Leak(name, kind, notebook, secret))
    return leaks


def check_release(source_dir: Path, release_dir: Path) -> list[Leak]:
    """Leaks from every notebook under ``source_dir`` into any file under ``release_dir``."""
    sources = sorted(Path(source_dir).rglob("*.ipynb"))
    released = sorted(p for p in Path(release_dir).rglob("*") if p.is_file())
    return find_leaks(sources, released, base=Path(release_dir).parent)


def raise_on_leaks(leaks: list[Leak]) -> None:
    if leaks:
        shown = "\n".join(f"  {leak}" for leak in leaks[:20])
        more = f"\n  ... and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        raise LeakError(f"LEAK CHECK FAILED: {len(leaks)} secret line(s) from source/ found "
                        f"in released files. Nothing may be given to students.\n{shown}{more}")


# ----------------------------------------------------------------------------- bundled code

MIN_CODE_SECRET = 20  # a solution line this long is telling; shorter ones (`dx = dout * mask`,
                      # `return out`) recur in any code and in the kit's own references
# Lines that say nothing about an answer although long: a loop or branch header
# (`for l in range(1, len(sizes)):`), unpacking a shape (`n, c, h, w = x.shape`) and a call
# without arguments (`optimizer.zero_grad()`: naming the API is the hint, not the answer).
TRIVIAL_CODE = re.compile(r"^(for|while|if|elif|else|with|def|class|try|except)\b.*:$"
                          r"|^[\w, ]+ = \w+\.shape$|^[\w.]+\(\)$")


def _code_texts(path: Path) -> list[tuple[int, str]]:
    """(line number, normalised text) of a Python file: every code line, and every string
    literal (hints and messages quote code inside strings, e.g. f"use {...}")."""
    import ast

    text = path.read_text(encoding="utf-8", errors="replace")
    texts = [(n, normalise(line)) for n, line in enumerate(text.splitlines(), 1)]
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return texts
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append((node.lineno, normalise(node.value)))
        elif isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, joined
            parts = [v.value for v in node.values
                     if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            texts.append((node.lineno, normalise("".join(parts))))
    return texts


def solution_lines_in_code(source_notebooks: list[Path], code_files: list[Path],
                           base: Path | None = None) -> list[Leak]:
    """Solution lines of source/ (### BEGIN/END SOLUTION, at least MIN_CODE_SECRET
    characters, imports aside) found in the bundled Python code: as a whole line, or inside
    a string (a hint that pastes the answer). The released file names the line number."""
    secrets = {line: found for line, found in secret_lines(source_notebooks).items()
               if found[0] == "solution" and len(line) >= MIN_CODE_SECRET
               and not IMPORT.match(line) and not line.startswith("#")
               and not TRIVIAL_CODE.match(line)}
    leaks = []
    for path in code_files:
        name = str(path.relative_to(base)) if base else str(path)
        for number, text in _code_texts(path):
            for secret, (kind, notebook) in secrets.items():
                if secret == text or secret in text:
                    leaks.append(Leak(f"{name}, line {number}", kind, notebook, secret))
    return sorted(set(leaks), key=str)
