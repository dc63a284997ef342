"""``autograder serve``: a real server (uvicorn, a subprocess on a free loopback port) on
the tiny course, driven through HTTP (httpx) and headless Chromium (playwright).

One course and one service for the module (grading is the slow part): the tests that grade
share its queue, and the service is killed with SIGKILL mid-queue and started again once.
The scores a submission gets are the ones ``autograder grade`` gives the same notebook
(tests/test_dask.py: the reference 7, a wrong ReLU gradient 5, a function shaped to the
visible test 6).
"""
import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from autograder.grader.record import gradebook
from autograder.grader.release import release
from autograder.grader.course import Course
from autograder.grader.serve import policy, submissions, tokens, uploads
from tests import course_fixture as fx
from tests.test_hostile import notebook

STUDENTS = [f"s{i:02d}" for i in range(10)]
OTHERS = ["browser-a", "browser-b"]
VARIANTS = {"ref": {}, "wrong": {"relu_answer": fx.WRONG_RELU_GRAD},
            "shaped": {"double_answer": fx.SHAPED_TO_VISIBLE}}
TOTAL = {"ref": 7.0, "wrong": 5.0, "shaped": 6.0}  # autograded points `grade` gives them
PER_HOUR = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """``autograder serve`` on a course, in a process group of its own."""

    def __init__(self, course: Course, log, workers: int = 2):
        self.course, self.log, self.process, self.workers = course, log, None, workers

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grader.cli", "--course", str(self.course.root),
             "serve", "--port", str(self.port), "--workers", str(self.workers),
             "--per-hour", str(PER_HOUR)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the service did not start")

    def kill(self) -> None:
        """SIGKILL the service and every process it started (workers, judge, kernels)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    found = Course(fx.make_course(root / "course"))
    release.release(found)
    return found


@pytest.fixture(scope="module")
def keys(course):
    issued = {s: tokens.issue(course, s) for s in STUDENTS + OTHERS}
    issued["instructor"] = tokens.issue(course, tokens.INSTRUCTOR, tokens.INSTRUCTOR)
    return issued


@pytest.fixture(scope="module")
def service(course, keys, tmp_path_factory):
    log = open(tmp_path_factory.mktemp("log") / "serve.log", "wb")
    running = Service(course, log)
    running.start()
    yield running
    running.kill()
    log.close()


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def log_in(browser, url: str, key: str):
    """A fresh browser context on ``url``'s login page, logged in with ``key``: its page."""
    page = browser.new_context().new_page()
    page.goto(f"{url}/login")
    page.fill("#token", key)
    page.click("button[type=submit]")
    return page


def post(service, key, data: bytes, name="f1_tiny.ipynb", assignment=fx.ASSIGNMENT, **extra):
    files = {"notebook": (name, data), **{k: (k, v) for k, v in extra.items()}}
    return httpx.post(f"{service.url}/api/submissions/{assignment}", headers=auth(key),
                      files=files, timeout=120)


def variant(course, name) -> bytes:
    return json.dumps(notebook(course, VARIANTS[name])).encode()


def wait_graded(service, key, ids, seconds=900):
    """{id: status} once every one of ``ids`` is graded or failed."""
    deadline, found = time.time() + seconds, {}
    while time.time() < deadline:
        found = {i: httpx.get(f"{service.url}/api/submissions/{i}", headers=auth(key),
                              timeout=30).json() for i in ids}
        if all(s["status"] in ("graded", "failed") for s in found.values()):
            return found
        time.sleep(2)
    raise AssertionError(f"not graded in {seconds} s: {found}")


def disk_state(course):
    """Every file of the course but the service's database (its WAL changes on reads)."""
    return sorted(str(p.relative_to(course.root)) for p in course.root.rglob("*")
                  if not p.name.startswith("service.db"))


def test_every_route_but_the_login_page_needs_a_token(service, keys):
    assert httpx.get(f"{service.url}/login").status_code == 200
    for method, path in [("GET", "/api/submissions"), ("GET", "/api/submissions/abc"),
                         ("POST", f"/api/submissions/{fx.ASSIGNMENT}"), ("GET", "/api/queue")]:
        for headers in ({}, auth("not-a-token"), {"Authorization": "Basic abc"}):
            answer = httpx.request(method, service.url + path, headers=headers)
            assert answer.status_code == 401, (method, path)
            assert "token" in answer.json()["error"]
    for path in ("/", "/dashboard", "/feedback/abc"):
        answer = httpx.get(service.url + path)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert httpx.get(f"{service.url}/dashboard", headers=auth(keys["s00"])).status_code == 403
    assert httpx.get(f"{service.url}/api/queue", headers=auth(keys["instructor"])).status_code == 200
    login = httpx.post(f"{service.url}/login", data={"token": "wrong"})
    assert login.status_code == 401 and "not valid" in login.text


def test_a_revoked_token_is_refused(course, service):
    token = tokens.issue(course, "leaver")
    assert httpx.get(f"{service.url}/api/submissions", headers=auth(token)).status_code == 200
    assert tokens.revoke(course, "leaver") == 1
    assert httpx.get(f"{service.url}/api/submissions", headers=auth(token)).status_code == 401


def test_hostile_uploads_get_a_clear_error_and_change_nothing(course, service, keys):
    before, key = disk_state(course), keys["s09"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("f1_tiny.ipynb", b"\0" * (200 * 1024 * 1024))
    good = variant(course, "ref")
    cases = [
        (post(service, key, b"x" * (uploads.MAX_NOTEBOOK_BYTES * 6)), 413, "limit"),
        (post(service, key, b"print('hello')", name="../../x"), 415, "not a Jupyter notebook"),
        (post(service, key, bomb.getvalue(), name="bomb.zip"), 415, "zip"),
        (post(service, key, b'{"cells": 3}'), 415, "not a Jupyter notebook"),
        (post(service, key, json.dumps(json.loads(good) | {"cells": []}).encode()), 400,
         "not one of f1_tiny's"),
        (post(service, key, good, **{"../../x": b"owned"}), 400, "hand-in files (fields: none)"),
        (post(service, key, good, assignment="..%2F..%2Fsource"), 404, "no such address"),
        (post(service, key, good, assignment="a2_torch_mlp"), 404, "no assignment"),
        (httpx.post(f"{service.url}/api/submissions/{fx.ASSIGNMENT}", headers=auth(key),
                    data={"notebook": "text"}), 400, "multipart field 'notebook'"),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]
    assert disk_state(course) == before
    assert not any(p.name in ("x", "bomb.zip") for p in course.root.parent.rglob("*"))
    assert submissions.every(course) == []


def test_a_late_submission_is_refused_or_marked_late():
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    strict = policy.Policy(past, "refuse", 4, "visible", "last")
    with pytest.raises(policy.Refused) as refused:
        policy.admit(strict, time.time(), [])
    assert refused.value.status == 403 and "deadline" in str(refused.value)
    assert policy.admit(policy.Policy(past, "accept", 4, "visible", "last"), time.time(), [])
    assert not policy.admit(policy.Policy(None, "refuse", 4, "visible", "last"), time.time(), [])


def test_the_deadline_is_enforced_by_the_api(course, keys):
    from autograder.grader.serve.app import create_app

    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    app = create_app(course, None, policy.overrides_from({"deadline": past}))

    async def submit():  # the same application, in this process
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://local") as client:
            return await client.post(f"/api/submissions/{fx.ASSIGNMENT}",
                                     headers=auth(keys["s09"]),
                                     files={"notebook": ("n.ipynb", variant(course, "ref"))})

    answer = asyncio.run(submit())
    assert answer.status_code == 403 and "deadline" in answer.json()["error"]
    assert submissions.every(course) == []


def test_a_student_logs_in_uploads_and_sees_feedback_that_another_cannot_open(
        course, service, keys, tmp_path):
    """Headless Chromium: browser-a logs in, uploads the reference notebook through the
    page, lands on its graded feedback; browser-b (who submits from a terminal with
    autograder-submit meanwhile) gets 404 for it. (The tiny course, not A1: CI time.)"""
    from playwright.sync_api import sync_playwright

    path = tmp_path / "f1_tiny" / "f1_tiny.ipynb"
    path.parent.mkdir()
    path.write_bytes(variant(course, "ref"))
    terminal = subprocess.Popen(
        [sys.executable, "-m", "autograder.student.submit", str(path), "--server", service.url,
         "--token", keys["browser-b"]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page()
        page.goto(f"{service.url}/")
        assert page.url.endswith("/login")
        page.fill("#token", keys["browser-a"])
        page.click("button[type=submit]")
        page.set_input_files(f"#nb-{fx.ASSIGNMENT}", str(path))
        page.click(f"text=Submit {fx.ASSIGNMENT}")
        page.wait_for_url("**/feedback/*", timeout=900_000)
        text = page.inner_text("body")
        assert "Status: graded" in text and "Score: 1.5 / 1.5" in text  # visible checks only
        assert fx.HIDDEN_LINE not in page.content()
        other = log_in(browser, service.url, keys["browser-b"])
        assert other.goto(page.url).status == 404
        browser.close()
    out, _ = terminal.communicate(timeout=900)
    assert terminal.returncode == 0, out
    assert "score: 1.5 / 1.5 (the visible checks" in out
    feedback_id = page.url.rsplit("/", 1)[1]
    full = httpx.get(f"{service.url}/feedback/{feedback_id}", headers=auth(keys["instructor"]))
    assert full.status_code == 200 and "centroid_test" in full.text  # the full page


def test_forty_submissions_at_once_are_each_graded_once_even_across_a_killed_service(
        course, service, keys):
    """10 students post 4 notebooks each at once; the service is SIGKILLed mid-queue and
    started again: every accepted submission ends graded once, with the score `grade`
    gives its notebook, and the gradebook holds each student's last one."""
    plan = [(s, ["wrong", "shaped", "ref", ["ref", "wrong", "shaped"][i % 3]][k])
            for i, s in enumerate(STUDENTS) for k in range(PER_HOUR)]
    data = {name: variant(course, name) for name in VARIANTS}

    def send(item):
        student, name = item
        label = "../../../escape.ipynb" if student == "s03" else "f1_tiny.ipynb"
        return post(service, keys[student], data[name], name=label)

    with ThreadPoolExecutor(len(plan)) as pool:
        answers = list(pool.map(send, plan))
    assert [a.status_code for a in answers] == [202] * len(plan)
    which = {a.json()["id"]: item for a, item in zip(answers, plan)}
    over = post(service, keys["s00"], data["ref"])
    assert over.status_code == 429 and "next_allowed" in over.json()
    assert int(over.headers["Retry-After"]) > 0 and "per hour" in over.json()["error"]

    queue, deadline = f"{service.url}/api/queue", time.time() + 900
    while httpx.get(queue, headers=auth(keys["instructor"])).json()["states"]["graded"] < 3:
        assert time.time() < deadline, "nothing graded in 900 s"
        time.sleep(1)  # the browser test's two and at least one of these
    service.kill()
    left = [s for s in submissions.every(course) if s.id in which and s.state != "graded"]
    assert left, "everything was graded before the kill: the restart proved nothing"
    service.start()
    states = wait_graded(service, keys["instructor"], list(which), seconds=1800)
    for submission_id, (student, name) in which.items():
        assert states[submission_id]["status"] == "graded"
        assert states[submission_id]["score"] == TOTAL[name], (student, name)
        assert (course.root / "serve" / "feedback" / submission_id / "feedback.html").is_file()
    rows = [s for s in submissions.every(course) if s.student in STUDENTS]
    assert sorted(s.id for s in rows) == sorted(which)  # none lost, none doubled
    for student in STUDENTS:
        mine = sorted((s for s in rows if s.student == student), key=lambda s: s.created)
        assert [s.counts for s in mine] == [False] * (PER_HOUR - 1) + [True]
        items = gradebook.submission_items(course, fx.ASSIGNMENT, student)
        assert sum(i.score or 0 for i in items if i.kind == "autograded test") == \
            TOTAL[which[mine[-1].id][1]]
    assert not list(course.root.parent.rglob("escape.ipynb"))



def test_a_student_sees_only_their_own_submissions(course, service, keys):
    theirs = [s for s in submissions.every(course) if s.student == "s00"]
    assert theirs
    for path in (f"/api/submissions/{theirs[0].id}", f"/feedback/{theirs[0].id}"):
        assert httpx.get(service.url + path, headers=auth(keys["s01"])).status_code == 404
        assert httpx.get(service.url + path, headers=auth(keys["s00"])).status_code == 200
        assert httpx.get(service.url + path, headers=auth(keys["instructor"])).status_code == 200
    listed = httpx.get(f"{service.url}/api/submissions", headers=auth(keys["s01"])).json()
    assert listed and {s["id"] for s in listed} == \
        {s.id for s in submissions.every(course) if s.student == "s01"}
    dashboard = httpx.get(f"{service.url}/dashboard", headers=auth(keys["instructor"]))
    assert dashboard.status_code == 200 and "graded" in dashboard.text


def test_before_the_deadline_a_student_sees_no_hidden_check_or_its_message(course):
    from autograder.grader.assignment import read_assignment
    from autograder.grader.judge.verdict import CheckVerdict, Verdict
    from autograder.grader.record.grading_record import GradingRecord
    from autograder.grader.serve import visibility

    task = read_assignment(course, fx.ASSIGNMENT)
    assert visibility.visible_flags(task) == {"relu_test": [False], "double_test": [True, False],
                                              "centroid_test": [False], "train_test": [True, False]}
    secret = "the hidden one failed on shape (3, 5)"
    record = GradingRecord("graded", verdicts={
        "relu_test": Verdict("f1_tiny", True, 2.0, 2.0, "", [CheckVerdict("relu", True, "ok")]),
        "double_test": Verdict("f1_tiny", False, 0.5, 1.0, secret, [
            CheckVerdict("double", True, "ok"), CheckVerdict("double", False, secret)])})
    visible = visibility.shown_results(task, record, "visible")
    assert [(c.name, c.score, c.max_score) for c in visible.cells] == [("double_test", 0.5, 0.5)]
    assert (visible.score, visible.max_score) == (0.5, 0.5) and not visible.complete
    assert secret not in repr(visible)
    every = visibility.shown_results(task, record, "all")
    assert [(c.name, c.score, c.hidden_passed, c.hidden_failed) for c in every.cells] == \
        [("relu_test", 2.0, 1, 0), ("double_test", 0.5, 0, 1)]
    assert secret not in repr(every) and (every.score, every.max_score) == (2.5, 3.0)


def test_the_policy_keys_are_checked_like_the_other_settings():
    from autograder.grader.settings import SettingsError, read_settings

    read = read_settings({"deadline": "2027-01-15T23:59:00+00:00", "late": "accept",
                          "submissions_per_hour": 3, "feedback_before_deadline": "all",
                          "counts": "best"}, "source/x")
    assert (read.deadline.year, read.late, read.submissions_per_hour, read.counts) == \
        (2027, "accept", 3, "best")
    for bad, words in [({"deadline": "2027-01-15 23:59"}, "time zone"),
                       ({"deadline": 5}, "ISO 8601"), ({"late": "maybe"}, "'refuse', 'accept'"),
                       ({"submissions_per_hour": 0}, "at least 1"),
                       ({"feedback_before_deadline": "hidden"}, "'visible', 'all'"),
                       ({"counts": "first"}, "'last', 'best'")]:
        with pytest.raises(SettingsError, match=words):
            read_settings(bad, "source/x")


def test_the_submission_that_counts_is_the_last_or_the_best_and_never_a_late_one():
    from autograder.grader.serve.records import Submission

    def row(n, score, late=False):
        return Submission(f"id{n}", "s", "a", float(n), "graded", late, "a.ipynb", [], score)

    rows = [row(1, 5.0), row(2, 7.0), row(3, 6.0), row(4, 7.0, late=True)]
    last = policy.Policy(None, "accept", 4, "visible", "last")
    best = policy.Policy(None, "accept", 4, "visible", "best")
    assert policy.counting(last, rows).id == "id3"
    assert policy.counting(best, rows).id == "id2"
    assert policy.counting(last, [row(5, 1.0, late=True)]) is None
    again = Submission.from_json(rows[0].to_json())
    assert again == rows[0]
    with pytest.raises(Exception, match="fields"):
        Submission.from_json(json.dumps({"id": "x"}))


def test_the_hourly_limit_names_the_next_allowed_time():
    rules = policy.Policy(None, "refuse", 2, "visible", "last")
    now = 10_000.0
    with pytest.raises(policy.Refused) as refused:
        policy.admit(rules, now, [now - 3000, now - 100])
    assert refused.value.status == 429 and refused.value.retry_at == now - 3000 + 3600
    assert policy.admit(rules, now, [now - 3700, now - 100]) is False


def test_the_student_bundle_ships_autograder_submit(course, tmp_path):
    import tomllib

    from autograder.grader.release.bundle import write_bundle
    from tests.conftest import REPO

    bundle = zipfile.ZipFile(write_bundle(course, REPO, tmp_path / "bundle.zip"))
    assert "autograder/student/submit.py" in bundle.namelist()
    project = tomllib.loads(bundle.read("pyproject.toml").decode())["project"]
    assert project["scripts"] == {"autograder-submit": "autograder.student.submit:main"}
    assert "autograder-submit" in bundle.read("README.md").decode()
