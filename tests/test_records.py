"""The typed records a job crosses process boundaries as (JobSpec, Outcome, JudgeRequest,
Limits inside a spec): each survives a JSON round trip unchanged, and a record with a
missing or unknown field, or of another version, is refused with a message saying so.
"""
import json
import sys
import textwrap

import pytest

from autograder.grader.judge.request import JudgeRequest
from autograder.grader.run import cluster, jobs
from autograder.grader.run.outcome import job_result, run_outcome
from autograder.grader.run.records import JobSpec, Outcome
from autograder.grader.run.warm import WarmWorker
from autograder.grader.run.worker import RESULT
from autograder.grader.sandbox import Limits


def spec(**changes) -> JobSpec:
    fields = dict(student="ann", assignment="a1", nonce="0123abcd", sandbox=True,
                  hide_autodiff=False, limits=Limits.for_budget(60, cores=2),
                  wanted=["a1.ipynb", "model.pt"])
    return JobSpec(**{**fields, **changes})


def through_json(record):
    """The record as the other process reads it: JSON text and back."""
    return type(record).from_json(json.loads(json.dumps(record.to_json())))


RECORDS = {
    "JobSpec": spec(jobdir="/tmp/ag-1/j0", kit="/tmp/ag-1/kit", slot=3,
                    readonly=["/data"], hide=["/site/torch"],
                    kernel_env={"AUTOGRADER_NONCE": "0123abcd"}),
    "Outcome": Outcome("graded", sandbox=[{"exit": 0}], wall_clock=True,
                       removed=["a link: removed"], worker=42,
                       peak_kb={"worker": 1, "kernel": 2}, seconds=1.5),
    "JudgeRequest": JudgeRequest(course="/c", assignment="a1", folder="/c/autograded/ann/a1",
                                 evidence="/tmp/j0/run/evidence.jsonl", nonce="0123abcd",
                                 sandbox=False),
}


@pytest.mark.parametrize("name", RECORDS)
def test_a_record_survives_a_json_round_trip(name):
    record = RECORDS[name]
    assert through_json(record) == record


def test_a_job_specs_limits_come_back_as_limits():
    back = through_json(RECORDS["JobSpec"])
    assert isinstance(back.limits, Limits) and back.limits == Limits.for_budget(60, cores=2)
    assert back.backstop_seconds == back.limits.notebook_seconds + 60


@pytest.mark.parametrize("name", RECORDS)
def test_a_record_of_another_version_is_refused(name):
    data = {**RECORDS[name].to_json(), "version": 2}
    with pytest.raises(ValueError, match=f"{name} of version 2; this kit reads version 1"):
        type(RECORDS[name]).from_json(data)


@pytest.mark.parametrize("name", RECORDS)
def test_a_record_missing_a_field_is_refused(name):
    data = RECORDS[name].to_json()
    dropped = sorted(data)[0]
    del data[dropped]
    with pytest.raises(ValueError, match=f"{name} without {dropped}"):
        type(RECORDS[name]).from_json(data)


@pytest.mark.parametrize("name", RECORDS)
def test_a_record_with_an_unknown_field_is_refused(name):
    data = {**RECORDS[name].to_json(), "score": 100}
    with pytest.raises(ValueError, match=f"{name} with unknown field.*score"):
        type(RECORDS[name]).from_json(data)


def test_a_record_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="Outcome must be a JSON object, not list"):
        Outcome.from_json([])


def test_limits_with_a_missing_unknown_or_non_numeric_limit_are_refused():
    good = Limits().to_json()
    assert Limits.from_json(good) == Limits()
    without = {k: v for k, v in good.items() if k != "cpu_seconds"}
    with pytest.raises(ValueError, match=r"missing \['cpu_seconds'\]"):
        Limits.from_json(without)
    with pytest.raises(ValueError, match=r"unknown \['gpu_seconds'\]"):
        Limits.from_json({**good, "gpu_seconds": 1})
    with pytest.raises(ValueError, match=r"\['processes'\] must be numbers"):
        Limits.from_json({**good, "processes": "256"})
    with pytest.raises(ValueError, match="Limits"):
        spec_data = {**RECORDS["JobSpec"].to_json(), "limits": without}
        JobSpec.from_json(spec_data)


def test_an_outcome_has_one_of_three_statuses():
    with pytest.raises(ValueError, match="status is one of"):
        Outcome("done")
    with pytest.raises(ValueError, match="status is one of"):
        Outcome.from_json({**Outcome("graded").to_json(), "status": "done"})


def test_placing_a_spec_fills_where_it_runs_and_hides_autodiff_only_from_scratch(tmp_path):
    placed = jobs.place(spec(), tmp_path / "j0", kit=tmp_path / "kit", slot=5, threads=2)
    assert (placed.jobdir, placed.kit, placed.slot) == (str(tmp_path / "j0"),
                                                        str(tmp_path / "kit"), 5)
    assert placed.file == tmp_path / "j0" / "job.json" and placed.hide == []
    assert placed.kernel_env["AUTOGRADER_NONCE"] == "0123abcd"
    assert placed.kernel_env["OMP_NUM_THREADS"] == "2"
    assert placed.kernel_env["AUTOGRADER_EVIDENCE"] == str(tmp_path / "j0" / "run" / jobs.EVIDENCE)
    scratch = jobs.place(spec(hide_autodiff=True), tmp_path / "j1", kit=tmp_path / "kit",
                         slot=0, threads=1)
    assert scratch.hide and all(isinstance(p, str) for p in scratch.hide)
    (tmp_path / "j0").mkdir()
    assert JobSpec.read(placed.write()) == placed


def test_the_dask_message_is_the_unplaced_spec_and_the_jobs_files(tmp_path):
    (tmp_path / "j0" / "submitted").mkdir(parents=True)
    (tmp_path / "j0" / "submitted" / "a1.ipynb").write_text("{}")
    message = cluster.packed_job(spec(), tmp_path / "j0")
    assert set(message) == {"spec", "files"}
    assert JobSpec.from_json(message["spec"]) == spec()
    assert message["files"] == {"submitted/a1.ipynb": b"{}"}


ANSWERS = textwrap.dedent(f"""
    import json, sys, time
    print("@@worker-ready", flush=True)
    for line in sys.stdin:
        spec = json.load(open(line.strip()))
        if spec["student"] == "hang":
            time.sleep(600)
        if spec["student"] == "garbled":
            print({RESULT!r} + "not JSON", flush=True)
            continue
        answer = {{"status": "graded", "error": ""}} if spec["student"] == "partial" else {{
            "status": "graded", "error": "", "sandbox": [], "wall_clock": True,
            "removed": ["a FIFO: removed"], "worker": 7, "peak_kb": {{}}, "seconds": 0.0,
            "version": 1}}
        print({RESULT!r} + json.dumps(answer), flush=True)
""")


@pytest.fixture
def worker():
    warm = WarmWorker([sys.executable, "-c", ANSWERS])
    yield warm
    warm.stop()


def written(tmp_path, student: str, **changes) -> JobSpec:
    placed = spec(student=student, jobdir=str(tmp_path / student), **changes)
    (tmp_path / student).mkdir()
    placed.write()
    return placed


def test_a_workers_outcome_becomes_the_jobs_result_with_its_notes(worker, tmp_path):
    job = written(tmp_path, "ann")
    outcome = run_outcome(worker, job)
    assert (outcome.status, outcome.worker, outcome.removed) == ("graded", 7, ["a FIFO: removed"])
    assert outcome.seconds > 0
    result = job_result(job, outcome)
    assert (result.student, result.status, result.nonce, result.worker) == (
        "ann", "graded", "0123abcd", 7)
    assert result.notes == [f"stopped by the notebook's wall-clock limit "
                            f"({job.limits.notebook_seconds} s)", "a FIFO: removed"]


def test_a_worker_answering_a_partial_outcome_fails_that_job_with_a_message(worker, tmp_path):
    outcome = run_outcome(worker, written(tmp_path, "partial"))
    assert outcome.status == "error" and "answered no outcome" in outcome.error
    assert "Outcome without" in outcome.error and "peak_kb" in outcome.error
    assert run_outcome(worker, written(tmp_path, "next")).status == "graded"


def test_a_worker_answering_no_json_is_replaced_and_that_job_fails(worker, tmp_path):
    outcome = run_outcome(worker, written(tmp_path, "garbled"))
    assert outcome.status == "error" and "answer is not JSON" in outcome.error
    assert worker.process is None
    assert run_outcome(worker, written(tmp_path, "next")).status == "graded"


def test_a_job_past_its_backstop_gets_a_full_timeout_outcome(worker, tmp_path):
    job = written(tmp_path, "hang", limits=Limits(notebook_seconds=-59))  # a 1 s backstop
    outcome = run_outcome(worker, job)
    assert outcome.status == "timeout" and "grading stopped after 1 s" in outcome.error
    assert through_json(outcome) == outcome
    assert job_result(job, outcome).notes == []
