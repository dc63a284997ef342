"""The shape every check has: *collect* where the student's code runs, *judge* anywhere.

A check is a small class:

* ``inputs()``: the inputs the student's code is called on, derived only from the check's
  own parameters and its seed, so both halves can re-derive them.
* ``collect(student)``: calls the student's objects on those inputs and returns
  **plain data only** (NumPy arrays, numbers, strings, lists and dicts of them).
* ``verdict(evidence)``: a pure function of that plain data and the check's own references
  (torch autograd, the grader's data) that returns ``self.passed(...)`` or
  ``self.failed(...)``. It never sees the student's objects, so a later stage can run it in
  a separate, trusted process. Callers use ``judge(evidence)``, which wraps it so that
  malformed evidence becomes a failure with a message, never an exception.

``run(check, student)`` does both in one process (the notebook case). Any exception in
the student's code, and anything odd it returns, becomes a failed result with a message,
never a crash inside the check. In a grading kernel it only collects: the evidence goes
to ``$AUTOGRADER_EVIDENCE`` under the check's :meth:`Check.identity`, and the trusted
judge, which rebuilds the same check from ``source/``, decides (grader/replay.py).

Some judges need a reference that is itself an answer to an exercise (a training loop, a
NumPy Adam). Those references live on the grader side (``autograder.grader.references``,
which installs them by a call, never on import) and reach a judge through
:func:`grader_reference`; where they are absent (a student's
Jupyter, a grading kernel) the judge decides what it can without them and says so, and
the trusted judge re-scores the recorded evidence at grading.
"""
from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import traceback

import numpy as np

from .evidence import encode
from .reach import calls_recorded
from .result import CheckResult, Malformed, StudentError


class Check:
    """Base class. Subclasses set ``kind``, implement inputs/collect/verdict, and declare
    their public function with :meth:`function` (the class docstring is its help)."""

    kind = "check"

    # Facts the catalog of checks (``autograder checks``) cannot derive from the code.
    collects = ""        # what the kernel records as evidence (plain words)
    compares_with = ""   # what the judge compares that evidence with
    # The ``register_reference`` kind without which the verdict is partial (decided at
    # grading); ``<param>`` is a constructor parameter. None: decided where it runs.
    needs_reference: str | None = None
    tolerance = ""       # only where the derived tolerance needs a word of explanation

    def __init__(self, name: str, points: float = 1.0, seed: int = 0):
        self.name = name
        self.points = points
        self.seed = seed
        self.nonce = None   # the grading run's nonce when judged outside the kernel
        self.folder = None  # the submission's folder when judged outside the kernel

    # -- the two halves --------------------------------------------------------
    def inputs(self) -> dict:
        return {}

    def collect(self, student) -> dict:
        raise NotImplementedError

    def verdict(self, evidence: dict) -> CheckResult:
        """The decision: ``self.passed(...)`` or ``self.failed(...)`` from the evidence and
        the check's own references. May raise StudentError (its message is the failure's)
        or fail on malformed evidence (a KeyError, a Malformed...): :meth:`judge` turns
        both into failures."""
        raise NotImplementedError

    def judge(self, evidence: dict) -> CheckResult:
        """The verdict on ``evidence``; malformed (forged) evidence becomes a failure with a
        message, never an exception. Subclasses implement :meth:`verdict`, not this."""
        try:
            return self.verdict(evidence)
        except StudentError as err:
            return self.failed(str(err))
        except ImportError:
            # No torch in a from-scratch grading kernel: there the verdict counts for nothing
            # and the trusted judge, which has torch, decides from the recorded evidence.
            if grading():
                return self.passed("recorded; judged when your work is graded", deferred=True)
            return self.failed("this check's judge needs torch, which is not installed here")
        except (Malformed, KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            return self.failed(f"the recorded result is malformed ({type(err).__name__}: "
                               f"{str(err)[:200]}); it was not produced by this check on its "
                               "inputs")

    def identity(self) -> str:
        """What the check is, from its parameters alone (never from the student's objects):
        the kernel files its evidence under it and the judge, having rebuilt the check from
        source/, looks the evidence up by it."""
        state = {k: v for k, v in sorted(vars(self).items())
                 if k not in ("nonce", "folder", "reached")}
        # a parameter that is not plain data raises TypeError: the check is unreplayable
        text = json.dumps(encode([type(self).__name__, self.kind, state]),
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    @classmethod
    def function(cls, name: str, *student: str, after: tuple[str, ...] = ()):
        """The public ``check_*`` function of this check, declared once: its parameters are
        ``student`` (the student's objects: one is passed to ``collect`` as it is, several
        as a tuple, none as None for a check of a saved file), then the constructor's, then
        ``raise_on_fail=True`` (the constructor's parameters named in ``after`` come after
        it, and its ``**options`` last); its docstring is the class's.
        ``check_x(obj, a, b=1)`` is ``run(XCheck(a=a, b=b), obj, True)``.

        The function is compiled from that signature, so positional and keyword calls,
        ``help()`` and the judge's replay see an ordinary function.
        """
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        named = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        options = [p.name for p in params if p.kind is p.VAR_KEYWORD]
        assert len(named) + len(options) == len(params), f"{cls.__name__}: unsupported parameters"
        first = [p for p in named if p.name not in after]
        last = [p for p in named if p.name in after]
        assert len(last) == len(after) and all(p.default is not p.empty for p in last), after
        names = [*student, *(p.name for p in first), "raise_on_fail", *(p.name for p in last),
                 *(f"**{o}" for o in options)]
        given = ", ".join([*(f"{p.name}={p.name}" for p in named), *(f"**{o}" for o in options)])
        obj = {0: "None", 1: "".join(student)}.get(len(student), f"({', '.join(student)},)")
        source = (f"def {name}({', '.join(names)}):\n"
                  f"    return run(cls({given}), {obj}, raise_on_fail)\n")
        namespace = {"run": run, "cls": cls}
        exec(compile(source, f"<{cls.__name__}.function>", "exec"), namespace)  # noqa: S102
        function = namespace[name]
        function.__defaults__ = (*(p.default for p in first if p.default is not p.empty), True,
                                 *(p.default for p in last))
        function.__annotations__ = {p.name: p.annotation for p in params
                                    if p.annotation is not p.empty}
        function.__doc__, function.__module__ = cls.__doc__, cls.__module__
        function.check_class = cls  # the catalog of checks reads the facts from the class
        return function

    # -- helpers for subclasses ------------------------------------------------
    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded by the check's kind, name, seed and the run's nonce."""
        return np.random.default_rng(derive_seed(self.kind, self.name, self.seed, salt,
                                                 nonce=self.nonce))

    def passed(self, message: str = "correct", **details) -> CheckResult:
        return CheckResult(self.name, True, message, self.points, self.points, details)

    def failed(self, message: str, **details) -> CheckResult:
        return CheckResult(self.name, False, message, 0.0, self.points, details)


def derive_seed(*parts, nonce: str | None = None) -> int:
    """A 63-bit seed from the parts and the nonce (default ``$AUTOGRADER_NONCE``, set per
    grading run).

    Without a nonce the inputs are the same on every run (what a student sees); the
    grader sets a fresh nonce so a solution shaped to the visible inputs cannot pass.
    """
    if nonce is None:
        nonce = os.environ.get("AUTOGRADER_NONCE", "")
    text = "|".join(str(p) for p in (*parts, nonce))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


# kind -> callable: empty until the grader installs its references by a call
# (``autograder.grader.references.install``; importing never registers anything), so a
# student's Jupyter or a grading kernel never has them.
_GRADER_REFERENCES: dict = {}


def register_reference(kind: str, function) -> None:
    """Grader side only: make ``function`` the reference for checks of ``kind``."""
    _GRADER_REFERENCES[kind] = function


def grader_reference(kind: str):
    """The grader's reference for checks of ``kind``, or None where none is installed."""
    return _GRADER_REFERENCES.get(kind)


def registered_references() -> dict:
    """{kind: reference} installed now (a copy)."""
    return dict(_GRADER_REFERENCES)


def forget_references() -> None:
    """Uninstall every reference: checks decide only what needs no answer, as in a
    student's process (the tests start each test so)."""
    _GRADER_REFERENCES.clear()


def grading() -> bool:
    """True inside a grading kernel (evidence is recorded for the trusted judge)."""
    return bool(os.environ.get("AUTOGRADER_EVIDENCE"))


def call_student(function, *args, what: str = "your code"):
    """Call student code; turn any exception into a ``StudentError`` with a short trace."""
    try:
        return function(*args)
    except Exception as err:  # noqa: BLE001 (any student bug must become a message)
        frames = traceback.extract_tb(err.__traceback__)[-1:]
        where = f" (line {frames[0].lineno} of {frames[0].name})" if frames else ""
        raised = {"what": what, "type": type(err).__name__,
                  "line": frames[0].lineno if frames else None,
                  "function": frames[0].name if frames else None}
        raise StudentError(f"{what} raised {type(err).__name__}: {err}{where}",
                           raised) from None


class StudentObject:
    """Stands for an argument the judge does not have: the student's function, model or
    loader in a check call. Any attribute of it, or call on it, is another placeholder, so
    a check function can build its Check unchanged (``relu.gradient`` works)."""

    def __init__(self, source: str = "student object"):
        self._source = source

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return StudentObject(f"{self._source}.{name}")

    def __call__(self, *args, **kwargs):
        return StudentObject(f"{self._source}(...)")

    def __repr__(self):
        return f"<student object {self._source}>"


_BUILT: list | None = None  # set while the judge rebuilds checks (see ``building``)


@contextlib.contextmanager
def building():
    """Within this block ``run`` runs nothing: it keeps the check it was given.

    The judge calls a test cell's ``check_*`` functions here, with placeholders for the
    student's objects, to get exactly the Check objects that the kernel ran.
    """
    global _BUILT
    outer, _BUILT = _BUILT, []
    try:
        yield _BUILT
    finally:
        _BUILT = outer


def run(check: Check, student, raise_on_fail: bool = True) -> CheckResult:
    """Collect and judge in this process; assert-style unless ``raise_on_fail=False``.

    In a grading kernel only collect: the judge decides, and what this process would
    conclude counts for nothing (it may be running next to hostile code).
    """
    if _BUILT is not None:
        _BUILT.append(check)
        return CheckResult(check.name, True, "built for the judge", 0.0, check.points)
    identity = _identity_or_none(check)  # before collect, which may cache state on the check
    # in a grading kernel, which of the notebook's definitions collect enters (reach.py)
    with calls_recorded(grading()) as reached:
        try:
            evidence = check.collect(student)
        except StudentError as err:
            evidence = {"error": str(err), **({"raised": err.raised} if err.raised else {})}
        except Exception as err:  # noqa: BLE001 (odd return values surface here as errors)
            evidence = {"error": f"the check could not use what your code returned "
                                 f"({type(err).__name__}: {err})"}
    if grading():
        check.reached = reached.filed()   # filed with the evidence; not in the identity
    record_evidence(check, evidence, identity)
    if grading():
        return CheckResult(check.name, True, "recorded: the grader decides", 0.0, check.points,
                           {"recorded": True})
    if "error" in evidence:
        result = check.failed(evidence["error"])
    else:
        result = check.judge(evidence)
    record_result(result)
    if result.passed and result.details.get("deferred"):
        print(deferred_note(result), flush=True)
    if raise_on_fail:
        result.raise_if_failed()
    return result


def deferred_note(result: CheckResult) -> str:
    """What a student reads under a check that passed here but is decided only at grading.

    Printed, not returned: the kit's test lines end with ``;``, which hides a returned
    value, and a silent pass would read as "correct" (an 8x-too-large gradient of the
    right shape passes everything this process can decide). Never printed in a grading
    kernel, where ``run`` returns before judging.
    """
    return (f"note: {result.name}: only partly checked here, the rest is decided when your "
            f"work is graded ({result.message})")


def record_result(result: CheckResult) -> None:
    """For calibration runs: append the result to ``$AUTOGRADER_RESULTS`` (JSON lines)."""
    path = os.environ.get("AUTOGRADER_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(encode(result.to_dict())) + "\n")


def _identity_or_none(check: Check) -> str | None:
    try:
        return check.identity()
    except TypeError:  # a parameter that is not plain data: the judge could not replay it
        return None


def record_evidence(check: Check, evidence: dict, identity: str | None) -> None:
    """In a grading kernel: append the evidence to ``$AUTOGRADER_EVIDENCE``."""
    path = os.environ.get("AUTOGRADER_EVIDENCE")
    if not path or identity is None:
        return
    from .evidence import append_evidence

    append_evidence(path, check, evidence, identity)
