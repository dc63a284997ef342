"""The trusted judge runs in a process of its own: the coordinator stays small, and a judge
that crashes or hangs on one submission costs that submission its points, not the batch.

The failure mechanics run against a stand-in judge (the same protocol, a few lines); the
real one judges a real class in a coordinator that must not import torch.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from autograder.grader.collect import collect
from autograder.grader.release import release
from autograder.grader.course import Course
from autograder.grader.judge.judge_process import JudgeProcess
from autograder.grader.judge.request import JudgeRequest
from autograder.grader.run.worker import RESULT
from tests import course_fixture as fx
from tests.conftest import REPO
from tests.test_hostile import notebook, put

STAND_IN = textwrap.dedent(f"""
    import json, os, sys, time
    print("@@worker-ready", flush=True)
    for line in sys.stdin:
        request = json.load(open(line.strip()))
        if request["assignment"] == "crash":
            os._exit(11)
        if request["assignment"] == "hang":
            time.sleep(600)
        if request["assignment"] == "crash-once" and not os.path.exists(request["folder"]):
            open(request["folder"], "w").close()
            os._exit(11)
        print({RESULT!r} + json.dumps({{"verdicts": {{"cell": {{"score": 1}}}},
              "pid": os.getpid()}}), flush=True)
""")


def request(assignment: str, folder: str = "") -> JudgeRequest:
    """A request the stand-in acts on by its assignment (``folder``: its crash-once flag)."""
    return JudgeRequest(course="", assignment=assignment, folder=folder, evidence="",
                        nonce="0")


@pytest.fixture
def judges():
    handle = JudgeProcess([sys.executable, "-c", STAND_IN])
    yield handle
    handle.close()


def test_a_judged_submission_gets_the_judges_verdicts(judges, tmp_path):
    answer = judges.judge(tmp_path / "r.json", request("ok"))
    assert answer.verdicts == {"cell": {"score": 1}} and answer.notes == []


def test_a_judge_that_crashes_once_is_replaced_and_judges_again(judges, tmp_path):
    answer = judges.judge(tmp_path / "r.json", request("crash-once", str(tmp_path / "crashed")))
    assert answer.verdicts == {"cell": {"score": 1}} and answer.notes == []


def test_a_submission_that_crashes_the_judge_twice_scores_nothing_and_the_next_is_judged(
        judges, tmp_path):
    answer = judges.judge(tmp_path / "r.json", request("crash"))
    verdicts, notes = answer.verdicts, answer.notes
    assert verdicts == {}
    assert len(notes) == 1 and "judge's process failed" in notes[0]
    assert "no autograded points" in notes[0] and "course staff" in notes[0]
    assert judges.judge(tmp_path / "r2.json", request("ok")).verdicts == {"cell": {"score": 1}}


def test_a_judge_past_its_limit_is_stopped_with_a_note(judges, tmp_path):
    answer = judges.judge(tmp_path / "r.json", request("hang"), limit=1)
    assert answer.verdicts == {} and "ran past 1 s" in answer.notes[0]


GRADE_AND_REPORT = """
import json, sys
from autograder.grader import grade
from autograder.grader.record import gradebook
from autograder.grader.course import Course
course = Course(sys.argv[1])
results = grade.grade(course, workers=1, progress=False)
scores = {i.name: i.score for i in gradebook.submission_items(course, "f1_tiny", "s1")
          if i.kind == "autograded test"}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) pytest process that
# forked this one
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"torch": "torch" in sys.modules, "scores": scores,
                  "mb": int(peak.split()[1]) / 1024}))
"""


def test_the_coordinator_never_imports_torch_even_when_the_judge_needs_it(tmp_path):
    """The tiny course's judge uses torch (relu's oracle, the saved weights' forward
    pass): the scores are full, and the coordinator stayed without torch and small."""
    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    put(tmp_path / "in" / "s1", notebook(course))
    collect.collect(course, tmp_path / "in")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", GRADE_AND_REPORT, str(course.root)], env=env,
                         capture_output=True, text=True, check=True, cwd=REPO)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["scores"] == {"relu_test": 2, "double_test": 1, "centroid_test": 2,
                                "train_test": 2}
    assert report["torch"] is False
    assert report["mb"] < 200


COORDINATOR_READS_THE_COURSE = """
import json, sys
from autograder.grader import cli, grade
from autograder.grader.course import Course
from autograder.grader.report import summary
from autograder.grader.run.jobs import wanted_files
course = Course(sys.argv[1])
wanted = {a: wanted_files(course, a) for a in course.assignments()}
print(json.dumps({"torch": "torch" in sys.modules, "wanted": wanted}))
"""


def test_the_coordinator_reads_every_real_assignment_without_importing_torch():
    """What the coordinator does per job with the real course (rebuilding the checks of
    A1-A5's test cells to find the judged files; A5's are torch checks) imports no torch:
    the checks build without it, and only the judge process computes with it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", COORDINATOR_READS_THE_COURSE, str(REPO)],
                         env=env, capture_output=True, text=True, check=True, cwd=REPO)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["wanted"]["a5_cifar10"] == ["a5_cifar10.ipynb", "a5_model.ts"]
    assert report["torch"] is False
