"""Several ``autograder serve`` processes on one PostgreSQL (the course's nbgrader_config.py
names it as the gradebook's db_url): a real server (tests/postgres_server.py) on a free
loopback port, real service processes (tests/test_serve.py's Service) on the tiny course.

A claim is atomic across processes; a killed process's rows go back to the queue and a
live one's never do; two services on one course grade every submission once, with the
scores ``autograder grade`` gives (tests/test_serve.py's TOTAL), one of them SIGKILLed
mid-queue and started again while the other grades.
"""
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from autograder.grader.course import Course
from autograder.grader.record import gradebook
from autograder.grader.release import release
from autograder.grader.serve import database, submissions, tokens
from tests import course_fixture as fx
from tests.postgres_server import PostgresServer, use_database
from tests.test_serve import PER_HOUR, TOTAL, Service, auth, post, variant, wait_graded

STUDENTS = [f"pg{i}" for i in range(4)]
NOT_OURS = "was not being graded by this process"  # finish() refusing a row taken over

# Claims one row at a time until the queue is empty, prints their ids, then holds them
# (and its owner lock) until its stdin closes.
CLAIMER = """
import sys
from autograder.grader.course import Course
from autograder.grader.serve import database, submissions
course = Course(sys.argv[1])
database.owner(course)
print("ready", flush=True)
sys.stdin.readline()
mine = []
while (got := submissions.claim(course, 1)):
    mine += [row.id for row in got]
print(" ".join(mine), flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


def queue_course(tmp_path, url) -> Course:
    """A course folder whose nbgrader_config.py names ``url``: enough for the queue."""
    root = tmp_path / "queue-course"
    root.mkdir()
    use_database(root, url)
    return Course(root)


def claimer(course: Course) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", CLAIMER, str(course.root)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_the_course_config_names_the_database_of_the_gradebook_and_the_queue(
        postgres, tmp_path):
    url = postgres.url("config")
    course = queue_course(tmp_path, url)
    assert course.db_url == url and database.shared(course)
    assert database.where(course) == url  # no password in it to hide
    assert not database.shared(Course(tmp_path))  # no nbgrader_config.py: SQLite as before
    token = tokens.issue(course, "pg0")
    assert tokens.identify(Course(course.root), token).who == "pg0"  # a new process's view
    assert not (course.root / "serve" / "service.db").exists()


def test_a_db_url_other_than_postgresql_is_refused_naming_the_line(tmp_path):
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\nc.CourseDirectory.db_url = 'mysql://db/course'\n")
    problem = Course(tmp_path).problem()
    assert "c.CourseDirectory.db_url = 'mysql://db/course'" in problem
    assert "name a postgresql://" in problem


def test_serve_names_a_database_it_cannot_reach_and_stops(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    course = queue_course(tmp_path, f"postgresql://nobody:secret@127.0.0.1:{closed}/course")
    (course.root / "source").mkdir()
    done = subprocess.run([sys.executable, "-m", "autograder.grader.cli", "--course",
                           str(course.root), "serve", "--port", str(closed)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot use the database postgresql://nobody:***@127.0.0.1:{closed}/course" \
        in done.stderr and "c.CourseDirectory.db_url" in done.stderr
    assert "secret" not in done.stdout + done.stderr


def test_a_claim_is_atomic_and_only_a_dead_process_rows_go_back(postgres, tmp_path):
    course = queue_course(tmp_path, postgres.url("claims"))
    ids = [submissions.add(course, submissions.new_id(), f"st{n:03d}", fx.ASSIGNMENT,
                           "f1_tiny.ipynb", [], lambda now, earlier: False).id
           for n in range(120)]
    first, second = claimer(course), claimer(course)
    for process in (first, second):
        process.stdin.write("go\n")
        process.stdin.flush()
    taken = [set(p.stdout.readline().split()) for p in (first, second)]
    assert not taken[0] & taken[1], "a row was claimed by both processes"
    assert taken[0] | taken[1] == set(ids)
    assert submissions.requeue_interrupted(course) == 0  # both alive: nothing taken back
    first.kill()
    first.wait()
    assert submissions.requeue_interrupted(course) == len(taken[0])
    states = {row.id: row.state for row in submissions.every(course)}
    assert {states[i] for i in taken[0]} <= {"queued"}
    assert {states[i] for i in taken[1]} <= {"grading"}  # the live one keeps its rows
    second.stdin.close()  # it ends normally: its lock goes with its connection
    second.wait(timeout=60)
    assert submissions.requeue_interrupted(course) == len(taken[1])
    assert submissions.counts_by_state(course)["queued"] == len(ids)


def test_service_processes_on_one_machine_get_apart_sandbox_slots():
    """As root a slot is the kernel's uid: two services grading at once must not share."""
    code = ("import sys\nfrom autograder.grader.serve.grading import machine_slots\n"
            "print(machine_slots(), flush=True)\nsys.stdin.read()\n")
    holders = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        firsts = [int(h.stdout.readline()) for h in holders]
    finally:
        for holder in holders:
            holder.stdin.close()
            holder.wait(timeout=60)
    assert firsts[0] != firsts[1] and abs(firsts[0] - firsts[1]) >= 64
    assert all(first >= 128 and first + 64 <= 1000 for first in firsts)  # not grade's, the judge's


@pytest.fixture(scope="module")
def course(postgres, tmp_path_factory):
    root = fx.make_course(tmp_path_factory.mktemp("serve-pg") / "course")
    use_database(root, postgres.url("course"))
    found = Course(root)
    release.release(found)
    return found


def test_two_services_on_one_database_grade_each_submission_once_across_a_kill(
        course, tmp_path):
    """4 students post 3 notebooks each, half to each service; the service grading when
    the first results are in is SIGKILLed, the other grades what it left, and the killed
    one started again meanwhile takes nothing the live one holds. Each submission ends
    graded once, with the score `grade` gives, and the PostgreSQL gradebook holds each
    student's last one."""
    keys = {s: tokens.issue(course, s) for s in STUDENTS}
    keys["instructor"] = tokens.issue(course, tokens.INSTRUCTOR, tokens.INSTRUCTOR)
    logs = [open(tmp_path / f"serve{n}.log", "wb") for n in range(2)]
    services = [Service(course, log, workers=1) for log in logs]
    try:
        for service in services:
            service.start()
        names = ["wrong", "shaped", "ref", "ref", "wrong", "shaped"]
        plan = [(s, names[(i + k) % len(names)]) for i, s in enumerate(STUDENTS)
                for k in range(PER_HOUR - 1)]
        data = {name: variant(course, name) for name in TOTAL}

        def send(numbered):
            n, (student, name) = numbered
            return post(services[n % 2], keys[student], data[name])

        with ThreadPoolExecutor(len(plan)) as pool:
            answers = list(pool.map(send, enumerate(plan)))
        assert [a.status_code for a in answers] == [202] * len(plan)
        which = {a.json()["id"]: item for a, item in zip(answers, plan)}

        victim, deadline = None, time.time() + 900
        while victim is None:
            assert time.time() < deadline, "nothing graded in 900 s"
            time.sleep(0.5)
            graded = submissions.counts_by_state(course)["graded"]
            busy = [s for s in services if httpx.get(
                f"{s.url}/api/queue", headers=auth(keys["instructor"])).json()["grading_now"]]
            if graded >= 2 and busy:
                victim = busy[0]
        held = {s.id for s in submissions.every(course) if s.state == "grading"}
        victim.kill()
        survivor = services[1 - services.index(victim)]
        left = [s for s in submissions.every(course) if s.state != "graded"]
        assert left, "everything was graded before the kill: the take-over proved nothing"
        assert held, "the killed service was grading nothing"
        victim.start()  # while the other grades: it must not take the other's rows
        states = wait_graded(survivor, keys["instructor"], list(which), seconds=1800)
    finally:
        for service in services:
            service.kill()
        for log in logs:
            log.close()
    for submission_id, (student, name) in which.items():
        assert states[submission_id]["status"] == "graded"
        assert states[submission_id]["score"] == TOTAL[name], (student, name)
        assert (course.root / "serve" / "feedback" / submission_id / "feedback.html").is_file()
    rows = submissions.every(course)
    assert sorted(s.id for s in rows) == sorted(which)  # none lost, none doubled
    text = "".join((tmp_path / f"serve{n}.log").read_text(errors="replace") for n in range(2))
    assert NOT_OURS not in text and "Traceback" not in text, text[-3000:]
    for student in STUDENTS:
        mine = sorted((s for s in rows if s.student == student), key=lambda s: s.created)
        assert [s.counts for s in mine] == [False] * (len(mine) - 1) + [True]
        items = gradebook.submission_items(course, fx.ASSIGNMENT, student)
        assert sum(i.score or 0 for i in items if i.kind == "autograded test") == \
            TOTAL[which[mine[-1].id][1]]
    assert not course.gradebook.exists()  # the gradebook is PostgreSQL's, not a file
