"""Checks on training objects (autograder.student.checks.torch_code.training): correct objects pass, and each
typical mistake fails with its own message."""
import functools
import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, TensorDataset, random_split
from torchvision.transforms import v2

from autograder.student import data
from autograder.student.checks import evidence as evidence_file
from autograder.student.checks.torch_code import model_faults, one_epoch, params, splits, tables
from autograder.student.checks.torch_code import training as T

# These tests judge as the grader does: with its references, which name the mistakes
# only an answer to the exercise recognises (a student's Jupyter never has them).
pytestmark = pytest.mark.usefixtures("grader_references")


def failure(result):
    assert not result.passed, f"expected a failure, got: {result.message}"
    return result.message


# ----------------------------------------------------------------------------- split

def small_images(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randint(0, 256, (n, 1, 6, 6), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (n,), generator=g))


def test_split_passes_for_the_kit_mnist_split(data_root):
    result = T.check_split(data.mnist("train"), data.mnist("val"), (48_000, 12_000), dataset="mnist")
    assert result.passed, result.message


def test_split_passes_for_loaders_over_random_split_subsets():
    train, val = random_split(small_images(), [45, 15], generator=torch.Generator().manual_seed(1))
    result = T.check_split(DataLoader(train, batch_size=4), DataLoader(val, batch_size=4), (45, 15))
    assert result.passed, result.message


def test_split_catches_overlapping_sets():
    full = small_images()
    message = failure(T.check_split(Subset(full, range(0, 45)), Subset(full, range(40, 55)), (45, 15),
                                    raise_on_fail=False))
    assert "in both" in message and "disjoint" in message


def test_split_catches_wrong_and_swapped_sizes():
    full = small_images()
    message = failure(T.check_split(Subset(full, range(15)), Subset(full, range(15, 60)), (45, 15),
                                    raise_on_fail=False))
    assert "swapped" in message
    message = failure(T.check_split(full, Subset(full, range(15)), (45, 15), raise_on_fail=False))
    assert "expected 45 and 15" in message


def test_split_catches_validation_images_from_the_test_set(data_root):
    message = failure(T.check_split(data.mnist("train"), data.mnist("test"), (48_000, 10_000),
                                    dataset="mnist", raise_on_fail=False))
    assert "come from the test set" in message


def test_split_of_the_wrong_size_names_a_validation_set_that_is_the_test_set(data_root):
    message = failure(T.check_split(data.mnist("train"), data.mnist("test"), (48_000, 12_000),
                                    dataset="mnist", raise_on_fail=False))
    assert "the validation set is drawn from the test set" in message
    # near miss: a validation set of the wrong size from the training images is only the sizes
    from torch.utils.data import Subset
    message = failure(T.check_split(data.mnist("train"), Subset(data.mnist("val"), range(10_000)),
                                    (48_000, 12_000), dataset="mnist", raise_on_fail=False))
    assert "validation set 10,000" in message and "test set" not in message


def test_split_catches_a_split_drawn_with_replacement(data_root):
    train = data.mnist("train")
    with_replacement = Subset(train, np.random.default_rng(0).integers(0, len(train), len(train)))
    message = failure(T.check_split(with_replacement, data.mnist("val"), (48_000, 12_000),
                                    dataset="mnist", raise_on_fail=False))
    assert "repeated images" in message


def test_split_raises_assertion_error_by_default():
    full = small_images()
    with pytest.raises(AssertionError, match="in both"):
        T.check_split(Subset(full, range(0, 45)), Subset(full, range(40, 55)), (45, 15))


# ----------------------------------------------------------------------------- augmentation

NORMALISE = [v2.ToDtype(torch.float32, scale=True), v2.Normalize((data.MNIST_MEAN,), (data.MNIST_STD,))]
AUGMENT = [v2.RandomRotation(10), v2.RandomCrop(28, padding=2)]


def mnist_like(n=64, transform=None):
    """An in-memory dataset shaped like autograder.student.data.mnist (digit-like blobs)."""
    g = torch.Generator().manual_seed(3)
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    images[:, :, 6:22, 9:19] = torch.randint(100, 256, (n, 1, 16, 10), dtype=torch.uint8, generator=g)
    dataset = data.TensorImageDataset(images, torch.randint(0, 10, (n,), generator=g),
                                      data.MNIST_CLASSES, transform)
    return dataset


def batch_collate(samples, augment):
    """A2-style collate_fn: batched random shift on the training data only, then normalise."""
    x = torch.stack([s[0] for s in samples]).float() / 255
    y = torch.tensor([s[1] for s in samples])
    if augment:
        shifts = torch.randint(-2, 3, (2,)).tolist()
        x = torch.roll(x, shifts=shifts, dims=(2, 3))
    return (x - data.MNIST_MEAN) / data.MNIST_STD, y


def test_augmentation_passes_for_random_transforms_on_the_training_set_only():
    train = mnist_like(transform=v2.Compose(AUGMENT + NORMALISE))
    val = mnist_like(transform=v2.Compose(NORMALISE))
    result = T.check_augmentation(train, val)
    assert result.passed, result.message


def test_augmentation_passes_for_batched_augmentation_in_the_collate_fn():
    train = DataLoader(mnist_like(), batch_size=8, shuffle=True,
                       collate_fn=functools.partial(batch_collate, augment=True))
    val = DataLoader(mnist_like(), batch_size=8, collate_fn=functools.partial(batch_collate, augment=False))
    result = T.check_augmentation(train, val)
    assert result.passed, result.message


def test_augmentation_catches_augmented_validation_data():
    augmented = v2.Compose(AUGMENT + NORMALISE)
    message = failure(T.check_augmentation(mnist_like(transform=augmented), mnist_like(transform=augmented),
                                           raise_on_fail=False))
    assert "evaluation data changes" in message


def test_augmentation_catches_missing_augmentation():
    plain = v2.Compose(NORMALISE)
    message = failure(T.check_augmentation(mnist_like(transform=plain), mnist_like(transform=plain),
                                           raise_on_fail=False))
    assert "no random augmentation" in message


def test_augmentation_catches_normalisation_on_one_side_only():
    train = mnist_like(transform=v2.Compose(AUGMENT + [v2.ToDtype(torch.float32, scale=True)]))
    val = mnist_like(transform=v2.Compose(NORMALISE))
    message = failure(T.check_augmentation(train, val, raise_on_fail=False))
    assert "different scales" in message


def test_augmentation_catches_a_crop_that_changes_the_size():
    train = mnist_like(transform=v2.Compose([v2.RandomCrop(24)] + NORMALISE))
    message = failure(T.check_augmentation(train, mnist_like(transform=v2.Compose(NORMALISE)),
                                           raise_on_fail=False))
    assert "original size" in message


def test_augmentation_check_leaves_the_global_random_state_alone():
    torch.manual_seed(5)
    before = torch.get_rng_state().clone()
    T.check_augmentation(mnist_like(transform=v2.Compose(AUGMENT + NORMALISE)),
                         mnist_like(transform=v2.Compose(NORMALISE)))
    assert torch.equal(before, torch.get_rng_state())


# ----------------------------------------------------------------------------- logits

def mlp(*extra):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10), *extra)


def test_logits_shape_passes_for_logits_and_restores_training_mode():
    model = mlp(nn.Dropout(0.5))
    model.train()
    result = T.check_logits_shape(model, (4, 1, 28, 28))
    assert result.passed, result.message
    assert model.training


def test_logits_shape_catches_a_softmax_in_the_model():
    message = failure(T.check_logits_shape(mlp(nn.Softmax(dim=1)), (4, 1, 28, 28), raise_on_fail=False))
    assert "probabilities" in message


def test_logits_shape_catches_the_wrong_number_of_outputs():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 9))
    message = failure(T.check_logits_shape(model, (4, 1, 28, 28), raise_on_fail=False))
    assert "9 outputs" in message


def test_logits_shape_catches_a_missing_flatten():
    model = nn.Conv2d(1, 10, 28)
    message = failure(T.check_logits_shape(model, (4, 1, 28, 28), raise_on_fail=False))
    assert "flatten" in message


# ----------------------------------------------------------------------------- optimiser

def test_optimizer_passes_for_sgd_with_momentum_over_the_model():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    result = T.check_optimizer(optimizer, "SGD", lr=0.01, momentum=0.9, model=model)
    assert result.passed, result.message


def test_optimizer_catches_the_wrong_optimiser():
    model = mlp()
    message = failure(T.check_optimizer(torch.optim.Adam(model.parameters()), "SGD", raise_on_fail=False))
    assert "is Adam, expected SGD" in message


def test_optimizer_catches_sgd_without_momentum():
    model = mlp()
    message = failure(T.check_optimizer(torch.optim.SGD(model.parameters(), lr=0.01), "SGD",
                                        momentum=0.9, raise_on_fail=False))
    assert "momentum 0" in message and "pass momentum" in message


def test_optimizer_catches_the_wrong_learning_rate():
    model = mlp()
    message = failure(T.check_optimizer(torch.optim.Adam(model.parameters(), lr=0.1), "Adam", lr=1e-3,
                                        raise_on_fail=False))
    assert "learning rate 0.1" in message


def test_optimizer_catches_an_optimiser_built_for_another_model():
    optimizer = torch.optim.SGD(mlp().parameters(), lr=0.01, momentum=0.9)
    model = mlp()  # re-created after the optimiser: never updated
    message = failure(T.check_optimizer(optimizer, "SGD", model=model, raise_on_fail=False))
    assert "another model" in message


def test_optimizer_catches_frozen_out_parameters():
    model = mlp()
    optimizer = torch.optim.SGD(model[1].parameters(), lr=0.01)
    message = failure(T.check_optimizer(optimizer, "SGD", model=model, raise_on_fail=False))
    assert "misses 2" in message


def test_optimizer_reads_the_initial_learning_rate_under_a_scheduler():
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
    assert T.check_optimizer(optimizer, "Adam", lr=1e-3, momentum=0.9).passed


# ----------------------------------------------------------------------------- scheduler

def scheduled(kind="LinearLR", **options):
    optimizer = torch.optim.SGD(mlp().parameters(), lr=0.1)
    return getattr(torch.optim.lr_scheduler, kind)(optimizer, **options), optimizer


def test_scheduler_passes_for_linear_warmup_that_was_stepped():
    scheduler, optimizer = scheduled(start_factor=0.1, total_iters=4)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    result = T.check_scheduler(scheduler, "LinearLR", optimizer=optimizer, min_steps=3,
                               start_factor=0.1, total_iters=4)
    assert result.passed, result.message


def test_scheduler_catches_the_wrong_scheduler():
    scheduler, _ = scheduled("StepLR", step_size=1)
    message = failure(T.check_scheduler(scheduler, "LinearLR", raise_on_fail=False))
    assert "is StepLR, expected LinearLR" in message


def test_scheduler_catches_wrong_settings():
    scheduler, _ = scheduled(start_factor=0.5, total_iters=4)
    message = failure(T.check_scheduler(scheduler, "LinearLR", start_factor=0.1, raise_on_fail=False))
    assert "start_factor is 0.5, expected 0.1" in message


def test_scheduler_catches_a_scheduler_on_another_optimiser():
    scheduler, _ = scheduled(start_factor=0.1)
    other = torch.optim.SGD(mlp().parameters(), lr=0.1)
    message = failure(T.check_scheduler(scheduler, "LinearLR", optimizer=other, raise_on_fail=False))
    assert "another optimiser" in message


def test_scheduler_catches_a_scheduler_never_stepped():
    scheduler, optimizer = scheduled(start_factor=0.1)
    message = failure(T.check_scheduler(scheduler, "LinearLR", optimizer=optimizer, min_steps=5,
                                        raise_on_fail=False))
    assert "called 0 times" in message


# ----------------------------------------------------------------------------- train_one_epoch

def train_one_epoch(loader, model, device, optimizer, log_interval=10, *, mistake=None):
    """The reference implementation, with switchable typical mistakes."""
    if mistake == "eval_mode":
        model.eval()
    elif mistake != "no_train_call":
        model.train()
    losses, correct = [], 0
    for batch, (x, y) in enumerate(loader):
        x, y = x.to(device), y.to(device)
        logits = model(x)
        if mistake == "label_smoothing":
            loss = F.cross_entropy(logits, y, label_smoothing=0.1)
        elif mistake == "softmax_then_ce":
            loss = F.cross_entropy(F.softmax(logits, dim=1), y)
        else:
            loss = F.cross_entropy(logits, y)
        if mistake not in ("no_zero_grad", "zero_grad_between"):
            optimizer.zero_grad()
        loss.backward()
        if mistake == "zero_grad_between":
            optimizer.zero_grad()
        if mistake != "no_step":
            optimizer.step()
        correct += (logits.argmax(1) == y).sum() if mistake == "tensor_count" else (logits.argmax(1) == y).sum().item()
        if mistake == "every_batch" or batch % log_interval == 0:
            losses.append(loss if mistake == "tensors" else loss.item())
    return losses, correct


def test_train_one_epoch_passes_for_a_correct_loop():
    for seed, k in ((0, 2), (1, 3), (2, 1)):
        result = T.check_train_one_epoch(train_one_epoch, log_interval=k, seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("mistake, words", [
    ("no_zero_grad", "gradients pile up"),
    ("eval_mode", "model.train()"),
    ("no_train_call", "model.train()"),
    ("zero_grad_between", "sits between loss.backward() and optimizer.step()"),
    ("label_smoothing", "label smoothing"),
    ("softmax_then_ce", "a softmax is applied before F.cross_entropy"),
    ("tensors", "loss.item()"),
    ("every_batch", "losses logged"),
    ("no_step", "optimizer.step()"),
    ("tensor_count", "Python int"),
])
def test_train_one_epoch_catches_typical_mistakes(mistake, words):
    student = functools.partial(train_one_epoch, mistake=mistake)
    message = failure(T.check_train_one_epoch(student, log_interval=3, raise_on_fail=False))
    assert words in message


def test_train_one_epoch_reports_a_crash_instead_of_raising_inside_the_check():
    def broken(loader, model, device, optimizer, log_interval=10):
        raise RuntimeError("boom")

    message = failure(T.check_train_one_epoch(broken, raise_on_fail=False))
    assert "RuntimeError: boom" in message


class ListMLP(nn.Module):
    """A2's MLP, with a mistake: "flatten_all" (x.flatten()), "no_relu", "plain_list"."""

    def __init__(self, hidden=(64, 32), mistake=None):
        super().__init__()
        sizes, self.mistake = [784, *hidden, 10], mistake
        layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.layers = layers if mistake == "plain_list" else nn.ModuleList(layers)
        self.sizes = sizes  # a plain list that holds no module: not a mistake

    def forward(self, x):
        x = x.flatten() if self.mistake == "flatten_all" else x.flatten(1)
        for layer in self.layers[:-1]:
            x = layer(x) if self.mistake == "no_relu" else F.relu(layer(x))
        return self.layers[-1](x)


def test_logits_shape_names_a_batch_flattened_into_one_vector():
    for shape in ((7, 1, 28, 28), (3, 784)):
        message = failure(T.check_logits_shape(ListMLP(mistake="flatten_all"), shape,
                                               raise_on_fail=False))
        assert "model(x) raised RuntimeError" in message
        assert "flattens the whole batch into one vector" in message and "x.flatten(1)" in message
    # near miss: a first layer with the wrong in_features raises in the same product
    model = nn.Sequential(nn.Flatten(), nn.Linear(700, 10))
    message = failure(T.check_logits_shape(model, (7, 1, 28, 28), raise_on_fail=False))
    assert "expects 700 input features per example and gets 784" in message
    assert "whole batch" not in message


def test_model_nonlinear_passes_for_relu_networks_and_names_a_linear_model():
    for model in (ListMLP(), ListMLP((40,)), mlp(), nn.Sequential(nn.Conv2d(1, 4, 5), nn.Tanh(),
                                                                  nn.Flatten(), nn.Linear(2304, 10))):
        result = model_faults.check_model_nonlinear(model, (7, 1, 28, 28))
        assert result.passed, result.message
    message = failure(model_faults.check_model_nonlinear(ListMLP(mistake="no_relu"), (7, 1, 28, 28),
                                                         raise_on_fail=False))
    assert "no nonlinearity between the layers (the forward skips the ReLU): the model is linear" in message
    message = failure(model_faults.check_model_nonlinear(ListMLP(mistake="flatten_all"), (5, 784),
                                                         raise_on_fail=False))
    assert "flattens the whole batch into one vector" in message


def test_parameter_count_names_layers_kept_in_a_plain_list():
    message = failure(params.check_parameter_count(ListMLP(mistake="plain_list"), 52_650,
                                                   raise_on_fail=False))
    assert "0 trainable parameters" in message
    assert "self.layers is a plain Python list of 3 modules" in message and "nn.ModuleList" in message
    # near misses: every parameter frozen; one layer missing from a correct ModuleList
    frozen = ListMLP()
    frozen.requires_grad_(False)
    assert "plain Python list" not in failure(params.check_parameter_count(
        frozen, 52_650, raise_on_fail=False))
    assert "plain Python list" not in failure(params.check_parameter_count(
        ListMLP((64,)), 52_650, raise_on_fail=False))
    assert params.check_parameter_count(ListMLP(), 52_650).passed
    # a convenience list of modules that are registered too is not the cause of a wrong count
    model = ListMLP((64,))
    model.shortcut = [model.layers[0]]
    assert "plain Python list" not in failure(params.check_parameter_count(
        model, 50_890 + 64 * 784 + 64, raise_on_fail=False))


def test_a_forged_list_of_plain_containers_names_at_most_four():
    rows = [[f"layer{i}" * 20, "list", 1, 0] for i in range(500)] + [["fc", "list", 1, 650]]
    message = model_faults.unregistered_message(rows, 52_000, 52_650)
    assert message.count("is a plain Python list") == 4 and "and 497 more" in message
    assert len(message) < 700


# ----------------------------------------------------------------------------- test_one_epoch

def evaluate_one_epoch(loader, model, device, *, mistake=None):
    if mistake != "train_mode":
        model.eval()
    total, correct, count, means = 0.0, 0, 0, []
    with torch.no_grad():
        for x, y in loader:
            logits = model(x.to(device))
            total += F.cross_entropy(logits, y, reduction="sum").item()
            means.append(F.cross_entropy(logits, y).item())
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    if mistake == "batch_means":
        return sum(means) / len(means), correct
    if mistake == "tensor_loss":
        return torch.tensor(total / count), correct
    if mistake == "accuracy":
        return total / count, correct / count
    if mistake == "float_count":
        return total / count, float(correct)
    return total / count, correct


def test_test_one_epoch_passes_for_a_correct_evaluation():
    for seed in (0, 1, 2):
        result = T.check_test_one_epoch(evaluate_one_epoch, seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("mistake, words", [
    ("train_mode", "model.eval()"),
    ("batch_means", "mean of the batch means"),
    ("tensor_loss", "Python float"),
    ("accuracy", "returns the accuracy where the number of correct predictions is asked"),
    ("float_count", "n_correct is a float, expected a Python int"),
])
def test_test_one_epoch_catches_typical_mistakes(mistake, words):
    student = functools.partial(evaluate_one_epoch, mistake=mistake)
    message = failure(T.check_test_one_epoch(student, raise_on_fail=False))
    assert words in message


# ----------------------------------------------------------------------------- parameter table

REFERENCE = {"conv1": ((10, 1, 5, 5), (10,)), "fc": ((10, 320), (10,))}


def table(**changes):
    rows = {"conv1": {"weight": (10, 1, 5, 5), "bias": (10,), "count": 260},
            "fc": {"weight": (10, 320), "bias": (10,), "count": 3_210}}
    for layer, row in changes.items():
        rows[layer] = row
    return rows


def test_parameter_table_passes_for_correct_rows():
    result = T.check_parameter_table(table(), REFERENCE)
    assert result.passed, result.message


def test_parameter_table_catches_a_transposed_linear_weight():
    message = failure(T.check_parameter_table(
        table(fc={"weight": (320, 10), "bias": (10,), "count": 3_210}), REFERENCE, raise_on_fail=False))
    assert "transposed" in message


def test_parameter_table_catches_a_wrong_count_and_a_missing_layer():
    rows = table(conv1={"weight": (10, 1, 5, 5), "bias": (10,), "count": 250})
    del rows["fc"]
    message = failure(T.check_parameter_table(rows, REFERENCE, raise_on_fail=False))
    assert "conv1: count 250, expected 260" in message and "layer fc is missing" in message


LENET = {"conv1": ((6, 1, 5, 5), (6,)), "conv2": ((16, 6, 5, 5), (16,)), "fc1": ((120, 256), (120,)),
         "fc2": ((84, 120), (84,)), "fc3": ((10, 84), (10,))}


def test_parameter_table_names_lenet_inputs_counted_for_32x32_images():
    rows = {layer: {"weight": w, "bias": b, "count": int(np.prod(w) + np.prod(b))}
            for layer, (w, b) in LENET.items()}
    assert T.check_parameter_table(rows, LENET).passed
    rows["fc1"] = {"weight": (120, 400), "bias": (120,), "count": 48_120}
    message = failure(T.check_parameter_table(rows, LENET, raise_on_fail=False))
    assert "fc1 was given 16*5*5 = 400 inputs" in message and "16*4*4 = 256" in message
    assert "LeNet on 32x32 images" in message and "count" not in message  # the count follows
    # near miss: a number that is not 16 square maps gets no sizes
    rows["fc1"] = {"weight": (120, 300), "bias": (120,), "count": 36_120}
    message = failure(T.check_parameter_table(rows, LENET, raise_on_fail=False))
    assert "feature maps" not in message and "(120, 300), expected (120, 256)" in message


def test_parameter_table_catches_unfilled_cells():
    message = failure(T.check_parameter_table(
        table(fc={"weight": None, "bias": None, "count": None}), REFERENCE, raise_on_fail=False))
    assert "not filled in" in message


# ----------------------------------------------------------------------------- two halves

def test_every_training_check_judges_the_same_from_json_evidence():
    """The judge half needs only the collected plain data (as the hardened grader stores it)."""
    model = mlp()
    cases = [
        (splits.AugmentationCheck(), (mnist_like(transform=v2.Compose(AUGMENT + NORMALISE)),
                                 mnist_like(transform=v2.Compose(NORMALISE)))),
        (splits.SplitCheck((45, 15)), tuple(random_split(small_images(), [45, 15]))),
        (T.LogitsShapeCheck((3, 1, 28, 28)), model),
        (T.OptimizerCheck("SGD", lr=0.01, momentum=0.9, check_model=True),
         (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), model)),
        (T.SchedulerCheck("LinearLR", {"start_factor": 0.1}), (scheduled(start_factor=0.1)[0], None)),
        (one_epoch.TrainEpochCheck(log_interval=2), train_one_epoch),
        (one_epoch.TestEpochCheck(), evaluate_one_epoch),
        (tables.ParameterTableCheck(REFERENCE), table()),
        (model_faults.NonlinearCheck((3, 1, 28, 28)), model),
        (params.ParameterCountCheck(12_730), model),
    ]
    for check, student in cases:
        evidence = check.collect(student)
        stored = evidence_file.decode(json.loads(json.dumps(evidence_file.encode(evidence))))
        direct, replayed = check.judge(evidence), check.judge(stored)
        assert direct.passed and replayed.passed, (check.kind, direct.message, replayed.message)
