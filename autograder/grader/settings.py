"""An assignment's own settings, written by its author in the notebook's metadata.

Everything the kit needs to know about one assignment beyond its cells lives in the
source notebook, under ``metadata.autograder`` (Jupyter: Edit > Edit Notebook Metadata)::

    "autograder": {"budget_seconds": 180, "budget_seconds_gpu": 40, "from_scratch": true,
                   "limits": {"memory_bytes": 6442450944}, "hand_in": ["report.pdf"]}

budget_seconds  seconds the teacher's notebook should take top to bottom on 2 CPU cores
                without a GPU (default ``DEFAULT_BUDGET_SECONDS``); the grading limits
                (wall clock per cell and per notebook, CPU time) derive from it
                (``Limits.for_budget``) and ``calibrate`` fails a run slower than it.
budget_seconds_gpu  the same on one GPU (``grade --gpus``; calibrate on a GPU machine);
                without it a job on a GPU gets ``budget_seconds``, the CPU's, which is
                longer than a GPU run needs but never too short.
from_scratch    the students differentiate by hand: grading kernels get no autodiff
                library (sandbox.autodiff_paths).
limits          overrides of single limits (names and units of ``sandbox.Limits``), applied
                after the budget's defaults; ``grade --set-limit`` overrides them in turn.
hand_in         files besides the notebooks that the submission must hold (harvested
                first, with the notebooks and the files the judge reads).

The policy of ``autograder serve`` (feedback on submission; each overridable on its
command line):

deadline        ISO 8601 date and time with its time zone ("2027-01-15T23:59:00+00:00");
                none: no deadline.
late            what a submission after the deadline gets: "refuse" (403) or "accept"
                (graded and shown, marked late, never the one that counts).
submissions_per_hour  per student and assignment; one more is refused (429) with the
                time of the next allowed submission.
feedback_before_deadline  "visible": the results of the visible checks only, the score
                out of their share; "all": every check, hidden ones as pass/fail counts.
counts          the submission the gradebook holds: "last" before the deadline, or "best".

The kit holds no assignment-specific constant: the course's five assignments use these
keys too. A wrong key or value is the author's to fix, named with the notebook.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from .sandbox.limits import Limits

# The budget of an assignment whose notebooks do not say: a short NumPy exercise.
DEFAULT_BUDGET_SECONDS = 120

KEYS = ("budget_seconds", "budget_seconds_gpu", "from_scratch", "limits", "hand_in",
        "deadline", "late", "submissions_per_hour", "feedback_before_deadline", "counts")
DEFAULT_SUBMISSIONS_PER_HOUR = 10
# The values each choice of the serve policy may take, the default first.
CHOICES = {"late": ("refuse", "accept"), "feedback_before_deadline": ("visible", "all"),
           "counts": ("last", "best")}


class SettingsError(ValueError):
    """An ``autograder`` metadata value the kit cannot use (the author's to fix)."""


@dataclass(frozen=True)
class AssignmentSettings:
    """The settings of one assignment (see the module's docstring for each key)."""

    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    from_scratch: bool = False
    limits: dict = field(default_factory=dict)
    hand_in: tuple = ()
    budget_seconds_gpu: float | None = None
    deadline: datetime | None = None
    late: str = CHOICES["late"][0]
    submissions_per_hour: int = DEFAULT_SUBMISSIONS_PER_HOUR
    feedback_before_deadline: str = CHOICES["feedback_before_deadline"][0]
    counts: str = CHOICES["counts"][0]

    def budget(self, device: str = "cpu") -> float:
        """The budget on ``device`` ("cpu" or "gpu": the GPU's if given, else the CPU's)."""
        if device not in ("cpu", "gpu"):
            raise ValueError(f"device {device!r}: expected 'cpu' or 'gpu'")
        if device == "gpu" and self.budget_seconds_gpu is not None:
            return self.budget_seconds_gpu
        return self.budget_seconds

    def grading_limits(self, cores: int | None = None, device: str = "cpu") -> Limits:
        """The limits a grading kernel of this assignment on ``device`` runs under: that
        device's budget's defaults, then the notebook's overrides."""
        return dataclasses.replace(Limits.for_budget(self.budget(device), cores), **self.limits)


def _seconds(metadata: dict, key: str, default, where: str):
    """A number of seconds from ``metadata[key]`` (``default`` when absent)."""
    value = metadata.get(key, default)
    if key not in metadata and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SettingsError(f"{where}: metadata autograder.{key} is {value!r}; "
                            "give the seconds the notebook takes, a positive number")
    return value


def read_settings(metadata: dict, where: str) -> AssignmentSettings:
    """The settings in ``metadata`` (the notebooks' ``autograder`` metadata, merged);
    SettingsError names the notebook, the key and what it should be."""
    budget = _seconds(metadata, "budget_seconds", DEFAULT_BUDGET_SECONDS, where)
    budget_gpu = _seconds(metadata, "budget_seconds_gpu", None, where)
    limits = metadata.get("limits", {}) or {}
    names = [f.name for f in dataclasses.fields(Limits)]
    if not isinstance(limits, dict):
        raise SettingsError(f"{where}: metadata autograder.limits must be an object "
                            f"{{name: number}} with names among {', '.join(names)}")
    for name, value in limits.items():
        if name not in names or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{where}: metadata autograder.limits.{name} = {value!r}: "
                                f"expected a number for one of {', '.join(names)}")
    hand_in = metadata.get("hand_in", []) or []
    if not isinstance(hand_in, list) or not all(isinstance(n, str) and n for n in hand_in):
        raise SettingsError(f"{where}: metadata autograder.hand_in must be a list of file "
                            "names")
    return AssignmentSettings(budget_seconds=budget, budget_seconds_gpu=budget_gpu,
                              from_scratch=bool(metadata.get("from_scratch", False)),
                              limits=dict(limits), hand_in=tuple(hand_in),
                              **serve_policy(metadata, where))


def read_deadline(value, where: str) -> datetime | None:
    """An ISO 8601 date and time with its time zone, or None; SettingsError otherwise."""
    if value is None:
        return None
    try:
        deadline = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        deadline = None
    if deadline is None or deadline.tzinfo is None:
        raise SettingsError(f"{where}: deadline {value!r}: give an ISO 8601 date and time "
                            "with its time zone, e.g. 2027-01-15T23:59:00+00:00")
    return deadline


def serve_policy(metadata: dict, where: str) -> dict:
    """The serve policy's keys of ``metadata`` (module docstring), checked, as keyword
    arguments of AssignmentSettings; SettingsError names the key and its choices."""
    policy = {"deadline": read_deadline(metadata.get("deadline"), where)}
    per_hour = metadata.get("submissions_per_hour", DEFAULT_SUBMISSIONS_PER_HOUR)
    if isinstance(per_hour, bool) or not isinstance(per_hour, int) or per_hour < 1:
        raise SettingsError(f"{where}: submissions_per_hour is {per_hour!r}; give a whole "
                            "number of submissions, at least 1")
    policy["submissions_per_hour"] = per_hour
    for key, choices in CHOICES.items():
        value = metadata.get(key, choices[0])
        if value not in choices:
            raise SettingsError(f"{where}: {key} is {value!r}; choose one of "
                                + ", ".join(repr(c) for c in choices))
        policy[key] = value
    return policy
