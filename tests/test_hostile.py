"""Hostile submissions (tests/hostile.py) graded in one sandboxed batch with two honest
bystanders. Each attack gets exactly the points of its honest part, the bystanders keep
exactly their scores, nothing the batch started is left running, and the course (source,
release, submissions, gradebook definitions) is byte for byte what it was, but for grades.
"""
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.grader.collect import collect
from autograder.grader.report import export, feedback
from autograder.grader.record import gradebook, grading_record, outcomes
from autograder.grader import assignment, grade
from autograder.grader.judge import redact
from autograder.grader.release import release
from autograder.grader.course import Course
from autograder.grader.sample import fill, reference_answers
from autograder.grader.sandbox import GiB, Limits, MiB
from tests import course_fixture as fx
from tests import hostile, judge_attacks
from tests.conftest import REPO

LIMITS = Limits(memory_bytes=2 * GiB, processes=64, file_size_bytes=64 * MiB,
                total_write_bytes=256 * MiB, cpu_seconds=20, tmpfs_bytes=64 * MiB,
                output_bytes=1 * MiB, open_files=256, cell_seconds=45, notebook_seconds=120)
BYSTANDERS = {"reference": hostile.FULL, "wronggrad": {**hostile.FULL, "relu_test": 0}}
ATTACKS = sorted(hostile.attacks("COURSE", "REPO", 0))
SLOT_UIDS = range(60000, 60064)


def notebook(course, answers=None):
    released = json.loads((course.release / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").read_text())
    return fx.with_answers(fill(released, reference_answers(course.notebooks(fx.ASSIGNMENT)[0])),
                           answers or {})


def put(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)
    text = nb if isinstance(nb, str) else json.dumps(nb)
    (folder / f"{fx.ASSIGNMENT}.ipynb").write_text(text)


def scores(course, student):
    return {i.name: i.score for i in gradebook.submission_items(course, fx.ASSIGNMENT, student)
            if i.kind == "autograded test"}


def snapshot(course):
    """Hashes of everything a batch must not change, and the gradebook's definitions."""
    skip = ("gradebook.db", "autograded", "feedback", "exports", ".grading-journal.json")
    files = {}
    for path in sorted(course.root.rglob("*")):
        parts = path.relative_to(course.root).parts
        if parts[0] not in skip and path.is_file():
            files[str(path.relative_to(course.root))] = (
                hashlib.sha256(path.read_bytes()).hexdigest(), oct(path.stat().st_mode))
    with sqlite3.connect(course.gradebook) as db:
        cells = db.execute("SELECT base_cell.name, max_score FROM grade_cells JOIN base_cell "
                           "ON grade_cells.id = base_cell.id ORDER BY base_cell.name").fetchall()
        sources = db.execute("SELECT name, source, checksum FROM source_cell ORDER BY name").fetchall()
    return {"files": files, "cells": cells, "sources": sources}


def leftovers(wait: float = 5.0):
    """Processes a grading batch left: slot uids, attack markers, kernels, workers.

    Waits up to ``wait`` seconds for processes that are still being torn down."""
    deadline = time.time() + wait
    while (found := _running()) and time.time() < deadline:
        time.sleep(0.2)
    return found


def _running():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
            uid = int(status.split("Uid:")[1].split()[0])
            state = status.split("State:")[1].split()[0]
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        ours = "/ag-" in cmdline and ("ipykernel" in cmdline or "launcher.py" in cmdline)
        if uid in SLOT_UIDS or hostile.MARKER in cmdline or ours \
                or "autograder.grader.run.worker" in cmdline:
            found.append(f"{pid} uid {uid} state {state}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="module")
def listener():
    """A loopback server on the host: an attack that reaches it has network."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    received, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                received.append(connection.recv(1024))
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield SimpleNamespace(port=server.getsockname()[1], received=received)
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, listener):
    root = fx.make_course(tmp_path_factory.mktemp("hostile-course"))
    course = Course(root)
    release.release(course)
    incoming = tmp_path_factory.mktemp("incoming")
    put(incoming / "reference", notebook(course))
    put(incoming / "wronggrad", notebook(course, {"relu_answer": fx.WRONG_RELU_GRAD}))
    collect.collect(course, incoming)
    # Graded once first: their results are what the weight-stealing attacks reach for.
    grade.grade(course, students=list(BYSTANDERS), workers=2, progress=False,
                limits=lambda a: LIMITS)
    before = snapshot(course)
    attacks = hostile.attacks(str(root), str(REPO), listener.port)
    Path(hostile.RACED).unlink(missing_ok=True)
    for student, attack in attacks.items():
        put(incoming / student, notebook(course, {attack.cell: attack.code}))
    retyped = notebook(course)
    for cell in retyped["cells"]:
        if cell["metadata"]["nbgrader"].get("grade_id") == "relu_test":
            cell["cell_type"] = "markdown"
            cell.pop("outputs", None), cell.pop("execution_count", None)
    retyped["metadata"]["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    put(incoming / "retyped", retyped)
    collect.collect(course, incoming)
    put(course.submitted / "malformed" / fx.ASSIGNMENT, "{ this is not a notebook")
    before["files"] = {k: v for k, v in before["files"].items() if not k.startswith("submitted/")}
    submitted_before = {str(p): p.read_bytes() for p in course.submitted.rglob("*") if p.is_file()}
    results = grade.grade(course, workers=2, progress=False, limits=lambda a: LIMITS)
    running = leftovers()
    return SimpleNamespace(course=course, attacks=attacks, before=before, running=running,
                           submitted_before=submitted_before,
                           results={r.student: r for r in results},
                           scores={r.student: scores(course, r.student) for r in results})


@pytest.mark.parametrize("student", ATTACKS)
def test_an_attack_gets_exactly_the_points_of_its_honest_part(batch, student):
    attack, result = batch.attacks[student], batch.results[student]
    assert result.status == attack.status, result.message
    assert batch.scores[student] == attack.expected
    notes = "\n".join(result.notes) + outcomes.failure_note(batch.course, student, fx.ASSIGNMENT)
    assert attack.note in notes, notes


def test_no_hidden_test_line_reaches_feedback_or_exports(batch):
    leakers = ["leak-hidden-test", "leak-in-later-output"]
    pages = feedback.feedback(batch.course, students=leakers)
    csv_path, results = export.export(batch.course)
    shown = "\n".join(p.read_text() for p in [*pages, csv_path, *results])
    assert "hidden test text removed" in shown  # the leak was there, and was cut out
    for line in assignment.hidden_lines(batch.course, fx.ASSIGNMENT):
        assert line not in redact.collapse(shown), line
    assert fx.HIDDEN_LINE not in shown


def test_pickled_weights_never_run_their_payload_in_the_grader(batch):
    assert not Path(judge_attacks.PICKLE_MARKER).exists()
    verdicts = grading_record.load(batch.course, "pickled-weights", fx.ASSIGNMENT).verdicts
    assert "cannot be read as plain arrays" in verdicts["centroid_test"].message


def test_weights_whose_header_claims_terabytes_fail_their_check_with_a_message(batch):
    verdicts = grading_record.load(batch.course, "bomb-weights", fx.ASSIGNMENT).verdicts
    assert "tiny_weights.npz cannot be read as plain arrays" in \
        verdicts["centroid_test"].message


def test_bystanders_in_the_batch_keep_exactly_their_scores(batch):
    for student, expected in BYSTANDERS.items():
        assert batch.results[student].status == "graded"
        assert batch.scores[student] == expected


def test_nothing_the_batch_started_is_left_running(batch):
    assert batch.running == []


def test_the_course_is_unchanged_but_for_the_grades(batch):
    after = snapshot(batch.course)
    after["files"] = {k: v for k, v in after["files"].items() if not k.startswith("submitted/")}
    assert after == batch.before
    assert {str(p): p.read_bytes() for p in batch.course.submitted.rglob("*") if p.is_file()} \
        == batch.submitted_before
    with sqlite3.connect(batch.course.gradebook) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_no_attack_reached_the_network(batch, listener):
    assert listener.received == []


def test_a_retyped_test_cell_and_a_foreign_kernelspec_change_nothing(batch):
    assert batch.results["retyped"].status == "graded"
    assert batch.scores["retyped"] == hostile.FULL


def test_a_malformed_notebook_scores_zero_and_the_batch_goes_on(batch):
    assert batch.results["malformed"].status == "error"
    assert batch.scores["malformed"] == hostile.NONE
    assert len(batch.results) == len(ATTACKS) + len(BYSTANDERS) + 2


def test_flooded_output_is_cut_before_it_reaches_the_course(batch):
    folder = batch.course.autograded / "output-flood" / fx.ASSIGNMENT
    assert (folder / f"{fx.ASSIGNMENT}.ipynb").stat().st_size < 2 * LIMITS.output_bytes
    page = feedback.feedback(batch.course, students=["output-flood"])[0]
    assert page.stat().st_size < 2 * LIMITS.output_bytes


@pytest.mark.parametrize("student", ["output-flood", "display-update-flood",
                                     "clear-output-flood", "error-flood"])
def test_every_way_of_flooding_the_notebook_stays_under_the_output_cap(batch, student):
    path = batch.course.autograded / student / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 2 * LIMITS.output_bytes
    assert "the output limit was reached" in "\n".join(batch.results[student].notes)


def test_a_symlink_racer_never_gets_the_grader_to_write_outside_the_job(batch):
    """The racer re-creates f1_tiny.ipynb -> outside until its sandbox dies; the sandbox
    is dead before nbgrader writes, and the write never follows a link anyway."""
    assert not (batch.course.root / "raced.ipynb").exists()
    assert not os.path.lexists(hostile.RACED)
    written = batch.course.autograded / "symlink-racer" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    assert not written.is_symlink()
    assert json.loads(written.read_text())["cells"]


def test_planted_verdicts_and_notes_are_replaced_by_the_graders(batch):
    folder = batch.course.autograded / "planted-verdict" / fx.ASSIGNMENT
    record = grading_record.load(batch.course, "planted-verdict", fx.ASSIGNMENT)
    assert not record.verdicts["centroid_test"].passed and "all good" not in record.notes
    assert record.fingerprints and "planted" not in record.fingerprints["tiny_weights.npz"]
    assert "all good" not in outcomes.failure_note(batch.course, "planted-verdict", fx.ASSIGNMENT)
    # the files the kernel planted under the grader's old names are gone, not merely unread
    assert [name for name in grading_record.SIDECARS if (folder / name).exists()] == []


def test_regrading_the_bystanders_after_the_batch_gives_the_same_scores(batch):
    # Nothing an attack planted ($HOME, /tmp, startup files) reaches a later kernel.
    grade.grade(batch.course, students=list(BYSTANDERS), workers=2, progress=False,
                limits=lambda a: LIMITS)
    assert {s: scores(batch.course, s) for s in BYSTANDERS} == BYSTANDERS


def capped(limit: int):
    """A CappedExecute on a two-cell notebook, as nbclient sets it up before running."""
    from nbformat.v4 import new_code_cell, new_notebook

    from autograder.grader.run.execute import CappedExecute

    ex = CappedExecute(output_limit=limit)
    ex.nb = new_notebook(cells=[new_code_cell("a"), new_code_cell("b")])
    ex.reset_execution_trackers()
    ex.output_bytes, ex.output_truncated, ex.clear_before_next_output = 0, False, False
    return ex


def iopub(msg_type: str, **content) -> dict:
    return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "content": content,
            "parent_header": {"msg_id": "m"}, "buffers": []}


def test_display_updates_count_once_per_output_they_rewrite():
    ex = capped(100_000)
    cell = ex.nb.cells[0]
    for _ in range(20):  # 20 small outputs under one display_id
        ex.process_message(iopub("display_data", data={"text/plain": "x"}, metadata={},
                                 transient={"display_id": "d"}), cell, 0)
    assert len(cell.outputs) == 20
    update = iopub("update_display_data", data={"text/plain": "y" * 10_000}, metadata={},
                   transient={"display_id": "d"})
    ex.process_message(update, cell, 0)  # 20 x 10 kB: over the 100 kB cap, dropped
    assert ex.output_truncated
    assert all(out.get("data", {}).get("text/plain") == "x" for out in cell.outputs[:20])
    assert "[output limit:" in cell.outputs[-1]["text"]


def test_clearing_outputs_frees_nothing_and_a_failing_cell_keeps_a_small_error():
    ex = capped(100_000)
    cell = ex.nb.cells[1]
    for _ in range(3):
        ex.process_message(iopub("stream", name="stdout", text="z" * 40_000), cell, 1)
        ex.process_message(iopub("clear_output", wait=False), cell, 1)
    assert ex.output_truncated
    ex.process_message(iopub("error", ename="ValueError", evalue="e" * 10**6,
                             traceback=["t" * 10**6]), cell, 1)
    errors = [out for out in cell.outputs if out["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["ename"] == "ValueError"
    assert len(json.dumps(errors[0])) < 5000


def test_comm_messages_count_against_the_output_cap():
    ex = capped(100_000)
    for _ in range(3):
        ex.process_message(iopub("comm_msg", comm_id="c", data={"state": {"v": "w" * 40_000},
                                                                 "method": "update"}),
                           ex.nb.cells[0], 0)
    assert ex.output_truncated
    assert len(json.dumps(ex.widget_state)) < 100_000


# ------------------------------------------------------------------ the coordinator

@pytest.fixture
def small_class(tmp_path):
    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    students = {"s1-ref": {}, "s2-wrong": {"relu_answer": fx.WRONG_RELU_GRAD},
                "s3-ref": {}, "s4-shaped": {"double_answer": fx.SHAPED_TO_VISIBLE}}
    for student, answers in students.items():
        put(tmp_path / "in" / student, notebook(course, answers))
    collect.collect(course, tmp_path / "in")
    return course


def cli(course, *args):
    return [sys.executable, "-m", "autograder.grader.cli", "--course", str(course.root), *args]


def test_a_killed_coordinator_leaves_nothing_running_and_the_next_run_resumes(small_class):
    course = small_class
    run = subprocess.Popen(cli(course, "grade", "--workers", "1"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    journal = course.root / ".grading-journal.json"
    deadline = time.time() + 180
    while time.time() < deadline and not (journal.exists() and json.loads(journal.read_text())["done"]):
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    done = json.loads(journal.read_text())["done"]
    assert 1 <= len(done) < 4
    assert leftovers() == []
    finished = subprocess.run(cli(course, "grade", "--workers", "2"), capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stdout.count("submission") >= 0 and not journal.exists()
    resumed = {s: scores(course, s) for s in ("s1-ref", "s2-wrong", "s3-ref", "s4-shaped")}
    assert resumed == {"s1-ref": hostile.FULL, "s2-wrong": {**hostile.FULL, "relu_test": 0},
                       "s3-ref": hostile.FULL, "s4-shaped": {**hostile.FULL, "double_test": 0}}
    again = subprocess.run(cli(course, "grade"), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert {s: scores(course, s) for s in resumed} == resumed


def test_grading_refuses_without_a_sandbox_and_says_how_to_fix_it(small_class, monkeypatch):
    from autograder.grader.sandbox import probe

    monkeypatch.setenv("PATH", "/nonexistent")
    probe.sandbox_problem.cache_clear()
    try:
        with pytest.raises(grade.GradeError) as refused:
            grade.grade(small_class, progress=False)
    finally:
        probe.sandbox_problem.cache_clear()
    message = str(refused.value)
    assert "bubblewrap is not installed" in message and "apt-get install bubblewrap" in message
    assert "--no-sandbox" in message
    assert scores(small_class, "s1-ref") == {}


def test_no_sandbox_grades_and_says_so_everywhere(small_class):
    run = subprocess.run(cli(small_class, "grade", "--no-sandbox", "--student", "s1-ref"),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "NOT SANDBOXED" in run.stdout and "WITHOUT the sandbox" in run.stdout
    assert scores(small_class, "s1-ref") == hostile.FULL
    assert grade.NO_SANDBOX_NOTE in outcomes.failure_note(small_class, "s1-ref", fx.ASSIGNMENT)
    with sqlite3.connect(small_class.gradebook) as db:
        comments = [row[0] or "" for row in db.execute("SELECT auto_comment FROM comment")]
    assert comments and all(grade.NO_SANDBOX_NOTE in c for c in comments)
    page = feedback.feedback(small_class, students=["s1-ref"])[0].read_text()
    assert "WITHOUT the sandbox" in page


INSTRUCTOR_RUN = """
import os, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests import course_fixture as fx
from tests.test_hostile import notebook, put, scores
from autograder.grader.collect import collect
from autograder.grader import grade
from autograder.grader.release import release
from autograder.grader.course import Course
course = Course(fx.make_course(Path(os.environ["HOME"]) / "course"))
release.release(course)
put(course.root / "in" / "reference", notebook(course))
put(course.root / "in" / "wronggrad", notebook(course, {{"relu_answer": fx.WRONG_RELU_GRAD}}))
collect.collect(course, course.root / "in")
results = grade.grade(course, workers=2, progress=False)
print("RESULT", os.getuid(), {{r.student: (r.status, scores(course, r.student)) for r in results}})
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an ordinary uid")
def test_an_instructor_without_root_grades_in_the_sandbox():
    """The whole pipeline as uid 1500 (user namespaces, no root). /root is 0700 here, so a
    private mount namespace exposes just the Python installation under it."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="ag-instructor-"))  # pytest's own tmp is root-only
    home, stage = top / "home", top / "stage"
    home.mkdir()
    stage.mkdir()
    os.chmod(top, 0o755)
    os.chown(home, 1500, 1500)
    (home / "run.py").write_text(INSTRUCTOR_RUN.format(repo=str(REPO)))
    from autograder.student import data

    script = f"""
        set -e
        mount --bind /root/.pyenv {stage}
        mount -t tmpfs -o mode=755 none /root && mkdir /root/.pyenv
        mount --bind {stage} /root/.pyenv
        exec setpriv --reuid=1500 --regid=1500 --clear-groups env HOME={home} \\
            AUTOGRADER_DATA={data.data_root()} AUTOGRADER_OFFLINE=1 {sys.executable} {home}/run.py
    """
    try:
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                             capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(l for l in run.stdout.splitlines() if l.startswith("RESULT"))
    assert line.startswith("RESULT 1500 ")
    assert eval(line.split(" ", 2)[2]) == {
        "reference": ("graded", hostile.FULL),
        "wronggrad": ("graded", {**hostile.FULL, "relu_test": 0})}
