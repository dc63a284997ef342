"""The checks on A1's and A4's NumPy exercises: the teacher's solutions pass, each typical
mistake fails with its own message, malformed evidence fails without an exception, and the
collect halves run without torch.
"""
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from autograder.student import checks, data
from autograder.student.checks import evidence as evidence_file
from autograder.student.checks.numpy_code.convolution import Im2colCheck
from autograder.student.checks.numpy_code.mlp_training import TrainCheck
from tests.conftest import REPO

A1_CELLS = ["activations", "softmax", "penalties", "loss_base", "losses", "init", "network",
            "optimisers", "utils", "train", "preprocess", "confusion"]
A4_CELLS = ["simple_layers", "conv_base", "conv_loop", "im2col", "conv_fast", "maxpool",
            "softmax_ce", "adam", "run_adam", "network", "preprocess", "train_step", "per_class"]


def solutions(assignment: str, grade_ids: list) -> dict:
    """The namespace of the teacher notebook's solution and given cells ``grade_ids``."""
    from tqdm import tqdm

    cells = json.loads((REPO / "source" / assignment / f"{assignment}.ipynb").read_text())["cells"]
    namespace = {"np": np, "tqdm": tqdm, "data": data, "checks": checks}
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in grade_ids:
            exec("".join(cell["source"]), namespace)  # noqa: S102 (the teacher's own code)
    return namespace


A1 = solutions("a1_numpy_mlp", A1_CELLS)
A4 = solutions("a4_numpy_cnn", A4_CELLS)


def edited(cell: str, find: str, replace: str) -> dict:
    """A4's namespace with one edit in the teacher's cell ``cell`` (``find``, which occurs
    exactly once, replaced), as a whole-notebook corpus entry makes its mistake; the cells
    after it run again, so that they use the edited definitions (run_adam the edited Adam)."""
    cells = json.loads((REPO / "source" / "a4_numpy_cnn" / "a4_numpy_cnn.ipynb").read_text())["cells"]
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells]
    namespace, after = dict(A4), False
    for grade_id, source in zip(ids, ("".join(c["source"]) for c in cells)):
        if grade_id == cell:
            assert source.count(find) == 1, f"{find!r} is not once in cell {cell}"
            source, after = source.replace(find, replace), True
        if after and grade_id in A4_CELLS:
            exec(source, namespace)  # noqa: S102 (the teacher's code, edited)
    return namespace


A4_LAYERS = (A4["Network"], A4["Conv2D"], A4["ReLU"], A4["MaxPool2D"], A4["Flatten"], A4["Linear"])


def quiet(check, *args, **kw):
    return check(*args, **kw, raise_on_fail=False)


# ---------------------------------------------------------------- the solutions pass

CORRECT = {
    "init_params": lambda s: quiet(checks.check_init_params, A1["init_params"], [3, 6, 5, 4, 2], seed=s),
    "forward": lambda s: quiet(checks.check_mlp_forward, A1["forward"], [3, 8, 8, 8, 2], "tanh", 7, seed=s),
    "predict": lambda s: quiet(checks.check_predict, A1["predict"], [4, 6, 3], "sigmoid", seed=s),
    "one_hot": lambda s: quiet(checks.check_one_hot, A1["one_hot"], 37, 10, seed=s),
    "accuracy": lambda s: quiet(checks.check_accuracy_function, A1["accuracy"], 37, 10, seed=s),
    "minibatches": lambda s: quiet(checks.check_minibatches, A1["iterate_minibatches"], 37, 8, seed=s),
    "minibatches_one_batch": lambda s: quiet(checks.check_minibatches, A1["iterate_minibatches"], 5, 5,
                                             seed=s),
    "round_trip": lambda s: quiet(checks.check_weights_round_trip, A1["save_weights"],
                                  A1["load_weights"], seed=s),
    "train_adam": lambda s: quiet(checks.check_train, A1["train"], A1["Adam"](lr=1e-2), seed=s),
    "train_sgd": lambda s: quiet(checks.check_train, A1["train"], A1["SGD"](lr=0.2), "tanh", seed=s),
    "pixel_statistics": lambda s: quiet(checks.check_pixel_statistics, A1["pixel_statistics"], seed=s),
    "flat_preprocess": lambda s: quiet(checks.check_flat_preprocess, A1["preprocess"], seed=s),
    "confusion": lambda s: quiet(checks.check_confusion_matrix, A1["confusion_matrix"], seed=s),
    "pairs": lambda s: quiet(checks.check_most_confused_pairs, A1["most_confused_pairs"], seed=s),
    "image_preprocess": lambda s: quiet(checks.check_image_preprocess, A4["preprocess"], seed=s),
    "per_class": lambda s: quiet(checks.check_per_class_accuracy, A4["per_class_accuracy"], seed=s),
    "im2col": lambda s: quiet(checks.check_im2col, A4["im2col"], (2, 4, 9, 7), 3, 2, 1, seed=s),
    "im2col_rect": lambda s: quiet(checks.check_im2col, A4["im2col"], (1, 2, 7, 6), (3, 2), 2, 0, seed=s),
    "col2im": lambda s: quiet(checks.check_col2im, A4["col2im"], (2, 4, 9, 7), 3, 2, 1, seed=s),
    "network": lambda s: quiet(checks.check_network_gradients, *A4_LAYERS, (3, 2, 6, 6), 4, seed=s),
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_the_teacher_solution_passes_on_several_seeds_and_nonces(name, monkeypatch):
    for seed, nonce in ((0, ""), (1, "job-a"), (2, "job-b")):
        monkeypatch.setenv("AUTOGRADER_NONCE", nonce)
        result = CORRECT[name](seed)
        assert result.passed, f"{name}, seed {seed}: {result.message}"


def test_the_teacher_train_step_passes():
    result = quiet(checks.check_train_step, A4["train_step"], A4["build_model"], A4["Adam"])
    assert result.passed, result.message
    assert "->" in result.message


# ---------------------------------------------------------------- A1 mistakes

def init_with(**replace):
    """A1's init_params with some initialisers replaced."""
    table = dict(A1["INITIALISERS"], **replace)

    def init_params(sizes, method="glorot", rng=None):
        params = {}
        for l in range(1, len(sizes)):
            params[f"W{l}"] = table[method](sizes[l - 1], sizes[l], rng)
            params[f"b{l}"] = np.zeros(sizes[l])
        return params
    return init_params


def init_transposed(sizes, method="glorot", rng=None):
    params = A1["init_params"](sizes, method, rng)
    return {k: v.T if k.startswith("W") else v for k, v in params.items()}


def init_bias_ones(sizes, method="glorot", rng=None):
    return {k: v if k.startswith("W") else v + 1 for k, v in A1["init_params"](sizes, method, rng).items()}


def init_ignores_method(sizes, method="glorot", rng=None):
    return A1["init_params"](sizes, "glorot", rng)


def forward_no_softmax(params, X, activation="relu"):
    P, cache = A1["forward"](params, X, activation)
    L = A1["n_layers"](params)
    Z = cache[f"H{L - 1}"] @ params[f"W{L}"] + params[f"b{L}"]
    return Z, dict(cache, P=Z)


def forward_swapped_cache(params, X, activation="relu"):
    P, cache = A1["forward"](params, X, activation)
    return P, dict(cache, A1=cache["H1"], H1=cache["A1"])


def forward_short_cache(params, X, activation="relu"):
    P, cache = A1["forward"](params, X, activation)
    return P, {"H0": X, "P": P}


def minibatches_drop_last(X, Y, batch_size, rng, shuffle=True):
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        yield X[order[start:start + batch_size]], Y[order[start:start + batch_size]]


def minibatches_unpaired(X, Y, batch_size, rng, shuffle=True):
    ox = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    oy = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        yield X[ox[start:start + batch_size]], Y[oy[start:start + batch_size]]


def minibatches_with_replacement(X, Y, batch_size, rng, shuffle=True):
    order = rng.integers(0, len(X), len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        yield X[order[start:start + batch_size]], Y[order[start:start + batch_size]]


def minibatches_global(X, Y, batch_size, rng, shuffle=True):
    return A1["iterate_minibatches"](X, Y, batch_size, np.random.default_rng(np.random.randint(1 << 30)),
                                     shuffle)


def minibatches_always_shuffle(X, Y, batch_size, rng, shuffle=True):
    return A1["iterate_minibatches"](X, Y, batch_size, rng, True)


def minibatches_never_shuffle(X, Y, batch_size, rng, shuffle=True):
    return A1["iterate_minibatches"](X, Y, batch_size, rng, False)


def save_whole_dict(path, params):
    np.savez(path, params)


def save_elsewhere(path, params):
    np.savez(os.path.join(os.path.dirname(path), "my_weights.npz"), **params)


def load_elsewhere(path):
    return A1["load_weights"](os.path.join(os.path.dirname(path), "my_weights.npz"))


def save_float32(path, params):
    np.savez(path, **{k: v.astype(np.float32) for k, v in params.items()})


def train_swapped(*args, **kw):
    history = A1["train"](*args, **kw)
    return {"train_loss": history["val_loss"], "val_loss": history["train_loss"],
            "val_acc": history["val_acc"]}


def train_per_batch(params, X_train, Y_train, X_val, Y_val, optimizer, epochs=5, batch_size=64,
                    **kw):
    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    for _ in range(epochs):
        for X, Y in A1["iterate_minibatches"](X_train, Y_train, batch_size, kw["rng"]):
            history["train_loss"] += A1["train"](params, X, Y, X_val, Y_val, optimizer, 1, batch_size,
                                                 rng=kw["rng"], progress=False)["train_loss"]
    history["val_loss"] = history["val_acc"] = list(history["train_loss"])
    return history


def train_copy(params, *args, **kw):
    return A1["train"]({k: v.copy() for k, v in params.items()}, *args, **kw)


def train_percent(*args, **kw):
    history = A1["train"](*args, **kw)
    return dict(history, val_acc=[100 * a for a in history["val_acc"]])


def pairs_one_way(M, k=2):
    C = len(M)
    scores = {}
    for i in range(C):
        for j in range(C):
            if i != j:
                key = (min(i, j), max(i, j))
                scores[key] = max(scores.get(key, 0), M[i, j])
    return [p for p, _ in sorted(scores.items(), key=lambda t: -t[1])[:k]]


def pairs_upper_only(M, k=2):
    """Counts only M[i, j], i < j: the confusions of j as i are lost."""
    C = len(M)
    pairs = [(int(M[i, j]), (i, j)) for i in range(C) for j in range(i + 1, C)]
    return [p for _, p in sorted(pairs, key=lambda t: -t[0])[:k]]


def forward_variant(on_output=False, hidden_bias=True, output_bias=True, bias_scale=1.0):
    """A1's forward with the hidden activation on the output scores too, or a bias left
    out (or, a near miss, scaled)."""
    def forward(params, X, activation="relu"):
        f, L = A1["ACTIVATIONS"][activation], A1["n_layers"](params)
        cache, H = {"H0": X}, X
        for l in range(1, L):
            A = H @ params[f"W{l}"] + (bias_scale * params[f"b{l}"] if hidden_bias else 0)
            H = f(A)
            cache[f"A{l}"], cache[f"H{l}"] = A, H
        Z = H @ params[f"W{L}"] + (params[f"b{L}"] if output_bias else 0)
        cache["P"] = A1["SOFTMAX"](f(Z) if on_output else Z)
        return cache["P"], cache
    return forward


def relu_on_output(params, X, activation="relu"):
    """ReLU on the output scores whatever the hidden activation: not the hidden one."""
    P, cache = A1["forward"](params, X, activation)
    L = A1["n_layers"](params)
    Z = cache[f"H{L - 1}"] @ params[f"W{L}"] + params[f"b{L}"]
    return A1["SOFTMAX"](np.maximum(Z, 0)), cache


def save_positional(path, params):
    np.savez(path, *params.values())


def pairs_diagonal(M, k=2):
    C = len(M)
    pairs = [(M[i, j] + M[j, i], (i, j)) for i in range(C) for j in range(i, C)]
    return [p for _, p in sorted(pairs, key=lambda t: -t[0])[:k]]


def confusion_fancy(y_true, y_pred, num_classes=10):
    M = np.zeros((num_classes, num_classes), dtype=int)
    M[y_true, y_pred] += 1
    return M


def preprocess_own_statistics(images, mean, std, axis=None):
    """Standardised with the statistics of the images given, the arguments ignored (each
    split gets its own)."""
    x = images.reshape(len(images), -1) / 255
    keep = axis is not None
    return (x - x.mean(axis=axis, keepdims=keep)) / x.std(axis=axis, keepdims=keep)


def test_preprocess_with_other_fixed_statistics_is_not_said_to_use_its_own():
    result = quiet(checks.check_flat_preprocess,
                   lambda im, m, s: (im.reshape(len(im), -1) / 255 - 0.1307) / 0.3081)
    assert not result.passed and "own statistics" not in result.message


class SGDAscent:
    """SGD that adds the gradient: diverged parameters then give the clipped loss
    -log(1e-12) on train and validation alike, which is no swap of the two."""

    def __init__(self, lr):
        self.lr = lr

    def update(self, params, grads):
        for key in params:
            params[key] += self.lr * grads[key]


def q(fn, *args, **kw):
    return lambda: quiet(fn, *args, **kw)


A1_MISTAKES = {
    "glorot_fan_in": (q(checks.check_init_params, init_with(glorot=lambda a, b, r: r.uniform(
        -np.sqrt(6 / a), np.sqrt(6 / a), (a, b))), [5, 4, 3]), "sqrt(6/fan_in)"),
    "glorot_normal": (q(checks.check_init_params, init_with(glorot=lambda a, b, r: r.normal(
        0, np.sqrt(2 / (a + b)), (a, b))), [5, 4, 3]), "Glorot *normal*"),
    "glorot_normal_r": (q(checks.check_init_params, init_with(glorot=lambda a, b, r: r.normal(
        0, np.sqrt(6 / (a + b)), (a, b))), [5, 4, 3]), "drawn from a normal distribution N(0, r)"),
    "gaussian_variance": (q(checks.check_init_params, init_with(gaussian=lambda a, b, r: r.normal(
        0, 0.01, (a, b))), [5, 4, 3]), "the variance"),
    "uniform_0_1": (q(checks.check_init_params, init_with(uniform=lambda a, b, r: r.random((a, b))),
                      [5, 4, 3]), "rng.random draws from [0, 1)"),
    "init_transposed": (q(checks.check_init_params, init_transposed, [5, 4, 3]), "transposed"),
    "init_global_rng": (q(checks.check_init_params, init_with(glorot=lambda a, b, r: np.random.uniform(
        -np.sqrt(6 / (a + b)), np.sqrt(6 / (a + b)), (a, b))), [5, 4, 3]), "not np.random"),
    "init_bias": (q(checks.check_init_params, init_bias_ones, [5, 4, 3]), "biases start at zero"),
    "init_method_ignored": (q(checks.check_init_params, init_ignores_method, [5, 4, 3]),
                            "method argument is ignored"),
    "forward_no_softmax": (q(checks.check_mlp_forward, forward_no_softmax, [6, 5, 4]), "apply softmax"),
    "forward_relu_only": (q(checks.check_mlp_forward, lambda p, X, a="relu": A1["forward"](p, X, "relu"),
                            [3, 8, 8, 2], "tanh"), "pass activation='tanh'"),
    "forward_activation_on_output": (q(checks.check_mlp_forward, forward_variant(on_output=True),
                                       [3, 8, 8, 2], "tanh"),
                                     "the hidden activation (tanh) is applied to the output scores"),
    "forward_no_hidden_bias": (q(checks.check_mlp_forward, forward_variant(hidden_bias=False), [6, 5, 4]),
                               "the hidden layers' biases are missing"),
    "forward_no_bias": (q(checks.check_mlp_forward,
                          forward_variant(hidden_bias=False, output_bias=False), [6, 5, 4]),
                        "no layer adds its bias"),
    "forward_no_output_bias": (q(checks.check_mlp_forward, forward_variant(output_bias=False), [6, 5, 4]),
                               "the last layer's bias is missing"),
    "forward_cache_swapped": (q(checks.check_mlp_forward, forward_swapped_cache, [6, 5, 4]),
                              "cache['A1'] holds H1"),
    "forward_cache_short": (q(checks.check_mlp_forward, forward_short_cache, [6, 5, 4]), "cache is missing"),
    # every output score is below zero in predict's check: a ReLU or tanh on the scores
    # then flattens every row, whatever the nonce
    "predict_activation_on_output": (q(checks.check_predict, lambda p, X, a="relu": forward_variant(
        on_output=True)(p, X, a)[0].argmax(1), [5, 7, 2], "tanh", 30), "predicted labels differ"),
    "predict_probabilities": (q(checks.check_predict, lambda p, X, a="relu": A1["forward"](p, X, a)[0],
                                [4, 5, 3]), "return the class labels"),
    "predict_axis0": (q(checks.check_predict, lambda p, X, a="relu": A1["forward"](p, X, a)[0].argmax(0),
                        [4, 5, 3]), "axis 0"),
    "predict_ignores_activation": (q(checks.check_predict, lambda p, X, a="relu": A1["predict"](p, X),
                                     [4, 5, 3], "tanh", 200), "ignores activation='tanh'"),
    "one_hot_width": (q(checks.check_one_hot, lambda y, c=10: np.eye(y.max() + 1)[y], 30, 6),
                      "use num_classes"),
    "one_hot_off_by_one": (q(checks.check_one_hot, lambda y, c=10: np.eye(c)[(y + 1) % c], 30, 6),
                           "off by one"),
    "accuracy_count": (q(checks.check_accuracy_function, lambda P, y: A1["accuracy"](P, y) * len(P)),
                       "number of correct rows"),
    "accuracy_percent": (q(checks.check_accuracy_function, lambda P, y: 100 * A1["accuracy"](P, y)),
                         "percentage"),
    "accuracy_one_hot": (q(checks.check_accuracy_function,
                           lambda P, y: float(np.mean(P.argmax(1) == (y if y.ndim == 1 else y[:, 0])))),
                         "y.argmax(axis=1)"),
    "minibatch_drop_last": (q(checks.check_minibatches, minibatches_drop_last, 10, 4),
                            "last, partial batch of 2 rows is missing"),
    "minibatch_unpaired": (q(checks.check_minibatches, minibatches_unpaired), "not paired"),
    "minibatch_replacement": (q(checks.check_minibatches, minibatches_with_replacement, 30, 8),
                              "not indices with replacement"),
    "minibatch_global_rng": (q(checks.check_minibatches, minibatches_global), "not np.random"),
    "minibatch_shuffle_false": (q(checks.check_minibatches, minibatches_always_shuffle),
                                "shuffle=False must keep"),
    "minibatch_no_shuffle": (q(checks.check_minibatches, minibatches_never_shuffle),
                             "kept the original order"),
    "save_whole_dict": (q(checks.check_weights_round_trip, save_whole_dict,
                          lambda path: dict(np.load(path, allow_pickle=True)["arr_0"].item())),
                        "one pickled object"),
    "save_elsewhere": (q(checks.check_weights_round_trip, save_elsewhere, load_elsewhere),
                       "did not write the file it was given"),
    "save_positional": (q(checks.check_weights_round_trip, save_positional, A1["load_weights"]),
                        "the names np.savez gives arrays passed positionally"),
    "save_float32": (q(checks.check_weights_round_trip, save_float32, A1["load_weights"]),
                     "came back different"),
    "train_swapped": (lambda: quiet(checks.check_train, train_swapped, A1["Adam"](lr=1e-2)), "swapped"),
    "train_gradient_ascent": (lambda: quiet(checks.check_train, A1["train"], SGDAscent(lr=0.2), "tanh"),
                              "the training loss went up"),
    "train_per_batch": (lambda: quiet(checks.check_train, train_per_batch, A1["Adam"](lr=1e-2)),
                        "one value per batch"),
    "train_copy": (lambda: quiet(checks.check_train, train_copy, A1["Adam"](lr=1e-2)), "in place"),
    "train_percent": (lambda: quiet(checks.check_train, train_percent, A1["Adam"](lr=1e-2)),
                      "percentage"),
    "pixels_unscaled": (q(checks.check_pixel_statistics, lambda im: (float(im.mean()), float(im.std()))),
                        "divide by 255"),
    "pixels_ddof": (q(checks.check_pixel_statistics,
                      lambda im: (float((im / 255).mean()), float((im / 255).std(ddof=1)))), "ddof=1"),
    "preprocess_not_flat": (q(checks.check_flat_preprocess, lambda im, m, s: (im / 255 - m) / s),
                            "flatten every image"),
    "preprocess_parentheses": (q(checks.check_flat_preprocess,
                                 lambda im, m, s: im.reshape(len(im), -1) / 255 - m / s), "parentheses"),
    "preprocess_own_statistics": (q(checks.check_flat_preprocess, preprocess_own_statistics),
                                  "standardised with its own statistics"),
    "preprocess_per_image": (q(checks.check_flat_preprocess, lambda im, m, s: preprocess_own_statistics(
        im, m, s, axis=1)), "each image's own statistics"),
    "confusion_transposed": (q(checks.check_confusion_matrix,
                               lambda t, p, c=10: A1["confusion_matrix"](p, t, c)), "transposed"),
    "confusion_fancy_index": (q(checks.check_confusion_matrix, confusion_fancy), "np.add.at"),
    "confusion_size_from_labels": (q(checks.check_confusion_matrix,
                                     lambda t, p, c=10: A1["confusion_matrix"](t, np.minimum(p, t.max()),
                                                                               t.max() + 1)),
                                   "use num_classes"),
    "pairs_one_way": (q(checks.check_most_confused_pairs, pairs_one_way, 6, 2, seed=3), "one direction"),
    "pairs_upper_only": (q(checks.check_most_confused_pairs, pairs_upper_only, 5, 2, seed=2602),
                         "only one direction was counted, M[i, j] (i < j)"),
    "pairs_ascending": (q(checks.check_most_confused_pairs,
                          lambda M, k=2: A1["most_confused_pairs"](M, len(M) * (len(M) - 1) // 2)[::-1][:k]),
                        "most confused pairs come first"),
    "pairs_diagonal": (q(checks.check_most_confused_pairs, pairs_diagonal), "diagonal"),
    "pairs_unordered": (q(checks.check_most_confused_pairs,
                          lambda M, k=2: [(j, i) for i, j in A1["most_confused_pairs"](M, k)]), "i < j"),
}


NEAR_MISSES = {   # wrong, but not the named mistake: the cause must not be named
    "uniform with std r (range sqrt(3) r)": (
        q(checks.check_init_params, init_with(glorot=lambda a, b, r: r.uniform(
            -np.sqrt(18 / (a + b)), np.sqrt(18 / (a + b)), (a, b))), [5, 4, 3]), "normal"),
    "normal with std 2r": (q(checks.check_init_params, init_with(glorot=lambda a, b, r: r.normal(
        0, 2 * np.sqrt(6 / (a + b)), (a, b))), [5, 4, 3]), "normal"),
    "hidden biases doubled": (q(checks.check_mlp_forward, forward_variant(bias_scale=2.0), [6, 5, 4]),
                              "bias"),
    "relu on the output of a tanh network": (q(checks.check_mlp_forward, relu_on_output, [3, 8, 8, 2],
                                               "tanh"), "output scores"),
    "keys renamed by load_weights": (q(checks.check_weights_round_trip, A1["save_weights"],
                                       lambda path: {k.upper(): v for k, v in
                                                     A1["load_weights"](path).items()}),
                                     "positionally"),
    "pairs ascending": (q(checks.check_most_confused_pairs, lambda M, k=2: A1["most_confused_pairs"](
        M, len(M) * (len(M) - 1) // 2)[::-1][:k], 5, 2, seed=2602), "one direction"),
}


@pytest.mark.parametrize("near_miss", sorted(NEAR_MISSES))
def test_a_near_miss_is_caught_without_the_named_cause_of_a_neighbouring_mistake(near_miss):
    run, words = NEAR_MISSES[near_miss]
    result = run()
    assert not result.passed and words not in result.message, result.message


def test_the_identity_on_the_output_scores_changes_nothing_and_passes():
    assert quiet(checks.check_mlp_forward, forward_variant(on_output=True), [6, 5, 4], "linear").passed


def test_a_linear_gradient_of_twos_is_not_said_to_be_zero():
    result = quiet(checks.check_elementwise, lambda x: x, lambda x: 2 * np.ones_like(x), "linear")
    assert not result.passed and "zero" not in result.message and "slope 1" not in result.message


# ---------------------------------------------------------------- A4 mistakes

def im2col_unstrided(x, HH, WW, stride, pad):
    """im2col that sizes the output for the stride but reads window (i, j) at (i, j)."""
    N, C, H, W = x.shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C * HH * WW, N * Ho * Wo))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                cols[:, (n * Ho + i) * Wo + j] = xp[n, :, i:i + HH, j:j + WW].reshape(-1)
    return cols


def test_im2col_at_stride_one_is_not_said_to_ignore_the_stride():
    result = checks.check_im2col(im2col_unstrided, (2, 3, 7, 6), 3, 1, 1, raise_on_fail=False)
    assert result.passed
    result = checks.check_im2col(lambda *a: A4["im2col"](*a) * 2, (2, 3, 7, 6), 3, 2, 1,
                                 raise_on_fail=False)
    assert "im2col is wrong" in result.message and "stride" not in result.message.split(";")[0]


def im2col_layout(rows, cols):
    def im2col(x, HH, WW, stride, pad):
        N, C, H, W = x.shape
        Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
        six = A4["im2col"](x, HH, WW, stride, pad).reshape(C, HH, WW, N, Ho, Wo)
        return np.ascontiguousarray(six.transpose(rows + cols)).reshape(C * HH * WW, -1)
    return im2col


def col2im_overwrite(cols, x_shape, HH, WW, stride, pad):
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    cols = cols.reshape(C, HH, WW, N, Ho, Wo)
    dx = np.zeros((C, N, H + 2 * pad, W + 2 * pad))
    for u in range(HH):
        for v in range(WW):
            dx[:, :, u:u + stride * Ho:stride, v:v + stride * Wo:stride] = cols[:, u, v]
    return dx[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)


def col2im_padded(cols, x_shape, HH, WW, stride, pad):
    N, C, H, W = x_shape
    out = A4["col2im"](cols, (N, C, H + 2 * pad, W + 2 * pad), HH, WW, stride, 0)
    return out


def col2im_layout(cols, x_shape, HH, WW, stride, pad):
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    canonical = cols.reshape(C, HH, WW, Ho, Wo, N).transpose(0, 1, 2, 5, 3, 4)  # read as (i, j, n)
    return A4["col2im"](canonical.reshape(cols.shape), x_shape, HH, WW, stride, pad)


class NetworkCopies(A4["Network"]):
    def parameters(self):
        return [(p.copy(), g) for p, g in super().parameters()]


class NetworkSwapped(A4["Network"]):
    def parameters(self):
        return [(g, p) for p, g in super().parameters()]


class NetworkNoRelu(A4["Network"]):
    def forward(self, x):
        for name, layer in self.layers:
            if name != "relu":
                x = layer.forward(x)
        return x


class ConvWrongWeightGrad(A4["Conv2D"]):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = 2 * self.grads["W"]
        return dx


class ConvBiasMean(A4["Conv2D"]):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.mean(axis=(0, 2, 3))
        return dx


class ConvWrongDx(A4["Conv2D"]):
    def backward(self, dout):
        return 2 * super().backward(dout)


def test_a_network_whose_conv_gradients_are_both_wrong_blames_the_gradient_passed_back():
    class Broken(A4["Network"]):
        def backward(self, dscores):
            d = dscores
            for _, layer in reversed(self.layers):
                d = 3 * layer.backward(d) if isinstance(layer, A4["ReLU"]) else layer.backward(d)
            return d
    message = checks.check_network_gradients(*network_with(Network=Broken), (3, 2, 6, 6),
                                             raise_on_fail=False).message
    assert "the gradient passed back to the earlier layers is not" in message
    assert "reaching the convolution is right" not in message


def train_step_no_update(model, optimizer, X, y):
    loss, d = A4["softmax_cross_entropy"](model.forward(X), y)
    model.backward(d)
    return loss


def train_step_tuple(model, optimizer, X, y):
    loss, d = A4["softmax_cross_entropy"](model.forward(X), y)
    model.backward(d)
    optimizer.step(model.parameters())
    return loss, d


def train_step_sum(model, optimizer, X, y):
    return A4["train_step"](model, optimizer, X, y) * len(y)


def preprocess_channels_last(images):
    x = images.astype(np.float32) / 255
    return (x - np.array(data.CIFAR10_MEAN, np.float32)) / np.array(data.CIFAR10_STD, np.float32)


def preprocess_reshape(images):
    x = images.astype(np.float32).reshape(len(images), 3, 32, 32) / 255
    return (x - np.array(data.CIFAR10_MEAN, np.float32)[:, None, None]) / \
        np.array(data.CIFAR10_STD, np.float32)[:, None, None]


def preprocess_reversed_stats(images):
    x = images.astype(np.float32).transpose(0, 3, 1, 2) / 255
    return (x - np.array(data.CIFAR10_MEAN[::-1], np.float32)[:, None, None]) / \
        np.array(data.CIFAR10_STD[::-1], np.float32)[:, None, None]


def image_preprocess_own_statistics(images):
    x = images.astype(np.float32).transpose(0, 3, 1, 2) / 255
    return (x - x.mean(axis=(0, 2, 3), keepdims=True)) / x.std(axis=(0, 2, 3), keepdims=True)


def test_preprocess_with_kit_constants_near_own_statistics_is_not_called_own_statistics():
    """A preprocess off by another mistake is not blamed on per-split statistics."""
    def shifted(images):
        return A4["preprocess"](images) + np.float32(0.01)
    message = checks.check_image_preprocess(shifted, raise_on_fail=False).message
    assert "preprocess is wrong" in message and "statistics of the images" not in message


def per_class_by_prediction(y_true, y_pred, num_classes=10):
    return A4["per_class_accuracy"](y_pred, y_true, num_classes)


def per_class_zero(y_true, y_pred, num_classes=10):
    return np.nan_to_num(A4["per_class_accuracy"](y_true, y_pred, num_classes))


def network_with(Network=A4["Network"], Conv2D=A4["Conv2D"]):
    return (Network, Conv2D) + A4_LAYERS[2:]


# the whole-notebook corpus's A4 mistakes (tests/corpus/notebooks/a4_numpy_cnn.json), made
# by the same edit of the teacher's cell
ConvLoopAssignsDW = edited("conv_loop", "dW[f] += g * x_pad", "dW[f] = g * x_pad")["Conv2DLoop"]
ConvLoopUnstridedDx = edited(
    "conv_loop", "dx_pad[n, :, i * s:i * s + HH, j * s:j * s + WW] += g * weight[f]",
    "dx_pad[n, :, i:i + HH, j:j + WW] += g * weight[f]")["Conv2DLoop"]
ConvReshapedStraight = edited("conv_fast", "return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)",
                              "return out.reshape(N, F, H_out, W_out)")["Conv2D"]
ADAM_REBINDS = edited("adam", "param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
                      "param = param - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)")["run_adam"]
SCE_PLUS_ONE = edited("softmax_ce", "dscores[np.arange(N), y] -= 1.0",
                      "dscores[np.arange(N), y] += 1.0")["softmax_cross_entropy"]
NetworkForwardOrder = edited("network", "for _, layer in reversed(self.layers):",
                             "for _, layer in self.layers:")["Network"]


def conv_check(layer, stride, **kw):
    """test_conv_loop's check of a layer with stride 1 (pad 1) or 2 (pad 0), with a small
    large input (loops are slow, and these mistakes show on the small one)."""
    x_shape, pad = ((2, 3, 5, 5), 1) if stride == 1 else ((2, 2, 7, 7), 0)
    return quiet(checks.check_layer, layer, "conv2d", x_shape, stride=stride, pad=pad,
                 large=(2, x_shape[1], 8, 8), **kw)


def test_a_conv_weight_gradient_assigned_is_named_at_every_stride_and_not_blamed_on_it(
        grader_references):
    for stride, c_in in ((1, 3), (2, 2)):
        message = conv_check(ConvLoopAssignsDW(c_in, 3, 3, stride=stride, pad=2 - stride),
                             stride).message
        assert "only the last window's is left" in message, message
        assert "stride" not in message


def test_a_conv_gradient_wrong_otherwise_gets_no_assignment_or_stride_cause(grader_references):
    class Doubled(A4["Conv2DLoop"]):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] = 2 * self.grads["W"]
            return 2 * dx if self.stride > 1 else dx
    message = conv_check(Doubled(3, 3, 3, stride=1, pad=1), 1).message
    assert "gradient of W" in message and "2x too large" in message
    assert "assigned" not in message and "window at (i, j)" not in message
    message = conv_check(Doubled(2, 3, 3, stride=2, pad=0), 2).message
    assert "dx is wrong" in message and "window at (i, j)" not in message


def test_the_teacher_convolutions_pass_at_strides_one_to_three():
    for Layer in (A4["Conv2DLoop"], A4["Conv2D"]):
        for stride, x_shape, pad in ((1, (2, 3, 5, 5), 1), (2, (1, 3, 6, 5), 1), (3, (2, 3, 8, 7), 0)):
            result = quiet(checks.check_layer, Layer(3, 2, 3 if stride < 3 else 2, stride=stride, pad=pad),
                           "conv2d", x_shape, stride=stride, pad=pad, large=(2, 3, 16, 16))
            assert result.passed, (Layer.__name__, stride, result.message)


def test_a_conv_forward_wrong_otherwise_is_not_said_to_skip_the_transpose():
    class Swapped(A4["Conv2D"]):
        def forward(self, x):
            return super().forward(x).transpose(0, 1, 3, 2)
    message = conv_check(Swapped(3, 4, 3, stride=1, pad=1), 1).message
    assert "forward(x) is wrong" in message and "reshaped straight" not in message


def test_adam_moving_some_parameters_is_not_said_to_rebind_them():
    def run_adam_freezes_b(params, grads_per_step, lr):
        result = A4["run_adam"](params, grads_per_step, lr)
        return dict(result, b=np.array(params["b"], dtype=float))
    message = quiet(checks.check_adam, run_adam_freezes_b).message
    assert "parameter b after" in message and "in place" not in message
    assert quiet(checks.check_adam, A4["run_adam"], lr=0.03, steps=6, seed=4801).passed


def test_a_softmax_cross_entropy_gradient_wrong_otherwise_gets_no_sign_cause():
    def plus_one_unaveraged(scores, y):
        loss, d = SCE_PLUS_ONE(scores, y)
        return loss, d * len(y)
    for fn in (plus_one_unaveraged, lambda s, y: (A4["softmax_cross_entropy"](s, y)[0],
                                                   -A4["softmax_cross_entropy"](s, y)[1])):
        message = quiet(checks.check_softmax_cross_entropy, fn).message
        assert "dscores is wrong" in message and "+1 instead of -1" not in message


def test_a_network_backward_in_reverse_that_crashes_is_not_said_to_run_forward():
    class FlattenRaises(A4["Flatten"]):
        def backward(self, dout):
            raise ValueError("cannot reshape")
    layers = (A4["Network"], A4["Conv2D"], A4["ReLU"], A4["MaxPool2D"], FlattenRaises, A4["Linear"])
    message = quiet(checks.check_network_gradients, *layers, (3, 2, 6, 6)).message
    assert "cannot reshape" in message and "forward order" not in message


@pytest.mark.parametrize("forged", [None, "conv", [], [["conv"]], [["conv", None]], [{"a": 1, "b": 2}],
                                    [["conv", [3, "x"]]], [["fc", [3, 4]]], [["conv", [3, 5]]]])
def test_a_malformed_or_other_backward_record_names_no_order(forged):
    from autograder.student.checks.numpy_code.backward_order import forward_order_cause
    assert forward_order_cause(forged, "conv", (3, 4)) == ""
    assert "forward order" in forward_order_cause([["conv", [3, 4]], ["relu", None]], "conv", (3, 4))


# named only where the grader's references are installed (the judge), as at grading
GRADER_MISTAKES = {
    "conv_loop_dw_assigned": (lambda: conv_check(ConvLoopAssignsDW(3, 4, 3, stride=1, pad=1), 1),
                              "each window's contribution was assigned (dW[f] = ...)"),
    "conv_loop_dx_unstrided": (lambda: conv_check(ConvLoopUnstridedDx(2, 3, 3, stride=2, pad=0), 2),
                               "each output's gradient went back to the window at (i, j): with "
                               "stride 2"),
}


@pytest.mark.parametrize("mistake", sorted(GRADER_MISTAKES))
def test_a_mistake_named_with_the_graders_references_is_only_a_symptom_without(
        mistake, grader_references):
    run, words = GRADER_MISTAKES[mistake]
    result = run()
    assert not result.passed and words in result.message, result.message
    from autograder.student.checks.core import forget_references

    forget_references()   # a student's Jupyter: the same mistake fails, its cause unnamed
    result = run()
    assert not result.passed and words not in result.message, result.message


A4_MISTAKES = {
    "conv_fast_reshape_no_transpose": (lambda: conv_check(ConvReshapedStraight(3, 4, 3, stride=1, pad=1), 1),
                                       "the (F, N*H'*W') product was reshaped straight to (N, F, H', W')"),
    "agree_reshape_no_transpose": (q(checks.check_layers_agree, A4["Conv2DLoop"](3, 4, 3, stride=1, pad=1),
                                     ConvReshapedStraight(3, 4, 3, stride=1, pad=1), (2, 3, 6, 6),
                                     reference="conv2d", stride=1, pad=1, labels=("Conv2DLoop", "Conv2D")),
                                   "Conv2D disagrees with the reference (Conv2DLoop is right): forward(x) "
                                   "is wrong: the (F, N*H'*W') product was reshaped straight"),
    "adam_rebinds_param": (q(checks.check_adam, ADAM_REBINDS, lr=1e-3, steps=3),
                           "param = param - ... only rebinds the name to a new array; update the "
                           "array in place (param -= ...)"),
    "sce_grad_plus_one": (q(checks.check_softmax_cross_entropy, SCE_PLUS_ONE),
                          "the true class gets +1 instead of -1"),
    "network_backward_forward_order": (q(checks.check_network_gradients,
                                         *network_with(NetworkForwardOrder), (3, 2, 6, 6)),
                                       "Network.backward runs the layers in forward order: it "
                                       "handed dscores (3, 4) to the first layer's backward (conv)"),
    "im2col_transposed": (q(checks.check_im2col, lambda *a: A4["im2col"](*a).T, (2, 3, 5, 5), 3, 1, 1),
                          "rows and columns are swapped"),
    "im2col_columns_ijn": (q(checks.check_im2col, im2col_layout((0, 1, 2), (4, 5, 3)), (2, 3, 5, 5), 3, 1,
                             1), "columns ordered (i, j, n)"),
    "im2col_rows_uvc": (q(checks.check_im2col, im2col_layout((1, 2, 0), (3, 4, 5)), (2, 3, 5, 5), 3, 1, 1),
                        "rows ordered (u, v, c)"),
    "im2col_no_padding": (q(checks.check_im2col, lambda x, HH, WW, s, p: A4["im2col"](x, HH, WW, s, 0),
                            (2, 3, 5, 5), 3, 1, 1), "padding is missing"),
    "im2col_unstrided": (q(checks.check_im2col, im2col_unstrided, (2, 3, 7, 6), 3, 2, 1),
                         "im2col ignores the stride"),
    "col2im_overwrite": (q(checks.check_col2im, col2im_overwrite, (2, 3, 5, 5), 3, 1, 1),
                         "do not overwrite"),
    "col2im_padded": (q(checks.check_col2im, col2im_padded, (2, 3, 5, 5), 3, 1, 1), "cut the padding off"),
    "col2im_layout": (q(checks.check_col2im, col2im_layout, (2, 3, 5, 5), 3, 1, 1), "another layout"),
    "network_copies": (q(checks.check_network_gradients, *network_with(NetworkCopies), (3, 2, 6, 6)),
                       "(copies?)"),
    "network_swapped_pairs": (q(checks.check_network_gradients, *network_with(NetworkSwapped),
                                (3, 2, 6, 6)), "(grad, param)"),
    "network_skips_layer": (q(checks.check_network_gradients, *network_with(NetworkNoRelu), (3, 2, 6, 6)),
                            "running the layers in order"),
    "network_broken_conv": (q(checks.check_network_gradients, *network_with(Conv2D=ConvWrongWeightGrad),
                              (3, 2, 6, 6)), "fix it first"),
    "network_conv_bias_mean": (q(checks.check_network_gradients, *network_with(Conv2D=ConvBiasMean),
                                 (3, 2, 6, 6)), "conv_W is right, so the gradient reaching the convolution"),
    "network_conv_dx": (q(checks.check_network_gradients, *network_with(Conv2D=ConvWrongDx), (3, 2, 6, 6)),
                        "every parameter gradient is right"),
    "train_step_no_update": (q(checks.check_train_step, train_step_no_update, A4["build_model"],
                               A4["Adam"], steps=3), "never changed"),
    "train_step_tuple": (q(checks.check_train_step, train_step_tuple, A4["build_model"], A4["Adam"],
                           steps=3), "a tuple of 2 items"),
    "train_step_sum": (q(checks.check_train_step, train_step_sum, A4["build_model"], A4["Adam"], steps=3),
                       "sum over the batch"),
    "preprocess_channels_last": (q(checks.check_image_preprocess, preprocess_channels_last),
                                 "channels last"),
    "preprocess_reshape": (q(checks.check_image_preprocess, preprocess_reshape), "reshape does not move"),
    "preprocess_reversed_stats": (q(checks.check_image_preprocess, preprocess_reversed_stats),
                                  "another channel's statistics"),
    "image_preprocess_own_statistics": (q(checks.check_image_preprocess,
                                          image_preprocess_own_statistics),
                                  "standardised with the statistics of the images it was given"),
    "preprocess_float64": (q(checks.check_image_preprocess, lambda im: A4["preprocess"](im).astype(float)),
                           "return float32"),
    "per_class_by_prediction": (q(checks.check_per_class_accuracy, per_class_by_prediction, 10, 300, False),
                                "PREDICTED"),
    "per_class_zero_for_missing": (q(checks.check_per_class_accuracy, per_class_zero), "NaN"),
}

MISTAKES = {**A1_MISTAKES, **A4_MISTAKES}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_typical_mistake_fails_with_its_own_message(mistake):
    run, words = MISTAKES[mistake]
    result = run()
    assert not result.passed, f"{mistake} was not caught"
    assert words in result.message, f"{mistake}: {result.message!r} lacks {words!r}"


def test_the_messages_of_different_mistakes_differ():
    messages = {}
    for mistake, (run, _) in MISTAKES.items():
        messages.setdefault(run().message, []).append(mistake)
    assert [m for m in messages.values() if len(m) > 1] == []


# ---------------------------------------------------------------- the two halves

def test_the_judge_decides_from_an_evidence_file_alone(tmp_path, monkeypatch):
    path = tmp_path / "evidence.jsonl"
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(path))
    checks.check_im2col(A4["im2col"], (2, 3, 5, 5), 3, 1, 1, seed=7)
    quiet(checks.check_train, train_swapped, A1["Adam"](lr=1e-2), seed=8)
    records = evidence_file.read_evidence(str(path))
    assert [r["kind"] for r in records] == ["im2col", "mlp_train"]
    assert Im2colCheck((2, 3, 5, 5), 3, 1, 1, seed=7).judge(records[0]["evidence"]).passed
    verdict = TrainCheck(seed=8).judge(records[1]["evidence"])
    assert not verdict.passed and "swapped" in verdict.message


@pytest.mark.parametrize("forged", [{}, {"cols": "not an array"}, {"cols": [[1, 2], [3]]},
                                    {"cols": {"__array__": 1}}])
def test_malformed_evidence_fails_with_a_message_not_an_exception(forged):
    result = Im2colCheck((2, 3, 5, 5), 3, 1, 1).judge(forged)
    assert not result.passed and result.message


def test_evidence_for_other_inputs_fails_under_the_graders_nonce(monkeypatch):
    record = {}
    check = Im2colCheck((2, 3, 5, 5), 3, 1, 1, seed=0)
    record.update(check.collect(A4["im2col"]))  # visible inputs, no nonce
    check.nonce = "grading-job"
    assert not check.judge(record).passed


def test_the_collect_halves_run_without_torch(tmp_path):
    """A1 and A4 kernels have no torch: the checks' modules import and collect without it."""
    # The whole package imports without torch (tests/test_checks_layout.py); here the
    # NumPy family's collect halves also run without it.
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from autograder.student.checks.numpy_code import (mlp, utilities, mlp_training,\n"
        "    preprocessing, evaluation, convolution, cnn_training, layers, network)\n"
        "import json\n"
        "from autograder.student import data\n"
        "checks = None\n"
        f"A1_CELLS, A4_CELLS = {A1_CELLS!r}, {A4_CELLS!r}\n"
        f"from pathlib import Path; REPO = Path({str(REPO)!r})\n"
        + inspect.getsource(solutions) +
        "A1 = solutions('a1_numpy_mlp', A1_CELLS)\n"
        "A4 = solutions('a4_numpy_cnn', A4_CELLS)\n"
        "A4_LAYERS = tuple(A4[k] for k in ('Network', 'Conv2D', 'ReLU', 'MaxPool2D', 'Flatten', "
        "'Linear'))\n"

        "mlp.InitParamsCheck([3, 4, 2]).collect(A1['init_params'])\n"
        "mlp.ForwardCheck([3, 4, 2]).collect(A1['forward'])\n"
        "mlp_training.TrainCheck().collect((A1['train'], A1['Adam'](lr=1e-2)))\n"
        "convolution.Im2colCheck((2, 3, 5, 5)).collect(A4['im2col'])\n"
        "assert 'large' in cnn_training.NetworkGradientCheck((3, 2, 6, 6)).collect(A4_LAYERS)\n"
        "grads = lambda p, X, Y: A1['backward'](p, A1['forward'](p, X)[1], Y)\n"
        "assert 'sketch' in network.MLPGradientCheck([3, 4, 2]).collect(grads)['large']\n"
        "assert 'sketch' in layers.LayerCheck('conv2d', (2, 3, 5, 5), pad=1).collect(\n"
        "    A4['Conv2D'](3, 4, 3, pad=1))['large']\n"
        "cnn_training.TrainStepCheck(steps=2).collect((A4['train_step'], A4['build_model'], A4['Adam']))\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_without_torch_a_grading_kernel_defers_and_a_notebook_says_so(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)
    check = Im2colCheck((2, 3, 5, 5), 3, 1, 1)
    evidence = check.collect(A4["im2col"])
    result = check.judge(evidence)
    assert not result.passed and "needs torch" in result.message
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(tmp_path / "evidence.jsonl"))
    result = check.judge(evidence)
    assert result.passed and result.details["deferred"]


# ---------------------------------------------------------------- backprop, not differences
# A4 layers whose backward differentiates their own forward pass numerically (issue 20):
# right on the small inputs, so each linear, conv2d and max-pool check also runs a large
# input (layers.LARGE_ENTRIES) that takes such a backward hours (measured costs in layers.py).

def numerical_layer(base, order, cell_limit_entries=None, known=None):
    """A subclass of ``base`` whose backward is central differences (order 2, h = 1e-5, or 4,
    h = 1e-4)
    of <forward(x), dout> in every entry of x and of the parameters.

    ``cell_limit_entries``: on a large input, only that many entries are differentiated
    (what fits in A4's cell limit), the rest stay zero, except the sampled entries, copied
    from ``known`` (the attacker knows the nonce, hence which entries are sampled)."""
    steps = {2: ((1, 1 / 2), (-1, -1 / 2)),
             4: ((-2, 1 / 12), (-1, -8 / 12), (1, 8 / 12), (2, -1 / 12))}[order]
    h = 1e-5 if order == 2 else 1e-4

    class Numerical(base):
        def forward(self, x):
            self.x = x.copy()
            return super().forward(x)

        def differentiate(self, value, dout, budget):
            grad = np.zeros_like(value)
            for i in range(min(value.size, budget)):
                old, total = value.flat[i], 0.0
                for k, weight in steps:
                    value.flat[i] = old + k * h
                    total += weight * float(np.sum(super().forward(self.x) * dout))
                value.flat[i] = old
                grad.flat[i] = total / h if abs(total / h) > 1e-9 else 0.0  # exact zeros
            return grad

        def backward(self, dout):
            large = known is not None and self.x.shape == known["x_shape"]
            budget = 40 if large else 10 ** 9  # 40 passes run here, standing for the limit's
            self.grads = {k: self.differentiate(v, dout, budget) for k, v in self.params.items()}
            dx = self.differentiate(self.x, dout, budget)
            super().forward(self.x)
            if large:
                for name, got in (("dx", dx), *self.grads.items()):
                    got.flat[:cell_limit_entries] = known["grads"][name].flat[:cell_limit_entries]
                    index = known["indices"][name]
                    got.flat[index] = known["grads"][name].flat[index]
            return dx
    return Numerical


NUMERICAL_CASES = [
    ("Conv2D", (3, 4, 3), dict(stride=1, pad=1), "conv2d", (2, 3, 5, 5)),
    ("Conv2D", (2, 3, 2), dict(stride=3, pad=0), "conv2d", (2, 2, 8, 7)),
    ("MaxPool2D", (2, 2), {}, "maxpool2d", (2, 3, 4, 4)),
    ("Linear", (20, 13), {}, "linear", (9, 20)),
]


def build(cls, args, options):
    return cls(*args, **{k: v for k, v in options.items()}) if options else cls(*args)


def check_options(reference, args, options):
    return dict(options, kernel=args[0], stride=args[1]) if reference == "maxpool2d" else options


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("case", NUMERICAL_CASES, ids=[c[0] + str(c[1]) for c in NUMERICAL_CASES])
def test_a_numerical_backward_is_caught_by_cost_not_accuracy(order, case):
    """With a large input as small as the visible one, a numerical backward passes: only the
    size of the default large input stops it."""
    cls, args, options, reference, x_shape = case
    layer = build(numerical_layer(A4[cls], order), args, options)
    result = checks.check_layer(layer, reference, x_shape, large=x_shape, raise_on_fail=False,
                                **check_options(reference, args, options))
    assert result.passed, result.message


@pytest.mark.parametrize("case", NUMERICAL_CASES, ids=[c[0] + str(c[1]) for c in NUMERICAL_CASES])
def test_a_numerical_backward_stopped_by_the_cell_limit_loses_the_check(case, monkeypatch, order=4):
    """At grading the attacker's backward gets as far as A4's cell limit allows, at most half
    of the entries (the whole takes 5 to 50 times that limit, see layers.py), and knows the
    sampled entries; the block sums of squares of what it could not reach still fail it."""
    from autograder.student.checks.numpy_code.layers import LayerCheck, reference_gradients

    monkeypatch.setenv("AUTOGRADER_NONCE", "grading-job-9")
    cls, args, options, reference, x_shape = case
    opts = check_options(reference, args, options)
    check = LayerCheck(reference, x_shape, **opts)
    names = ("W", "b") if reference != "maxpool2d" else ()
    shapes = {n: build(A4[cls], args, options).params[n].shape for n in names}
    inp = check.large_inputs(shapes)
    out, _, _ = reference_gradients(reference, inp["x"], inp["params"], None, opts)
    dout = check.rng("large dout").normal(0, 1, out.shape)
    _, dx, grads = reference_gradients(reference, inp["x"], inp["params"], dout, opts)
    known = {"x_shape": check.large, "indices": inp["indices"], "grads": {"dx": dx, **(grads or {})}}
    entries = check.large[0] // 2 * int(np.prod(check.large[1:]))  # the first half of dx
    layer = build(numerical_layer(A4[cls], order, entries, known), args, options)
    result = checks.check_layer(layer, reference, x_shape, raise_on_fail=False, **opts)
    assert not result.passed
    assert result.message.startswith(f"right on the small input, but wrong on an input of shape "
                                     f"{check.large}"), result.message
    assert "blocks of the gradient of dx" in result.message


def test_the_network_check_runs_a_large_input_too():
    """Network.backward is judged on a large input: a Conv2D whose gradients are right only
    on small inputs (what a time-boxed numerical backward returns) loses the check."""
    class SmallOnly(A4["Conv2D"]):
        def backward(self, dout):
            dx = super().backward(dout)
            return dx if dx.size < 10_000 else np.zeros_like(dx)

    result = quiet(checks.check_network_gradients, A4["Network"], SmallOnly, *A4_LAYERS[2:],
                   (3, 2, 6, 6), 4)
    assert result.message.startswith("right on the small input, but wrong on an input of shape "
                                     "(256, 2, 32, 32)"), result.message
