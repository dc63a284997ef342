"""No exported check passes on evidence fabricated without running the student's code.

Every exported ``check_*`` is rebuilt as the judge rebuilds it (from the calls of source/'s
test cells, with their own parameters; by hand for those no test cell's calls reach) and judged
as the trusted judge judges a submission (``judge_check``: a fresh nonce, the submission's
folder, here an empty one) on what a forger could write knowing the judge's code but not
the answer: nothing, claimed flags and scores, and every key the check's collect half
records set to a trivial value (zeros, a number, True, empty lists: the evidence of a
trivial student function). Each must fail. A new exported check without a case here fails
``test_every_exported_check_has_a_forgery_case``.
"""
import ast
import inspect
import json
import re
import textwrap

import numpy as np
import pytest

from autograder.grader.course import Course
from autograder.grader.judge.judge import judge_check
from autograder.grader.assignment import test_cells as source_test_cells
from autograder.student import checks
from autograder.student.checks.core import StudentObject, building
from autograder.student.checks.evidence import encode
from tests.conftest import REPO

ASSIGNMENTS = ("a1_numpy_mlp", "a2_torch_mlp", "a3_torch_cnn", "a4_numpy_cnn", "a5_cifar10")
CALL = re.compile(r"^(?:\w+\s*=\s*)?checks\.(check_\w+)\(", re.M)
NONCE = "forgery-nonce"

# The judge's verdicts, as in the grader: with its references.
pytestmark = pytest.mark.usefixtures("grader_references")


def _by_hand():
    """The exported checks no test cell of source/ has the judge replay, built by hand."""
    with building() as built:
        checks.check_values(StudentObject("values"), [1.0, 2.0, 3.0], raise_on_fail=False)
        # in source/ only in cells judged from the saved file alone; here as a test cell's call
        checks.check_saved_network_accuracy("weights.npz", [{"type": "linear", "W": "W1",
                                                             "b": "b1"}], "mnist", 0.5,
                                            raise_on_fail=False)
        # in source/ only visible, beside a judge spec that grades the same archive
        checks.check_archive_accuracy("model.ts", "cifar10", 0.5, split="test",
                                      parameter_cap=1_000_000, raise_on_fail=False)
        # not yet called by a source/ notebook: the training loader's order
        checks.check_loader_shuffles(StudentObject("train_loader"), raise_on_fail=False)
    return [("check_values", built[0]), ("check_saved_network_accuracy", built[1]),
            ("check_archive_accuracy", built[2]), ("check_loader_shuffles", built[3])]


def _source_cases():
    """(check function name, Check) for every check call of every test cell of source/."""
    course, cases = Course(REPO), []
    for assignment in ASSIGNMENTS:
        notebook = json.loads((REPO / "source" / assignment / f"{assignment}.ipynb").read_text())
        sources = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
                   for c in notebook["cells"]}
        for cell in source_test_cells(course, assignment):
            if cell.judge_spec:
                continue  # judged from the saved file alone (judge_saved_file)
            names = CALL.findall(sources[cell.grade_id])
            assert len(names) == len(cell.checks), cell.grade_id
            cases += zip(names, cell.checks)
    return cases


CASES = _source_cases() + _by_hand()


def test_every_exported_check_has_a_forgery_case():
    exported = {name for name in checks.__all__ if name.startswith("check_")}
    assert exported - {name for name, _ in CASES} == set()


def _recorded_keys(check) -> set[str]:
    """The keys the check's collect half records (its returned dict literals and the
    ``evidence[...] = `` assignments), read from its source."""
    keys = set()
    for klass in type(check).__mro__:
        if "collect" not in vars(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(vars(klass)["collect"])))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys |= {k.value for k in node.keys
                         if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.slice, ast.Constant):
                keys.add(str(node.slice.value))
        break
    return keys


CLAIMS = {"passed": True, "correct": True, "ok": True, "accuracy": 1.0, "total": 10 ** 6,
          "score": 1.0, "verdict": "passed"}
TRIVIAL = (0, 1.0, True, [], {}, np.zeros(3), np.zeros((4, 10)), "ok")


def forgeries(check):
    yield "nothing", {}
    # a network the kernel claims to have saved: only the file the judge reads counts
    yield "claimed arrays", {"arrays": {"W1": np.zeros((784, 10)), "b1": np.zeros(10)},
                             "predictions": np.zeros(10_000, np.int64)}
    yield "claims", dict(CLAIMS)
    keys = _recorded_keys(check)
    for value in TRIVIAL:
        yield f"every key = {value!r:.20}", {**CLAIMS, **{key: value for key in keys}}


@pytest.mark.parametrize("name,check", CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_a_check_does_not_pass_on_forged_evidence(name, check, tmp_path):
    passed = []
    for what, evidence in forgeries(check):
        result = judge_check(check, {"evidence": encode(evidence)}, NONCE, [], tmp_path)
        if result.passed:
            passed.append(what)
    assert passed == [], f"{name} ({type(check).__name__}) passed on forged evidence: {passed}"


def test_a_parameter_count_needs_the_whole_layout_not_the_total(tmp_path):
    check = next(c for n, c in CASES if n == "check_parameter_count" and c.layers
                 and c.expected == 50_890)  # A1's 784-64-10, layers {"W1": 50_176, ...}

    def judged(rows):
        return judge_check(check, {"evidence": encode({"rows": rows})}, NONCE, [], tmp_path)

    assert not judged([["W", [50_890], 50_890, True]]).passed  # the visible total, one tensor
    honest = [["W1", [784, 64], 50_176, True], ["b1", [64], 64, True],
              ["W2", [64, 10], 640, True], ["b2", [10], 10, True]]
    assert judged(honest).passed
    extra = honest + [["W0", [1], 1, True]]
    assert "Layers that differ: W0" in judged(extra).message


def test_a_saved_network_is_judged_from_the_file_the_judge_reads_not_from_evidence(tmp_path):
    """Evidence that carries a good network (here the kit's centroid classifier) earns
    nothing when the submission holds no such file; the file itself passes."""
    from autograder.student import data
    from autograder.student.checks.saved_files.accuracy import preprocessed

    x, y = preprocessed("mnist", "train", "flat")[:20_000], data.mnist_arrays("train")[1][:20_000]
    centroids = np.stack([x[y == c].mean(axis=0) for c in range(10)])
    good = {"W1": centroids.T, "b1": -0.5 * (centroids ** 2).sum(axis=1)}
    check = next(c for n, c in CASES if n == "check_saved_network_accuracy")
    forged = judge_check(check, {"evidence": encode({"arrays": good})}, NONCE, [], tmp_path)
    assert not forged.passed and "weights.npz was not saved" in forged.message
    np.savez(tmp_path / "weights.npz", **good)
    honest = judge_check(check, {"evidence": encode({"path": "weights.npz"})}, NONCE, [],
                         tmp_path)
    assert honest.passed, honest.message
