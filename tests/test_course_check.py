"""Every command checks its course directory first and says in one line what is wrong;
``doctor`` checks it too and prints the limits ``grade`` will use."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grader import cli, doctor
from autograder.grader.course import Course
from autograder.grader.run.jobs import assignment_limits
from tests import course_fixture as fx

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [["export"], ["grade"], ["feedback"], ["release"], ["dashboard"],
            ["collect", "/tmp"], ["calibrate", fx.ASSIGNMENT]]


def error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and not captured.out, captured
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_missing_course_is_named_in_one_line_and_nothing_is_created(tmp_path, capsys, command):
    missing = tmp_path / "nonexistent"
    assert cli.main(["--course", str(missing), *command]) == 2
    line = error_line(capsys)
    assert line == (f"error: {missing} is missing: pass --course with the course directory "
                    "(the folder holding source/), or run autograder inside it")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_folder_that_is_not_a_course_is_refused_untouched(tmp_path, capsys, command):
    (tmp_path / "notes.txt").write_text("not a course")
    assert cli.main(["--course", str(tmp_path), *command]) == 2
    line = error_line(capsys)
    assert line.startswith(f"error: {tmp_path} is not a course: it has no source/, gradebook.db")
    assert "pass --course" in line
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_read_only_course_is_refused_in_one_line(tmp_path):
    """The course on a read-only bind mount (root ignores permission bits, not that)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for the read-only bind mount")
    course = fx.make_course(tmp_path / "course")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = (f"mount --bind {course} {course} && mount -o remount,ro,bind {course} && "
              f"exec {sys.executable} -m autograder.grader.cli --course {course} export")
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.strip().splitlines() == [
        f"error: {course} is not writable by root (uid 0): the commands write the gradebook, "
        "releases and reports there; run autograder as the course's owner or make the folder "
        "writable"]
    assert sorted(p.name for p in course.iterdir()) == ["source"]


def test_a_gradebook_owned_by_another_user_is_refused_in_one_line(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the gradebook to another uid")
    course = Course(fx.make_course(tmp_path))
    course.gradebook.write_bytes(b"")
    os.chown(course.gradebook, 1500, 1500)
    assert cli.main(["--course", str(tmp_path), "export"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"error: {course.gradebook} belongs to ")
    assert "uid 1500" in line and "not root (uid 0): run autograder as its owner" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.db", "source"]


def test_doctor_prints_the_limits_grade_will_use_for_each_assignment(tmp_path, capsys):
    course = Course(fx.make_course(tmp_path))
    path = course.source / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    notebook = json.loads(path.read_text())
    notebook["metadata"]["autograder"] = {"budget_seconds": 45,
                                          "limits": {"processes": 64}}
    path.write_text(json.dumps(notebook))
    cli.main(["--course", str(tmp_path), "doctor"])
    out = capsys.readouterr().out
    used = assignment_limits(course, fx.ASSIGNMENT)  # what grade's jobs get (see test_source_of_truth)
    row = next(line for line in out.splitlines() if f"limits {fx.ASSIGNMENT}" in line)
    assert row.startswith("ok ") and "budget 45 s: " in row
    assert ", ".join(f"{name} {value}" for name, value in used.describe()) in row
    assert "processes and threads 64" in row and "135 s per cell, 300 s per notebook" in row
    assert f"ok  course directory           {tmp_path}" in out


def test_doctor_says_what_is_wrong_with_the_course(tmp_path):
    rows = {what: (ok, detail) for what, ok, detail in doctor.course_checks(Course(tmp_path))}
    ok, detail = rows["course directory"]
    assert not ok and detail.startswith(f"{tmp_path} is not a course")
    ok, detail = rows["limits (no assignment)"]
    assert ok and "an assignment without a budget gets 120 s" in detail


def test_without_course_the_current_course_folder_is_used_not_the_kit(tmp_path, monkeypatch,
                                                                          capsys):
    course = tmp_path / "my-course"
    (course / "source").mkdir(parents=True)
    monkeypatch.chdir(course)
    assert cli.main(["new", "logreg"]) == 0
    assert (course / "source" / "logreg" / "logreg.ipynb").is_file()
    assert not (REPO / "source" / "logreg").exists()  # the kit's own course is untouched
    monkeypatch.chdir(tmp_path)  # not a course: the kit's repository is the default
    assert cli.default_course() == REPO
