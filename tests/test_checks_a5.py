"""The A5 checks (augment, schedules, models, per_class): a correct implementation passes
and each typical mistake fails with its own message."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.student.checks.torch_code.augment import check_random_crop_flip
from autograder.student.checks.torch_code.makeup import check_parameter_sizes
from autograder.student.checks.torch_code.per_class import check_class_accuracies
from autograder.student.checks.torch_code.schedules import (check_final_training, check_rejects_unknown_name,
                                                 check_warmup_schedule)


def failure(result):
    assert not result.passed, f"expected a failure, got: {result.message}"
    return result.message


def ok(result):
    assert result.passed, result.message
    return result.message


# ----------------------------------------------------------------------------- RandomCropFlip

class CropFlip:
    """A correct batched crop and flip, with switches for the typical mistakes."""

    def __init__(self, padding=4, p_flip=0.5, mistake=None):
        self.padding, self.p_flip, self.mistake = padding, p_flip, mistake

    def __call__(self, x):
        n, c, h, w = x.shape
        p = self.padding
        if self.mistake == "in_place":
            x.mul_(1.0)
            x[0, 0, 0, 0] += 1.0
        mode = {"reflect": "reflect", "replicate": "replicate"}.get(self.mistake, "constant")
        padded = F.pad(x, (p, p, p, p), mode=mode) if p else x
        high = 2 * p if self.mistake == "off_by_one" else 2 * p + 1
        top, left = torch.randint(0, max(high, 1), (n,)), torch.randint(0, max(high, 1), (n,))
        if self.mistake == "one_offset":
            top, left = top[:1].expand(n), left[:1].expand(n)
        crops = torch.stack([padded[i, :, top[i]:top[i] + h, left[i]:left[i] + w] for i in range(n)])
        p_flip = 1 - self.p_flip if self.mistake == "inverse_rate" else self.p_flip
        flip = torch.rand(n) < p_flip
        if self.mistake == "one_flip":
            flip = flip[:1].expand(n) if n else flip
        axis = 2 if self.mistake == "vertical" else 3
        out = torch.where(flip.view(n, 1, 1, 1), crops.flip(dims=(axis,)), crops)
        if self.mistake == "resize":
            out = F.interpolate(out, scale_factor=0.5)
        return out


def crop_flip(mistake=None):
    return lambda padding, p_flip: CropFlip(padding, p_flip, mistake)


@pytest.mark.parametrize("padding, p_flip, shape", [
    (4, 0.5, (64, 3, 32, 32)), (2, 0.3, (120, 1, 20, 24)), (0, 0.0, (8, 3, 6, 6)),
    (0, 1.0, (8, 3, 6, 6)), (3, 1.0, (40, 2, 10, 10))])
def test_crop_flip_correct_passes(padding, p_flip, shape):
    ok(check_random_crop_flip(crop_flip(), padding, p_flip, shape, raise_on_fail=False))


@pytest.mark.parametrize("mistake, words", [
    ("in_place", "changed its input"),
    ("reflect", "reflect-padded"),
    ("replicate", "edge-padded"),
    ("off_by_one", "exclusive"),
    ("one_offset", "same offset"),
    ("vertical", "upside down"),
    ("inverse_rate", "1 - p_flip"),
    ("one_flip", "whole batch"),
    ("resize", "has shape"),
])
def test_crop_flip_mistakes_fail_with_their_message(mistake, words):
    result = check_random_crop_flip(crop_flip(mistake), 4, 0.25, (64, 3, 16, 16), seed=1,
                                    raise_on_fail=False)
    assert words in failure(result)


def test_crop_flip_ignoring_p_flip_fails():
    result = check_random_crop_flip(lambda padding, p_flip: CropFlip(padding, 0.5), 2, 0.0,
                                    (32, 1, 8, 8), raise_on_fail=False)
    assert "p_flip=0" in failure(result)


def test_crop_flip_inputs_follow_the_nonce(monkeypatch):
    from autograder.student.checks.torch_code.augment import RandomCropFlipCheck

    first = RandomCropFlipCheck(2, 0.5, (4, 1, 5, 5)).inputs()["x"]
    monkeypatch.setenv("AUTOGRADER_NONCE", "job-42")
    assert not np.array_equal(first, RandomCropFlipCheck(2, 0.5, (4, 1, 5, 5)).inputs()["x"])


# ----------------------------------------------------------------------------- warm-up

def make_warmup(optimizer, warmup_steps, start_factor=0.01):
    return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=start_factor, end_factor=1.0,
                                             total_iters=warmup_steps)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_warmup_correct_passes(optimizer):
    ok(check_warmup_schedule(make_warmup, 37, 0.2, 0.004, 50, optimizer, raise_on_fail=False))


@pytest.mark.parametrize("wrong, words", [
    (lambda o, t, start_factor=0.01: torch.optim.lr_scheduler.LinearLR(o, 1.0, 1.0, t),
     "start_factor was not used"),
    (lambda o, t, start_factor=0.01: torch.optim.lr_scheduler.LinearLR(o, start_factor, 0.5, t),
     "end_factor must be 1.0"),
    (lambda o, t, start_factor=0.01: torch.optim.lr_scheduler.LinearLR(o, start_factor, 1.0, t + 5),
     "total_iters must be warmup_steps"),
    (lambda o, t, start_factor=0.01: torch.optim.lr_scheduler.LinearLR(o, start_factor, 1.0, t // 2),
     "total_iters must be warmup_steps"),
    (lambda o, t, start_factor=0.01: torch.optim.lr_scheduler.LambdaLR(
        o, lambda k: start_factor if k == 0 else (0.5 if k < 5 else 0.3)), "falls"),
    (lambda o, t, start_factor=0.01: None, "expected a learning-rate scheduler"),
])
def test_warmup_mistakes_fail_with_their_message(wrong, words):
    assert words in failure(check_warmup_schedule(wrong, 10, 0.1, 0.1, raise_on_fail=False))


# ----------------------------------------------------------------------------- unknown names

def make_optimizer(name, params, lr):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"unknown optimiser {name!r}")


def test_unknown_name_raising_value_error_passes():
    ok(check_rejects_unknown_name(make_optimizer, ("rmsprop", "momentum"), raise_on_fail=False))


def test_unknown_name_falling_back_to_a_default_fails():
    lenient = lambda name, params, lr: torch.optim.Adam(params, lr) if name == "adam" else \
        torch.optim.SGD(params, lr, momentum=0.9)
    assert "gave a SGD" in failure(check_rejects_unknown_name(lenient, raise_on_fail=False))


def test_unknown_name_raising_another_error_fails():
    table = lambda name, params, lr: {"adam": torch.optim.Adam}[name](params, lr)
    assert "raised KeyError, expected ValueError" in failure(
        check_rejects_unknown_name(table, raise_on_fail=False))


# ----------------------------------------------------------------------------- model make-up

class Baseline(nn.Module):
    def __init__(self, bias=True, extra=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5, bias=bias)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.extra = extra


SIZES = [450, 6, 2400, 16, 48000, 120, 10080, 84, 840, 10]


def test_parameter_sizes_correct_passes():
    ok(check_parameter_sizes(Baseline(), SIZES, raise_on_fail=False))


def test_parameter_sizes_missing_bias_fails():
    message = failure(check_parameter_sizes(Baseline(bias=False), SIZES, raise_on_fail=False))
    assert "no tensor of size 6" in message and "bias=False" in message


def test_parameter_sizes_other_layer_fails_naming_it():
    message = failure(check_parameter_sizes(Baseline(extra=nn.Linear(10, 10)), SIZES,
                                            raise_on_fail=False))
    assert "extra.weight (100)" in message and "extra.bias (10)" in message


# ----------------------------------------------------------------------------- class accuracies

def class_accuracies(model, X, y, batch_size=1000, mistake=None):
    if mistake != "train_mode":
        model.eval()
    predictions = []
    with torch.no_grad():
        stop = len(X) - len(X) % batch_size if mistake == "drop_last" else len(X)
        for start in range(0, stop, batch_size):
            predictions.append(model(X[start:start + batch_size]).argmax(dim=1))
    predicted = torch.cat(predictions).numpy()
    truth = np.asarray(y)[:len(predicted)]
    result = []
    for k in range(10):
        mask = truth == k
        if not mask.any():
            result.append(0.0 if mistake == "zero_absent" else np.nan)
        elif mistake == "counts":
            result.append(float((predicted[mask] == k).sum()))
        elif mistake == "precision":
            chosen = predicted == k
            result.append(float((truth[chosen] == k).mean()) if chosen.any() else np.nan)
        else:
            result.append(float((predicted[mask] == k).mean()))
    return np.array(result)


def test_class_accuracies_correct_passes():
    ok(check_class_accuracies(class_accuracies, raise_on_fail=False))
    ok(check_class_accuracies(class_accuracies, seed=7, raise_on_fail=False))


@pytest.mark.parametrize("mistake, words", [
    ("train_mode", "model.eval()"),
    ("zero_absent", "return NaN"),
    ("counts", "counts of correct predictions"),
    ("drop_last", "last batch"),
    ("precision", "the values are the precision of each class"),
])
def test_class_accuracies_mistakes_fail_with_their_message(mistake, words):
    wrong = lambda model, X, y, batch_size=1000: class_accuracies(model, X, y, batch_size, mistake)
    assert words in failure(check_class_accuracies(wrong, raise_on_fail=False))


def test_class_accuracies_other_mistakes_are_not_called_precision():
    for mistake in ("counts", "drop_last", "train_mode"):
        wrong = lambda model, X, y, batch_size=1000: class_accuracies(model, X, y, batch_size, mistake)
        assert "precision" not in failure(check_class_accuracies(wrong, raise_on_fail=False))


def test_class_accuracies_wrong_shape_fails():
    assert "shape (9,)" in failure(check_class_accuracies(
        lambda model, X, y, batch_size=1000: np.zeros(9), raise_on_fail=False))


# ----------------------------------------------------------------------------- final training

class Augment:
    def __init__(self, padding=4, p_flip=0.5):
        self.padding, self.p_flip = padding, p_flip


class BetterCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 10)


def final_run(**changes):
    model = BetterCNN()
    augment = changes.pop("augment", Augment())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, 0.1, 1.0, 5)
    decay = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.02, 20)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, decay], milestones=[5])
    if changes.pop("no_warmup", False):
        scheduler = decay
    if changes.pop("step_lr", False):
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
    rates = []
    for _ in range(25):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    history = {"augment": augment, "scheduler": scheduler, "val_acc": [0.5], "lr": rates}
    history.update(changes.pop("history", {}))
    if changes.pop("other_optimizer", False):
        optimizer = torch.optim.SGD(BetterCNN().parameters(), lr=0.1)
    return (model, augment, optimizer, scheduler, history)


def test_final_training_correct_passes():
    ok(check_final_training(final_run(), augment_class="Augment", raise_on_fail=False))


@pytest.mark.parametrize("changes, words", [
    ({"augment": Augment(2, 0.5)}, "padding=2"),
    ({"history": {"augment": None}}, "augment=train_augment"),
    ({"history": {"scheduler": None}}, "scheduler=final_scheduler"),
    ({"history": {"val_acc": []}}, "never validated"),
    ({"no_warmup": True}, "a warm-up rises"),
    ({"step_lr": True}, "starts with a StepLR"),
    ({"history": {"lr": [0.1] * 25}}, "do not start with a warm-up"),
    ({"other_optimizer": True}, "build it from better_model.parameters()"),
])
def test_final_training_mistakes_fail_with_their_message(changes, words):
    result = check_final_training(final_run(**changes), augment_class="Augment",
                                  raise_on_fail=False)
    assert words in failure(result)


def test_final_training_wrong_classes_fail():
    assert "expected your RandomCropFlip" in failure(check_final_training(final_run(),
                                                                          raise_on_fail=False))
    assert "expected a BaselineCNN" in failure(check_final_training(
        final_run(), model_class="BaselineCNN", augment_class="Augment", raise_on_fail=False))


def test_final_training_warmup_counted_in_epochs_names_the_cause():
    rates = [0.01] + list(np.linspace(0.1, 0.002, 499))   # warm-up over 1 "epoch" of 500 batches
    run = final_run(history={"lr": rates, "epoch": [1, 2, 3, 4, 5]})
    message = failure(check_final_training(run, augment_class="Augment", raise_on_fail=False))
    assert "rises for only 1 of 500 batches" in message and "count batches, not epochs" in message


def test_final_training_missing_warmup_is_not_called_epochs():
    for rates in (list(np.linspace(0.1, 0.002, 100)), [0.1] * 100):
        run = final_run(history={"lr": rates, "epoch": [1, 2, 3, 4, 5]})
        message = failure(check_final_training(run, augment_class="Augment", raise_on_fail=False))
        assert "do not start with a warm-up" in message and "epochs" not in message


def test_final_training_long_warmup_passes_with_epochs_recorded():
    rates = list(np.linspace(0.01, 0.1, 20)) + list(np.linspace(0.1, 0.002, 80))
    ok(check_final_training(final_run(history={"lr": rates, "epoch": [1, 2, 3, 4, 5]}),
                            augment_class="Augment", raise_on_fail=False))
