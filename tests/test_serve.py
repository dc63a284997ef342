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

from autograder.grader import grade
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

    def __init__(self, course: Course, log):
        self.course, self.log, self.process = course, log, None

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grader.cli", "--course", str(self.course.root),
             "serve", "--port", str(self.port), "--workers", "2", "--per-hour", str(PER_HOUR)],
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
