"""The grader's evaluation of saved NumPy networks explains a low score that comes from a
convention (conv layout, flatten order, preprocessing), and only when one does."""
import numpy as np
import pytest
import torch

from autograder.student.checks.saved_files.accuracy import labels, preprocessed
from autograder.student.data import CIFAR10_MEAN, CIFAR10_STD
from autograder.student.checks.saved_files.saved_network import SavedNetworkCheck

CONV = [{"type": "conv2d", "W": "W", "b": "b"}, {"type": "flatten"}]
FLAT = [{"type": "flatten"}, {"type": "linear", "W": "W", "b": "b"}]
THRESHOLD = 0.30   # a linear classifier of CIFAR-10 reaches about 0.38


@pytest.fixture(scope="module")
def linear_classifier():
    """A linear CIFAR-10 classifier trained on 10,000 normalised training images.
    Output: W (3072, 10) in (C, H, W) row order, b (10,)."""
    torch.manual_seed(0)
    x = torch.as_tensor(preprocessed("cifar10", "train", "flat")[:10_000], dtype=torch.float32)
    y = torch.as_tensor(labels("cifar10", "train")[:10_000], dtype=torch.long)
    model = torch.nn.Linear(3072, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    for _ in range(4):
        for i in range(0, len(x), 500):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[i:i + 500]), y[i:i + 500]).backward()
            optimizer.step()
    return model.weight.detach().numpy().T.astype(np.float64), model.bias.detach().numpy()


def judge(arrays, layers, preprocess="image"):
    check = SavedNetworkCheck("net.npz", layers, "cifar10", THRESHOLD, "val", preprocess)
    return check.judge_arrays(arrays)


def as_conv(W):
    """The linear classifier as a full-image convolution: filters (10, 3, 32, 32)."""
    return W.T.reshape(10, 3, 32, 32)


def test_a_correct_saved_network_passes_with_no_diagnosis(linear_classifier):
    W, b = linear_classifier
    assert judge({"W": as_conv(W), "b": b}, CONV).passed
    assert judge({"W": W, "b": b}, FLAT).passed


def test_channel_last_filters_are_named_with_the_im2col_fix(linear_classifier):
    W, b = linear_classifier
    saved = as_conv(W).transpose(0, 2, 3, 1).reshape(10, 3, 32, 32)  # gathered (HH, WW, C)
    result = judge({"W": saved, "b": b}, CONV)
    assert not result.passed
    assert "laid out (F, HH, WW, C)" in result.message
    assert "gather patches in (C, HH, WW) order" in result.message


def test_flipped_filters_are_named_as_a_convolution(linear_classifier):
    W, b = linear_classifier
    result = judge({"W": as_conv(W)[:, :, ::-1, ::-1].copy(), "b": b}, CONV)
    assert not result.passed and "filters of W are flipped" in result.message


def test_features_flattened_channel_last_are_named(linear_classifier):
    W, b = linear_classifier
    channel_last = W.reshape(3, 32, 32, 10).transpose(1, 2, 0, 3).reshape(3072, 10)
    result = judge({"W": channel_last, "b": b}, FLAT)
    assert not result.passed
    assert "flattened features in (H, W, C) order" in result.message


def test_a_network_trained_on_raw_pixels_is_named(linear_classifier):
    W, b = linear_classifier
    mean = np.repeat(np.array(CIFAR10_MEAN), 1024)
    std = np.repeat(np.array(CIFAR10_STD), 1024)
    # the same classifier, folded so that it expects raw pixel values 0..255
    raw_W, raw_b = W / (255 * std[:, None]), b - (mean / std) @ W
    result = judge({"W": raw_W, "b": raw_b}, FLAT)
    assert not result.passed
    assert "trained on raw pixel values 0..255" in result.message


def test_an_untrained_network_gets_no_invented_cause(linear_classifier):
    W, b = linear_classifier
    rng = np.random.default_rng(0)
    result = judge({"W": rng.normal(0, 0.01, W.shape), "b": b}, FLAT)
    assert not result.passed
    assert "Likely cause" not in result.message
