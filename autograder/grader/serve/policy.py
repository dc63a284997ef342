"""The course policy of the service, per assignment: read from the assignment's notebook
metadata (settings.py: deadline, late, submissions_per_hour, feedback_before_deadline,
counts), each overridable on ``autograder serve``'s command line.

Decisions only, on plain values: whether a submission is accepted now (deadline, rate),
and which of a student's graded submissions the gradebook should hold.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone

from ..assignment import read_assignment
from ..course import Course
from ..settings import AssignmentSettings, serve_policy
from .records import Submission

HOUR = 3600.0


@dataclass(frozen=True)
class Policy:
    deadline: datetime | None
    late: str                      # "refuse" | "accept"
    submissions_per_hour: int
    feedback_before_deadline: str  # "visible" | "all"
    counts: str                    # "last" | "best"

    def before_deadline(self, when: float) -> bool:
        return self.deadline is None or when <= self.deadline.timestamp()


class Refused(Exception):
    """A submission the policy refuses now: the HTTP status, the message, and (rate limit)
    when the next one is allowed."""

    def __init__(self, status: int, message: str, retry_at: float | None = None):
        super().__init__(message)
        self.status, self.retry_at = status, retry_at


def overrides_from(values: dict, where: str = "the command line") -> dict:
    """The policy keys given on the command line ({key: value or None}), checked like
    the metadata (settings.serve_policy); only the ones given."""
    given = {key: value for key, value in values.items() if value is not None}
    checked = serve_policy(given, where)
    return {key: checked[key] for key in given}


def policy_of(course: Course, assignment: str, overrides: dict | None = None) -> Policy:
    """The assignment's policy: its metadata, then ``overrides`` (overrides_from)."""
    options: AssignmentSettings = read_assignment(course, assignment).options
    fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(Policy)}
    return Policy(**{**fields, **(overrides or {})})


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="seconds")


def admit(policy: Policy, now: float, earlier: list[float]) -> bool:
    """Whether a submission at ``now`` is late; Refused when the deadline is past and late
    work is refused, or when ``earlier`` (the student's submissions of the assignment in
    the last hour, oldest first) reaches the hourly limit."""
    late = not policy.before_deadline(now)
    if late and policy.late == "refuse":
        raise Refused(403, f"the deadline ({policy.deadline.isoformat()}) has passed and "
                           "late submissions are not accepted: ask the course staff")
    recent = [t for t in earlier if t > now - HOUR]
    if len(recent) >= policy.submissions_per_hour:
        retry = recent[-policy.submissions_per_hour] + HOUR
        raise Refused(429, f"at most {policy.submissions_per_hour} submissions of this "
                           f"assignment per hour; the next is allowed at {iso(retry)} (UTC)",
                      retry)
    return late


def counting(policy: Policy, graded: list[Submission]) -> Submission | None:
    """Which of a student's graded submissions of one assignment the gradebook holds:
    late ones never; then the last, or the best (the earliest of equal best scores)."""
    eligible = [s for s in graded if s.state == "graded" and not s.late]
    if not eligible:
        return None
    eligible.sort(key=lambda s: s.created)
    if policy.counts == "best":
        return max(eligible, key=lambda s: (s.score or 0.0, -s.created))
    return eligible[-1]
