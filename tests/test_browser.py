"""Feedback pages and dashboards of a graded tiny class, opened in headless Chromium.

The class is graded for real (tests/course_fixture.py, about a minute on 2 cores); the
pages are then loaded from the file system with the network blocked and checked
through the DOM Chromium built and a screenshot. Chromium is required: without it these
tests fail and say how to install it (never skip).
"""
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

from autograder.grader.collect import collect
from autograder.grader.report import dashboard, feedback
from autograder.grader.record import gradebook
from autograder.grader import grade
from autograder.grader.release import release
from autograder.grader.course import COURSE_ID, Course
from autograder.grader.release.leakcheck import find_leaks
from autograder.grader.sample import fill, reference_answers
from tests import course_fixture as fx

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
         "--allow-file-access-from-files",  # the height probe reads its iframe
         "--host-resolver-rules=MAP * ~NOTFOUND"]  # no network, whatever the page asks
DOUBLED_GRAD = fx.WRONG_RELU_GRAD.replace("(x >= 0).astype(float)", "2.0 * (x > 0)")
EXITS = "def double(x):\n    return 2 * x\n\nimport os\nos._exit(1)\n"  # the kernel dies
FLOOD_BYTES = 200 * 2**20
COMMENT = "Right idea; say why the gradient vanishes for negative inputs."


def chromium() -> str:
    """The Chromium executable, or a test failure that says how to get one."""
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is needed for the browser tests and was not found: install "
                "Debian's `chromium` package (`make setup` does it when run as root with "
                "apt-get), or set CHROMIUM to the browser's path", pytrace=False)


def browse(tmp: Path, *args: str) -> str:
    """Run headless Chromium; its stdout. Fails with Chromium's own words if it cannot run."""
    command = [chromium(), *FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish in 180 s: {' '.join(command)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"Chromium could not run (exit {done.returncode}): "
                    f"{done.stderr.strip()[-1500:]}", pytrace=False)
    return done.stdout


def dom(page: Path, tmp: Path) -> BeautifulSoup:
    """The document Chromium built from ``page``."""
    return BeautifulSoup(browse(tmp, "--dump-dom", page.as_uri()), "html.parser")


def page_height(page: Path, tmp: Path) -> int:
    """The rendered height of ``page`` in CSS pixels (read by a probe page through an iframe)."""
    probe = tmp / "height_probe.html"
    probe.write_text(f"<iframe src='{page.as_uri()}' style='width:1100px;height:800px' "
                     "onload=\"document.getElementById('h').textContent="
                     "this.contentDocument.documentElement.scrollHeight\"></iframe>"
                     "<p id='h'>no height</p>")
    return int(dom(probe, tmp).find(id="h").text)


def screenshot(page: Path, out: Path, tmp: Path, size=(1100, 1400)) -> Path:
    browse(tmp, f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", page.as_uri())
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A tiny class graded for real, a written answer graded by hand, one submission
    whose notebook printed 200 MB, and its feedback pages and dashboards."""
    course = Course(fx.make_course(tmp_path_factory.mktemp("course")))
    release.release(course)
    released = json.loads((course.release / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").read_text())
    reference = fill(released, reference_answers(course.notebooks(fx.ASSIGNMENT)[0]))
    students = {"reference": reference, "untouched": released,
                "wronggrad": fx.with_answers(reference, {"relu_answer": fx.WRONG_RELU_GRAD}),
                "doubler": fx.with_answers(reference, {"relu_answer": DOUBLED_GRAD}),
                "exiter": fx.with_answers(reference, {"double_answer": EXITS})}
    incoming = tmp_path_factory.mktemp("incoming")
    for student, nb in students.items():
        (incoming / student).mkdir()
        (incoming / student / f"{fx.ASSIGNMENT}.ipynb").write_text(json.dumps(nb))
    collect.collect(course, incoming)
    grade.grade(course, workers=2, progress=False, limit=120)
    flood(course.autograded / "doubler" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb")
    grade_by_hand(course, "reference", 1.5, COMMENT)
    feedback.feedback(course)
    dashboard.dashboard(course)
    return course


def flood(path: Path) -> None:
    """Give the relu answer cell of an autograded notebook a 200 MB output."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "relu_answer":
            line = "loss 0.123456 accuracy 0.98 " * 3 + "\n"
            cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                "text": line * (FLOOD_BYTES // len(line))}]
    path.write_text(json.dumps(nb))


def grade_by_hand(course, student, score, comment) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(course.gradebook), COURSE_ID) as gb:
        grade_ = gb.find_grade("why_relu", fx.ASSIGNMENT, fx.ASSIGNMENT, student)
        grade_.manual_score, grade_.needs_manual_grade = score, False
        gb.find_comment("why_relu", fx.ASSIGNMENT, fx.ASSIGNMENT, student).manual_comment = comment
        gb.db.commit()


def feedback_page(course, student):
    return course.feedback / student / fx.ASSIGNMENT / "feedback.html"


def all_pages(course):
    return (sorted(course.feedback.rglob("*.html"))
            + sorted((course.root / "dashboard").glob("*.html")))


def autograded(course, student):
    return [i for i in gradebook.submission_items(course, fx.ASSIGNMENT, student)
            if i.kind == "autograded test"]


# ------------------------------------------------------------------ feedback pages

def test_feedback_page_has_every_section_in_reading_order(course, tmp_path):
    doc = dom(feedback_page(course, "doubler"), tmp_path)
    ids = [s["id"] for s in doc.find_all("section")]
    assert ids == ["rubric", "gradients", "accuracy", "work", "figures"]
    rows = doc.select("#gradients tbody tr")
    assert rows and "gradient(x)" in rows[0].text and "3.33e-01" in rows[0].text
    assert "✗" in rows[0].text  # failure is said with a symbol, not only a colour
    assert len(doc.select("#accuracy .per-class tbody td")) == 10
    assert doc.select("#figures img")[0]["alt"].startswith("Figure produced by cell")


def test_feedback_numbers_equal_the_gradebook(course, tmp_path):
    for student in ("reference", "wronggrad", "untouched"):
        doc = dom(feedback_page(course, student), tmp_path)
        items = autograded(course, student)
        score, maximum = sum(i.score for i in items), sum(i.max_score for i in items)
        total = doc.find(id="total")
        assert (float(total["data-score"]), float(total["data-max"])) == (score, maximum)
        assert total.text == f"Autograded score: {score:g} / {maximum:g}"
        shown = {row.find_all("td")[1].text: float(row["data-score"])
                 for row in doc.select("tr.rubric-row")}
        assert {i.name: shown[i.name] for i in items} == {i.name: i.score for i in items}


def test_feedback_names_each_failed_check_with_its_deduction(course, tmp_path):
    doc = dom(feedback_page(course, "wronggrad"), tmp_path)
    row = doc.find(id="cell-relu_test")
    assert row.find("td").text.strip() == "✗"
    assert "(−2)" in row.text and "at x == 0" in row.text
    assert "✓" in doc.find(id="cell-double_test").text


def test_feedback_shows_the_manual_grade_and_comment_once_given(course, tmp_path):
    doc = dom(feedback_page(course, "reference"), tmp_path)
    assert "graded by hand: 1.5 / 2" in doc.find(id="manual").text  # never added to the
    assert doc.find(id="total").text == "Autograded score: 7 / 7"     # autograded total
    written = doc.find(id="work-why_relu")
    assert "Graded by hand: 1.5 / 2" in written.text and COMMENT in written.text
    assert "Not graded by hand yet" in dom(feedback_page(course, "wronggrad"), tmp_path).text


def test_a_200_mb_output_keeps_the_page_short(course, tmp_path):
    page = feedback_page(course, "doubler")
    assert page.stat().st_size < 300_000
    assert "more characters not shown" in page.read_text()
    assert page_height(page, tmp_path) < 8000
    assert page_height(page, tmp_path) < 2 * page_height(feedback_page(course, "reference"),
                                                          tmp_path)


# ------------------------------------------------------------------ dashboards

def test_assignment_dashboard_numbers_equal_the_gradebook(course, tmp_path):
    doc = dom(course.root / "dashboard" / f"{fx.ASSIGNMENT}.html", tmp_path)
    shown = {row["data-student"]: float(row["data-score"]) for row in doc.select("tr.submission")}
    expected = {s: sum(i.score for i in autograded(course, s)) for s in gradebook.students(course)}
    assert shown == expected
    assert float(doc.find(id="mean").text) == pytest.approx(sum(expected.values()) / 5, abs=0.005)
    for section in ("distribution", "checks", "failures", "not-run", "similar", "submissions"):
        assert doc.find("section", id=section), section
    assert doc.select("#distribution img")[0]["alt"].startswith("Histogram")


def test_dashboard_lists_failures_failed_runs_and_similar_models(course, tmp_path):
    doc = dom(course.root / "dashboard" / f"{fx.ASSIGNMENT}.html", tmp_path)
    relu = [row for row in doc.select("tr.check-rate") if "relu forward" in row.text]
    assert relu and "2 / 5" in relu[0].text  # reference and exiter pass it, three do not
    failures = " ".join(row.text for row in doc.select("tr.failure"))
    assert "at x == 0" in failures and "wronggrad" in failures
    (exiter,) = doc.select("tr.not-run")
    assert "exiter" in exiter.text and "the kernel died" in exiter.text
    similar = " ".join(li.text for li in doc.select("li.similar"))
    assert "reference" in similar and "wronggrad" in similar
    times = [row.find_all("td")[3].text for row in doc.select("tr.submission")]
    assert all(float(t) > 0 for t in times)  # every job's time was kept


def test_course_dashboard_links_every_feedback_page(course, tmp_path):
    doc = dom(course.root / "dashboard" / "index.html", tmp_path)
    links = [a["href"] for a in doc.select("a.feedback-link")]
    assert sorted(links) == sorted(f"../feedback/{s}/{fx.ASSIGNMENT}/feedback.html"
                                   for s in gradebook.students(course))
    assert doc.select("a.dashboard-link")[0]["href"] == f"{fx.ASSIGNMENT}.html"


# ------------------------------------------------------------------ every page

def test_every_link_resolves_and_nothing_needs_the_network(course, tmp_path):
    for page in all_pages(course):
        doc = dom(page, tmp_path)
        assert not doc.find("script"), page
        for tag in doc.find_all(["a", "img", "link"]):
            target = tag.get("href") or tag.get("src") or ""
            if target.startswith(("data:", "#")):
                continue
            assert not urlparse(target).scheme, f"{page}: {target} is not a local file"
            path = unquote(target.split("#")[0])
            assert (page.parent / path).resolve().is_file(), f"{page}: broken link {target}"


def test_no_hidden_test_or_mark_scheme_text_in_any_page_or_its_images(course, tmp_path):
    import base64

    secrets = (fx.HIDDEN_LINE, fx.MARK_SCHEME_LINE, "BEGIN HIDDEN TESTS", "MARK SCHEME")
    for page in all_pages(course):
        doc = dom(page, tmp_path)
        text = str(doc)
        for img in doc.find_all("img"):
            if img["src"].startswith("data:image/svg+xml;base64,"):
                text += base64.b64decode(img["src"].split(",", 1)[1]).decode()
        assert not [s for s in secrets if s in text], page
    pages = sorted(course.feedback.rglob("*.html"))
    assert find_leaks(course.notebooks(fx.ASSIGNMENT), pages,
                      kinds=("hidden test", "mark scheme")) == []


def test_screenshots_show_rendered_pages(course, tmp_path):
    from PIL import Image

    for page in (feedback_page(course, "wronggrad"), course.root / "dashboard" / "index.html"):
        shot = screenshot(page, tmp_path / "shot.png", tmp_path)
        with Image.open(shot) as image:
            assert image.size == (1100, 1400)
            grey = image.convert("L")
            dark = sum(grey.histogram()[:128])
            assert dark > 2000, f"{page} rendered (almost) blank"
            assert len(image.convert("RGB").getcolors(2**20) or []) > 20


def test_dashboard_command_prints_the_course_page(course, capsys):
    from autograder.grader.cli import main

    assert main(["--course", str(course.root), "dashboard"]) == 0
    assert capsys.readouterr().out.strip().endswith(str(course.root / "dashboard" / "index.html"))


def test_a_page_that_would_leak_is_deleted_and_the_build_fails(course, monkeypatch):
    from autograder.grader.report import work
    from autograder.grader.release.leakcheck import LeakError

    path = course.autograded / "untouched" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    before = path.read_text()
    nb = json.loads(before)
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "double_answer":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                "text": fx.HIDDEN_LINE + "\n"}]
    path.write_text(json.dumps(nb))
    monkeypatch.setattr(work, "redact", lambda text, hidden, limit=None: text)  # a broken redact
    try:
        with pytest.raises(LeakError, match="hidden test"):
            feedback.feedback(course, students=["untouched"])
        assert not feedback_page(course, "untouched").exists()
    finally:
        path.write_text(before)
        monkeypatch.undo()
        feedback.feedback(course, students=["untouched"])
