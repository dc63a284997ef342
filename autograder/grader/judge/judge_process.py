"""The trusted judge in a long-lived process of its own.

The judge's references (torch autograd in float64, the kit's forward passes, the data)
cost the process that imports them hundreds of megabytes, and a crafted saved file could
crash a library that reads it. So the coordinator holds neither: it sends each judging
request to a judge process (``python -m autograder.grader.judge.judge_process``),
started when grading starts and kept for the batch, with the same protocol as a warm
worker (warm.py): one request path per line in (a ``JudgeRequest``, request.py), one
``RESULT`` line out. The judge
process never runs student code either: it reads the evidence as data (judge.py), and a
saved model only through the sandboxed artifact inspector (inspection.py), which is
stopped after a limit of its own: a model that hangs costs its submission that check,
well before ``JUDGE_SECONDS``.

A judge that dies or runs past its limit is replaced and the submission judged once
more; if that fails too, the submission gets no autograded points, a note saying why,
and the batch goes on.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from ..run.warm import WarmWorker, WorkerDied, WorkerTimeout
from ..run.worker import READY, RESULT
from .request import JudgeAnswer, JudgeRequest

JUDGE_SECONDS = 900  # one submission's judging: a saved CIFAR-10 network takes seconds


def judge_command() -> list[str]:
    """The judge dies with the coordinator's thread that started it."""
    return ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
            sys.executable, "-m", "autograder.grader.judge.judge_process"]


def judge_env(environ=None) -> dict:
    """The judge's environment: the coordinator's, with every GPU hidden. The judge's
    references and forward passes then run on the CPU whatever machine grades, so a
    submission gets the same scores with ``--gpus`` as without (a GPU's kernels round
    differently); the kernels alone get GPUs."""
    return {**(os.environ if environ is None else environ), "CUDA_VISIBLE_DEVICES": ""}


def judge_request(request: JudgeRequest) -> dict:
    """Judge one harvested submission and fingerprint its judged files:
    {"verdicts": {grade_id: verdict}, "fingerprints": {file: fingerprint}}."""
    from . import inspection, judge, similarity
    from .. import assignment
    from ..course import Course

    inspection.configure(sandbox=request.sandbox)
    course, folder = Course(request.course), Path(request.folder)
    evidence = Path(request.evidence) if request.evidence else None
    verdicts = judge.judge_submission(course, request.assignment, folder, evidence,
                                      request.nonce)
    prints = similarity.record_fingerprints(folder, assignment.judged_files(course, request.assignment))
    return {"verdicts": json.loads(json.dumps(verdicts, default=float)),
            "fingerprints": json.loads(json.dumps(prints, default=float))}


class JudgeProcess:
    """The coordinator's handle on its judge process."""

    def __init__(self, command: list[str] | None = None):
        self.worker = WarmWorker(command or judge_command(), env=judge_env())

    def start(self) -> None:
        """Start the process now, so that its imports overlap the first jobs."""
        self.worker.ensure_started()

    def judge(self, request_file: Path, request: JudgeRequest,
              limit: float = JUDGE_SECONDS) -> JudgeAnswer:
        """The judge's answer on the submission described by ``request`` (written to
        ``request_file`` for the judge to read); no verdicts and a note when it failed."""
        request.write(request_file)
        problem = ""
        for _attempt in range(2):
            try:
                answer = self.worker.run(request_file, limit)
            except WorkerTimeout:
                problem = f"the trusted judge ran past {limit:g} s on this submission"
                continue
            except WorkerDied as err:
                problem = f"the trusted judge's process failed ({str(err)[-300:]})"
                continue
            if "verdicts" in answer:
                return JudgeAnswer.from_process(answer)
            problem = f"the trusted judge failed: {answer.get('error', '')[-600:]}"
            break
        return JudgeAnswer(notes=[f"{problem}; no autograded points were given: tell the "
                                  "course staff"])

    def close(self) -> None:
        self.worker.stop()


def serve() -> int:
    """Judge the request of each path read from stdin, answering ``RESULT`` + JSON."""
    from .. import references
    from . import judge  # noqa: F401 (imported once, before the first request)

    references.install()  # the kit's; judge_submission adds the course's

    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever a library prints goes to the log, never into an answer
    answers.write(READY + "\n")
    answers.flush()
    for line in sys.stdin:
        try:
            answer = judge_request(JudgeRequest.read(Path(line.strip())))
        except Exception:  # noqa: BLE001 (one submission's failure never stops the batch)
            answer = {"error": traceback.format_exc()[-2000:]}
        answers.write(RESULT + json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
