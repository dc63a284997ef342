"""Helpers of the checks that run PyTorch code: seeded and restored random generators, the
tiny training problem (a small CNN with fixed weights and a loader whose last batch is
smaller), recording the model's modes, and reading what a student's function returned.

torch is imported inside the functions only, so that importing the check library never
needs it (the from-scratch assignments' kernels have no torch).
"""
from __future__ import annotations

import contextlib
import random

import numpy as np

from ..convert import number, to_array
from ..core import Check, StudentError, call_student


@contextlib.contextmanager
def preserved_rng(seed: int | None = None):
    """Run a block with (optionally) seeded global RNGs, restoring their state afterwards."""
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    torch_state = torch.get_rng_state()
    cuda_states = (torch.cuda.get_rng_state_all()
                   if torch.cuda.is_available() and torch.cuda.is_initialized() else None)
    try:
        if seed is not None:
            random.seed(seed)
            np.random.seed(seed % 2 ** 32)
            torch.manual_seed(seed)
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def _loss_values(values, what: str) -> tuple[np.ndarray, list[str]]:
    """A student's list of losses as float64, plus the type names it contained."""
    if hasattr(values, "detach") or isinstance(values, np.ndarray):
        return to_array(values, what).reshape(-1), [type(values).__name__]
    if not isinstance(values, (list, tuple)):
        raise StudentError(f"{what} is a {type(values).__name__}, expected a list of floats")
    types = sorted({type(v).__name__ for v in values})
    try:
        array = np.array([number(v, what) for v in values], dtype=np.float64)
    except StudentError:
        raise StudentError(f"{what} holds values that are not numbers ({', '.join(types)})") from None
    return array, types


def _number(value, what: str) -> tuple[float, str]:
    """A student's number and the name of its type (the judge names a tensor where a float
    is asked for)."""
    return number(value, what), type(value).__name__

# ----------------------------------------------------------------------------- tiny problems

def tiny_problem(params: dict, dropout: bool = False):
    """A small CNN with fixed weights, a loader over fixed data, and an SGD optimiser.

    params (plain data from a check's ``inputs()``): x float32 (n, 1, 8, 8), y int64 (n,),
    weights {name: array}, batch_size, lr, momentum. Built identically in both halves.
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    layers = [nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    if dropout:
        layers.append(nn.Dropout(0.5))
    layers.append(nn.Linear(27, 10))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            tensor.copy_(torch.from_numpy(params["weights"][key]))
    dataset = TensorDataset(torch.from_numpy(params["x"]), torch.from_numpy(params["y"]))
    loader = DataLoader(dataset, batch_size=params["batch_size"], shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=params["momentum"])
    return model, loader, optimizer


# The wrong losses the grader's reference loops can train with (references/training.py's
# MISTAKEN_LOSSES), and what the judges say when a student's epoch ends where one of them does.
MISTAKEN_LOSS_CAUSES = {
    "label_smoothing": "the loss uses label smoothing (label_smoothing=0.1): the exercise asks "
                       "for the plain mean cross-entropy F.cross_entropy(logits, y)",
    "softmax_then_ce": "a softmax is applied before F.cross_entropy, which applies log-softmax "
                       "itself: pass the raw logits",
    "nll_on_logits": "F.nll_loss is applied to the raw logits, but it expects log-probabilities: "
                     "use F.cross_entropy(logits, y)",
    "summed_loss": "the loss is summed over the batch (reduction='sum'): use the mean "
                   "cross-entropy, so that the step size does not grow with the batch",
}


def record_step_gradients(optimizer) -> tuple[list, object]:
    """Pre-step hook: per ``optimizer.step()`` the total |gradient| it sees. Returns (the
    list it fills, the hook's handle to remove)."""
    steps = []

    def before_step(optimizer, args, kwargs):
        steps.append(float(sum(p.grad.abs().sum() for group in optimizer.param_groups
                               for p in group["params"] if p.grad is not None)))

    return steps, optimizer.register_step_pre_hook(before_step)


def _tiny_inputs(rng: np.random.Generator, dropout: bool = False) -> dict:
    batch_size = int(rng.integers(4, 9))
    n = batch_size * int(rng.integers(4, 8)) + int(rng.integers(1, batch_size))  # a partial last batch
    shapes = {"0.weight": (3, 1, 3, 3), "0.bias": (3,)}
    last = "5" if dropout else "4"
    shapes.update({f"{last}.weight": (10, 27), f"{last}.bias": (10,)})
    weights = {key: (rng.normal(0, 0.5, shape)).astype(np.float32) for key, shape in shapes.items()}
    return {"x": rng.normal(0, 1, (n, 1, 8, 8)).astype(np.float32),
            "y": rng.integers(0, 10, n).astype(np.int64),
            "weights": weights, "batch_size": batch_size,
            "lr": float(rng.choice([0.05, 0.1, 0.2])), "momentum": float(rng.choice([0.5, 0.9]))}


def _call_recording_modes(model, function, what):
    """Call student code on ``model``; return its result and the recorded (training, grad) calls."""
    calls, handle = _record_modes(model)
    try:
        return call_student(function, what=what), calls
    finally:
        handle.remove()


def _require_pair(result, function_name, pair):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise StudentError(f"{function_name} returned {type(result).__name__}, expected a "
                           f"tuple {pair}")


def collect_evaluation(params: dict, seed: int, evaluate, what: str, returns: str,
                       second: str) -> dict:
    """Run an evaluation function on the tiny problem with dropout, its model left in
    training mode (the function itself must switch to eval mode).

    evaluate(model, loader, device) -> (mean loss, ``second``). Output: the loss and
    ``second`` with their type names, the model's state afterwards, and per forward call
    whether the model was in training mode and whether autograd was on.
    """
    import torch

    with preserved_rng(seed):
        model, loader, _ = tiny_problem(params, dropout=True)
        model.train()
        result, calls = _call_recording_modes(
            model, lambda: evaluate(model, loader, torch.device("cpu")), what)
    _require_pair(result, what.split("(")[0], returns)
    loss, loss_type = _number(result[0], "the mean loss")
    value, value_type = _number(result[1], f"the {second}")
    return {"loss": loss, "loss_type": loss_type, second: value, f"{second}_type": value_type,
            "state": state_arrays(model), "training": np.array([c[0] for c in calls], dtype=bool),
            "grad": np.array([c[1] for c in calls], dtype=bool)}


def _record_modes(model):
    """Forward pre-hook that records (training mode, grad enabled) at every call."""
    import torch

    calls = []
    handle = model.register_forward_pre_hook(
        lambda module, args: calls.append((bool(module.training), bool(torch.is_grad_enabled()))))
    return calls, handle


def state_arrays(model) -> dict:
    return {key: value.detach().cpu().double().numpy() for key, value in model.state_dict().items()}


def deferred(check: Check, what: str):
    """The verdict of a judge whose reference lives on the grader side only.

    The values' kind and the modes are checked here; their numbers are compared with the
    grader's reference when the work is graded (a reference loop would be the answer).
    """
    return check.passed(f"{what} as expected; the values themselves are compared with a "
                        "reference when your work is graded", deferred=True)


def _close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)
