"""What a model's own behaviour shows about a typical mistake in building it:

* ``check_model_nonlinear``: the forward is not an affine function of its input (a network
  without a nonlinearity between its layers is one linear layer, however many it stacks);
* ``matmul_evidence`` / ``matmul_message``: when ``model(x)`` raised in a matrix product,
  the two shapes of that product, and what they say about the input (the whole batch
  flattened into one row);
* ``unregistered_modules``: modules kept in a plain list, tuple or dict attribute, which
  PyTorch does not register (``model.parameters()`` never sees them).

The collect halves record plain numbers; the judge halves compare them with the check's own
inputs before they name a cause, and a named cause changes only the words of a failure.
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..convert import numeric
from ..core import Check, StudentError, call_student
from .torch_helpers import preserved_rng

__all__ = ["check_model_nonlinear"]

MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
FLATTEN_FROM_1 = "flatten from dimension 1 (x.flatten(1), x.view(x.size(0), -1) or nn.Flatten())"


def matmul_evidence(err: StudentError) -> dict | None:
    """Collect half: for a StudentError from ``call_student`` whose exception is torch's
    "mat1 and mat2 shapes cannot be multiplied (a x b and c x d)", the plain evidence
    {"raised": what/type/line/function, "matmul": [a, b, c, d]}; otherwise None."""
    found = MATMUL.search(str(err))
    if not found or not isinstance(err.raised, dict):
        return None
    return {"raised": dict(err.raised), "matmul": [int(n) for n in found.groups()]}


def _word(value, default: str) -> str:
    return value if isinstance(value, str) and value.isidentifier() and len(value) <= 60 else default


def matmul_message(ev: dict, input_shape: tuple) -> str:
    """Judge half: the failure for ``matmul_evidence``. The cause is named only when the
    product's first operand is exactly the check's whole input as one row (1 x N*features)."""
    raised = ev["raised"] if isinstance(ev.get("raised"), dict) else {}
    rows, cols, w_rows, w_cols = (int(n) for n in ev["matmul"])
    place = (f" at line {raised['line']} of {_word(raised.get('function'), 'forward')}"
             if isinstance(raised.get("line"), int) else "")
    what = "model(x) raised RuntimeError"
    text = (f"{what}{place}: a matrix product of a {rows}x{cols} input and a {w_rows}x{w_cols} "
            f"weight, for x of shape {tuple(input_shape)}")
    n, features = input_shape[0], math.prod(input_shape[1:])
    if n > 1 and rows == 1 and cols == n * features:
        return (f"{text}: the forward flattens the whole batch into one vector ({n} x "
                f"{features} = {cols} numbers in one row); {FLATTEN_FROM_1}")
    if cols != w_rows:
        return f"{text}: that layer expects {w_rows} input features per example and gets {cols}"
    return text


def unregistered_modules(model) -> list:
    """Collect half: [[attribute path, container type, number of modules, their parameter
    count]] for each plain list/tuple/dict attribute of the model (or of its submodules)
    that holds nn.Modules: PyTorch registers only modules assigned directly or held in
    nn.ModuleList / nn.ModuleDict / nn.Sequential."""
    if not hasattr(model, "named_modules"):  # a dict of NumPy arrays: no torch needed
        return []
    from torch import nn

    if not isinstance(model, nn.Module):
        return []
    found = []
    try:  # only words depend on this: an odd attribute must not fail the count itself
        registered = {id(m) for m in model.modules()}
        for prefix, module in model.named_modules():
            for attr, value in list(vars(module).items()):
                if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                    continue
                items = list(value.values())[:1000] if isinstance(value, dict) else value[:1000]
                held = [m for m in items if isinstance(m, nn.Module) and id(m) not in registered]
                if held:
                    count = sum(p.numel() for m in held for p in m.parameters() if p.requires_grad)
                    found.append([f"{prefix}.{attr}" if prefix else attr, type(value).__name__,
                                  len(held), int(count)])
    except Exception:  # noqa: BLE001 (a student's container that misbehaves names nothing)
        return []
    return found[:20]


SHOWN_CONTAINERS = 4  # named in the message, whatever the evidence lists


def unregistered_message(rows: list, total: int, expected: int) -> str:
    """Judge half: the cause of a parameter count that is too low, when modules sit in plain
    containers and their parameters are exactly the ones missing."""
    rows = [r for r in rows if isinstance(r, list) and len(r) == 4
            and isinstance(r[0], str) and all(isinstance(n, int) for n in r[2:])]
    if not rows or total >= expected or total + sum(r[3] for r in rows) != expected:
        return ""
    where = ", ".join(f"self.{name[:60]} is a plain Python {kind if kind in ('list', 'tuple', 'dict') else 'container'} "
                      f"of {n} modules" for name, kind, n, _ in rows[:SHOWN_CONTAINERS])
    if len(rows) > SHOWN_CONTAINERS:  # evidence is the kernel's word: its length is not
        where += f" and {len(rows) - SHOWN_CONTAINERS} more"
    return (f" {where}: PyTorch does not register modules kept in a plain Python list, so "
            "model.parameters() (and the optimiser) never sees them; the missing parameters are "
            "exactly theirs. Use nn.ModuleList (or nn.Sequential).")


class NonlinearCheck(Check):
    """``model(x)`` is not an affine function of ``x``: on seeded inputs x, y of
    ``input_shape`` and the mixtures (x + y) / 2 and 2x - y, the outputs of an affine model
    mix exactly as the inputs do. A network whose layers have no nonlinearity between them
    is one linear layer, however many it stacks. The model runs in eval mode under no_grad
    (its mode is restored)."""

    kind = "model_nonlinear"
    collects = "model(x) on two seeded inputs and two affine mixtures of them"
    compares_with = "the same mixtures of the outputs (an affine model matches them)"

    def __init__(self, input_shape, seed=0, name=None, points=1.0):
        self.input_shape = tuple(int(n) for n in input_shape)
        super().__init__(name or "the model is not linear", points, seed)

    def inputs(self):
        rng = self.rng("x")
        x, y = (rng.normal(0, 1, self.input_shape).astype(np.float32) for _ in range(2))
        return {"x": x, "y": y, "mid": (x + y) / 2, "out": 2 * x - y}

    def collect(self, model):
        import torch

        if not hasattr(model, "parameters") or not hasattr(model, "train"):
            raise StudentError(f"got a {type(model).__name__}, expected an nn.Module")
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        was_training, evidence = bool(model.training), {}
        try:
            model.eval()
            with preserved_rng(self.seed), torch.no_grad():
                for key, x in self.inputs().items():
                    try:
                        out = call_student(model, torch.from_numpy(x).to(device), what="model(x)")
                    except StudentError as err:
                        return matmul_evidence(err) or {"error": str(err), "raised": err.raised}
                    if not isinstance(out, torch.Tensor):
                        raise StudentError(f"model(x) returned a {type(out).__name__}, expected "
                                           "a tensor of logits")
                    evidence[key] = out.detach().cpu().double().numpy()
        finally:
            model.train(was_training)
        return evidence

    def verdict(self, ev):
        if "matmul" in ev:
            return self.failed(matmul_message(ev, self.input_shape))
        outs = {key: numeric(ev.get(key)) for key in ("x", "y", "mid", "out")}
        shapes = {None if v is None else v.shape for v in outs.values()}
        if len(shapes) != 1 or None in shapes:
            return self.failed("model(x) did not return one array of the same shape for each input")
        x, y = outs["x"], outs["y"]
        scale = max(np.abs(x).max(), np.abs(y).max(), 1e-12)
        gap = max(np.abs(outs["mid"] - (x + y) / 2).max(), np.abs(outs["out"] - (2 * x - y)).max())
        if not np.isfinite(gap):
            return self.failed("model(x) returned NaN or inf")
        if gap <= 1e-4 * scale:
            return self.failed(
                f"model(x) is an affine function of x: on x, y, (x + y) / 2 and 2x - y its "
                f"outputs mix exactly as the inputs do (up to {gap:.1e}, outputs of size "
                f"{scale:.3g}). There is no nonlinearity between the layers (the forward skips "
                "the ReLU): the model is linear, and its stacked layers are no better than one. "
                "Apply F.relu to each hidden layer's output")
        return self.passed(f"nonlinear: the outputs of mixed inputs differ from the mixed "
                           f"outputs by up to {gap:.3g}")


check_model_nonlinear = NonlinearCheck.function("check_model_nonlinear", "model")
