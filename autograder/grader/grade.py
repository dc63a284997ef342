"""Grade: autograde every submission, each in its own process, course copy and sandbox.

Per job (jobs.py): a scratch course with the submission and a solution-free gradebook, a
job spec, a warm worker (warm.py, worker.py) running nbgrader there with the notebook's
kernel in the sandbox (launched while the worker's previous job still ran: kernels.py), a
per-cell timeout fitted to the assignment's budget and a wall-clock limit for the whole
notebook. Then, in the coordinator: harvest what the job produced as hostile data
(harvest.py), have the trusted judge (judge.py, in its own process: judge_process.py)
re-score from saved weights and replay grader-only checks, and write the job's outcome
into the gradebook in one transaction. A crash, a timeout or a limit scores what the job earned before it, with a
note; the batch goes on. A run stopped half-way resumes where it stopped (journal.py).
"""
from __future__ import annotations

import dataclasses
import os
import queue
import sys
import itertools
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from .sandbox import safetree
from .record import gradebook, grading_record, outcomes
from .course import KIT_ROOT, Course
from .run.harvest import harvest
from .run.jobs import (EVIDENCE, assignment_limits, batch_settings, course_secret, find_jobs,
                   prepare_local, wanted_files, write_student_kit)
from .run.outcome import JobResult, job_result, run_outcome
from .run.records import GradingSettings, JobSpec
from .record.journal import Journal
from .record.versions import stale_jobs, stamped
from .assignment import read_assignment
from .judge.judge_process import JudgeProcess
from .judge.request import JudgeRequest
from .judge.verdict import VerdictError, verdicts_from_dict
from .run.progress import Progress
from .run.warm import WarmWorker

NO_SANDBOX_NOTE = "graded WITHOUT the sandbox (--no-sandbox): for trusted submissions only"
class GradeError(RuntimeError):
    pass


def worker_results(course: Course, worker: WarmWorker, number: int, take, workroot: Path,
                   settings: GradingSettings, first_slot: int = 0):
    """(result, job folder) of the jobs warm worker ``number`` takes from ``take()``, one
    after the other. While ``take(ahead=True)`` finds jobs left for the other workers, the
    worker holds its next two jobs' specs and launches the next kernel as the current job
    starts; at the end of the batch it takes a job only when free, so that no job waits
    behind a long one while another worker idles. Consecutive jobs use the worker's two
    sandbox slots in turn (two kernels alive at once: two uids), counted from
    ``first_slot`` (a grading process's own range on the machine)."""
    ahead, turns = deque(), itertools.count()

    gpu = settings.worker_gpu(number)  # the worker's GPU, given to its jobs on the GPU

    def prepared(job) -> JobSpec:
        slot = first_slot + 2 * number + next(turns) % 2
        return prepare_local(course, *job[1:], workroot, job[0], slot, settings, gpu=gpu)

    while True:
        if ahead:
            current = ahead.popleft()
        elif (job := take()) is not None:
            current = prepared(job)
        else:
            return
        started = time.perf_counter()
        worker.send(current.file)  # (sent ahead already, unless the worker was replaced)
        while len(ahead) < 2 and (job := take(ahead=True)) is not None:
            ahead.append(prepared(job))
        outcome = run_outcome(worker, current, ahead)
        outcome = dataclasses.replace(outcome, seconds=time.perf_counter() - started)
        yield job_result(current, outcome), Path(current.jobdir)


def local_results(course: Course, pending, workers: int, workroot: Path,
                  settings: GradingSettings, first_slot: int = 0):
    """(result, job folder) of every pending job, graded by ``workers`` warm workers."""
    write_student_kit(KIT_ROOT, workroot / "kit")
    todo = queue.Queue()
    for index, (student, assignment) in enumerate(pending):
        todo.put((index, student, assignment))

    def take(ahead: bool = False):
        """The next job; ahead of need, only while every other worker has one left."""
        if ahead and todo.qsize() < workers:
            return None
        try:
            return todo.get_nowait()
        except queue.Empty:
            return None

    def work(number: int) -> None:
        worker = WarmWorker()
        try:
            for item in worker_results(course, worker, number, take, workroot, settings,
                                       first_slot):
                finished.put(item)
        finally:
            worker.stop()
            finished.put(None)

    finished: queue.Queue = queue.Queue()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, number) for number in range(workers)]
        running = workers
        while running:
            item = finished.get()
            if item is None:
                running -= 1
            else:
                yield item
        for future in futures:
            future.result()  # a worker thread's own failure is the batch's


def finish_job(course: Course, result: JobResult, jobdir: Path, sandboxed: bool,
               judges: JudgeProcess, recorder: gradebook.Recorder) -> None:
    """Coordinator side: harvest, have the judge process judge, write the submission's
    grading record (grading_record.py) and record the job in the gradebook."""
    out = course.autograded / result.student / result.assignment
    produced = jobdir / "autograded" / result.student / result.assignment
    wanted = wanted_files(course, result.assignment)
    result.notes += harvest(produced, out, first=wanted) if produced.exists() else []
    grading_record.remove_planted(out)  # the kernel wrote what the harvest copied
    result.notes += outcomes.limit_notes(out)
    if not sandboxed:
        result.notes.insert(0, NO_SANDBOX_NOTE)
    graded = result.status == "graded"
    out.mkdir(parents=True, exist_ok=True)
    # Even a job that stopped early keeps the points its evidence earns before the stop.
    started = time.perf_counter()
    answer = judges.judge(jobdir / "judge.json", JudgeRequest(
        course=str(course.root), assignment=result.assignment, folder=str(out),
        evidence=str(jobdir / "run" / EVIDENCE), nonce=result.nonce,
        sandbox=sandboxed))  # saved models are inspected as the kernels ran
    result.judge_seconds = time.perf_counter() - started
    problems = answer.notes
    try:
        verdicts = verdicts_from_dict(answer.verdicts)
    except VerdictError as err:
        verdicts = {}
        problems = problems + [f"the trusted judge's answer is malformed ({err}); no "
                               "autograded points were given: tell the course staff"]
    result.notes += problems
    record = grading_record.GradingRecord(
        result.status, result.message, result.notes, result.seconds, result.judge_seconds,
        verdicts, answer.fingerprints)
    # the version of the tests judged against, so a later change of them shows (versions.py)
    grading_record.write_record(out, stamped(record, read_assignment(course, result.assignment)))
    recorder.record(result.assignment, result.student,
                    jobdir / "gradebook.db" if graded else None, verdicts,
                    NO_SANDBOX_NOTE if not sandboxed else "")
    remove_job_folder(jobdir)


def remove_job_folder(jobdir: Path) -> None:
    """Delete a job's folder, whatever its kernel left there (any depth, links, FIFOs,
    unreadable folders): iterative and through folder descriptors (safetree); what cannot
    be deleted is reported on stderr, never raised, so the batch goes on."""
    safetree.remove_tree(jobdir, report=True)


def grading_gpus(request, scheduler: str | None, workers: int | None,
                 workers_per_gpu: int, root="/"):
    """(GPUs of this machine for the local workers, whether jobs run on GPUs, a note) for
    ``--gpus`` ``request`` ("auto", "none" or indices: gpus.parse_request).

    Locally: the GPUs found (``auto``; none found: the CPU, with a note) or named (one
    missing: GradeError naming those that exist). On a cluster the workers' own GPUs
    count: ``auto`` uses them if some worker advertises one, else the CPU with a note.
    """
    from .sandbox import gpus

    request = gpus.parse_request(request) if isinstance(request, str) else tuple(request)
    if request == "none":
        return (), False, ""
    if scheduler:
        from .run.cluster import GPU_RESOURCE, gpu_workers
        from distributed import Client

        if request != "auto":
            raise GradeError("with --scheduler, --gpus is auto or none: each Dask worker "
                             "uses its own GPU (see README, GPUs)")
        with Client(scheduler, timeout=60) as client:
            if gpu_workers(client):
                return (), True, ""
        return (), False, (f"--gpus auto: no worker of {scheduler} advertises a GPU "
                           f"(resource {GPU_RESOURCE}); grading on the CPU")
    if workers:
        raise GradeError("with GPUs the workers are --workers-per-gpu per GPU: drop --workers")
    try:
        found, note = gpus.resolve(request, root)
        gpus.assign(found, workers_per_gpu)
    except gpus.GpuError as err:
        raise GradeError(str(err)) from None
    return tuple(found), bool(found), note


def grade(course: Course, assignments=None, students=None, workers: int | None = None,
          progress: bool = True, limit: int | None = None, sandbox: bool = True,
          limits=None, scheduler: str | None = None, stale: bool = False,
          gpus="none", workers_per_gpu: int = 1, gpu_root="/",
          first_slot: int = 0) -> list[JobResult]:
    """Autograde every matching submission; returns one JobResult per submission.

    stale: only the matching submissions last graded against an older version of their
    assignment's tests (record/versions.py); none such: nothing is graded.
    workers: warm workers (default: one per core); scheduler: instead, the address of a
    Dask scheduler (``tcp://HOST:PORT``) whose workers grade the jobs (cluster.py);
    progress: report on stderr (progress.py);
    sandbox: run every kernel in the sandbox (refuses where it cannot be set up);
    limits: a function assignment -> Limits (default: the assignment's own, from its
    metadata: ``jobs.assignment_limits``);
    limit: seconds for grading one notebook, instead of the limits' ``notebook_seconds``;
    gpus: "none", "auto" or GPU numbers ("0,1"): each local worker gets one GPU, shared by
    ``workers_per_gpu`` workers, and its jobs' kernels get that GPU only (grading_gpus;
    ``gpu_root``: where the GPUs are looked for, "/" but in tests);
    first_slot: the first sandbox slot of the local workers (as root, a slot is a uid:
    grading processes running at once on one machine each need their own range).
    """
    from .sandbox import sandbox_problem

    jobs = find_jobs(course, assignments, students)
    if stale:
        jobs = stale_jobs(course, jobs)  # the journal then keeps exactly these
        if not jobs:
            return []
    missing = sorted(a for a in {a for _, a in jobs} if not gradebook.has_assignment(course, a))
    if missing:
        raise GradeError(f"assignment(s) {missing} are not in the gradebook: run "
                         "`autograder release` first")
    if sandbox and (problem := sandbox_problem()):
        raise GradeError(f"cannot grade: {problem}.\nStudent code runs only in the sandbox; "
                         "`autograder doctor` checks the set-up. For trusted submissions "
                         "only, `autograder grade --no-sandbox` grades without it.")
    found, gpu_jobs, note = grading_gpus(gpus, scheduler, workers, workers_per_gpu, gpu_root)
    if gpu_jobs and jobs and all(read_assignment(course, a).options.from_scratch
                                 for _, a in jobs):
        found, gpu_jobs = (), False  # then the workers are one per core, as on the CPU
        note = "--gpus: every assignment graded here is from scratch (no torch in its " \
               "kernels): grading on the CPU"
    if note:
        print(f"note: {note}", file=sys.stderr)
    course_secret(course)  # once, before the workers need it
    journal = Journal(course, jobs)
    pending = journal.pending()
    workers = workers or len(found) * workers_per_gpu or max(1, min(len(pending),
                                                                    os.cpu_count() or 1))
    settings = batch_settings(
        course, [a for _, a in jobs], sandbox=sandbox,
        threads=max(1, (os.cpu_count() or 1) // workers), limit=limit,
        limits=limits or (lambda a, device="cpu": assignment_limits(course, a, device)),
        gpus=found, workers_per_gpu=workers_per_gpu, gpu_jobs=gpu_jobs)
    shown = Progress(jobs, journal.done, every=10) if progress else None
    judges = JudgeProcess()
    judges.start()  # its imports overlap the first jobs
    with safetree.temporary_folder("ag-") as workroot, closing(judges), gradebook.Recorder(course) as recorder:
        if scheduler:
            from .run.cluster import cluster_results

            finished = cluster_results(course, pending, scheduler, Path(workroot), settings)
        else:
            finished = local_results(course, pending, workers, Path(workroot), settings,
                                     first_slot)
        results = []
        for result, jobdir in finished:
            # only this thread writes the gradebook
            finish_job(course, result, jobdir, sandbox, judges, recorder)
            journal.mark_done(result.student, result.assignment)
            results.append(result)
            if shown:
                shown.update(result)
    if shown:
        shown.close()
    journal.finish()
    return sorted(results, key=lambda r: (r.student, r.assignment))
