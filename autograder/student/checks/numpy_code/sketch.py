"""Gradients of a large network, recorded as a small sketch that only backprop makes cheap.

Why: on the small networks of the gradient checks (tens of parameters), central
differences of the student's own forward pass are as accurate as backprop (fourth order
agrees with autograd to ~1e-10) and take milliseconds, so a check on them cannot tell
backprop from numerical differentiation. Each gradient check therefore also runs the
student's code on a large network, where the two differ by orders of magnitude:

* backprop costs about three forward passes, whatever the number of parameters P;
* numerical differentiation costs 2 (central) or 4 (fourth-order) forward passes *per
  parameter*, 2P-4P passes in all. Each check states its own sizes and the measured cost.

Recording P gradient entries would be megabytes of evidence per check, so the kernel
records a sketch from which the judge, who computes the full reference with autograd,
can tell whether the whole gradient was right:

* ``blocks``: the sum of squares of each of BLOCKS contiguous blocks of every gradient
  array, flattened (fewer blocks for a smaller array). A sum of squares is not linear in
  the gradient, so it cannot be had from a few directional derivatives (two forward
  passes each): it needs every entry of its block, or a Monte-Carlo estimate whose
  relative error after m passes is about sqrt(2/m), 1e-6 only after 10^12 passes. Nor
  can its value be guessed: only the full gradient gives it. The evidence stays at most
  BLOCKS + SAMPLE numbers per array, whatever its size.
* ``sample``: SAMPLE entries of each array at indices drawn from the check's seed and the
  job's nonce, so a wrong sign or a transposed gradient is reported with its place.

Both sides compute the same sketch (:func:`sketch`), the kernel of the student's
gradients and the judge of autograd's, and :func:`compare_sketches` compares them.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import to_array
from ..compare import compare
from ..core import StudentError
from ..convert import evidence_array
from ..result import Malformed

SAMPLE = 32   # entries sampled per gradient array
BLOCKS = 256  # sums of squares per gradient array


def sample_indices(rng: np.random.Generator, shapes: dict) -> dict:
    """name -> flat indices (at most SAMPLE, without repeats) into an array of that shape."""
    out = {}
    for name in sorted(shapes):
        size = int(np.prod(shapes[name]))
        out[name] = np.sort(rng.choice(size, min(SAMPLE, size), replace=False))
    return out


def sketch(grads: dict, indices: dict) -> dict:
    """The sketch of gradient arrays: per array, block sums of squares and sampled entries.

    grads: name -> float64 array; indices: from :func:`sample_indices`.
    Output: name -> {"blocks": (min(BLOCKS, size),), "sample": (min(SAMPLE, size),)}.
    """
    out = {}
    for name, index in indices.items():
        g = np.asarray(grads[name], dtype=np.float64).reshape(-1)
        count = min(BLOCKS, g.size)
        starts = np.arange(count) * g.size // count  # block k: entries starts[k] .. starts[k+1]
        out[name] = {"blocks": np.add.reduceat(g * g, starts) if g.size else np.zeros(0),
                     "sample": g[index]}
    return out


def student_sketch(grads: dict, shapes: dict, indices: dict, what: str) -> dict:
    """The sketch of the student's gradients, after checking keys and shapes (kernel side).

    Raises StudentError naming the first missing or misshapen gradient.
    """
    if not isinstance(grads, dict):
        raise StudentError(f"{what} returned a {type(grads).__name__}, expected a dict of "
                           "gradients")
    arrays = {}
    for name, shape in shapes.items():
        if name not in grads:
            raise StudentError(f"{what} returned no gradient for {name!r}")
        arrays[name] = to_array(grads[name], f"the gradient of {name} ({what})")
        if arrays[name].shape != tuple(shape):
            raise StudentError(f"{what}: the gradient of {name} has shape "
                               f"{arrays[name].shape}, expected {tuple(shape)}")
    return sketch(arrays, indices)


def compare_sketches(got: dict, want: dict, tol: float = tolerances.NETWORK) -> str | None:
    """None when the recorded sketch matches the reference's, else a message (judge side).

    Sampled entries first (their message says where and by how much); then the block sums
    of squares, which only the whole gradient gives. Relative errors of both are ~1e-12
    between two correct float64 computations in a different order.
    """
    for name in sorted(want):
        if name not in got:
            raise StudentError(f"nothing was recorded for the gradient of {name}")
        entry = got[name]
        if not isinstance(entry, dict):
            raise StudentError(f"the record of the gradient of {name} is malformed")
        for part, what in (("sample", f"sampled entries of the gradient of {name}"),
                           ("blocks", f"the sums of squares of {len(want[name]['blocks'])} "
                                      f"blocks of the gradient of {name}")):
            observed = evidence_array(entry[part], what, 1)
            problem = compare(what, observed, want[name][part], tol)
            if problem:
                return problem
    return None


def failure_record(err: StudentError) -> dict:
    """The record of a large run that failed in the student's code (kernel side)."""
    return {"error": str(err), **({"raised": err.raised} if err.raised else {})}


def failure_message(record: dict) -> str:
    """What to say about a failed large run (judge side). When the student's code raised,
    only the exception's type and place, never its text (the student's process talking);
    otherwise the collect half's own description."""
    raised = record.get("raised")
    if isinstance(raised, dict):
        def name(value):
            return value if isinstance(value, str) and value.isidentifier() and len(value) <= 60 else None
        place = (f" at line {raised['line']} of {name(raised.get('function'))}"
                 if isinstance(raised.get("line"), int) and name(raised.get("function")) else "")
        what = raised.get("what") if isinstance(raised.get("what"), str) else "your code"
        return f"{what[:200]} raised {name(raised.get('type')) or 'an exception'}{place}"
    return str(record.get("error"))[:500]


def large_run_problem(large, want, small: str, where: str) -> str | None:
    """Judge side: None when the kernel's record of a large run (``large``) matches the
    judge's own sketch (``want()``, computed only when a sketch was recorded), else the
    message. small: what the small run was ("input", "network"); where: the large run
    ("on an input of shape (...)")."""
    if not isinstance(large, dict) or not ("sketch" in large or "error" in large):
        return f"nothing was recorded for the large {small}"
    if "error" in large:
        return f"right on the small {small}, but {failure_message(large)}"
    try:
        problem = compare_sketches(large["sketch"], want())
    except StudentError as err:
        problem = str(err)
    except (Malformed, KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        problem = (f"the record is malformed ({type(err).__name__}); it was not produced by "
                   "this check on its inputs")
    return f"right on the small {small}, but wrong {where}: {problem}" if problem else None
