"""The progress display of a grading run: counts, failures, ETA, and the slowest jobs."""
import io

from autograder.grader.grade import JobResult
from autograder.grader.run.progress import Progress

JOBS = [("ann", "a1"), ("bob", "a1"), ("cyd", "a1"), ("ann", "a2"), ("bob", "a2")]


def test_lines_count_done_and_failed_per_assignment_with_elapsed_and_eta():
    stream = io.StringIO()
    progress = Progress(JOBS, stream=stream, every=0, tty=False)
    progress.update(JobResult("ann", "a1", "graded", 3.0))
    progress.update(JobResult("bob", "a1", "timeout", 9.0, "grading stopped after 100 s"))
    last = stream.getvalue().splitlines()[-1]
    assert "a1 2/3 (1 failed)" in last and "a2 0/2" in last
    assert "elapsed" in last and "ETA" in last and "ETA ?" not in last


def test_a_resumed_run_counts_what_the_earlier_run_graded():
    stream = io.StringIO()
    progress = Progress(JOBS, done=[("ann", "a1"), ("bob", "a1")], stream=stream, every=0,
                        tty=False)
    progress.update(JobResult("cyd", "a1", "graded", 1.0))
    assert "a1 3/3" in stream.getvalue()


def test_without_a_terminal_lines_come_at_most_every_period_and_at_the_end():
    stream = io.StringIO()
    progress = Progress(JOBS, stream=stream, every=3600, tty=False)
    for student, assignment in JOBS:
        progress.update(JobResult(student, assignment, "graded", 1.0))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "a1 3/3" in lines[-1] and "a2 2/2" in lines[-1]


def test_on_a_terminal_one_line_is_rewritten_in_place():
    stream = io.StringIO()
    progress = Progress(JOBS, stream=stream, tty=True)
    progress.update(JobResult("ann", "a1", "graded", 1.0))
    progress.update(JobResult("bob", "a1", "graded", 1.0))
    assert stream.getvalue().count("\r") == 2 and "\n" not in stream.getvalue()


def test_the_end_lists_the_slowest_submissions_and_why():
    stream = io.StringIO()
    progress = Progress(JOBS, stream=stream, every=0, tty=False)
    progress.update(JobResult("ann", "a1", "graded", 2.0))
    progress.update(JobResult("bob", "a1", "timeout", 100.0, "grading stopped after 100 s"))
    progress.update(JobResult("cyd", "a1", "graded", 50.0, notes=[
        "stopped by the notebook's wall-clock limit (40 s)"]))
    progress.close()
    table = stream.getvalue().split("slowest submissions:")[1].splitlines()[1:]
    assert [row.split()[0] for row in table] == ["bob/a1", "cyd/a1", "ann/a1"]
    assert "timeout: grading stopped after 100 s" in table[0]
    assert "wall-clock limit" in table[1]
