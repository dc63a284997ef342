"""Reading the kernel's evidence file under limits: an oversized or malformed line costs
only that line (and the check it names, with the reason), never the judge; honest records
in the same file keep their points."""
import json

import numpy as np
import pytest

from autograder.grader.judge import evidence as ev
from autograder.grader.judge import judge
from autograder.student.checks.core import StudentError
from autograder.student.checks.evidence import ARRAY_VALUES_LIMIT, append_evidence, decode
from autograder.student.checks.numpy_code.functions import ElementwiseCheck


def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    return (x > 0) * 1.0


def honest_file(tmp_path):
    """An evidence file with one honest record, as a grading kernel writes it."""
    check = ElementwiseCheck("relu", shape=(5, 4), seed=3)
    path = tmp_path / "evidence.jsonl"
    append_evidence(str(path), check, check.collect((relu, relu_grad)), check.identity())
    return path, check


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# (what the hostile line holds, the words of the reason)
OVERSIZED = {
    "a 5,000-digit integer": ('{"identity": "x", "evidence": {"n": %s}}' % ("7" * 5000),
                              "an integer with more than 100 digits"),
    "a 10,000-deep list": ('{"identity": "x", "evidence": {"n": %s}}' % deep(10_000),
                           "more than 32 levels deep"),
    "a 500-deep list json accepts": ('{"identity": "x", "evidence": {"n": %s}}' % deep(500),
                                     "more than 32 levels deep"),
    "too many values": ('{"identity": "x", "evidence": {"n": [%s]}}'
                        % ",".join(["0"] * (ev.VALUES_LIMIT + 1)), "more than 4,000,000 values"),
    "a line over the length limit": ('{"identity": "x", "evidence": {"s": "%s"}}'
                                     % ("a" * ev.LINE_LIMIT_BYTES), "longer than 16 MB"),
    "not JSON": ('{"identity": "x", "evidence": {"n": 1e}', "not one line of valid JSON"),
    "not a record": ('[1, 2, 3]', "not a check's record"),
}


@pytest.mark.parametrize("kind", sorted(OVERSIZED))
def test_an_oversized_line_is_skipped_with_its_reason_and_honest_records_are_kept(tmp_path, kind):
    path, check = honest_file(tmp_path)
    line, reason = OVERSIZED[kind]
    with open(path, "a") as f:
        f.write(line.replace('"identity": "x"', '"identity": "other"') + "\n")
    records, note = ev.read_records(path)
    assert reason in note and note.startswith("1 evidence line(s) not read")
    assert len(records[check.identity()]) == 1
    verdict = judge.judge_check(check, records[check.identity()][0], "", [])
    assert verdict.passed, verdict.message


def test_a_rejected_line_fails_only_the_check_it_names_saying_why(tmp_path):
    path, check = honest_file(tmp_path)
    other = ElementwiseCheck("relu", shape=(2, 2), seed=9)
    with open(path, "a") as f:
        f.write(json.dumps({"identity": other.identity(), "evidence": {"y": 1}})[:-2]
                + ", \"n\": %s}}\n" % ("9" * 5000))
    records, note = ev.read_records(path)
    assert judge.judge_check(check, records[check.identity()][0], "", []).passed
    failed = judge.judge_check(other, records[other.identity()][0], "", [])
    assert not failed.passed
    assert failed.message == ("the recorded result was not read: it holds an integer with "
                              "more than 100 digits")


def test_the_limits_leave_honest_numbers_alone(tmp_path):
    path = tmp_path / "evidence.jsonl"
    big = {"identity": "i", "evidence": {"n": 2**63, "x": [[[[1.5e-308, -2 ** 62]]]]}}
    path.write_text(json.dumps(big) + "\n")
    records, note = ev.read_records(path)
    assert note == "" and records["i"][0] == big


@pytest.mark.parametrize("array, words", [
    ({"__array__": [1.0, 2.0], "dtype": "float64", "shape": [3]}, "shape does not match"),
    ({"__array__": [1.0], "dtype": "float64", "shape": [-1]}, "shape does not match"),
    ({"__array__": [1.0], "dtype": "object", "shape": [1]}, "unsupported dtype"),
    ({"__array__": [1.0], "dtype": {"x": 1}, "shape": [1]}, "no valid dtype"),
    ({"__array__": [[1.0, 2.0]], "dtype": "float64", "shape": [1]}, "not float64 numbers"),
    ({"__array__": [{"a": 1}], "dtype": "float64", "shape": [1]}, "not float64 numbers"),
    ({"__array__": [0] * (ARRAY_VALUES_LIMIT + 1), "dtype": "int64",
      "shape": [ARRAY_VALUES_LIMIT + 1]}, "at most 4,000,000 values"),
])
def test_a_malformed_array_fails_its_check_naming_the_problem(array, words):
    with pytest.raises(StudentError, match=words):
        decode({"y": array})
    check = ElementwiseCheck("relu", shape=(5, 4), seed=3)
    verdict = judge.judge_check(check, {"identity": check.identity(), "evidence": {"y": array}},
                                "", [])
    assert not verdict.passed and "malformed" in verdict.message and words in verdict.message
