"""The A5 archive judge (autograder.grader.judge.archive): a TorchScript archive is
loaded without the student's class, refused with a message when it is not a plain archive,
capped, evaluated on the grader's data; fingerprints flag copied models across a batch."""
import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn

from autograder.grader.judge import archive as A
from autograder.grader.judge import fingerprint as F
from autograder.grader.judge import torchscript as T
from autograder.grader.judge.judge import judge_saved_file
from autograder.student import data
from autograder.student.checks import check_archive_accuracy, check_class_acc_of_archive

SPEC = {"check": "archive_accuracy", "path": "a5_model.ts", "dataset": "cifar10",
        "threshold": 0.05, "parameter_cap": 1_000_000, "split": "test"}


class Tiny(nn.Module):
    def __init__(self, seed=0, width=4):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(3, width, 4, stride=4)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width * 64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))


def save(module, path, how="script"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = module.eval()
        saved = torch.jit.script(module) if how == "script" else \
            torch.jit.trace(module, torch.zeros(2, 3, 32, 32))
        saved.save(str(path))
    return path


def judge(folder, **changes):
    return A.judge_archive(folder, {**SPEC, **changes})


def failure(result):
    assert not result.passed, f"expected a failure, got: {result.message}"
    return result.message


# ----------------------------------------------------------------------------- judging

def test_archive_passes_and_names_accuracy_threshold_and_weakest_class(tmp_path, data_root):
    save(Tiny(), tmp_path / "a5_model.ts")
    result = judge(tmp_path)
    assert result.passed, result.message
    assert "cifar10 test accuracy" in result.message and "threshold 0.05" in result.message
    assert any(f"weakest class {name} " in result.message for name in data.CIFAR10_CLASSES)
    assert result.details["n"] == 10_000


def test_archive_below_threshold_fails_with_weakest_class_by_name(tmp_path, data_root):
    save(Tiny(), tmp_path / "a5_model.ts")
    message = failure(judge(tmp_path, threshold=0.9))
    assert "below the threshold" in message and "threshold 0.9" in message
    assert any(f"weakest class {name} " in message for name in data.CIFAR10_CLASSES)


def test_run_judge_dispatches_archive_specs(tmp_path, data_root):
    save(Tiny(), tmp_path / "a5_model.ts")
    assert judge_saved_file(tmp_path, SPEC).passed
    assert not judge_saved_file(tmp_path, {**SPEC, "threshold": 0.95}).passed


def test_archive_over_the_parameter_cap_fails(tmp_path, data_root):
    save(Tiny(width=8), tmp_path / "a5_model.ts")
    message = failure(judge(tmp_path, parameter_cap=1000))
    assert "more than the cap of 1,000" in message and "5,538 parameters" in message


class HiddenWeights(nn.Module):
    """Weights kept in a buffer (not a parameter) still count towards the cap."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.randn(3072, 10))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return torch.flatten(x, 1) @ self.table + self.bias


def test_weights_hidden_in_buffers_count_towards_the_cap(tmp_path, data_root):
    save(HiddenWeights(), tmp_path / "a5_model.ts")
    message = failure(judge(tmp_path, parameter_cap=20_000))
    assert "30,730 parameters" in message and "30,720 of them in buffers" in message


class WrongShape(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def test_a_model_with_the_wrong_output_shape_fails_with_the_shape(tmp_path, data_root):
    save(WrongShape(), tmp_path / "a5_model.ts")
    assert "returned shape (500, 3)" in failure(judge(tmp_path))


# ----------------------------------------------------------------------------- refusals

def test_missing_archive_fails(tmp_path):
    assert "was not saved by the notebook" in failure(judge(tmp_path))


def test_pickled_whole_model_is_refused(tmp_path):
    torch.save(Tiny(), tmp_path / "a5_model.ts")  # a zip with data.pkl, no code/
    assert "not a TorchScript archive" in failure(judge(tmp_path))


def test_plain_pickle_is_refused_without_unpickling(tmp_path):
    (tmp_path / "a5_model.ts").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert "not a zip file" in failure(judge(tmp_path))


def test_state_dict_is_refused_with_how_to_save(tmp_path):
    torch.save(Tiny().state_dict(), tmp_path / "a5_model.ts")
    assert "torch.jit.script(model).save" in failure(judge(tmp_path))


def test_oversized_archive_is_refused_unread(tmp_path):
    with open(tmp_path / "a5_model.ts", "wb") as f:
        f.truncate(T.ARCHIVE_LIMIT_BYTES + 1)  # sparse: nothing is written
    assert "MB, more than the 32 MB" in failure(judge(tmp_path))


def test_link_to_an_archive_is_refused(tmp_path):
    save(Tiny(), tmp_path / "real.ts")
    os.symlink(tmp_path / "real.ts", tmp_path / "a5_model.ts")
    assert "is a link" in failure(judge(tmp_path))


def test_link_outside_the_submission_is_refused(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    save(Tiny(), tmp_path / "elsewhere.ts")
    os.symlink(tmp_path / "elsewhere.ts", folder / "a5_model.ts")
    assert "is a link" in failure(judge(folder))


def test_directory_instead_of_archive_is_refused(tmp_path):
    (tmp_path / "a5_model.ts").mkdir()
    assert "not a regular file" in failure(judge(tmp_path))


def test_spec_path_leaving_the_submission_is_refused(tmp_path):
    assert "leaves the submission" in failure(judge(tmp_path / "sub", path="../a5_model.ts"))


def test_truncated_archive_fails_with_a_message(tmp_path):
    path = save(Tiny(), tmp_path / "full.ts")
    (tmp_path / "a5_model.ts").write_bytes(path.read_bytes()[:-3000])
    message = failure(judge(tmp_path))
    assert "a5_model.ts" in message and ("not a zip" in message or "cannot be loaded" in message)


def rewrite_code(source, target, extra):
    """A copy of an archive whose first code file has ``extra`` appended."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        done = False
        for item in zin.infolist():
            body = zin.read(item)
            if not done and "/code/" in item.filename and item.filename.endswith(".py"):
                body += extra.encode()
                done = True
            zout.writestr(item, body)
    return target


@pytest.mark.parametrize("extra, word", [
    ("\n  def __setstate__(self, state):\n    pass\n", "__setstate__"),
    ("\n# torch.from_file('/etc/passwd')\n", "from_file"),
    ("\n# ops.mylib.leak(x)\n", "ops.mylib."),
])
def test_archive_code_that_could_act_on_loading_is_refused(tmp_path, extra, word):
    source = save(Tiny(), tmp_path / "clean.ts")
    rewrite_code(source, tmp_path / "a5_model.ts", extra)
    message = failure(judge(tmp_path))
    assert "is refused" in message and word in message


def test_graph_with_a_file_operator_is_refused():
    forbidden = T.forbidden_operators()
    assert {"aten::save", "aten::from_file"} <= forbidden
    for kind in ("aten::from_file", "aten::save", "mylib::leak"):
        graph = scripted(Tiny()).inlined_graph
        graph.appendNode(graph.create(kind, 0))
        with pytest.raises(T.ArchiveError, match=kind):
            T.check_graph(graph, "m", forbidden)


def scripted(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.script(module)


@torch.jit.script
def _leak(x: torch.Tensor, path: str) -> torch.Tensor:
    torch.save(x, path)
    return x


class Forked(Tiny):
    """A network whose forward forks a function that writes a file."""

    def __init__(self, path):
        super().__init__()
        self.path = str(path)

    def forward(self, x):
        x = torch.jit.wait(torch.jit.fork(_leak, x, self.path))
        return self.fc(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))


@torch.jit.interface
class Step(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pass


class Writer(nn.Module):
    def __init__(self, path):
        super().__init__()
        self.path = str(path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(x, self.path)
        return x


class ThroughInterface(Tiny):
    """A network whose forward calls a submodule typed by an interface, which writes."""

    step: Step

    def __init__(self, path):
        super().__init__()
        self.step = Writer(path)

    def forward(self, x):
        x = self.step.forward(x)
        return self.fc(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))


@pytest.mark.parametrize("network", [Forked, ThroughInterface])
def test_a_file_write_reached_through_fork_or_interface_is_refused(tmp_path, network):
    target = tmp_path / "written-by-the-archive"
    save(network(target), tmp_path / "a5_model.ts")
    message = failure(judge(tmp_path))
    assert "is refused" in message and "save" in message
    assert not target.exists()
    with warnings.catch_warnings():  # the graph check alone, as if the code scan missed it
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(str(tmp_path / "a5_model.ts"))
    with pytest.raises(T.ArchiveError, match="aten::save"):
        T.check_methods(loaded, "a5_model.ts")
    assert not target.exists()


@pytest.mark.parametrize("spelling", ["torch . save(x, 'p')", "torch.\\\n    save(x, 'p')",
                                      "ops . mylib . leak(x)"])
def test_spaced_or_continued_forbidden_names_are_found(spelling):
    assert T.forbidden_code(f"def forward(self, x):\n    {spelling}\n") in (
        "save", "ops.mylib.")


def test_a_plain_network_passes_the_method_check():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        T.check_methods(scripted(Tiny()), "m")
        T.check_methods(torch.jit.trace(Tiny().eval(), torch.zeros(2, 3, 32, 32)), "m")


# ----------------------------------------------------------------------------- student side

def test_visible_check_evaluates_the_archive_on_validation(tmp_path, data_root, monkeypatch):
    save(Tiny(), tmp_path / "a5_model.ts")
    monkeypatch.chdir(tmp_path)
    result = check_archive_accuracy("a5_model.ts", "cifar10", 0.05, split="val",
                                    parameter_cap=1_000_000, raise_on_fail=False)
    assert result.passed and "cifar10 val accuracy" in result.message
    result = check_archive_accuracy("a5_model.ts", "cifar10", 0.05, parameter_cap=100,
                                    raise_on_fail=False)
    assert "more than the cap of 100" in failure(result)


def test_class_table_agrees_with_the_archive(tmp_path, data_root, monkeypatch):
    save(Tiny(), tmp_path / "a5_model.ts")
    monkeypatch.chdir(tmp_path)
    want = A.evaluate_archive(tmp_path / "a5_model.ts", "cifar10", "test")["per_class"]
    assert check_class_acc_of_archive(np.array(want), "a5_model.ts", "cifar10",
                                      raise_on_fail=False).passed
    wrong = np.array(want)
    wrong[3] += 0.1
    message = failure(check_class_acc_of_archive(wrong, "a5_model.ts", "cifar10",
                                                 raise_on_fail=False))
    assert "class cat:" in message
    message = failure(check_class_acc_of_archive(np.array(want) * 100, "a5_model.ts", "cifar10",
                                                 raise_on_fail=False))
    assert "percentages" in message
    assert "one per class" in failure(check_class_acc_of_archive(want[:9], "a5_model.ts",
                                                                 "cifar10", raise_on_fail=False))


# ----------------------------------------------------------------------------- fingerprints

def batch(tmp_path, models):
    prints = {}
    for student, (module, how) in models.items():
        prints[student] = F.fingerprint(save(module, tmp_path / f"{student}.ts", how))
    return prints


def nudged(module):
    with torch.no_grad():
        module.fc.weight[0, 0] += 0.05
    return module


def test_fingerprint_records_hash_layout_signature_and_units(tmp_path):
    found = F.fingerprint(save(Tiny(), tmp_path / "m.ts"))
    assert len(found["sha256"]) == 64 and len(found["signature"]) == 64
    assert [4, 3, 4, 4] in found["layout"]
    filters = [g for g in found["units"] if g["inputs"] == 3 * 4 * 4]  # the conv's 4 filters
    assert len(filters) == 1 and len(filters[0]["units"]) == 4
    assert all(len(unit) == F.fingerprint.__globals__["PROJECTION"] for unit in filters[0]["units"])


def test_copied_resaved_and_nudged_models_are_flagged_and_honest_ones_not(tmp_path):
    prints = batch(tmp_path, {"ann": (Tiny(1), "script"), "bob": (Tiny(1), "trace"),
                              "cy": (nudged(Tiny(1)), "script"), "dee": (Tiny(2), "script"),
                              "eve": (Tiny(3, width=8), "script")})
    (tmp_path / "fay.ts").write_bytes((tmp_path / "dee.ts").read_bytes())
    prints["fay"] = F.fingerprint(tmp_path / "fay.ts")
    flagged = {(a, b): (reason, similarity) for a, b, reason, similarity in F.near_duplicates(prints)}
    assert flagged[("ann", "bob")] == ("identical weights", 1.0)
    assert flagged[("ann", "cy")] == ("matching units", 1.0)  # one weight nudged, no unit lost
    assert flagged[("dee", "fay")] == ("identical file", 1.0)
    assert not {pair for pair in flagged if "eve" in pair}
    assert ("ann", "dee") not in flagged and ("cy", "dee") not in flagged


def test_fingerprint_of_an_unreadable_file_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "x.ts").write_bytes(b"not a model")
    found = F.fingerprint(tmp_path / "x.ts")
    assert "error" in found and len(found["sha256"]) == 64
    assert F.near_duplicates({"a": found, "b": dict(found, sha256="0" * 64)}) == []


def test_fingerprint_of_a_state_dict_matches_the_archive_weights(tmp_path):
    model = Tiny(5)
    torch.save(model.state_dict(), tmp_path / "best.pt")
    prints = {"pt": F.fingerprint(tmp_path / "best.pt"),
              "ts": F.fingerprint(save(model, tmp_path / "m.ts"))}
    assert F.near_duplicates(prints) == [("pt", "ts", "identical weights", 1.0)]
