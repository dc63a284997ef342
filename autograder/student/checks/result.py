"""What every check returns, and how a list of them reads as a rubric."""
from __future__ import annotations

from dataclasses import dataclass, field


class Malformed(Exception):
    """Evidence that cannot have come from this check on its inputs (forged or damaged)."""


class StudentError(Exception):
    """The student's code raised, or returned something unusable; carries a short
    description for the message and, when it raised, what it raised where (``raised``)."""

    def __init__(self, message: str, raised: dict | None = None):
        super().__init__(message)
        self.raised = raised


@dataclass
class CheckResult:
    """The outcome of one check.

    ``details`` holds plain data (numbers, strings, short lists) that a report may show,
    for example the worst coordinates of a gradient or a per-layer parameter table.
    """

    name: str
    passed: bool
    message: str
    points: float = 0.0
    max_points: float = 1.0
    details: dict = field(default_factory=dict)

    def raise_if_failed(self) -> "CheckResult":
        """Assert-style use in nbgrader test cells: a failure raises ``AssertionError``."""
        if not self.passed:
            raise AssertionError(f"{self.name}: {self.message}")
        return self

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "message": self.message,
                "points": self.points, "max_points": self.max_points, "details": self.details}


def rubric(results: list[CheckResult]) -> str:
    """Render results as lines such as ``ReLU gradient 1/1 ✓`` and ``-1 bias gradient ...``."""
    lines = []
    for result in results:
        score = f"{result.points:g}/{result.max_points:g}"
        if result.passed:
            lines.append(f"{result.name} {score} ✓")
        else:
            lost = result.max_points - result.points
            lines.append(f"{result.name} {score} ✗")
            lines.append(f"    -{lost:g} {result.message}")
    total = sum(r.points for r in results)
    possible = sum(r.max_points for r in results)
    lines.append(f"Total {total:g}/{possible:g}")
    return "\n".join(lines)
