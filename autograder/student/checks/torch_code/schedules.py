"""Optimiser and learning-rate schedule factories, and the objects of a final training run.

* ``check_warmup_schedule(make_warmup, ...)`` drives the student's scheduler on a fresh
  optimiser and compares the learning rate of every step with the linear warm-up
  eta_t = eta * (s + (1 - s) * min(t, T) / T), t = 0, 1, 2, ...
* ``check_rejects_unknown_name(make_optimizer, ...)``: a factory raises the named error for
  names it does not know.
* ``check_final_training((model, augment, optimizer, scheduler, history), ...)``: the final
  run of A5 used the augmentation, a LinearLR warm-up and validation it was asked for.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student


def warmup_rates(lr: float, steps: int, start_factor: float, n_steps: int) -> np.ndarray:
    """eta * (s + (1 - s) * min(t, T) / T) for t = 0..n_steps-1. Output: float64 (n_steps,)."""
    t = np.minimum(np.arange(n_steps), steps)
    return lr * (start_factor + (1 - start_factor) * t / steps)


class WarmupScheduleCheck(Check):
    """``make_warmup(optimizer, T, start_factor=s)`` on a fresh torch ``optimizer`` ("SGD",
    "Adam"): the lr of every step follows the linear warm-up (T and lr vary a little with
    the grading nonce around ``warmup_steps`` and ``lr``)."""

    kind = "warmup_schedule"
    collects = "the learning rate of every step of the student's warm-up"
    compares_with = "the linear warm-up computed from the same settings"

    def __init__(self, warmup_steps=10, start_factor=0.01, lr=0.1, n_steps=None,
                 optimizer="SGD", seed=0, name=None, points=1.0):
        super().__init__(name or f"make_warmup over about {warmup_steps} steps from "
                         f"start_factor {start_factor}", points, seed)
        self.warmup_steps, self.start_factor = int(warmup_steps), float(start_factor)
        self.lr, self.optimizer = float(lr), str(optimizer)
        self.n_steps = int(n_steps) if n_steps else None

    def inputs(self):
        # The nonce moves T and the rate a little, so a table of the visible values fails.
        rng = self.rng("schedule")
        steps = self.warmup_steps + int(rng.integers(0, 4))
        lr = float(np.round(self.lr * 2.0 ** rng.uniform(-1, 1), 6))
        return {"lr": lr, "steps": steps, "n_steps": self.n_steps or steps + 8}

    def collect(self, make_warmup):
        import torch

        given = self.inputs()
        weight = torch.nn.Parameter(torch.zeros(3))
        optimizer = getattr(torch.optim, self.optimizer)([weight], lr=given["lr"])
        scheduler = call_student(lambda: make_warmup(optimizer, given["steps"],
                                                     start_factor=self.start_factor),
                                 what=f"make_warmup(optimizer, {given['steps']}, "
                                      f"start_factor={self.start_factor})")
        if not hasattr(scheduler, "step"):
            raise StudentError(f"make_warmup returned a {type(scheduler).__name__}, expected a "
                               "learning-rate scheduler")
        rates = []
        for _ in range(given["n_steps"]):
            rates.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            call_student(scheduler.step, what="scheduler.step()")
        return {"type": type(scheduler).__name__, "rates": np.array(rates)}

    def verdict(self, ev):
        given = self.inputs()
        lr, steps, s = given["lr"], given["steps"], self.start_factor
        want = warmup_rates(lr, steps, s, given["n_steps"])
        got = np.asarray(ev.get("rates"), dtype=np.float64).reshape(-1)
        if got.shape != want.shape or not np.isfinite(got).all():
            return self.failed(f"recorded {got.size} learning rates, expected {want.size} finite ones")
        if np.allclose(got, want, rtol=1e-6, atol=1e-12):
            return self.passed(f"the learning rate rises from {want[0]:g} to {lr:g} over {steps} "
                               "steps, then stays")
        where = f"(lr={lr:g}, warmup_steps={steps}, start_factor={s:g})"
        if not np.isclose(got[0], want[0], rtol=1e-6):
            hint = ": start_factor was not used" if np.isclose(got[0], lr, rtol=1e-6) else ""
            return self.failed(f"the first step uses lr {got[0]:g}, expected start_factor * lr = "
                               f"{want[0]:g} {where}{hint}")
        if np.any(np.diff(got) < -1e-12):
            return self.failed(f"the learning rate falls during the warm-up {where}: it must rise "
                               "linearly, then stay at lr")
        if not np.isclose(got[-1], lr, rtol=1e-6):
            return self.failed(f"after the warm-up the lr is {got[-1]:g}, expected lr = {lr:g} "
                               f"{where}: end_factor must be 1.0")
        reached = int(np.argmax(np.isclose(got, lr, rtol=1e-6)))
        if reached != steps:
            return self.failed(f"the lr reaches its full value after {reached} steps, expected "
                               f"{steps} {where}: total_iters must be warmup_steps")
        t = int(np.argmax(~np.isclose(got, want, rtol=1e-6)))
        return self.failed(f"at step {t} the lr is {got[t]:g}, expected {want[t]:g} "
                           f"(eta * (s + (1 - s) * min(t, T) / T)) {where}")


check_warmup_schedule = WarmupScheduleCheck.function("check_warmup_schedule", "make_warmup")


class RejectsUnknownNameCheck(Check):
    """``factory(bad_name, params, 0.1)`` raises ``error`` (a class name) for every name."""

    kind = "rejects_unknown_name"
    collects = "what factory raised or returned for each unknown name"
    compares_with = "the expected exception class"

    def __init__(self, names=("rmsprop",), error="ValueError", name=None, points=1.0):
        super().__init__(name or f"unknown names raise {error}", points, 0)
        self.names, self.error = [str(n) for n in names], str(error)

    def collect(self, factory):
        import torch

        outcomes = []
        for bad in self.names:
            try:
                made = factory(bad, [torch.nn.Parameter(torch.zeros(2))], 0.1)
                outcomes.append({"raised": None, "returned": type(made).__name__})
            except Exception as err:  # noqa: BLE001 (which error it raises is the evidence)
                outcomes.append({"raised": type(err).__name__, "returned": None})
        return {"outcomes": outcomes}

    def verdict(self, ev):
        outcomes = ev.get("outcomes")
        if not isinstance(outcomes, list) or len(outcomes) != len(self.names):
            return self.failed("the recorded outcomes are malformed")
        for bad, outcome in zip(self.names, outcomes):
            raised = outcome.get("raised") if isinstance(outcome, dict) else "?"
            if raised == self.error:
                continue
            if raised is None:
                return self.failed(f"the name {bad!r} gave a {outcome.get('returned')}; an unknown "
                                   f"name must raise {self.error} (raise {self.error}(f\"unknown "
                                   "optimiser {name!r}\"))")
            return self.failed(f"the name {bad!r} raised {raised}, expected {self.error}: raise it "
                               "yourself after checking the known names")
        return self.passed(f"{', '.join(map(repr, self.names))} raise {self.error}")


check_rejects_unknown_name = RejectsUnknownNameCheck.function(
    "check_rejects_unknown_name", "factory")


def _number_or_none(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _counted_in_epochs(rates: np.ndarray, n_epochs) -> str:
    """A hint when the recorded rates rise for at most as many batches as there were epochs
    (a warm-up length given in epochs to a scheduler that fit steps every batch), else ""."""
    if rates.size < 2 or not np.isfinite(rates).all() or not isinstance(n_epochs, int):
        return ""
    falls = np.flatnonzero(np.diff(rates) < 0)
    rise = int(falls[0]) if falls.size else rates.size - 1
    if not 1 <= rise <= n_epochs or rates.size < 10 * n_epochs or not rates[0] < rates[rise]:
        return ""
    return (f": the rate rises for only {rise} of {rates.size} batches, no more than the "
            f"{n_epochs} epochs; fit calls scheduler.step() after every batch, so the warm-up's "
            "total_iters (and the milestones) count batches, not epochs")


class FinalTrainingCheck(Check):
    """``student`` = (better_model, train_augment, final_optimizer, final_scheduler,
    final_history): the classes by name, the augmentation's settings, fit's record of the
    augmentation, scheduler and validation, and a rising LinearLR warm-up first."""

    kind = "final_training"
    collects = (
        "class names, augmentation settings, optimiser coverage, scheduler rates and "
        "fit's record")
    compares_with = "the settings the assignment asks for and a rising LinearLR warm-up"

    def __init__(self, model_class="BetterCNN", augment_class="RandomCropFlip", padding=4,
                 p_flip=0.5, name=None, points=1.0):
        super().__init__(name or "the final training run", points, 0)
        self.model_class, self.augment_class = str(model_class), str(augment_class)
        self.padding, self.p_flip = padding, p_flip

    def collect(self, student):
        model, augment, optimizer, scheduler, history = student
        if not isinstance(history, dict):
            raise StudentError(f"final_history is a {type(history).__name__}, expected the dict "
                               "that fit returns")
        first = getattr(scheduler, "_schedulers", [scheduler])[0]
        groups = getattr(optimizer, "param_groups", [])
        held = {id(p) for group in groups for p in group.get("params", [])}
        wanted = [p for p in model.parameters()] if hasattr(model, "parameters") else []
        rates = history.get("lr", [])
        return {
            "model_type": type(model).__name__, "augment_type": type(augment).__name__,
            "padding": _number_or_none(getattr(augment, "padding", None)),
            "p_flip": _number_or_none(getattr(augment, "p_flip", None)),
            "fit_augment": history.get("augment") is augment,
            "fit_scheduler": history.get("scheduler") is scheduler,
            "n_val": len(history.get("val_acc", []) or []),
            "n_epochs": len(history.get("epoch", []) or []),
            "first_type": type(first).__name__,
            "start_factor": _number_or_none(getattr(first, "start_factor", None)),
            "end_factor": _number_or_none(getattr(first, "end_factor", None)),
            "same_optimizer": getattr(first, "optimizer", None) is optimizer,
            "n_model": len(wanted), "n_covered": sum(id(p) in held for p in wanted),
            "rates": np.array([_number_or_none(r) if _number_or_none(r) is not None else np.nan
                               for r in (rates if isinstance(rates, list) else [])]),
        }

    def verdict(self, ev):
        if ev.get("model_type") != self.model_class:
            return self.failed(f"better_model is a {ev.get('model_type')}, expected a "
                               f"{self.model_class}")
        if ev.get("augment_type") != self.augment_class:
            return self.failed(f"train_augment is a {ev.get('augment_type')}, expected your "
                               f"{self.augment_class}")
        if (ev.get("padding"), ev.get("p_flip")) != (self.padding, self.p_flip):
            return self.failed(f"train_augment has padding={ev.get('padding')} and p_flip="
                               f"{ev.get('p_flip')}; the final training asks for "
                               f"{self.augment_class}(padding={self.padding}, p_flip={self.p_flip})")
        if not ev.get("fit_augment"):
            return self.failed("the final fit did not use train_augment: pass augment=train_augment")
        if not ev.get("fit_scheduler"):
            return self.failed("the final fit did not use final_scheduler: pass "
                               "scheduler=final_scheduler")
        if not ev.get("n_val"):
            return self.failed("the final training never validated: pass X_val=X_val, y_val=y_val")
        if ev.get("n_model") and ev.get("n_covered") != ev.get("n_model"):
            return self.failed(f"final_optimizer holds {ev.get('n_covered')} of better_model's "
                               f"{ev.get('n_model')} parameter tensors: build it from "
                               "better_model.parameters()")
        if ev.get("first_type") != "LinearLR":
            return self.failed(f"final_scheduler starts with a {ev.get('first_type')}; it must start "
                               "with a LinearLR warm-up (alone, or first in a SequentialLR)")
        if not ev.get("same_optimizer"):
            return self.failed("the warm-up is attached to another optimiser than final_optimizer")
        start, end = ev.get("start_factor"), ev.get("end_factor")
        if start is None or end is None or not start < end:
            return self.failed(f"the LinearLR warm-up goes from factor {start} to {end}: a warm-up "
                               "rises (start_factor < end_factor)")
        rates = np.asarray(ev.get("rates"), dtype=np.float64).reshape(-1)
        warm = max(2, rates.size // 50)
        if rates.size < 2 or not np.isfinite(rates).all() or not rates[0] < rates.max() \
                or np.any(np.diff(rates[:warm]) < 0):
            return self.failed("the learning rates that fit recorded do not start with a warm-up "
                               "(rising from a lower value over the first batches)"
                               + _counted_in_epochs(rates, ev.get("n_epochs")))
        return self.passed(f"{self.model_class} trained with {self.augment_class}(padding="
                           f"{self.padding}, p_flip={self.p_flip}), a LinearLR warm-up and "
                           "validation")


check_final_training = FinalTrainingCheck.function("check_final_training", "student")
