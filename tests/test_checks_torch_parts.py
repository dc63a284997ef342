"""Checks of A2's and A3's PyTorch parts (transforms, prepare_batch, train_epoch/evaluate,
history and best checkpoint, precision/recall/F1, forward passes and dropout modes): a
correct implementation passes, and each typical mistake fails with its own message."""
import functools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.student.checks import core
from autograder.student.checks.saved_files import checkpoint_causes, checkpoints
from autograder.student.checks.torch_code import batches, epochs, metrics, models, transforms
from autograder.student.checks import evidence as evidence_file

# These tests judge as the grader does: with its references, which name the mistakes
# only an answer to the exercise recognises (a student's Jupyter never has them).
pytestmark = pytest.mark.usefixtures("grader_references")


def failure(result):
    assert not result.passed, f"expected a failure, got: {result.message}"
    return result.message


def with_mistake(function, mistake):
    return functools.partial(function, mistake=mistake)


# ----------------------------------------------------------------------------- random_crop

def random_crop(x, padding, mistake=None):
    n, _, h, w = x.shape
    mode = "replicate" if mistake == "replicate" else "constant"
    padded = F.pad(x, (padding,) * 4, mode=mode) if padding else x
    high = 2 * padding if mistake == "exclusive_bound" else 2 * padding + 1
    top, left = torch.randint(0, high, (n,)).tolist(), torch.randint(0, high, (n,)).tolist()
    if mistake == "one_offset":
        top, left = [top[0]] * n, [left[0]] * n
    if mistake == "padded":
        return padded
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, top[i]:top[i] + h, left[i]:left[i] + w]
    return out


def test_random_crop_passes_for_a_correct_crop():
    for shape, padding, seed in (((8, 1, 28, 28), 2, 0), ((5, 3, 12, 17), 3, 1), ((4, 1, 28, 28), 0, 2)):
        result = transforms.check_random_crop(random_crop, shape=shape, padding=padding, seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("mistake, words", [
    ("one_offset", "same offset"),
    ("replicate", "pad with zeros"),
    ("exclusive_bound", "upper bound of torch.randint is exclusive"),
    ("padded", "returned the padded images"),
])
def test_random_crop_names_typical_mistakes(mistake, words):
    message = failure(transforms.check_random_crop(with_mistake(random_crop, mistake),
                                                   raise_on_fail=False))
    assert words in message


# ----------------------------------------------------------------------------- random_rotation

def random_rotation(x, max_degrees, mistake=None):
    n = x.shape[0]
    unit = torch.rand(n) * 2 - 1
    if mistake == "one_angle":
        unit = unit[:1].repeat(n)
    if mistake == "positive_only":
        unit = unit.abs()
    angle = unit * (max_degrees if mistake == "degrees" else math.radians(max_degrees))
    if mistake == "radians_twice":
        angle = unit * math.radians(math.radians(max_degrees))
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    matrices = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    out = F.grid_sample(x, F.affine_grid(matrices, list(x.shape), align_corners=False),
                        align_corners=False)
    return out * 2 if mistake == "scaled" else out


def test_random_rotation_passes_for_a_correct_rotation():
    for degrees, seed in ((10, 0), (25, 1), (90, 2), (0, 3)):
        result = transforms.check_random_rotation(random_rotation, max_degrees=degrees, seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("mistake, words", [
    ("one_angle", "same angle"),
    ("degrees", "convert it to radians"),
    ("positive_only", "same direction"),
    ("radians_twice", "converted to radians twice"),
    ("scaled", "total intensity"),
])
def test_random_rotation_names_typical_mistakes(mistake, words):
    message = failure(transforms.check_random_rotation(with_mistake(random_rotation, mistake),
                                                       max_degrees=10, raise_on_fail=False))
    assert words in message


# ----------------------------------------------------------------------------- prepare_batch

MEAN, STD = 0.1307, 0.3081


def prepare_batch(samples, augment=False, inputs="standardised", mistake=None):
    images = torch.stack([image for image, _ in samples])
    y = torch.tensor([label for _, label in samples], dtype=torch.int64)
    x = images.float() if mistake == "unit_not_divided" else images.float() / 255
    if augment or mistake == "always_augment":
        x = x + 0.01 * torch.rand_like(x)
    if inputs == "standardised":
        if mistake == "batch_statistics":
            x = (x - x.mean()) / x.std(unbiased=False)
        elif mistake == "not_divided_first":
            x = (images.float() - MEAN) / STD
        elif mistake == "half_half":
            x = (x - 0.5) / 0.5
        else:
            x = (x - MEAN) / STD
    elif inputs == "raw" and mistake != "raw_divided":
        x = x * 255
    return (x.double() if mistake == "float64" else x), y


def test_prepare_batch_passes_for_every_input_mode():
    for mode in (None, "standardised", "unit", "raw"):
        result = batches.check_prepare_batch(prepare_batch, inputs=mode)
        assert result.passed, result.message


@pytest.mark.parametrize("mode, mistake, words", [
    ("unit", "unit_not_divided", "divide the pixels by 255"),
    ("raw", "raw_divided", "without any scaling"),
    (None, "batch_statistics", "this batch's own statistics"),
    (None, "not_divided_first", "divide by 255 first"),
    (None, "half_half", "mean 0.5000 and std 0.5000"),
    (None, "float64", "expected float32"),
    (None, "always_augment", "augment only when augment=True"),
])
def test_prepare_batch_names_typical_mistakes(mode, mistake, words):
    message = failure(batches.check_prepare_batch(with_mistake(prepare_batch, mistake), inputs=mode,
                                                  raise_on_fail=False))
    assert words in message


# ----------------------------------------------------------------------------- train_epoch, evaluate

LOSSES = {  # wrong losses a student writes where the plain mean cross-entropy is asked
    "label_smoothing": lambda logits, y: F.cross_entropy(logits, y, label_smoothing=0.1),
    "label_smoothing_0.2": lambda logits, y: F.cross_entropy(logits, y, label_smoothing=0.2),
    "softmax_then_ce": lambda logits, y: F.cross_entropy(F.softmax(logits, dim=1), y),
    "nll_on_logits": lambda logits, y: F.nll_loss(logits, y),
    "summed_loss": lambda logits, y: F.cross_entropy(logits, y, reduction="sum"),
}


def train_epoch(model, loader, optimizer, device, mistake=None):
    if mistake == "eval_mode":
        model.eval()
    elif mistake != "no_train_call":
        model.train()
    total, correct, count, means = 0.0, 0, 0, []
    for x, y in loader:
        logits = model(x)
        loss = LOSSES.get(mistake, F.cross_entropy)(logits, y)
        if mistake == "zero_grad_after_backward":
            loss.backward()
            optimizer.zero_grad()
        else:
            if mistake != "no_zero_grad":
                optimizer.zero_grad()
            loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        means.append(loss.item())
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    if mistake == "summed":
        return sum(means), correct / count
    if mistake == "mean_of_means":
        return sum(means) / len(means), correct / count
    if mistake == "count":
        return total / count, float(correct)
    return total / count, correct / count


def evaluate(model, loader, device, mistake=None):
    if mistake != "train_mode":
        model.eval()
    total, correct, count, means = 0.0, 0, 0, []
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            means.append(F.cross_entropy(logits, y).item())
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    if mistake == "mean_of_means":
        return sum(means) / len(means), correct / count
    if mistake == "summed":
        return total, correct / count
    return total / count, correct / count


def test_train_epoch_and_evaluate_pass_for_correct_loops():
    for seed in (0, 3, 4):
        for result in (epochs.check_train_epoch(train_epoch, seed=seed),
                       epochs.check_evaluate(evaluate, seed=seed)):
            assert result.passed, result.message
            assert "deferred" not in result.details


@pytest.mark.parametrize("mistake, words", [
    ("eval_mode", "model.train()"),
    ("no_train_call", "model.train()"),
    ("zero_grad_after_backward", "sits between loss.backward() and optimizer.step()"),
    ("no_zero_grad", "gradients pile up"),
    ("label_smoothing", "label smoothing"),
    ("softmax_then_ce", "a softmax is applied before F.cross_entropy"),
    ("nll_on_logits", "F.nll_loss is applied to the raw logits"),
    ("summed_loss", "summed over the batch"),
    ("summed", "sum of the batch losses"),
    ("mean_of_means", "mean of the batch means"),
    ("count", "number of correct predictions"),
])
def test_train_epoch_names_typical_mistakes(mistake, words):
    message = failure(epochs.check_train_epoch(with_mistake(train_epoch, mistake), raise_on_fail=False))
    assert words in message


def test_train_epoch_names_no_loss_cause_for_a_loss_it_cannot_confirm():
    """Label smoothing of 0.2 is not a computed candidate (0.1 is): only the symptom."""
    message = failure(epochs.check_train_epoch(with_mistake(train_epoch, "label_smoothing_0.2"),
                                               raise_on_fail=False))
    assert "differ from a correct loop" in message and "label smoothing" not in message


@pytest.mark.parametrize("mistake, words", [
    ("train_mode", "model.eval()"),
    ("mean_of_means", "mean of the batch means"),
    ("summed", "summed loss"),
])
def test_evaluate_names_typical_mistakes(mistake, words):
    message = failure(epochs.check_evaluate(with_mistake(evaluate, mistake), raise_on_fail=False))
    assert words in message


def test_without_grader_references_the_numbers_are_deferred_but_modes_still_fail(monkeypatch):
    monkeypatch.setattr(core, "_GRADER_REFERENCES", {})
    result = epochs.check_train_epoch(with_mistake(train_epoch, "summed"))
    assert result.passed and result.details.get("deferred")
    assert "compared with a reference when your work is graded" in result.message
    assert epochs.check_evaluate(evaluate).details.get("deferred")
    message = failure(epochs.check_train_epoch(with_mistake(train_epoch, "zero_grad_after_backward"),
                                               raise_on_fail=False))
    assert "zero gradients" in message
    assert "model.eval()" in failure(epochs.check_evaluate(with_mistake(evaluate, "train_mode"),
                                                           raise_on_fail=False))


# ----------------------------------------------------------------------------- fit and checkpoints

def fit(model, train_loader, val_loader, optimizer, n_epochs, device, checkpoint_path=None,
        mistake=None):
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best, best_loss = -1.0, math.inf
    for _ in range(n_epochs):
        train = train_epoch(model, train_loader, optimizer, device)
        val = evaluate(model, val_loader, device)
        if mistake == "swapped":
            train, val = val, train
        for key, value in zip(history, (*train, *val)):
            history[key].append(value)
        if mistake == "last_epoch":
            torch.save(model.state_dict(), checkpoint_path)
        elif mistake == "lowest_loss":
            if val[0] < best_loss:
                best_loss = val[0]
                torch.save(model.state_dict(), checkpoint_path)
        elif val[1] > best:
            best = val[1]
            torch.save(model if mistake == "whole_model" else model.state_dict(), checkpoint_path)
    return history


def test_best_checkpoint_passes_for_a_correct_fit():
    for n_epochs, seed in ((4, 0), (5, 21), (6, 22)):
        result = checkpoints.check_best_checkpoint(fit, epochs=n_epochs, seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("mistake, words", [
    ("last_epoch", "the checkpoint is the last epoch's model"),
    ("lowest_loss", "select by validation accuracy"),
    ("swapped", "swapped"),
    ("whole_model", "save model.state_dict(), not the model"),
])
def test_best_checkpoint_names_typical_mistakes(mistake, words):
    message = failure(checkpoints.check_best_checkpoint(with_mistake(fit, mistake),
                                                        raise_on_fail=False))
    assert words in message


class TinyMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(784, 16), nn.Linear(16, 10)])

    def forward(self, x):
        return self.layers[1](F.relu(self.layers[0](x.flatten(1))))


TINY_LAYERS = [{"type": "torch_linear", "W": "layers.0.weight", "b": "layers.0.bias"}, {"type": "relu"},
               {"type": "torch_linear", "W": "layers.1.weight", "b": "layers.1.bias"}]


@pytest.fixture
def saved_tiny_mlp(tmp_path, data_root):
    from autograder.student.checks.saved_files.accuracy import evaluate as kit_evaluate

    torch.manual_seed(0)
    model = TinyMLP()
    path = tmp_path / "best.pt"
    torch.save(model.state_dict(), path)
    return str(path), kit_evaluate(model, "mnist", split="val")["accuracy"]


def history_with(val_acc, val_loss=(1.0, 1.0, 1.0)):
    return {"train_loss": [1.0] * 3, "train_acc": [0.5] * 3, "val_loss": list(val_loss), "val_acc": val_acc}


def kit_scores(path, split="val"):
    """The judge's (accuracy, loss) of the saved tiny MLP on the plain images of ``split``."""
    arrays = {k: v.double().numpy() for k, v in torch.load(path, weights_only=True).items()}
    return checkpoint_causes.network_scores(arrays, TINY_LAYERS, "mnist", split, "flat")


def test_history_checkpoint_passes_when_the_checkpoint_is_the_best_epoch(saved_tiny_mlp):
    path, accuracy = saved_tiny_mlp
    result = checkpoints.check_history_checkpoint(history_with([accuracy - 0.01, accuracy, accuracy - 0.02]),
                                                  path, TINY_LAYERS, epochs=3)
    assert result.passed, result.message


def test_history_checkpoint_names_the_last_epoch_saved_instead_of_the_best(saved_tiny_mlp):
    path, accuracy = saved_tiny_mlp
    _, loss = kit_scores(path)
    message = failure(checkpoints.check_history_checkpoint(
        history_with([accuracy - 0.01, accuracy + 0.05, accuracy], [0.9, 0.5, loss]), path,
        TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "the checkpoint is the last epoch's model" in message


def test_history_checkpoint_measured_on_other_validation_data_is_not_blamed_on_the_save(saved_tiny_mlp):
    # the last epoch's accuracy is the checkpoint's by chance, its loss is not: the history
    # was measured on differently prepared validation data (e.g. mean and std swapped)
    path, accuracy = saved_tiny_mlp
    _, loss = kit_scores(path)
    for losses in ([0.9, 0.5, loss * 1.5], [0.9, loss, 0.7]):
        message = failure(checkpoints.check_history_checkpoint(
            history_with([accuracy - 0.01, accuracy + 0.05, accuracy], losses), path,
            TINY_LAYERS, epochs=3, raise_on_fail=False))
        assert "last epoch's model" not in message and "epoch 2's model" not in message
        assert "do not match the judge's on the plain val images" in message
        assert "standardised with the training mean and std" in message
    # no epoch's accuracy at all: both causes are given, the data first
    message = failure(checkpoints.check_history_checkpoint(
        history_with([accuracy + 0.02, accuracy + 0.05, accuracy + 0.03], [0.9, 0.5, loss]),
        path, TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "last epoch's model" not in message
    assert "measured on other data" in message and "standardised with the training" in message


def test_history_checkpoint_names_validation_accuracies_measured_on_the_test_set(saved_tiny_mlp):
    from autograder.student.checks.saved_files.accuracy import evaluate as kit_evaluate

    path, accuracy = saved_tiny_mlp
    model = TinyMLP()
    model.load_state_dict(torch.load(path, weights_only=True))
    on_test = kit_evaluate(model, "mnist", split="test")["accuracy"]
    assert abs(on_test - accuracy) > 2e-3  # else the two causes could not be told apart
    _, test_loss = kit_scores(path, "test")
    message = failure(checkpoints.check_history_checkpoint(
        history_with([on_test - 0.01, on_test, on_test - 0.02], [0.9, test_loss, 0.8]), path,
        TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "measured on the test images" in message
    # near miss: the test accuracy with another loss is not blamed on the test set
    message = failure(checkpoints.check_history_checkpoint(
        history_with([on_test - 0.01, on_test, on_test - 0.02], [0.9, test_loss * 2, 0.8]), path,
        TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "test images" not in message
    # near miss: a history whose best is neither split's accuracy is not blamed on the test set
    message = failure(checkpoints.check_history_checkpoint(
        history_with([0.05, 0.06, 0.04]), path, TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "test images" not in message and "timing of the save cannot explain" in message


def test_history_checkpoint_with_a_best_above_the_checkpoint_keeps_the_save_timing_hint(saved_tiny_mlp):
    path, accuracy = saved_tiny_mlp
    message = failure(checkpoints.check_history_checkpoint(
        history_with([accuracy + 0.05, accuracy + 0.2, accuracy + 0.1]), path, TINY_LAYERS,
        epochs=3, raise_on_fail=False))
    assert "save the state_dict right after validating" in message
    assert "timing of the save cannot explain" not in message


def test_history_checkpoint_names_a_saved_network_trained_without_its_relu(saved_tiny_mlp):
    # the history is that of the saved arrays run as a linear network (a forward without ReLU)
    path, _ = saved_tiny_mlp
    arrays = {k: v.double().numpy() for k, v in torch.load(path, weights_only=True).items()}
    linear = [spec for spec in TINY_LAYERS if spec["type"] != "relu"]
    accuracy, loss = checkpoint_causes.network_scores(arrays, linear, "mnist", "val", "flat")
    message = failure(checkpoints.check_history_checkpoint(
        history_with([accuracy - 0.02, accuracy, accuracy - 0.01], [0.9, loss, 0.8]), path,
        TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "run without every ReLU, the saved network has epoch 2's" in message
    assert "has no nonlinearity between its layers (its forward skips the ReLU)" in message
    assert "last epoch" not in message
    # near miss: the same accuracy with another loss is not blamed on the model
    message = failure(checkpoints.check_history_checkpoint(
        history_with([accuracy - 0.02, accuracy, accuracy - 0.01], [0.9, loss * 1.5, 0.8]), path,
        TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "ReLU" not in message


def test_history_checkpoint_names_missing_lists_and_entries(saved_tiny_mlp):
    path, accuracy = saved_tiny_mlp
    history = history_with([accuracy] * 3)
    short = {key: values[:2] for key, values in history.items()}
    assert "has 2 entries for 3 epochs" in failure(checkpoints.check_history_checkpoint(
        short, path, TINY_LAYERS, epochs=3, raise_on_fail=False))
    del history["val_loss"]
    assert "no list val_loss" in failure(checkpoints.check_history_checkpoint(
        history, path, TINY_LAYERS, epochs=3, raise_on_fail=False))
    assert "best.pt.missing was not saved" in failure(checkpoints.check_history_checkpoint(
        history_with([accuracy] * 3), path + ".missing", TINY_LAYERS, epochs=3, raise_on_fail=False))


# ----------------------------------------------------------------------------- precision, recall, F1

def precision_recall_f1(y_true, y_pred, n_classes=10, mistake=None):
    classes = np.arange(n_classes)[:, None]
    tp = ((y_pred == classes) & (y_true == classes)).sum(1).astype(float)
    fp = ((y_pred == classes) & (y_true != classes)).sum(1)
    fn = ((y_pred != classes) & (y_true == classes)).sum(1)

    def ratio(a, b):
        return np.divide(a, b, out=np.zeros(n_classes), where=b > 0)

    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tp / (tp + fp) if mistake == "nan_precision" else ratio(tp, tp + fp)
        recall = ratio(tp, tp + fn)
        f1 = (2 * precision * recall / (precision + recall) if mistake == "nan_f1"
              else ratio(2 * precision * recall, precision + recall))
    if mistake == "swapped":
        precision, recall = recall, precision
    if mistake == "nan_f1_elsewhere":  # a NaN where P + R > 0: not the unguarded formula
        f1 = np.where(np.arange(n_classes) == np.argmax(f1), np.nan, f1)
    if mistake == "arithmetic_mean":
        f1 = (precision + recall) / 2
    if mistake == "macro":
        return precision.mean(), recall.mean(), f1.mean()
    return precision, recall, f1


def test_precision_recall_f1_passes_for_a_correct_implementation():
    for n_classes, seed in ((3, 17), (10, 18), (4, 0)):
        result = metrics.check_precision_recall_f1(precision_recall_f1, n_classes=n_classes, seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("mistake, words", [
    ("nan_precision", "never predicted"),
    ("nan_f1", "exactly where precision + recall = 0 (2PR / (P + R) is 0/0 there), and right "
               "for every other class: define F1 = 0 where P + R = 0"),
    ("nan_f1_elsewhere", "F1 = 2PR / (P + R), and 0 where P + R = 0"),
    ("swapped", "precision and recall are swapped"),
    ("arithmetic_mean", "harmonic mean"),
    ("macro", "one value per class"),
])
def test_precision_recall_f1_names_typical_mistakes(mistake, words):
    message = failure(metrics.check_precision_recall_f1(with_mistake(precision_recall_f1, mistake),
                                                        raise_on_fail=False))
    assert words in message
    if mistake != "nan_f1":  # the cause of the unguarded formula only for its own output
        assert "define F1 = 0 where P + R = 0" not in message


# ----------------------------------------------------------------------------- forward passes

LAYERS_A = [{"type": "conv2d", "W": "conv1.weight", "b": "conv1.bias"}, {"type": "maxpool2d"}, {"type": "relu"},
            {"type": "conv2d", "W": "conv2.weight", "b": "conv2.bias"}, {"type": "maxpool2d"}, {"type": "relu"},
            {"type": "flatten"}, {"type": "torch_linear", "W": "fc.weight", "b": "fc.bias"}]


class ModelA(nn.Module):
    def __init__(self, mistake=None):
        super().__init__()
        self.mistake = mistake
        self.conv1, self.conv2 = nn.Conv2d(1, 10, 5), nn.Conv2d(10, 20, 5)
        self.conv2_drop = nn.Dropout() if mistake == "element_dropout" else nn.Dropout2d()
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        m = self.mistake
        x = self.conv1(x)
        x = F.max_pool2d(F.relu(x), 2) if m == "relu_then_pool" else F.relu(F.max_pool2d(x, 2))
        x = self.conv2(x)
        if m == "functional_dropout":
            x = F.dropout2d(x)  # active in eval mode too
        elif m != "no_dropout":
            x = self.conv2_drop(x)
        x = F.avg_pool2d(x, 2) if m == "average_pooling" else F.max_pool2d(x, 2)
        x = x if m == "no_relu" else F.relu(x)
        logits = self.fc(x.flatten(1))
        return F.log_softmax(logits, dim=1) if m == "log_softmax" else logits


def test_forward_passes_for_the_table_in_either_relu_pool_order():
    # ReLU and max pooling commute (max is monotonic), so both orders compute the same.
    for mistake in (None, "relu_then_pool"):
        result = models.check_model_forward(ModelA(mistake), LAYERS_A, dropout="conv2_drop")
        assert result.passed, result.message


def test_forward_without_dropout_passes_when_the_table_has_none():
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(864, 10))
    layers = [{"type": "conv2d", "W": "0.weight", "b": "0.bias"}, {"type": "relu"}, {"type": "maxpool2d"},
              {"type": "flatten"}, {"type": "torch_linear", "W": "4.weight", "b": "4.bias"}]
    result = models.check_model_forward(model, layers, seed=22)
    assert result.passed, result.message
    message = failure(models.check_model_forward(ModelA(), LAYERS_A, raise_on_fail=False))
    assert "no dropout" in message


@pytest.mark.parametrize("mistake, words", [
    ("functional_dropout", "dropout is still active after model.eval()"),
    ("no_dropout", "dropout is not applied"),
    ("element_dropout", "nn.Dropout2d whole channels"),
    ("average_pooling", "average pooling"),
    ("no_relu", "the ReLU after conv2 is missing"),
    ("log_softmax", "log-probabilities"),
])
def test_forward_names_typical_mistakes(mistake, words):
    message = failure(models.check_model_forward(ModelA(mistake), LAYERS_A, dropout="conv2_drop",
                                           raise_on_fail=False))
    assert words in message


def test_one_epoch(loader, model, device, mistake=None):
    if mistake != "train_mode":
        model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x.to(device))
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    return total / count, correct


test_one_epoch.__test__ = False  # a student function, not a pytest test


def test_evaluation_repeatable_passes_and_names_the_cause_of_a_difference():
    result = models.check_evaluation_repeatable(test_one_epoch, ModelA(), n_items=200, batch_size=64)
    assert result.passed, result.message
    message = failure(models.check_evaluation_repeatable(with_mistake(test_one_epoch, "train_mode"),
                                                         ModelA(), raise_on_fail=False))
    assert "call model.eval()" in message
    message = failure(models.check_evaluation_repeatable(test_one_epoch, ModelA("functional_dropout"),
                                                         raise_on_fail=False))
    assert "applies dropout in eval mode too" in message


# ----------------------------------------------------------------------------- two halves

def test_every_new_check_judges_the_same_from_json_evidence():
    """The judge half needs only the collected plain data, as the hardened grader stores it."""
    cases = [
        (transforms.RandomCropCheck((5, 3, 12, 17), 3), random_crop),
        (transforms.RandomRotationCheck(max_degrees=10), random_rotation),
        (batches.PrepareBatchCheck("unit"), prepare_batch),
        (epochs.TrainEpochMeanCheck(), train_epoch),
        (epochs.EvaluateCheck(), evaluate),
        (checkpoints.BestCheckpointCheck(), fit),
        (metrics.PrecisionRecallF1Check(), precision_recall_f1),
        (models.ForwardCheck(LAYERS_A, dropout="conv2_drop"), ModelA()),
        (models.EvaluationRepeatableCheck(n_items=100), (test_one_epoch, ModelA())),
    ]
    for check, student in cases:
        evidence = check.collect(student)
        stored = evidence_file.decode(json.loads(json.dumps(evidence_file.encode(evidence))))
        direct, replayed = check.judge(evidence), check.judge(stored)
        assert direct.passed and replayed.passed, (check.kind, direct.message, replayed.message)


def test_forged_evidence_fails_with_a_message_instead_of_raising():
    for check in (transforms.RandomCropCheck(), transforms.RandomRotationCheck(),
                  batches.PrepareBatchCheck(), epochs.TrainEpochMeanCheck(), epochs.EvaluateCheck(),
                  checkpoints.BestCheckpointCheck(), metrics.PrecisionRecallF1Check(),
                  models.ForwardCheck(LAYERS_A), models.EvaluationRepeatableCheck()):
        for forged in ({}, {"out": "x", "x1": [1], "results": 3, "training": "yes", "keys": 5}):
            try:
                result = check.judge(forged)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                pytest.fail(f"{check.kind} raised {type(err).__name__} on forged evidence")
            assert not result.passed, check.kind
