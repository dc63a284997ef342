"""Grading on GPUs, tested on a machine without one: which GPUs there are (a fake tree whose
nodes are links to the real character device /dev/null), ``--gpus`` and its refusals, the
GPU a job is given and its kernel's environment, the typed records that carry it, the
budget per device, the Dask resource a GPU job asks for (a real in-process cluster), the
judge that never sees a GPU, the doctor and calibrate. The sandbox's device binding itself
is tested in test_sandbox.py (a real bwrap)."""
import json
import os
import re
import time

import pytest

from autograder.grader import calibrate, cli, doctor, grade
from autograder.grader.judge import inspection
from autograder.grader.judge.judge_process import JudgeProcess, judge_env
from autograder.grader.run import cluster, jobs
from autograder.grader.run.records import GradingSettings, JobSpec
from autograder.grader.sandbox import Limits, gpus
from autograder.grader.settings import SettingsError, read_settings
from tests.test_sandbox import fake_gpu_machine


@pytest.fixture
def machine(tmp_path):
    """A fake machine with GPUs 0 and 1 (the driver names GPU 1) and the control nodes."""
    return fake_gpu_machine(tmp_path / "machine")


def spec(**changes) -> JobSpec:
    fields = dict(student="ann", assignment="a5", nonce="0123abcd", sandbox=True,
                  hide_autodiff=False, limits=Limits.for_budget(60, cores=2),
                  wanted=["a5.ipynb"])
    return JobSpec(**{**fields, **changes})


def through_json(record):
    return type(record).from_json(json.loads(json.dumps(record.to_json())))


# ------------------------------------------------------------------ discovery --
def test_discovery_finds_each_gpu_node_with_what_the_driver_says_of_it(machine):
    found = gpus.discover(machine)
    assert [(g.index, g.uuid, g.model) for g in found] == [
        (0, "", ""), (1, "GPU-4b1d-h200", "NVIDIA H200")]
    assert found[1].node == str(machine / "dev" / "nvidia1")
    assert gpus.control_nodes(machine) == [str(machine / "dev" / n) for n in
                                           ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")]


def test_discovery_ignores_what_is_not_a_gpus_character_device(machine):
    (machine / "dev" / "nvidia2").write_text("a regular file")
    (machine / "dev" / "nvidia3").symlink_to(machine / "nowhere")
    (machine / "dev" / "nvidia-caps").mkdir()
    assert [g.index for g in gpus.discover(machine)] == [0, 1]


def test_a_kernel_given_a_gpu_gets_its_node_and_the_control_nodes_only(machine):
    gpu = gpus.discover(machine)[1]
    assert gpus.device_binds(gpu) == [
        [str(machine / "dev" / "nvidia1"), "/dev/nvidia1"],
        [str(machine / "dev" / "nvidiactl"), "/dev/nvidiactl"],
        [str(machine / "dev" / "nvidia-uvm"), "/dev/nvidia-uvm"],
        [str(machine / "dev" / "nvidia-uvm-tools"), "/dev/nvidia-uvm-tools"]]


def test_the_cuda_variable_names_the_gpu_by_uuid_else_by_its_number_inside(machine):
    gpu0, gpu1 = gpus.discover(machine)
    assert gpus.kernel_env(None) == {"CUDA_VISIBLE_DEVICES": ""}
    assert gpus.kernel_env(gpu1)["CUDA_VISIBLE_DEVICES"] == "GPU-4b1d-h200"
    assert gpus.kernel_env(gpu0)["CUDA_VISIBLE_DEVICES"] == "0"  # the only one CUDA sees
    assert gpus.kernel_env(gpu0, sandboxed=False)["CUDA_VISIBLE_DEVICES"] == "0"


# ---------------------------------------------------------------- --gpus -----
def test_gpus_auto_without_a_gpu_grades_on_the_cpu_with_a_note(tmp_path):
    assert gpus.resolve("auto", tmp_path) == (
        [], f"--gpus auto: no GPU found (no NVIDIA driver loaded ({tmp_path}/proc/driver/"
            "nvidia is missing)); grading on the CPU")
    assert grade.grading_gpus("auto", None, None, 1, tmp_path)[:2] == ((), False)
    assert grade.grading_gpus("none", None, None, 1, tmp_path) == ((), False, "")


def test_gpus_auto_takes_every_gpu_and_numbers_take_exactly_those(machine):
    found, on_gpu, note = grade.grading_gpus("auto", None, None, 1, machine)
    assert [g.index for g in found] == [0, 1] and on_gpu and note == ""
    found, on_gpu, _ = grade.grading_gpus("1", None, None, 2, machine)
    assert [g.index for g in found] == [1] and on_gpu


def test_a_gpu_that_is_not_there_is_refused_naming_those_that_are(machine, tmp_path):
    with pytest.raises(grade.GradeError, match=r"no GPU 2 on this machine \(GPUs here: 0, 1;"):
        grade.grading_gpus("0,2", None, None, 1, machine)
    with pytest.raises(grade.GradeError, match=r"no GPU 0 on this machine \(GPUs here: none;"):
        grade.grading_gpus("0", None, None, 1, tmp_path / "empty")


@pytest.mark.parametrize("words, message", [
    (["--gpus", "77"], r"error: --gpus 77: no GPU 77 on this machine \(GPUs here: [0-9, ]*"
                       r"(none)?; see `autograder doctor`\)"),
    (["--gpus", "one"], "error: --gpus 'one': expected auto, none, or GPU numbers such as 0,1"),
    (["--gpus", "0,0"], "error: --gpus '0,0': expected auto, none, or GPU numbers such as 0,1"),
])
def test_the_command_line_refuses_a_wrong_gpus_with_exit_2(tmp_path, capsys, words, message):
    (tmp_path / "source").mkdir()
    assert cli.main(["--course", str(tmp_path), "grade", *words]) == 2
    assert re.fullmatch(message, capsys.readouterr().err.strip())


def test_workers_are_given_per_gpu_and_explicit_workers_are_refused(machine):
    found = gpus.discover(machine)
    assert [g.index for g in gpus.assign(found, 2)] == [0, 0, 1, 1]
    settings = GradingSettings(sandbox=True, threads=1, limits={}, gpus=tuple(found),
                               workers_per_gpu=2)
    assert [settings.worker_gpu(n).index for n in range(4)] == [0, 0, 1, 1]
    assert GradingSettings(sandbox=True, threads=1, limits={}).worker_gpu(0) is None
    with pytest.raises(grade.GradeError, match="--workers-per-gpu per GPU: drop --workers"):
        grade.grading_gpus("auto", None, 3, 1, machine)
    with pytest.raises(grade.GradeError, match="--workers-per-gpu 0: give 1 or more"):
        grade.grading_gpus("auto", None, None, 0, machine)
    with pytest.raises(grade.GradeError, match="with --scheduler, --gpus is auto or none"):
        grade.grading_gpus("0", "tcp://127.0.0.1:1", None, 1, machine)


def test_a_batch_of_from_scratch_assignments_ignores_the_gpus(tmp_path, machine, monkeypatch,
                                                             capsys):
    """Their kernels have no torch: the batch runs on the CPU with a core per worker."""
    import nbformat

    from autograder.grader.collect import collect
    from autograder.grader.course import Course
    from autograder.grader.release import release
    from tests import course_fixture as fx
    from tests.test_hostile import notebook, put

    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    put(tmp_path / "in" / "ann", notebook(course))
    collect.collect(course, tmp_path / "in")
    seen = []
    monkeypatch.setattr(grade, "local_results", lambda course, pending, workers, root, settings,
                        first_slot=0: seen.append((workers, settings)) or iter(()))
    grade.grade(course, progress=False, gpus="auto", gpu_root=machine, workers_per_gpu=2)
    workers, settings = seen.pop()
    assert (workers, [g.index for g in settings.gpus]) == (4, [0, 1])
    assert settings.on_gpu == {fx.ASSIGNMENT}
    path = course.notebooks(fx.ASSIGNMENT)[0]
    nb = nbformat.read(path, as_version=4)
    nb.metadata["autograder"] = {"from_scratch": True}
    nbformat.write(nb, path)
    capsys.readouterr()
    grade.grade(course, progress=False, gpus="auto", gpu_root=machine, workers_per_gpu=2)
    workers, settings = seen.pop()
    assert (workers, settings.gpus, settings.on_gpu) == (1, (), frozenset())
    assert "every assignment graded here is from scratch" in capsys.readouterr().err


def test_a_dask_workers_gpu_comes_from_its_environment(machine):
    assert gpus.worker_gpu({"AUTOGRADER_GPU": "1"}, machine).index == 1
    assert gpus.worker_gpu({"SLURM_JOB_GPUS": "0,1"}, machine).index == 0
    with pytest.raises(gpus.GpuError, match="sees 2 GPUs: start it with AUTOGRADER_GPU=<N>"):
        gpus.worker_gpu({}, machine)
    with pytest.raises(gpus.GpuError, match="no GPU 5 on this machine"):
        gpus.worker_gpu({"AUTOGRADER_GPU": "5"}, machine)
    (machine / "dev" / "nvidia0").unlink()
    assert gpus.worker_gpu({}, machine).index == 1  # the only one


# ------------------------------------------------------------ jobs, records --
def test_a_gpu_job_is_placed_with_its_workers_gpu_and_a_cpu_job_with_none(machine, tmp_path):
    gpu = gpus.discover(machine)[1]
    on_gpu = jobs.place(spec(device="gpu"), tmp_path / "j0", kit=tmp_path / "kit", slot=1,
                        threads=2, gpu=gpu)
    assert on_gpu.gpu == gpu and on_gpu.devices == gpus.device_binds(gpu)
    assert on_gpu.kernel_env["CUDA_VISIBLE_DEVICES"] == "GPU-4b1d-h200"
    on_cpu = jobs.place(spec(), tmp_path / "j1", kit=tmp_path / "kit", slot=1, threads=2,
                        gpu=gpu)  # a from-scratch job of a GPU worker: the CPU
    assert on_cpu.gpu is None and on_cpu.devices == []
    assert on_cpu.kernel_env["CUDA_VISIBLE_DEVICES"] == ""
    with pytest.raises(RuntimeError, match="runs on a GPU, and this worker has none"):
        jobs.place(spec(device="gpu"), tmp_path / "j2", kit=tmp_path / "kit", slot=1, threads=2)


def test_the_gpu_travels_in_the_strict_records(machine, tmp_path):
    gpu = gpus.discover(machine)[1]
    placed = spec(device="gpu", gpu=gpu, devices=gpus.device_binds(gpu))
    assert through_json(placed) == placed and through_json(spec()) == spec()
    with pytest.raises(ValueError, match="device is one of"):
        spec(device="tpu")
    data = placed.to_json()
    data["gpu"] = {**data["gpu"], "bus": "0000:41:00.0"}
    with pytest.raises(ValueError, match="a Gpu must be an object with index, node, uuid"):
        JobSpec.from_json(data)
    settings = GradingSettings(sandbox=True, threads=2, limits={"a5": Limits.for_budget(60)},
                               from_scratch=frozenset({"a1"}), wanted={"a5": ["a5.ipynb"]},
                               gpus=(gpu,), workers_per_gpu=2, on_gpu=frozenset({"a5"}))
    assert through_json(settings) == settings
    assert settings.device("a5") == "gpu" and settings.device("a1") == "cpu"
    with pytest.raises(ValueError, match="GradingSettings without gpus"):
        GradingSettings.from_json({k: v for k, v in settings.to_json().items() if k != "gpus"})


# ---------------------------------------------------------- budgets per device --
def test_the_budget_and_limits_follow_the_device():
    settings = read_settings({"budget_seconds": 400, "budget_seconds_gpu": 50}, "source/a5")
    assert (settings.budget("cpu"), settings.budget("gpu")) == (400, 50)
    assert settings.grading_limits(cores=2, device="gpu") == Limits.for_budget(50, cores=2)
    assert settings.grading_limits(cores=2) == Limits.for_budget(400, cores=2)
    cpu_only = read_settings({"budget_seconds": 400}, "source/a5")
    assert cpu_only.budget("gpu") == 400  # no GPU budget: the CPU's, never too short


def test_a_batch_on_gpus_uses_the_gpu_budget_and_the_doctor_shows_it(tmp_path):
    import nbformat

    from autograder.grader.course import Course
    from tests import course_fixture as fx

    course = Course(fx.make_course(tmp_path / "course"))
    path = course.notebooks(fx.ASSIGNMENT)[0]
    nb = nbformat.read(path, as_version=4)
    nb.metadata["autograder"] = {"budget_seconds": 100, "budget_seconds_gpu": 20}
    nbformat.write(nb, path)
    cpu, gpu = Limits.for_budget(100), Limits.for_budget(20)
    assert jobs.assignment_limits(course, fx.ASSIGNMENT, "gpu") == gpu
    limits = (lambda a, device="cpu": jobs.assignment_limits(course, a, device))
    on_cpu = jobs.batch_settings(course, [fx.ASSIGNMENT], sandbox=True, threads=1,
                                 limits=limits)
    on_gpu = jobs.batch_settings(course, [fx.ASSIGNMENT], sandbox=True, threads=1,
                                 limits=limits, gpu_jobs=True)
    assert (on_cpu.limits[fx.ASSIGNMENT], on_cpu.device(fx.ASSIGNMENT)) == (cpu, "cpu")
    assert (on_gpu.limits[fx.ASSIGNMENT], on_gpu.device(fx.ASSIGNMENT)) == (gpu, "gpu")
    rows = {what: detail for what, _, detail in doctor.course_checks(course)}
    assert rows[f"limits {fx.ASSIGNMENT}"].startswith("budget 100 s: ")
    assert rows[f"limits {fx.ASSIGNMENT} (GPU)"].startswith("budget 20 s: ")


@pytest.mark.parametrize("value", [0, -5, "fast", True, None])
def test_a_wrong_gpu_budget_is_refused_naming_the_notebook_and_key(value):
    with pytest.raises(SettingsError, match=r"source/a5: metadata autograder.budget_seconds_gpu"
                                            r" is .*; give the seconds the notebook takes"):
        read_settings({"budget_seconds_gpu": value}, "source/a5")


# --------------------------------------------------------------------- Dask ---
def test_a_gpu_job_asks_dask_for_a_gpu_and_a_cpu_job_for_nothing():
    assert cluster.job_resources(spec(device="gpu")) == {"GPU": 1}
    assert cluster.job_resources(spec()) is None


def where_it_ran(_):
    from distributed import get_worker

    return get_worker().name


def test_gpu_jobs_go_only_to_the_worker_advertising_a_gpu():
    distributed = pytest.importorskip("distributed")
    workers = {name: {"cls": distributed.Worker,
                      "options": {"nthreads": 1, "resources": resources}}
               for name, resources in (("gpu-worker", {"GPU": 1}), ("cpu-worker", {}))}
    scheduler = {"cls": distributed.Scheduler, "options": {"dashboard_address": None}}
    with distributed.SpecCluster(workers=workers, scheduler=scheduler) as local, \
            distributed.Client(local) as client:
        client.wait_for_workers(2)
        assert cluster.gpu_workers(client) == 1
        futures = [client.submit(where_it_ran, i, pure=False,
                                 resources=cluster.job_resources(spec(device="gpu")))
                   for i in range(6)]
        assert set(client.gather(futures)) == {"gpu-worker"}
        assert grade.grading_gpus("auto", local.scheduler_address, None, 1) == ((), True, "")


# -------------------------------------------------- the judge stays on the CPU --
def test_the_judge_process_and_its_inspector_never_see_a_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # a GPU machine's coordinator
    assert judge_env()["CUDA_VISIBLE_DEVICES"] == ""
    judges = JudgeProcess()
    judges.start()
    pid, deadline = judges.worker.process.pid, time.monotonic() + 60
    try:  # once exec'd (before, /proc shows the forked coordinator's environment)
        while b"judge_process" not in open(f"/proc/{pid}/cmdline", "rb").read():
            assert time.monotonic() < deadline, "the judge process did not start"
            time.sleep(0.05)
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    finally:
        judges.close()
    assert environ[b"CUDA_VISIBLE_DEVICES"] == b""
    monkeypatch.setitem(inspection._state, "sandbox", False)
    _, env = inspection.command(["true"], __import__("pathlib").Path("/tmp"), [], None)
    assert env["CUDA_VISIBLE_DEVICES"] == ""


# ------------------------------------------------------- doctor and calibrate --
def test_the_doctor_says_why_no_gpu_can_be_given(tmp_path, machine):
    assert doctor.gpu_checks(tmp_path) == [(
        "GPUs", True, f"none (no NVIDIA driver loaded ({tmp_path}/proc/driver/nvidia is "
                      "missing)): grading runs on the CPU")]
    for name in ("nvidiactl", "nvidia-uvm"):
        (machine / "dev" / name).unlink()
    [(what, ok, detail)] = doctor.gpu_checks(machine)
    assert (what, ok) == ("GPUs", False)
    assert detail.startswith("GPU 0, GPU 1 (NVIDIA H200); ")
    assert "nvidiactl is missing: CUDA cannot talk to the driver" in detail
    assert "nvidia-uvm is missing: run `nvidia-modprobe -u -c=0` once as root" in detail


def test_calibration_records_the_device_it_measured_on(machine, tmp_path):
    assert calibrate.device(machine, {}) == ("gpu", "GPU: GPU 0, GPU 1 (NVIDIA H200)")
    assert calibrate.device(machine, {"CUDA_VISIBLE_DEVICES": ""})[0] == "cpu"
    assert calibrate.device(tmp_path / "none", {}) == ("cpu", f"CPU ({os.cpu_count()} cores)")
    run = calibrate.Run(0, 12.0, {"model.pt": 0.7})
    table = calibrate.table("a5", [run], {"model.pt": {"threshold": 0.6}}, 60,
                            "GPU: GPU 1 (NVIDIA H200)")
    assert "\nDevice: GPU: GPU 1 (NVIDIA H200).\n" in table


# ------------------------------------------------------ a whole batch, end to end --
SPY = ("import json, os\n"
       "json.dump({'dev': sorted(n for n in os.listdir('/dev') if n.startswith('nvidia')),\n"
       "           'cuda': os.environ.get('CUDA_VISIBLE_DEVICES')}, open('seen.json', 'w'))\n"
       "def double(x):\n    return 2 * x\n")


def test_a_batch_on_a_gpu_gives_the_cpus_scores_and_its_kernel_only_that_gpu(tmp_path,
                                                                              machine):
    """Graded with --gpus 1 on the fake two-GPU machine: the kernel saw GPU 1's node and
    the control nodes, never GPU 0's, and its CUDA variable; the scores are the CPU's
    (a wrong ReLU gradient loses relu_test only, as in test_dask and test_hostile)."""
    from autograder.grader.collect import collect
    from autograder.grader.course import Course
    from autograder.grader.release import release
    from tests import course_fixture as fx
    from tests.test_hostile import notebook, put, scores

    course = Course(fx.make_course(tmp_path / "course"))
    release.release(course)
    put(tmp_path / "in" / "spy", notebook(course, {"double_answer": SPY,
                                                   "relu_answer": fx.WRONG_RELU_GRAD}))
    collect.collect(course, tmp_path / "in")
    [result] = grade.grade(course, progress=False, gpus="1", gpu_root=machine)
    assert result.status == "graded"
    full = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}
    assert scores(course, "spy") == {**full, "relu_test": 0}
    seen = json.loads((course.autograded / "spy" / fx.ASSIGNMENT / "seen.json").read_text())
    assert seen == {"dev": ["nvidia-uvm", "nvidia-uvm-tools", "nvidia1", "nvidiactl"],
                    "cuda": "GPU-4b1d-h200"}
