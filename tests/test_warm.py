"""Warm workers: one process grades job after job; a stuck or dead one is replaced.

The mechanics run against a stand-in worker (a few lines of Python speaking the same
protocol), so they take seconds; the real worker is exercised by grading a small class.
"""
import sys
import textwrap

import pytest

from autograder.grader.pipeline import collect, grade, release
from autograder.grader.pipeline.course import Course
from autograder.grader.pipeline.warm import WarmWorker, WorkerDied, WorkerTimeout
from autograder.grader.pipeline.worker import RESULT
from tests import course_fixture as fx
from tests.test_hostile import notebook, put, scores

STAND_IN = textwrap.dedent(f"""
    import json, os, sys, time
    print("@@worker-ready", flush=True)
    for line in sys.stdin:
        job = line.strip()
        print("some noise from the job", flush=True)
        if job == "hang":
            time.sleep(600)
        if job == "die":
            sys.stderr.write("the worker crashed on purpose\\n")
            sys.exit(3)
        print({RESULT!r} + json.dumps({{"job": job, "worker": os.getpid()}}), flush=True)
""")


@pytest.fixture
def worker():
    warm = WarmWorker([sys.executable, "-c", STAND_IN])
    yield warm
    warm.stop()


def test_a_warm_worker_grades_job_after_job_in_one_process(worker):
    first, second = worker.run("a", 30), worker.run("b", 30)
    assert (first["job"], second["job"]) == ("a", "b")
    assert first["worker"] == second["worker"]


def test_a_job_past_its_limit_kills_the_worker_and_the_next_job_gets_a_new_one(worker):
    before = worker.run("a", 30)["worker"]
    with pytest.raises(WorkerTimeout):
        worker.run("hang", 1)
    assert worker.process is None
    after = worker.run("b", 30)
    assert after["job"] == "b" and after["worker"] != before


def test_a_worker_that_dies_says_why_and_is_replaced(worker):
    with pytest.raises(WorkerDied, match="crashed on purpose"):
        worker.run("die", 30)
    assert worker.run("c", 30)["job"] == "c"


def test_a_small_class_is_graded_by_warm_workers_with_the_right_scores(tmp_path, capsys):
    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    students = {"s1-ref": {}, "s2-wrong": {"relu_answer": fx.WRONG_RELU_GRAD}}
    for student, answers in students.items():
        put(tmp_path / "in" / student, notebook(course, answers))
    collect.collect(course, tmp_path / "in")
    results = grade.grade(course, workers=1)
    assert [r.status for r in results] == ["graded"] * 2
    assert len({r.worker for r in results}) == 1  # one process, two kernels
    full = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}
    assert {s: scores(course, s) for s in students} == {
        "s1-ref": full, "s2-wrong": {**full, "relu_test": 0}}
    shown = capsys.readouterr().err  # the progress display
    assert f"{fx.ASSIGNMENT} 2/2" in shown and "slowest submissions:" in shown
