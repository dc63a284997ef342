"""Grading through a real Dask cluster on loopback: a scheduler and two worker processes.

Same scores as the local run; a worker killed mid-batch only makes its jobs run again
elsewhere: no grade lost, none recorded twice.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from autograder.grader.collect import collect
from autograder.grader import grade
from autograder.grader.record import grading_record
from autograder.grader.release import release
from autograder.grader.course import Course
from tests import course_fixture as fx
from tests.test_hostile import notebook, put, scores

pytest.importorskip("distributed")

STUDENTS = {"s1-ref": {}, "s2-wrong": {"relu_answer": fx.WRONG_RELU_GRAD},
            "s3-shaped": {"double_answer": fx.SHAPED_TO_VISIBLE}, "s4-ref": {}}
FULL = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}


def dask(*args, **kwargs):
    """A ``dask`` command line in a process group of its own."""
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, **kwargs)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (one thread each, no nanny:
    a killed worker stays dead); yields the scheduler's address and the workers."""
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    scheduler = dask("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(address_file))
    workers = [dask("distributed.cli.dask_worker", "--scheduler-file", str(address_file),
                    "--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory",
                    str(folder / f"w{i}"), "--name", f"w{i}") for i in range(2)]
    from distributed import Client

    deadline = time.time() + 120
    while not address_file.exists() and time.time() < deadline:
        time.sleep(0.2)
    with Client(scheduler_file=str(address_file), timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        address = client.scheduler.address
    yield address, workers
    for process in [*workers, scheduler]:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def small_class(root):
    course = Course(fx.make_course(root / "course"))
    release.release(course)
    for student, answers in STUDENTS.items():
        put(root / "in" / student, notebook(course, answers))
    collect.collect(course, root / "in")
    return course


def all_scores(course):
    return {student: scores(course, student) for student in STUDENTS}


def test_a_dask_cluster_gives_the_scores_of_the_local_run(tmp_path, cluster):
    local, remote = small_class(tmp_path / "local"), small_class(tmp_path / "remote")
    grade.grade(local, workers=2, progress=False)
    results = grade.grade(remote, progress=False, scheduler=cluster[0])
    assert [r.status for r in results] == ["graded"] * len(STUDENTS)
    assert all_scores(remote) == all_scores(local)
    assert all_scores(local)["s1-ref"] == FULL
    record = grading_record.load(remote, "s2-wrong", fx.ASSIGNMENT)
    assert not all(verdict.passed for verdict in record.verdicts.values())
    assert (remote.autograded / "s1-ref" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").exists()


def test_a_worker_killed_mid_batch_loses_no_grade_and_doubles_none(tmp_path, cluster):
    address, workers = cluster
    course = small_class(tmp_path)
    killed = []

    def kill_the_first_worker_while_it_grades():
        from distributed import Client

        with Client(address, timeout=60) as client:
            first = next(a for a, w in client.scheduler_info()["workers"].items()
                         if w["name"] == "w0")
            deadline = time.time() + 300
            while time.time() < deadline and not client.processing(workers=[first])[first]:
                time.sleep(0.05)
            killed.append(client.processing(workers=[first])[first])
        os.killpg(workers[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_first_worker_while_it_grades)
    killer.start()
    results = grade.grade(course, progress=False, scheduler=address)
    killer.join()
    assert workers[0].wait(timeout=10) == -signal.SIGKILL and killed[0]  # it had a job
    assert sorted(r.student for r in results) == sorted(STUDENTS)  # each once
    assert [r.status for r in results] == ["graded"] * len(STUDENTS)
    assert all_scores(course) == {"s1-ref": FULL, "s2-wrong": {**FULL, "relu_test": 0},
                                  "s3-shaped": {**FULL, "double_test": 0}, "s4-ref": FULL}
    with sqlite3.connect(course.gradebook) as db:
        assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == 4
