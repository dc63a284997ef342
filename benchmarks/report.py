"""Where a benchmark's table goes: printed, and appended to (or written as) a Markdown file."""
from __future__ import annotations

from pathlib import Path


def publish(text: str, out: str | None, append: bool = True) -> None:
    """Print ``text``; with ``out``, append it to that file (or replace the file)."""
    print(text)
    if out:
        with open(Path(out), "a" if append else "w") as file:
            file.write(text + "\n")
