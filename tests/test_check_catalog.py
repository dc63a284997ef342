"""The catalog of checks (``autograder checks``, docs/CHECKS.md) is read from the check
classes: every exported check is in it with its signature and timing class, the timing
agrees with what the check does, and the committed page is the generated one."""
import inspect
import json
import textwrap
from pathlib import Path

from autograder.grader import catalog, cli
from autograder.student import checks
from autograder.student.checks.core import Check

DOCS = Path(__file__).resolve().parents[1] / "docs" / "CHECKS.md"
EXPORTED = sorted(name for name in checks.__all__ if name.startswith("check_"))


def test_every_exported_check_is_listed_with_its_signature_and_timing():
    entries = {e.name: e for e in catalog.catalog()}
    assert sorted(entries) == EXPORTED and len(EXPORTED) >= 60
    for name in EXPORTED:
        e = entries[name]
        assert e.signature == str(inspect.signature(getattr(checks, name))), name
        assert e.timing in (catalog.IMMEDIATE, catalog.AT_GRADING), name
        assert e.collects and e.compares_with and e.summary and e.tolerance, name


def test_every_check_class_states_its_own_catalog_facts():
    """Not inherited: a subclass (PredictCheck of ForwardCheck) collects something else."""
    for name in EXPORTED:
        cls = getattr(checks, name).check_class
        assert issubclass(cls, Check), name
        assert {"collects", "compares_with"} <= set(vars(cls)), f"{cls.__name__} of {name}"


def _own_source(cls) -> str:
    """The source of the methods the class resolves to, other than the base Check's."""
    methods = {name for owner in cls.__mro__[:-1] if owner is not Check and owner is not object
               for name, value in vars(owner).items() if inspect.isfunction(value)}
    return "\n".join(textwrap.dedent(inspect.getsource(getattr(cls, name))) for name in methods)


def test_a_check_is_at_grading_exactly_when_its_code_can_defer_its_verdict():
    """``deferred`` in a verdict (the flag, or torch_helpers.deferred) means the grader's
    reference decides; the class must then say which reference, and only then."""
    for name in EXPORTED:
        cls = getattr(checks, name).check_class
        defers = "deferred" in _own_source(cls)
        assert defers == bool(cls.needs_reference), (
            f"{name}: its code {'can' if defers else 'cannot'} defer the verdict, but "
            f"{cls.__name__}.needs_reference is {cls.needs_reference!r}")


def test_check_values_is_deferred_without_its_reference_and_decided_with_it():
    from autograder.student.checks.core import register_reference

    entry = next(e for e in catalog.catalog() if e.name == "check_values")
    assert entry.timing == catalog.AT_GRADING and entry.needs_reference == "values:<reference>"
    result = checks.check_values(lambda x: 8 * x, "double", raise_on_fail=False)
    assert result.passed and result.details.get("deferred")
    register_reference("values:double", lambda x: 2 * x)
    result = checks.check_values(lambda x: 8 * x, "double", raise_on_fail=False)
    assert not result.passed and "deferred" not in result.details


def test_tolerances_are_read_from_the_code_the_verdict_runs():
    entries = {e.name: e for e in catalog.catalog()}
    assert entries["check_values"].tolerance == "VALUE 1e-07"            # tolerances.VALUE
    assert "NETWORK 1e-06" in entries["check_mlp_gradients"].tolerance
    assert "tol=1e-12" in entries["check_im2col"].tolerance               # same(..., 1e-12)
    assert "atol (default 0.002)" in entries["check_class_acc_of_archive"].tolerance
    assert entries["check_archive_accuracy"].tolerance == "set by the call: threshold"
    assert entries["check_one_hot"].tolerance == "exact"


def test_docs_checks_md_is_the_generated_catalog():
    generated = catalog.as_markdown(catalog.catalog())
    assert DOCS.read_text() == generated.rstrip("\n") + "\n", (
        f"docs/CHECKS.md is out of date with the check classes: run "
        f"`{catalog.REGENERATE}` (or `make docs`) and commit it")


def test_the_guide_tells_authors_to_pair_a_deferred_check_with_a_local_assert():
    page = DOCS.read_text()
    assert "pair a deferred check with a local assert" in page
    assert "decided when your work is graded" in page


def test_checks_command_prints_the_catalog_as_json(capsys):
    assert cli.main(["checks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listed] == EXPORTED
    deferred = {e["name"] for e in listed if e["timing"] == "at grading"}
    assert {"check_values", "check_train_one_epoch", "check_evaluate"} <= deferred


def test_checks_command_prints_one_block_per_check(capsys):
    assert cli.main(["checks"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}(" in out for name in EXPORTED)
    assert "feedback:      at grading (needs grader reference values:<reference>)" in out
