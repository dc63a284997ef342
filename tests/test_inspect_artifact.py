"""The artifact inspector (autograder.grader.judge.inspector, run by inspection.py):
the only process that opens a file a student saved. It runs sandboxed as the judge's own
unprivileged slot uid, can write nothing but its scratch folder, is stopped at a time
limit, and answers with plain data the judge checks before use."""
import dataclasses
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn

from autograder.grader.judge import inspection
from autograder.grader.judge.archive import judge_archive
from autograder.grader.judge.fingerprint import file_sha256, fingerprint
from autograder.grader.judge.judge import judge_saved_file
from autograder.grader.sandbox.command import ROOT_SLOT_UID
from tests.conftest import REPO
from tests.test_archive import SPEC, Tiny, failure, save

SAVED = {"check": "saved_network_accuracy", "path": "w.npz", "dataset": "mnist",
         "threshold": 0.5, "layers": [{"type": "linear", "W": "W", "b": "b"}]}


class Spin(nn.Module):
    """A network whose forward never ends."""

    def forward(self, x):
        n = 0
        while n >= 0:
            n = n + 1
        return torch.zeros(x.shape[0], 10)


def processes_under(folder) -> list[str]:
    """Command lines of the live processes that name ``folder``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                line = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in line and pid != str(os.getpid()):
            found.append(line)
    return found


@pytest.mark.parametrize("limit", ["wall clock", "CPU time"])
def test_a_forward_that_never_ends_is_stopped_at_the_limit_and_the_next_is_judged(
        tmp_path, data_root, monkeypatch, limit):
    (tmp_path / "spin").mkdir()
    (tmp_path / "next").mkdir()
    save(Spin(), tmp_path / "spin" / "a5_model.ts")
    save(Tiny(), tmp_path / "next" / "a5_model.ts")
    if limit == "CPU time":
        monkeypatch.setattr(inspection, "LIMITS",
                            dataclasses.replace(inspection.LIMITS, cpu_seconds=3))
    spec = {**SPEC, "seconds": 3} if limit == "wall clock" else SPEC
    message = failure(judge_archive(tmp_path / "spin", spec))
    assert "a5_model.ts was stopped after the limit of 3 s" in message
    assert ("CPU time" in message) == (limit == "CPU time")
    assert processes_under(inspection._root()) == []
    monkeypatch.undo()
    assert judge_archive(tmp_path / "next", SPEC).passed


def write_npy_member(path, header: dict, data: bytes, compress=zipfile.ZIP_STORED):
    """An .npz holding one member W.npy with the given header dict and data bytes."""
    text = repr(header).encode()
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    body = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data
    with zipfile.ZipFile(path, "w", compress) as z:
        z.writestr("W.npy", body)
        z.writestr("b.npy", b"\x93NUMPY junk")


def test_a_npz_whose_header_claims_a_huge_array_fails_with_a_message(tmp_path):
    write_npy_member(tmp_path / "w.npz", {"descr": "<f8", "fortran_order": False,
                                          "shape": (10 ** 12,)}, b"\0" * 64)
    message = failure(judge_saved_file(tmp_path, SAVED))
    assert "w.npz cannot be read as plain arrays" in message


def test_a_npz_zip_bomb_fails_with_a_message(tmp_path):
    size = 96 * 2 ** 20  # 96 MB of zeros in a file of about 100 kB
    with zipfile.ZipFile(tmp_path / "w.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("W.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<f8", "fortran_order": False, "shape": (size // 8,)})
            chunk = bytes(2 ** 20)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    assert (tmp_path / "w.npz").stat().st_size < 2 * 2 ** 20
    message = failure(judge_saved_file(tmp_path, SAVED))
    assert "hold 96 MB, more than the 64 MB a saved network may have" in message


def test_pickled_arrays_are_not_unpickled_and_say_so(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "w.npz", "w") as z:
        z.write(tmp_path / "x.npy", "W.npy")
    assert "cannot be read as plain arrays (ValueError)" in failure(
        judge_saved_file(tmp_path, SAVED))


def test_plain_arrays_come_back_exactly_from_the_inspector(tmp_path):
    arrays = {"W": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.array([1, 2], np.int64),
              "flag": np.array(True)}
    np.savez(tmp_path / "w.npz", **arrays)
    answer = inspection.inspect(tmp_path / "w.npz", "arrays")
    assert sorted(answer["arrays"]) == ["W", "b", "flag"]
    for key, value in arrays.items():
        assert answer["arrays"][key].dtype == value.dtype
        np.testing.assert_array_equal(answer["arrays"][key], value)
    assert answer["sandboxed"] is True
    found = inspection.fingerprint(tmp_path / "w.npz")
    assert found == {**fingerprint(tmp_path / "w.npz"), "sha256": found["sha256"]}


def test_the_inspector_runs_as_the_judges_own_slot_uid_never_root(tmp_path):
    np.savez(tmp_path / "w.npz", W=np.zeros((784, 10)), b=np.zeros(10))
    answer = inspection.inspect(tmp_path / "w.npz", "arrays")
    if os.geteuid() == 0:
        assert answer["uid"] == ROOT_SLOT_UID + inspection.judge_slot() != 0
        assert inspection.judge_slot() in inspection.JUDGE_SLOTS
    else:
        assert answer["uid"] == os.getuid()


def test_the_inspectors_sandbox_can_write_only_its_scratch(tmp_path):
    """What the inspector's sandbox lets a program do, were the archive scan to miss a
    file operator: its ``out`` folder takes a file; the kit's code, a host folder and the
    host's /tmp do not (a write to /tmp lands in the sandbox's own, thrown away)."""
    scratch = tmp_path / "scratch"
    (scratch / "out").mkdir(parents=True)
    refused = [inspection.KIT / "written-by-the-sandbox", REPO / "written-by-the-sandbox"]
    program = ("import os\n"
               f"open({str(scratch / 'out' / 'ok')!r}, 'w').write('x')\n"
               f"open({str(tmp_path / 'x')!r}, 'w').write('x')\n"
               f"for target in {[str(p) for p in refused]!r}:\n"
               "    try:\n        open(target, 'w').write('x')\n"
               "    except OSError as err:\n        print('refused', err.errno)\n")
    argv, env = inspection.command([sys.executable, "-c", program], scratch, [],
                                   tmp_path / "status")
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.count("refused") == 2, run.stdout + run.stderr
    assert (scratch / "out" / "ok").exists()
    assert not any(p.exists() for p in refused) and not (tmp_path / "x").exists()


@pytest.fixture
def unsandboxed():
    inspection.configure(sandbox=False)
    yield
    inspection.configure(sandbox=True)


def test_without_the_sandbox_the_inspector_still_answers_and_says_so(tmp_path, unsandboxed,
                                                                     data_root):
    np.savez(tmp_path / "w.npz", W=np.zeros((784, 10)), b=np.zeros(10))
    answer = inspection.inspect(tmp_path / "w.npz", "arrays")
    assert answer["sandboxed"] is False and answer["uid"] == os.geteuid()
    result = judge_saved_file(tmp_path, SAVED)
    assert not result.passed and "accuracy 0.0980" in result.message


@pytest.mark.parametrize("header, data", [
    ([{"name": "W", "dtype": "object", "shape": [1]}], b"\0" * 8),
    ([{"name": "W", "dtype": "float64", "shape": [2]}], b"\0" * 8),
    ([{"name": "W", "dtype": "float64", "shape": [10 ** 15]}], b""),
    ({"W": 1}, b""),
])
def test_a_malformed_answer_is_refused_by_the_judge(tmp_path, header, data):
    (tmp_path / "arrays.bin").write_bytes(data)
    with pytest.raises(inspection.InspectionError, match="malformed"):
        inspection.read_arrays(tmp_path / "arrays.bin", header)


def test_an_answer_with_a_huge_number_or_deep_nesting_reads_as_no_answer(tmp_path):
    for text in ('{"n": ' + "9" * 5000 + "}", "[" * 100_000, json.dumps({"a": 1}) * 2):
        (tmp_path / "answer.json").write_text(text)
        assert inspection.read_json(tmp_path / "answer.json") is None
    os.symlink(tmp_path / "answer.json", tmp_path / "link.json")
    (tmp_path / "answer.json").write_text('{"a": 1}')
    assert inspection.read_json(tmp_path / "link.json") is None
    assert inspection.read_json(tmp_path / "answer.json") == {"a": 1}


def test_a_file_judged_by_several_checks_is_inspected_once(tmp_path, monkeypatch):
    np.savez(tmp_path / "w.npz", W=np.zeros((784, 10)), b=np.zeros(10))
    runs = []
    real = inspection.run_inspector
    monkeypatch.setattr(inspection, "run_inspector", lambda *a: runs.append(a) or real(*a))
    inspection.inspect(tmp_path / "w.npz", "arrays")
    inspection.inspect(tmp_path / "w.npz", "arrays")
    found = inspection.fingerprint(tmp_path / "w.npz")
    assert "error" not in found and found["sha256"] == file_sha256(tmp_path / "w.npz")
    assert len(runs) == 1

