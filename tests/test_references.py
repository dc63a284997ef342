"""The grader's references are installed by a call, never by importing a module: a
student's process (and any process that only imports the grader) has none, the judge
installs them before judging, and a course's own references come back after a reset."""
import os
import subprocess
import sys

from autograder.grader import references
from autograder.grader.judge import archive, torchscript
from autograder.student.checks.core import (forget_references, grader_reference,
                                            registered_references)
from tests import course_fixture as fx
from tests.conftest import REPO

KIT_KINDS = {"adam", "train_one_epoch", "test_one_epoch", "train_epoch", "evaluate_epoch",
             "checkpoint_scores", "saved_arrays", "mlp_gradients", "conv2d_backward",
             "archive_loader", "archive_per_class", "archive_evaluation"}


def test_importing_the_references_and_the_judge_registers_nothing():
    code = ("import autograder.grader.references, autograder.grader.judge.archive, "
            "autograder.grader.judge.judge, autograder.grader.judge.judge_process\n"
            "from autograder.student.checks.core import registered_references\n"
            "print(sorted(registered_references()))\n")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_after_install_the_judge_finds_each_reference():
    assert all(grader_reference(kind) is None for kind in KIT_KINDS)
    references.install()
    assert set(registered_references()) == KIT_KINDS
    for kind, function in references.kit_references().items():
        assert grader_reference(kind) is function
    # the judge's strict, sandboxed archive readers, never torch.jit.load in its process
    assert grader_reference("archive_loader") is torchscript.load_archive
    assert grader_reference("archive_evaluation") is archive.evaluate_archive


def test_a_courses_own_references_are_installed_again_after_a_reset(tmp_path):
    fx.make_course(tmp_path)
    references.install(tmp_path / "source")
    assert grader_reference("values:double")(3) == 6
    assert KIT_KINDS < set(registered_references())
    forget_references()
    assert registered_references() == {}
    references.install(tmp_path / "source")  # the file ran once; what it registered returns
    assert grader_reference("values:double")(3) == 6


def test_a_course_without_references_of_its_own_gets_the_kits(tmp_path):
    (tmp_path / "source").mkdir()
    references.install(tmp_path / "source")
    assert set(registered_references()) == KIT_KINDS


def test_the_judge_installs_the_references_it_needs_before_judging(tmp_path, monkeypatch):
    """No test or caller installs them here: judge_submission does, the course's included
    (the answer to `double` is in the course's grader_references.py only)."""
    from autograder.grader.course import Course
    from autograder.grader.judge.judge import judge_submission
    from autograder.student import checks

    course = Course(fx.make_course(tmp_path / "course"))
    folder, evidence = tmp_path / "submission", tmp_path / "evidence.jsonl"
    folder.mkdir()
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(evidence))  # as in a grading kernel
    monkeypatch.setenv("AUTOGRADER_NONCE", "judge-nonce")
    for wrong in (False, True):
        def double(x, wrong=wrong):
            return 2 * x + (x > 0) if wrong else 2 * x
        checks.check_values(double, "double", shape=(4,))
        checks.check_values(double, "double", shape=(3, 5), seed=12)
        monkeypatch.delenv("AUTOGRADER_EVIDENCE")
        assert registered_references() == {}
        verdict = judge_submission(course, fx.ASSIGNMENT, folder, evidence,
                                   "judge-nonce")["double_test"]
        assert verdict["passed"] != wrong, verdict["message"]
        assert "reference" not in verdict["message"]  # compared, never deferred
        forget_references()
        evidence.unlink()
        monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(evidence))
