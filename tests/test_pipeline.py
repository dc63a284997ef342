"""The release-collect-grade-feedback-export pipeline on a tiny purpose-built course.

Real nbgrader, real kernels; the course is small so that the mechanics run in a minute.
"""
import csv
import json
import shutil
import sqlite3
import zipfile

import pytest

from autograder.grader.collect import collect
from autograder.grader.report import export, feedback
from autograder.grader.record import gradebook, grading_record
from autograder.grader import grade
from autograder.grader.run import jobs
from autograder.grader.release import leakcheck, release
from autograder.grader.release.bundle import write_bundle
from autograder.grader.course import Course
from autograder.grader.sample import fill, reference_answers, tamper
from tests import course_fixture as fx
from tests.conftest import REPO


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = fx.make_course(tmp_path_factory.mktemp("course"))
    course = Course(root)
    release.release(course)
    return course


def released_nb(course):
    return json.loads((course.release / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").read_text())


def reference_nb(course):
    return fill(released_nb(course), reference_answers(course.notebooks(fx.ASSIGNMENT)[0]))


def write(folder, name, nb):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(nb))


# ------------------------------------------------------------------ release

def test_what_a_teachers_run_leaves_in_source_is_never_released(course):
    """Trained weights, checkpoints and model archives (A5's a5_model.ts is the teacher's
    trained network) stay in source/ when the assignment is released again."""
    folder = course.source / fx.ASSIGNMENT
    left = ["model.ts", "model.pt2", "best.pt", "weights.npz", "state.pth", "run.ckpt"]
    try:
        for name in left:
            (folder / name).write_bytes(b"teacher's trained model")
        release.release(course)
        assert sorted(p.name for p in (course.release / fx.ASSIGNMENT).iterdir()
                      if p.name in left) == []
    finally:
        for name in left:
            (folder / name).unlink(missing_ok=True)


def test_release_has_no_solutions_hidden_tests_or_mark_scheme(course):
    text = (course.release / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").read_text()
    assert fx.SOLUTION_LINE not in text and fx.HIDDEN_LINE not in text
    assert fx.MARK_SCHEME_LINE not in text
    assert "relu(-1) should be 0" in text  # visible tests stay
    assert leakcheck.check_release(course.source, course.release) == []


def test_leak_check_fails_loudly_on_a_planted_leak(course, tmp_path):
    planted = tmp_path / "assignments" / fx.ASSIGNMENT
    shutil.copytree(course.release / fx.ASSIGNMENT, planted)
    (planted / "hints.py").write_text(f"# helper\n    {fx.SOLUTION_LINE}\n")
    leaks = leakcheck.check_release(course.source, tmp_path / "assignments")
    assert [(leak.kind, leak.line) for leak in leaks] == [("solution", fx.SOLUTION_LINE)]
    with pytest.raises(leakcheck.LeakError, match="(?s)LEAK CHECK FAILED.*hints.py"):
        leakcheck.raise_on_leaks(leaks)


def test_leak_in_notebook_metadata_is_found(course, tmp_path):
    nb = released_nb(course)
    nb["metadata"]["notes"] = fx.HIDDEN_LINE
    write(tmp_path / "assignments" / fx.ASSIGNMENT, "x.ipynb", nb)
    leaks = leakcheck.check_release(course.source, tmp_path / "assignments")
    assert any(leak.kind == "hidden test" for leak in leaks)


def test_release_is_reproducible(course):
    path = course.release / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    before = path.read_bytes()
    release.release(course)
    assert path.read_bytes() == before


def test_student_bundle_holds_notebooks_and_package_but_no_source(course, tmp_path):
    bundle = write_bundle(course, REPO, tmp_path / "bundle.zip")
    names = zipfile.ZipFile(bundle).namelist()
    assert f"assignments/{fx.ASSIGNMENT}/{fx.ASSIGNMENT}.ipynb" in names
    assert "autograder/student/checks/__init__.py" in names and "environment.yml" in names
    assert not any(n.startswith(("source/", "tests/", "samples/", "autograder/grader/"))
                   for n in names)


# ------------------------------------------------------------------ collect

def test_collect_understands_folders_zips_and_lms_names(course, tmp_path):
    incoming = tmp_path / "incoming"
    nb = reference_nb(course)
    write(incoming / "alice", "whatever name.ipynb", nb)
    write(incoming, "bob_4411_assignsubmission_file_f1_tiny (2).ipynb", nb)
    incoming.mkdir(exist_ok=True)
    with zipfile.ZipFile(incoming / "carol.zip", "w") as zf:
        zf.writestr("deep/folder/f1_tiny.ipynb", json.dumps(nb))
    (incoming / "notes.txt").write_text("hi")
    write(incoming / "dave", "unrelated.ipynb", {"cells": [], "metadata": {}, "nbformat": 4,
                                                 "nbformat_minor": 5})
    local = Course(tmp_path / "c2")
    shutil.copytree(course.source, local.source)
    shutil.copytree(course.release, local.release)
    report = collect.collect(local, incoming)
    assert sorted(s for s, _, _ in report.placed) == ["alice", "bob", "carol"]
    for student in ("alice", "bob", "carol"):
        assert (local.submitted / student / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").exists()
    reasons = dict(report.unmatched)
    assert "notes.txt" in reasons and "no matching nbgrader cell ids" in reasons["dave/unrelated.ipynb"]
    # Collecting again changes nothing; a different file is never overwritten silently.
    assert collect.collect(local, incoming).placed == []
    write(incoming / "alice", "whatever name.ipynb", released_nb(course))
    again = collect.collect(local, incoming)
    assert any("already exists with different content" in why for _, why in again.unmatched)
    replaced = collect.collect(local, incoming, replace=True)
    assert ("alice", fx.ASSIGNMENT, "alice/whatever name.ipynb") in replaced.placed


# ------------------------------------------------------------------ grade

STUDENTS = {
    "reference": lambda c: reference_nb(c),
    "untouched": lambda c: released_nb(c),
    "wronggrad": lambda c: fx.with_answers(reference_nb(c), {"relu_answer": fx.WRONG_RELU_GRAD}),
    "shaped": lambda c: fx.with_answers(reference_nb(c), {"double_answer": fx.SHAPED_TO_VISIBLE}),
    "tamperer": lambda c: tamper(fx.with_answers(reference_nb(c),
                                                 {"relu_answer": fx.WRONG_RELU_GRAD})),
    "looper": lambda c: fx.with_answers(reference_nb(c), {"double_answer": fx.INFINITE_LOOP}),
    "attacker": lambda c: fx.with_answers(reference_nb(c), {"double_answer": fx.ATTACK_GRADEBOOK}),
    "patcher": lambda c: fx.with_answers(reference_nb(c), {"centroid_answer": fx.CHEAT_ACCURACY}),
    "pileup": lambda c: fx.with_answers(reference_nb(c), {"train_answer": fx.NO_ZERO_GRAD}),
    "importer": lambda c: fx.with_answers(reference_nb(c), {"double_answer": fx.IMPORTS_GRADER}),
    "visible": lambda c: fx.with_answers(reference_nb(c), {"double_answer": fx.FAILS_VISIBLE_ONLY}),
}
FULL = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}
NONE = {"relu_test": 0, "double_test": 0, "centroid_test": 0, "train_test": 0}


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    incoming = tmp_path_factory.mktemp("incoming")
    for student, make in STUDENTS.items():
        write(incoming / student, f"{fx.ASSIGNMENT}.ipynb", make(course))
    collect.collect(course, incoming)
    results = grade.grade(course, workers=2, progress=False, limit=40)
    return {r.student: r for r in results}


def autograded_scores(course, student):
    return {i.name: i.score for i in gradebook.submission_items(course, fx.ASSIGNMENT, student)
            if i.kind == "autograded test"}


def test_reference_solution_gets_every_autograded_point(course, graded):
    assert graded["reference"].status == "graded"
    assert autograded_scores(course, "reference") == FULL
    verdicts = grading_record.load(course, "reference", fx.ASSIGNMENT).verdicts
    assert verdicts["centroid_test"].passed


def test_untouched_release_gets_zero_without_crashing(course, graded):
    assert graded["untouched"].status == "graded"
    assert autograded_scores(course, "untouched") == NONE


def test_buggy_students_lose_exactly_the_expected_points(course, graded):
    assert autograded_scores(course, "wronggrad") == {**FULL, "relu_test": 0}
    # Passes the visible test, fails the hidden one.
    assert autograded_scores(course, "shaped") == {**FULL, "double_test": 0}


def test_a_failing_visible_assert_costs_none_of_the_checks_after_it(course, graded):
    # Before the checks were run past it, the assert stopped the cell: 0 of 1.
    assert autograded_scores(course, "visible") == FULL
    notebook = json.loads((course.autograded / "visible" / fx.ASSIGNMENT
                           / f"{fx.ASSIGNMENT}.ipynb").read_text())
    test = next(c for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == "double_test")
    errors = [o for o in test["outputs"] if o["output_type"] == "error"]
    # The cell still fails in the kernel, with the teacher's whole message and its line,
    # and a line for the judge with both sides (shown only for a visible assert: stops.py).
    assert [e["evalue"] for e in errors] == [
        "double(2) should be 4\n  (line 1 of this cell)\n  [autograder-assert] "
        '{"line": 1, "message": "double(2) should be 4", "left": "5", "right": "4"}']


def test_patching_the_checks_in_the_kernel_gains_nothing(course, graded):
    # The kernel's own test passes (the check was replaced) but the trusted judge,
    # re-scoring the saved weights outside the kernel, gives 0.
    assert autograded_scores(course, "patcher") == {**FULL, "centroid_test": 0}
    feedback.feedback(course, students=["patcher"])
    page = (course.feedback / "patcher" / fx.ASSIGNMENT / "feedback.html").read_text()
    assert "trusted re-check of tiny_weights.npz" in page and "below the threshold" in page


def test_a_loop_only_the_judge_can_check_is_replayed_outside_the_kernel(course, graded):
    # In the kernel the check has no reference loop (it would be the answer) and passes;
    # the judge replays the recorded evidence with the grader's reference.
    assert autograded_scores(course, "pileup") == {**FULL, "train_test": 0}
    verdicts = grading_record.load(course, "pileup", fx.ASSIGNMENT).verdicts
    assert not verdicts["train_test"].passed
    assert "zero_grad" in verdicts["train_test"].message
    reference = grading_record.load(course, "reference", fx.ASSIGNMENT).verdicts
    assert reference["train_test"].passed and len(reference["train_test"].checks) == 2


def test_the_grader_side_cannot_be_imported_in_a_grading_kernel(course, graded):
    assert autograded_scores(course, "importer") == {**FULL, "double_test": 0}


def test_deleted_or_emptied_test_cells_still_run(course, graded):
    assert autograded_scores(course, "tamperer") == {**FULL, "relu_test": 0}


def test_endless_loop_is_stopped_and_keeps_the_points_before_it(course, graded):
    # The notebook's wall clock stops the kernel; the tests before the loop keep their points.
    assert graded["looper"].status == "graded"
    assert autograded_scores(course, "looper") == {**NONE, "relu_test": 2}
    assert any("wall-clock limit (40 s)" in note for note in graded["looper"].notes)


def test_submission_cannot_touch_the_real_gradebook_or_solutions(course, graded):
    assert course.notebooks(fx.ASSIGNMENT)[0].read_text().startswith("{")
    with sqlite3.connect(course.gradebook) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert autograded_scores(course, "reference") == FULL
    assert graded["attacker"].status in ("graded", "error")


def test_job_gradebook_holds_no_reference_solutions(course, tmp_path):
    jobs.job_copy(course, tmp_path / "job.db")
    with sqlite3.connect(tmp_path / "job.db") as db:
        sources = "\n".join(row[0] for row in db.execute("SELECT source FROM source_cell"))
    assert fx.SOLUTION_LINE not in sources and fx.MARK_SCHEME_LINE not in sources
    assert fx.HIDDEN_LINE in sources  # the tests themselves must still run


def test_regrading_gives_the_same_scores(course, graded):
    before = {s: autograded_scores(course, s) for s in ("reference", "wronggrad")}
    grade.grade(course, students=["reference", "wronggrad"], progress=False)
    assert {s: autograded_scores(course, s) for s in before} == before


# ------------------------------------------------------------------ feedback and export

def test_feedback_shows_scores_and_messages_but_no_hidden_tests(course, graded):
    pages = feedback.feedback(course)
    page = (course.feedback / "wronggrad" / fx.ASSIGNMENT / "feedback.html").read_text()
    assert "Autograded score: 5 / 7" in page
    assert "at x == 0" in page  # the check's message for this mistake
    assert "data:image/png;base64" in page  # the student's plot
    secret = ("hidden test", "mark scheme")  # the student's own correct code may appear
    assert leakcheck.find_leaks(course.notebooks(fx.ASSIGNMENT), pages, kinds=secret) == []
    assert fx.HIDDEN_LINE not in page


def test_export_writes_csv_and_gradescope_results(course, graded):
    csv_path, results = export.export(course)
    rows = {r["student"]: r for r in csv.DictReader(csv_path.open())}
    assert rows["reference"][f"{fx.ASSIGNMENT} total"] == "7"
    assert rows["shaped"][f"{fx.ASSIGNMENT}:double_test"] == "0"
    assert rows["reference"][f"{fx.ASSIGNMENT}:why_relu"] == "pending"
    data = json.loads((course.exports / "gradescope" / "wronggrad" / fx.ASSIGNMENT
                       / "results.json").read_text())
    tests = {t["name"].split(": ")[1]: t for t in data["tests"]}
    assert data["score"] == 5
    assert tests["relu_test"]["score"] == 0 and tests["relu_test"]["max_score"] == 2
    assert "at x == 0" in tests["relu_test"]["output"]
    assert {t["visibility"] for t in data["tests"]} == {"visible"}


def test_gradescope_leaves_ungraded_written_answers_out_of_the_total(course, graded):
    export.export(course)
    data = json.loads((course.exports / "gradescope" / "reference" / fx.ASSIGNMENT
                       / "results.json").read_text())
    (written,) = [t for t in data["tests"] if "why_relu" in t["name"]]
    assert "pending" in written["name"] and written["max_score"] == 0
    assert data["score"] == 7 and sum(t["max_score"] for t in data["tests"]) == 7
    assert "2 points of written answers are graded by hand" in data["output"]


def test_teacher_weights_in_source_are_neither_released_nor_graded(course, graded, tmp_path):
    leftover = course.source / fx.ASSIGNMENT / "a1_weights.npz"
    leftover.write_bytes(b"teacher's trained weights")
    try:
        release.release(course)
        assert not (course.release / fx.ASSIGNMENT / "a1_weights.npz").exists()
        jobs.prepare_job(course, "reference", fx.ASSIGNMENT, tmp_path / "job")
        assert not list((tmp_path / "job").rglob("a1_weights.npz"))
    finally:
        leftover.unlink()


def test_identical_saved_models_across_the_class_are_flagged_for_a_look(course, graded):
    from autograder.grader.judge.similarity import copied_models, groups

    flagged = copied_models(grading_record.class_fingerprints(course, fx.ASSIGNMENT))
    pairs = {tuple(p["students"]): p["reason"] for p in flagged}
    # Same code, same data: the same centroids (a human decides whether that is copying).
    assert pairs[("reference", "wronggrad")] in ("identical file", "identical weights")
    assert not any("patcher" in students for students in pairs)  # its zeros match nobody
    (name, reason, members, pairs), *_ = groups(flagged)
    assert name == "tiny_weights.npz" and {"reference", "wronggrad", "shaped"} <= set(members)
    assert ("reference", "wronggrad", 1.0) in pairs  # each pair shown with its similarity


def test_the_source_notebooks_are_read_once_for_the_whole_batch(course, graded, monkeypatch):
    """The judge, diagnose and every report of a batch share one reading of source/
    (assignment.read_assignment); only the leak check of the written pages reads it on purpose."""
    import builtins
    import pathlib

    from autograder.grader import assignment
    from autograder.grader.judge import judge
    from autograder.grader.report import dashboard

    source = str(course.source)
    opened, counting = [], [True]
    real_open, real_read_bytes = builtins.open, pathlib.Path.read_bytes
    real_find_leaks = leakcheck.find_leaks

    def note(path):
        if counting[0] and str(path).startswith(source) and str(path).endswith(".ipynb"):
            opened.append(pathlib.Path(path).name)

    def counted_open(path, *args, **kwargs):
        note(path)
        return real_open(path, *args, **kwargs)

    def counted_read_bytes(path):
        note(path)
        return real_read_bytes(path)

    def uncounted_find_leaks(*args, **kwargs):
        counting[0] = False
        try:
            return real_find_leaks(*args, **kwargs)
        finally:
            counting[0] = True

    monkeypatch.setattr(builtins, "open", counted_open)
    monkeypatch.setattr(pathlib.Path, "read_bytes", counted_read_bytes)
    monkeypatch.setattr(leakcheck, "find_leaks", uncounted_find_leaks)
    assignment._READ.clear()  # as in a fresh coordinator or judge process
    for student in ("reference", "wronggrad", "shaped"):
        judge.judge_cells(course, fx.ASSIGNMENT, course.autograded / student / fx.ASSIGNMENT)
    assert feedback.feedback(course)
    dashboard.dashboard(course)
    export.export(course)
    assert opened == [f"{fx.ASSIGNMENT}.ipynb"]


# ------------------------------------------------------------------ changes after grading

def raise_points(course, grade_id, points):
    """The teacher raises a test cell's points in source/."""
    path = course.notebooks(fx.ASSIGNMENT)[0]
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell["metadata"]["nbgrader"]["points"] = points
    path.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def changed(course, graded, tmp_path_factory, capsys_module):
    """A copy of the graded class cut to two students (reference: 7/7, wronggrad: 5/7)
    with a student bundle; then double_test raised from 1 to 3 points and released again
    (the release's output kept); then a third student, late, graded against the new tests."""
    from nbgrader.api import Gradebook

    from autograder.grader import commands

    root = tmp_path_factory.mktemp("changed") / "course"
    shutil.copytree(course.root, root, ignore=shutil.ignore_patterns("feedback", "dashboard",
                                                                      "exports"))
    local = Course(root)
    keep = {"reference", "wronggrad"}
    with Gradebook(gradebook.db_url(local.gradebook), "course") as gb:
        for student in {s.id for s in gb.students} - keep:
            gb.remove_student(student)
    for folder in (local.submitted, local.autograded):
        for student in folder.iterdir():
            if student.name not in keep:
                shutil.rmtree(student)
    write_bundle(local, REPO, commands.default_bundle(local))
    raise_points(local, "double_test", 3)
    capsys_module.readouterr()
    commands.release(local, None, None)
    released = capsys_module.readouterr().out
    incoming = tmp_path_factory.mktemp("late")
    write(incoming / "late", f"{fx.ASSIGNMENT}.ipynb", reference_nb(local))
    collect.collect(local, incoming)
    late = grade.grade(local, students=["late"], progress=False, limit=40)
    assert [(r.student, r.status) for r in late] == [("late", "graded")]
    return local, released


@pytest.fixture(scope="module")
def capsys_module():
    """Captured stdout for a module-scoped fixture (pytest's capsys is per test)."""
    import contextlib
    import io

    class Captured:
        def __init__(self):
            self.buffer = io.StringIO()

        def readouterr(self):
            found = self.buffer.getvalue()
            self.buffer.seek(0)
            self.buffer.truncate()
            return type("Out", (), {"out": found})

    captured = Captured()
    with contextlib.redirect_stdout(captured.buffer):
        yield captured


def test_release_says_how_many_students_were_graded_against_older_tests(changed):
    local, released = changed
    assert ("2 students of f1_tiny were graded against an older version of its tests: "
            "`autograder grade f1_tiny --stale` re-grades them") in released
    assert (f"the student bundle {local.exports / 'student_bundle.zip'} is out of date for "
            f"{fx.ASSIGNMENT}") in released
    from autograder.grader.record import versions

    assert versions.stale_students(local, fx.ASSIGNMENT) == ["reference", "wronggrad"]
    record = grading_record.load(local, "late", fx.ASSIGNMENT)
    assert record.points["double_test"] == 3 and record.tests_version


def test_stale_grades_keep_their_own_maxima_and_are_marked_everywhere(changed):
    from autograder.grader.report import dashboard

    local, _ = changed
    csv_path, _ = export.export(local)
    rows = {r["student"]: r for r in csv.DictReader(csv_path.open())}
    tests, total, top = (f"{fx.ASSIGNMENT} {k}" for k in ("tests", "total", "max"))
    # never an old score out of the new maximum (7/11): each its own version's (the
    # maxima hold the 2 points of the written answer)
    assert [(rows[s][total], rows[s][top], rows[s][tests]) for s in sorted(rows)] == [
        ("9", "11", "current"), ("7", "9", "older version"), ("5", "9", "older version")]
    data = json.loads((local.exports / "gradescope" / "reference" / fx.ASSIGNMENT
                       / "results.json").read_text())
    assert data["score"] == 7 and sum(t["max_score"] for t in data["tests"]) == 7
    assert "older version" in data["output"]
    feedback.feedback(local)
    page = (local.feedback / "reference" / fx.ASSIGNMENT / "feedback.html").read_text()
    assert 'id="stale"' in page and "Autograded score: 7 / 7" in page
    assert 'id="cell-double_test" data-score="1" data-max="1"' in page  # passed, not 1 / 3
    late = (local.feedback / "late" / fx.ASSIGNMENT / "feedback.html").read_text()
    assert 'id="stale"' not in late and "Autograded score: 9 / 9" in late
    model = dashboard.assignment_model(local, fx.ASSIGNMENT)
    assert [s.student for s in model.stale] == ["reference", "wronggrad"]
    assert model.stats["n"] == 1 and model.stats["mean"] == 9 and model.max_score == 9
    assert all(rate.total == 1 for rate in model.checks)  # late's verdicts only
    dashboard.dashboard(local)
    html = (local.root / "dashboard" / f"{fx.ASSIGNMENT}.html").read_text()
    assert 'data-student="wronggrad" data-score="5" data-max="7" data-stale="yes"' in html
    assert "graded against an older version of the tests" in html
    index = (local.root / "dashboard" / "index.html").read_text()
    assert "Left out of this histogram: 2 student(s)" in index


def test_feedback_and_export_take_a_student(changed):
    from autograder.grader import cli

    local, _ = changed
    shutil.rmtree(local.feedback, ignore_errors=True)
    shutil.rmtree(local.exports / "gradescope", ignore_errors=True)
    assert cli.main(["--course", str(local.root), "feedback", "--student", "late"]) == 0
    assert sorted(p.parent.parent.name for p in local.feedback.rglob("feedback.html")) == ["late"]
    assert cli.main(["--course", str(local.root), "export", "--student", "wronggrad"]) == 0
    assert [p.parent.parent.name for p in (local.exports / "gradescope").rglob("results.json")
            ] == ["wronggrad"]
    rows = list(csv.DictReader((local.exports / "grades.csv").open()))
    assert sorted(r["student"] for r in rows) == ["late", "reference", "wronggrad"]
    assert cli.main(["--course", str(local.root), "feedback", "--student", "nobody"]) == 2
    assert not (local.feedback / "nobody").exists()


def test_grade_stale_regrades_exactly_the_stale_submissions(changed):
    from autograder.grader.record import versions

    local, _ = changed
    before = grading_record.load(local, "late", fx.ASSIGNMENT)
    results = grade.grade(local, stale=True, progress=False, limit=40)
    assert sorted(r.student for r in results) == ["reference", "wronggrad"]
    assert grading_record.load(local, "late", fx.ASSIGNMENT) == before  # not graded again
    assert versions.stale_students(local, fx.ASSIGNMENT) == []
    assert autograded_scores(local, "reference") == {**FULL, "double_test": 3}
    assert autograded_scores(local, "wronggrad") == {**FULL, "double_test": 3, "relu_test": 0}
    assert grade.grade(local, stale=True, progress=False) == []
    csv_path, _ = export.export(local)
    assert {r["student"]: (r[f"{fx.ASSIGNMENT} total"], r[f"{fx.ASSIGNMENT} tests"])
            for r in csv.DictReader(csv_path.open())} == {
        "late": ("9", "current"), "reference": ("9", "current"), "wronggrad": ("7", "current")}
