"""Warm workers: one process grades job after job; a stuck or dead one is replaced.

The mechanics run against a stand-in worker (a few lines of Python speaking the same
protocol), so they take seconds; the real worker is exercised by grading a small class.
"""
import json
import sys
import textwrap
import time

import pytest

from autograder.grader.collect import collect
from autograder.grader import grade
from autograder.grader.release import release
from autograder.grader.course import Course
from autograder.grader.run.warm import WarmWorker, WorkerDied, WorkerTimeout
from autograder.grader.run.records import Outcome
from autograder.grader.run.worker import RESULT
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


def test_the_next_spec_sent_ahead_is_not_sent_again(worker):
    answers = [worker.run("a", 30, then=["b", "c"]), worker.run("b", 30, then=["c", "d"]),
               worker.run("c", 30, then=["d"]), worker.run("d", 30)]
    assert [a["job"] for a in answers] == ["a", "b", "c", "d"]
    assert len({a["worker"] for a in answers}) == 1 and worker.sent == []


def test_a_job_sent_ahead_to_a_worker_that_hangs_is_graded_by_the_next_worker(worker):
    with pytest.raises(WorkerTimeout):
        worker.run("hang", 1, then=["b"])
    assert worker.process is None and worker.sent == []
    assert worker.run("b", 30)["job"] == "b"


def test_a_job_sent_ahead_to_a_worker_that_dies_is_graded_by_the_next_worker(worker):
    with pytest.raises(WorkerDied):
        worker.run("die", 30, then=["b", "c"])
    assert worker.run("b", 30, then=["c"])["job"] == "b"
    assert worker.run("c", 30)["job"] == "c"


KERNEL_AGE = ("import os\n"
              "ticks = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])\n"
              "uptime = float(open('/proc/uptime').read().split()[0])\n"
              "print('kernel age', uptime - ticks / os.sysconf('SC_CLK_TCK'))\n"
              "def double(x):\n    return 2 * x\n")
SLOW_DOUBLE = "import time\ntime.sleep(8)\n" + KERNEL_AGE


def kernel_age(course, student) -> float:
    """Seconds since the kernel started, when its double_answer cell ran."""
    nb = (course.autograded / student / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").read_text()
    return float(nb.split("kernel age ", 1)[1].split("\\n", 1)[0])


def test_the_next_jobs_kernel_starts_while_the_current_job_runs(tmp_path):
    """The second submission's kernel was launched during the first one's 8-second cell
    (without it, it would be about a second old there); scores are unchanged."""
    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    students = {"s1-slow": {"double_answer": SLOW_DOUBLE},
                "s2-next": {"double_answer": KERNEL_AGE}}
    for student, answers in students.items():
        put(tmp_path / "in" / student, notebook(course, answers))
    collect.collect(course, tmp_path / "in")
    results = grade.grade(course, workers=1, progress=False)
    assert [r.status for r in results] == ["graded"] * 2
    slow_age, next_age = (kernel_age(course, s) for s in students)
    assert slow_age > 8.0
    assert next_age > 5.0, "the second kernel started only when its job began"
    full = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}
    assert {s: scores(course, s) for s in students} == {s: full for s in students}


class RecordingWorker:
    """Stands in for a warm worker: records each job's sandbox slot, runs nothing."""
    slots: list = []

    def __init__(self):
        self.sent = []

    def send(self, spec):
        pass

    def run(self, spec, limit, then=()):
        job = json.loads(spec.read_text())
        RecordingWorker.slots.append((job["student"], job["slot"]))
        time.sleep(0.3)  # long enough for the other worker's thread to take jobs too
        return Outcome("error", "not run: a recording stand-in").to_json()

    def stop(self):
        pass


def test_consecutive_jobs_of_a_worker_alternate_between_its_two_sandbox_slots(
        tmp_path, monkeypatch):
    """A job's kernel starts while the one before still runs: they never share a slot
    (as root, a slot is a uid), and two workers never share one either."""
    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    for i in range(5):
        put(tmp_path / "in" / f"s{i}", notebook(course))
    collect.collect(course, tmp_path / "in")
    monkeypatch.setattr(grade, "WarmWorker", RecordingWorker)
    RecordingWorker.slots = []
    grade.grade(course, workers=1, progress=False)
    assert [slot for _, slot in RecordingWorker.slots] == [0, 1, 0, 1, 0]
    RecordingWorker.slots = []
    grade.grade(course, workers=2, progress=False)
    by_student = dict(RecordingWorker.slots)
    assert len(by_student) == 5 and set(by_student.values()) <= {0, 1, 2, 3}
    assert {0, 2} <= set(by_student.values())  # each worker's first job, its own slot
