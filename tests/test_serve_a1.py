"""``autograder serve`` on the real A1: a student logs in in headless Chromium, uploads the
reference A1 notebook (real MNIST, real training, the sandbox and the judge) and reads its
graded feedback page; another student cannot open it, and the instructor sees every
autograded point of it.

The rest of the service's behaviour is tested on the tiny course (tests/test_serve.py);
this module is the one end-to-end run of a real assignment through the service. It prints
the seconds from the upload to the graded page (a figure, not an assertion).
"""
import json
import shutil
import time

import httpx
import pytest

from autograder.grader.course import NEVER_RELEASED, Course
from autograder.grader.release import release
from autograder.grader.sample import fill, reference_answers
from autograder.grader.serve import tokens
from tests.conftest import REPO
from tests.test_serve import Service, auth, log_in

A1 = "a1_numpy_mlp"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-a1")
    shutil.copytree(REPO / "source", root / "source", ignore=shutil.ignore_patterns(*NEVER_RELEASED))
    found = Course(root)
    release.release(found, [A1])
    return found


@pytest.fixture(scope="module")
def reference(course, tmp_path_factory):
    """The released A1 notebook with the teacher's answers filled in, as a student saves it."""
    source = course.notebooks(A1)[0]
    released = json.loads((course.release / A1 / source.name).read_text())
    path = tmp_path_factory.mktemp("student") / source.name
    path.write_text(json.dumps(fill(released, reference_answers(source))))
    return path


def test_the_reference_a1_uploaded_in_a_browser_is_graded_and_shown_to_its_student_alone(
        course, reference, tmp_path):
    from playwright.sync_api import sync_playwright

    keys = {s: tokens.issue(course, s) for s in ("alice", "bob")}
    instructor = tokens.issue(course, tokens.INSTRUCTOR, tokens.INSTRUCTOR)
    with open(tmp_path / "serve.log", "wb") as log:
        service = Service(course, log)
        service.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
                page = log_in(browser, service.url, keys["alice"])
                page.set_input_files(f"#nb-{A1}", str(reference))
                uploaded = time.time()
                page.click(f"text=Submit {A1}")
                page.wait_for_url("**/feedback/*", timeout=900_000)
                print(f"\nA1 reference: {time.time() - uploaded:.1f} s from the upload to the "
                      "graded feedback page")
                text = page.inner_text("body")
                assert "Status: graded" in text, text[:2000]
                # before the deadline the student sees the visible checks' score: all of it
                shown = text.split("Score: ", 1)[1].split()[:3]
                assert shown[1] == "/" and float(shown[0]) == float(shown[2]) > 0, shown
                assert log_in(browser, service.url, keys["bob"]).goto(page.url).status == 404
                browser.close()
            submission = page.url.rsplit("/", 1)[1]
            full = httpx.get(f"{service.url}/api/submissions/{submission}",
                             headers=auth(instructor), timeout=30).json()
            assert full["status"] == "graded"
            assert full["score"] == full["max_score"] > float(shown[2]), full
        finally:
            service.kill()
        assert b"Traceback" not in (tmp_path / "serve.log").read_bytes()
