"""The check library: correct code passes, each typical mistake is caught by name."""
import json

import numpy as np
import pytest
import torch

from autograder.student import checks
from autograder.student.checks import evidence as evidence_file
from autograder.student.checks.numpy_code.functions import ElementwiseCheck
from tests.corpus import reference as R
from tests.corpus.mistakes import CORPUS

# These tests judge as the grader does: with its references, which name the mistakes
# only an answer to the exercise recognises (a student's Jupyter never has them).
pytestmark = pytest.mark.usefixtures("grader_references")


# ---------------------------------------------------------------- correct code passes

CORRECT = {
    "relu": lambda: checks.check_elementwise(R.relu, R.relu_grad, "relu"),
    "sigmoid": lambda: checks.check_elementwise(R.sigmoid, R.sigmoid_grad, "sigmoid"),
    "tanh": lambda: checks.check_elementwise(R.tanh, R.tanh_grad, "tanh", shape=(3, 4, 5)),
    "linear_activation": lambda: checks.check_elementwise(lambda x: x, np.ones_like, "linear"),
    "softmax": lambda: checks.check_softmax(R.softmax, shape=(9, 4)),
    "softmax_vjp": lambda: checks.check_softmax_vjp(R.softmax_vjp),
    "cross_entropy": lambda: checks.check_loss(R.cross_entropy, R.cross_entropy_grad,
                                               "cross_entropy"),
    "mse": lambda: checks.check_loss(R.mse, R.mse_grad, "mse", shape=(3, 2)),
    "mse_default_shape": lambda: checks.check_loss(R.mse, R.mse_grad, "mse"),
    "l2": lambda: checks.check_penalty(R.l2_penalty, R.l2_grad, "l2", alpha=0.3),
    "l1": lambda: checks.check_penalty(R.l1_penalty, R.l1_grad, "l1"),
    "softmax_cross_entropy": lambda: checks.check_softmax_cross_entropy(R.softmax_cross_entropy),
    "linear_layer": lambda: checks.check_layer(R.Linear(7, 2), "linear", (3, 7)),
    "relu_layer": lambda: checks.check_layer(R.ReLU(), "relu", (2, 3, 4, 4)),
    "flatten_layer": lambda: checks.check_layer(R.Flatten(), "flatten", (2, 3, 4, 4)),
    "conv_loop": lambda: checks.check_layer(R.ConvLoop(3, 4, 3, 2, 1), "conv2d", (2, 3, 7, 7),
                                            stride=2, pad=1),
    "conv_im2col": lambda: checks.check_layer(R.ConvIm2col(2, 3, 5, 1, 2), "conv2d",
                                              (2, 2, 8, 8), pad=2),
    "maxpool": lambda: checks.check_layer(R.MaxPool(), "maxpool2d", (2, 3, 8, 6)),
    "conv_agree": lambda: checks.check_layers_agree(R.ConvLoop(3, 4, 3, 2, 1),
                                                    R.ConvIm2col(3, 4, 3, 2, 1), (2, 3, 9, 9)),
    "mlp": lambda: checks.check_mlp_gradients(R.mlp_grads, [8, 6, 5, 4], batch=7),
    "mlp_l2": lambda: checks.check_mlp_gradients(
        lambda p, X, Y: {k: g + (0.1 * p[k] if k.startswith("W") else 0)
                         for k, g in R.mlp_grads(p, X, Y).items()},
        [5, 4, 3], penalty="l2", alpha=0.1),
    "adam": lambda: checks.check_adam(R.run_adam, lr=1e-2, steps=5),
    "count_function": lambda: checks.check_count_function(
        lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)),
}


class TorchSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + torch.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * s * (1 - s)


class TorchSigmoidWrongBackward(TorchSigmoid):
    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * s


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_implementation_passes(name):
    result = CORRECT[name]()
    assert result.passed and result.points == result.max_points


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_correct_layers_pass_on_other_seeds_and_shapes(seed):
    checks.check_layer(R.ConvIm2col(3, 2, 3, 2, 0), "conv2d", (1, 3, 9, 7), seed=seed, stride=2)
    checks.check_mlp_gradients(lambda p, X, Y: R.mlp_grads(p, X, Y, "sigmoid"), [4, 9, 3],
                               activation="sigmoid", batch=2 + seed, seed=seed)


# ---------------------------------------------------------------- mistakes are caught

@pytest.mark.parametrize("mistake", CORPUS, ids=[m.id for m in CORPUS])
def test_typical_mistake_is_caught_with_its_own_message(mistake):
    result = mistake.check(mistake.buggy)
    assert not result.passed and result.points == 0
    assert mistake.expect in result.message


def test_each_mistake_has_a_distinct_message():
    messages = [m.check(m.buggy).message for m in CORPUS]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("kernel, stride, shape", [(2, 2, (2, 3, 6, 6)), (3, 2, (2, 2, 7, 7)),
                                                   (2, 2, (1, 2, 5, 7))])
def test_a_max_pool_decoding_its_argmax_right_passes(kernel, stride, shape):
    from tests.corpus.mistakes import MaxPoolDecoded
    assert checks.check_layer(MaxPoolDecoded(kernel, stride), "maxpool2d", shape, kernel=kernel,
                              stride=stride, seed=4).passed


def test_a_max_pool_wrong_otherwise_is_not_blamed_on_its_argmax_decoding():
    from tests.corpus.mistakes import MaxPoolDecoded

    class Doubled(MaxPoolDecoded):
        def backward(self, dout):
            return 2 * super().backward(dout)
    message = checks.check_layer(Doubled(), "maxpool2d", (2, 3, 6, 6), raise_on_fail=False).message
    assert "2x too large" in message
    assert not any(w in message for w in ("swapped", "offset", "assign", "every position"))


def test_a_conv_bias_gradient_off_by_another_factor_gets_no_cause_and_no_stride_hint():
    from tests.corpus.mistakes import ConvBiasAveraged

    class Tripled(ConvBiasAveraged):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"] = 3 * dout.sum(axis=(0, 2, 3))
            return dx
    message = checks.check_layer(Tripled(3, 4, 3, 2, 1), "conv2d", (2, 3, 7, 7), stride=2, pad=1,
                                 raise_on_fail=False).message
    assert "gradient of b" in message and "constant factor of 3" in message
    assert "averaged" not in message and "stride" not in message


def test_a_relu_layer_wrong_otherwise_is_not_blamed_on_a_missing_dout():
    class Halved(R.ReLU):
        def backward(self, dout):
            return 0.5 * dout * self.mask
    message = checks.check_layer(Halved(), "relu", (4, 5), raise_on_fail=False).message
    assert "dx is wrong" in message and "upstream gradient dout" not in message


def test_a_partly_nan_adam_is_not_blamed_on_the_step_counter():
    def half_nan(params, grads, lr):
        out = R.run_adam(params, grads, lr)
        out["b"] = np.full_like(out["b"], np.nan)
        return out
    result = checks.check_adam(half_nan, raise_on_fail=False)
    assert "non-finite" in result.message and "step counter" not in result.message


def test_an_mse_gradient_off_by_an_unlisted_factor_names_no_cause():
    result = checks.check_loss(R.mse, lambda y, p: 3 * R.mse_grad(y, p), "mse",
                               raise_on_fail=False)
    assert "constant factor of 3" in result.message
    assert "factor 2" not in result.message and "batch size" not in result.message


def test_a_network_wrong_elsewhere_is_not_blamed_on_the_activation_slope():
    from tests.corpus.mistakes import mlp_grads_slope
    right = mlp_grads_slope("sigmoid", lambda z, a: R.sigmoid_grad(z))
    assert checks.check_mlp_gradients(right, [6, 5, 4], "sigmoid").passed
    doubled = lambda p, X, Y: {k: 2 * v for k, v in right(p, X, Y).items()}  # noqa: E731
    result = checks.check_mlp_gradients(doubled, [6, 5, 4], "sigmoid", raise_on_fail=False)
    assert "2x too large" in result.message and "sigmoid'" not in result.message


def test_a_network_wrong_elsewhere_is_not_blamed_on_softmax_applied_twice():
    doubled = lambda p, X, Y: {k: 2 * v for k, v in R.mlp_grads(p, X, Y).items()}  # noqa: E731
    result = checks.check_mlp_gradients(doubled, [6, 5, 4], raise_on_fail=False)
    assert "2x too large" in result.message and "softmax" not in result.message


def test_a_tanh_backprop_through_1_minus_z_squared_names_both_places_it_can_come_from():
    from tests.corpus.mistakes import mlp_grads_slope
    result = checks.check_mlp_gradients(mlp_grads_slope("tanh", lambda z, a: 1 - z ** 2),
                                        [6, 5, 4], "tanh", raise_on_fail=False)
    assert "Either backward applies 1 - a**2 to z" in result.message
    assert "activation's gradient(z) computes 1 - z**2" in result.message


def test_an_unset_softmax_vjp_is_zero_everywhere_not_a_cancelling_jacobian():
    result = checks.check_softmax_vjp(lambda z, g: np.zeros_like(z), raise_on_fail=False)
    assert "zero everywhere" in result.message and "rounding" not in result.message


def test_a_sigmoid_derivative_off_by_a_factor_is_not_said_to_mix_x_and_s():
    result = checks.check_elementwise(R.sigmoid, lambda x: 2 * R.sigmoid_grad(x), "sigmoid",
                                      raise_on_fail=False)
    assert "2x too large" in result.message and "mixes" not in result.message


def test_a_clipped_cross_entropy_without_the_mean_is_not_said_to_need_clipping():
    from tests.corpus.mistakes import cross_entropy_no_mean
    result = checks.check_loss(cross_entropy_no_mean, R.cross_entropy_grad, "cross_entropy",
                               raise_on_fail=False)
    assert "average over the batch" in result.message and "clip" not in result.message


def test_the_activation_slope_is_named_only_with_the_grader_references():
    from autograder.student.checks.core import forget_references
    from tests.corpus.mistakes import mlp_grads_slope
    forget_references()  # as in a student's Jupyter: the wrong backprop is a near-answer
    result = checks.check_mlp_gradients(mlp_grads_slope("sigmoid", lambda z, a: R.sigmoid_grad(a)),
                                        [6, 5, 4], "sigmoid", raise_on_fail=False)
    assert not result.passed and "relative error" in result.message
    assert "sigmoid'" not in result.message


def test_failure_raises_assertion_error_in_test_cells():
    with pytest.raises(AssertionError, match="from the input x instead of the output"):
        checks.check_elementwise(R.sigmoid, lambda x: x * (1 - x), "sigmoid")


def test_gradient_failure_names_the_worst_coordinates():
    result = checks.check_layer(WrongWeightGrad(4, 3), "linear", (5, 4), raise_on_fail=False)
    assert "gradient of W is wrong" in result.message
    assert "at (" in result.message and "expected" in result.message


class WrongWeightGrad(R.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][0, 0] += 1.0
        return dx


# ---------------------------------------------------------------- robust to odd returns

@pytest.mark.parametrize("returned, expect", [
    (None, "is None: did you forget a `return`"),
    ("relu", "not numeric"),
    (np.zeros((3, 3)), "has shape (3, 3), expected (6, 7)"),
    (np.full((6, 7), np.nan), "non-finite"),
])
def test_odd_return_values_fail_with_a_clear_message(returned, expect):
    result = checks.check_elementwise(R.relu, lambda x: returned, "relu", raise_on_fail=False)
    assert not result.passed and expect in result.message


def test_list_instead_of_array_is_accepted():
    result = checks.check_elementwise(R.relu, lambda x: R.relu_grad(x).tolist(), "relu")
    assert result.passed


def test_exception_in_student_code_becomes_a_failure_not_a_crash():
    def broken(x):
        raise NotImplementedError()

    result = checks.check_elementwise(broken, R.relu_grad, "relu", raise_on_fail=False)
    assert not result.passed
    assert "forward(x) raised NotImplementedError" in result.message


def test_layer_without_params_dict_is_explained():
    class NoParams:
        def forward(self, x):
            return x

    result = checks.check_layer(NoParams(), "relu", (2, 3), raise_on_fail=False)
    assert "no `params` dict" in result.message


# ---------------------------------------------------------------- parameter counts

def test_parameter_count_table_shows_every_layer():
    model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32))
    result = checks.check_parameter_count(model, 52_650, raise_on_fail=False,
                                          layers={"0.weight": 50_176, "0.bias": 64})
    assert not result.passed
    assert "expected 52,650" in result.message and "2.weight" in result.message


def test_parameter_count_skips_frozen_and_counts_numpy_dicts():
    model = torch.nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    assert checks.check_parameter_count(model, 6, raise_on_fail=False).passed
    numpy_mlp = {"W1": np.zeros((784, 64)), "b1": np.zeros(64),
                 "W2": np.zeros((64, 10)), "b2": np.zeros(10)}
    assert checks.check_parameter_count(numpy_mlp, 50_890, raise_on_fail=False).passed


def test_no_check_scores_what_the_kernel_says_about_a_model():
    for claim in ("check_accuracy", "check_parameter_cap", "check_no_layers",
                  "check_eval_deterministic", "check_torch_backward"):
        assert not hasattr(checks, claim), claim


def test_the_student_side_offers_no_counting_function():
    assert not hasattr(checks, "count_parameters")


# ---------------------------------------------------------------- two halves

def test_judge_needs_only_plain_data_from_an_evidence_file(tmp_path, monkeypatch):
    path = tmp_path / "evidence.jsonl"
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(path))
    checks.check_elementwise(R.sigmoid, lambda x: x * (1 - x), "sigmoid", raise_on_fail=False)
    (record,) = evidence_file.read_evidence(str(path))
    json.loads(path.read_text())  # plain JSON, no pickle
    verdict = ElementwiseCheck("sigmoid").judge(record["evidence"])
    assert not verdict.passed and "from the input x" in verdict.message


def test_nonce_changes_the_inputs(monkeypatch):
    check = ElementwiseCheck("relu")
    visible = check.inputs()["x"]
    monkeypatch.setenv("AUTOGRADER_NONCE", "grading-run-42")
    assert not np.array_equal(visible, check.inputs()["x"])


def test_hard_coded_answer_for_visible_inputs_fails_under_a_nonce(monkeypatch):
    visible_x = ElementwiseCheck("relu").inputs()["x"]
    memorised = R.relu_grad(visible_x)

    def cheat(x):  # answers the visible test's main call from memory
        return memorised if x.shape == visible_x.shape and (x == 0).any() else R.relu_grad(x)

    assert checks.check_elementwise(R.relu, cheat, "relu").passed
    monkeypatch.setenv("AUTOGRADER_NONCE", "grading-run-42")
    assert not checks.check_elementwise(R.relu, cheat, "relu", raise_on_fail=False).passed


def test_rubric_lists_points_and_what_was_lost():
    good = checks.check_elementwise(R.relu, R.relu_grad, "relu", name="2.3 ReLU gradient")
    bad = checks.check_mlp_gradients(lambda p, X, Y: {k: (v if k.startswith("W") else 0 * v)
                                                      for k, v in R.mlp_grads(p, X, Y).items()},
                                     [4, 3, 2], raise_on_fail=False, name="bias gradient")
    text = checks.rubric([good, bad])
    assert "2.3 ReLU gradient 1/1 ✓" in text
    assert "-1 gradient of b" in text and "zero everywhere" in text
    assert "Total 1/2" in text


# ---------------------------------------------------------------- accuracy on real data

@pytest.fixture(scope="module")
def centroid_weights(data_root):
    """A nearest-centroid classifier written as one linear layer (about 82% on MNIST)."""
    from autograder.student import data
    from autograder.student.checks.saved_files.accuracy import preprocessed

    x = preprocessed("mnist", "train", "flat")
    y = data.mnist_arrays("train")[1]
    centroids = np.stack([x[y == c].mean(axis=0) for c in range(10)])
    return {"W1": centroids.T, "b1": -0.5 * (centroids ** 2).sum(axis=1)}


def test_saved_network_is_judged_by_the_graders_own_forward_pass(centroid_weights, tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, **centroid_weights)
    layers = [{"type": "linear", "W": "W1", "b": "b1"}]
    passed = checks.check_saved_network_accuracy(path, layers, "mnist", 0.75)
    assert 0.78 < passed.details["accuracy"] < 0.9 and len(passed.details["per_class"]) == 10
    failed = checks.check_saved_network_accuracy(path, layers, "mnist", 0.97, raise_on_fail=False)
    assert not failed.passed
    assert "below the threshold" in failed.message and "(threshold 0.97" in failed.message


def test_missing_or_malformed_weight_file_is_a_clear_failure(tmp_path):
    layers = [{"type": "linear", "W": "W1", "b": "b1"}]
    missing = checks.check_saved_network_accuracy(tmp_path / "nope.npz", layers, "mnist", 0.5,
                                                  raise_on_fail=False)
    assert "nope.npz was not saved: run the cell that saves it" in missing.message
    np.savez(tmp_path / "wrong.npz", W1=np.zeros((10, 10)), b1=np.zeros(10))
    wrong = checks.check_saved_network_accuracy(tmp_path / "wrong.npz", layers, "mnist", 0.5,
                                                raise_on_fail=False)
    assert "do not fit layer" in wrong.message


def test_torch_model_accuracy_and_eval_mode(centroid_weights):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10), torch.nn.Dropout(0.5))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor(centroid_weights["W1"].T))
        model[1].bias.copy_(torch.tensor(centroid_weights["b1"]))
    result = checks.evaluate(model, "mnist")
    assert result["accuracy"] >= 0.75 and model.training  # evaluate restores the mode it found
    assert checks.evaluate(model.eval(), "mnist")["accuracy"] == result["accuracy"]


def test_the_student_side_offers_no_numerical_differentiation():
    # In a from-scratch assignment it would differentiate for the student.
    import autograder.student.checks.compare as compare

    assert not hasattr(checks, "numerical_gradient") and not hasattr(compare, "numerical_gradient")


def test_rounding_noise_around_zero_is_called_zero_not_a_tiny_factor():
    from autograder.student.checks.compare import explain_mismatch

    expected = np.linspace(-1, 1, 12).reshape(3, 4)
    noise = expected * 2.3e-17
    assert "zero everywhere" in explain_mismatch(noise, expected)
    assert "factor of 3" in explain_mismatch(3 * expected, expected)


def test_an_accuracy_failure_names_the_weakest_class_by_name():
    from autograder.student.checks.saved_files.accuracy import accuracy_verdict
    from autograder.student.checks.saved_files.saved_network import SavedNetworkCheck

    check = SavedNetworkCheck("w.npz", [], "cifar10", threshold=0.9)
    per_class = np.full(10, 0.8)
    per_class[3] = 0.2
    result = accuracy_verdict(check, {"accuracy": 0.74, "n": 100, "per_class": per_class})
    assert not result.passed and "weakest class cat (3) at 0.200" in result.message
    mnist = accuracy_verdict(SavedNetworkCheck("w.npz", [], "mnist", threshold=0.9),
                             {"accuracy": 0.5, "n": 10, "per_class": per_class})
    assert "weakest class digit 3" in mnist.message


class BiasNotSummed(R.ConvLoop):
    """A loop convolution whose bias gradient keeps only the first image."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout[0].sum(axis=(1, 2))
        return dx


AGREE = dict(x_shape=(2, 3, 7, 5), reference="conv2d", stride=2, pad=1,
             labels=("Conv2DLoop", "Conv2D"), raise_on_fail=False)


def test_a_wrong_loop_convolution_costs_nothing_in_the_fast_convolutions_test():
    result = checks.check_layers_agree(BiasNotSummed(3, 4, 3, 2, 1), R.ConvIm2col(3, 4, 3, 2, 1),
                                       **AGREE)
    assert result.passed
    assert "Conv2D matches the reference; Conv2DLoop does not" in result.message


def test_a_wrong_fast_convolution_is_named_as_the_one_that_disagrees():
    class FastBiasNotSummed(R.ConvIm2col):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"] = dout[0].sum(axis=(1, 2))
            return dx

    result = checks.check_layers_agree(R.ConvLoop(3, 4, 3, 2, 1), FastBiasNotSummed(3, 4, 3, 2, 1),
                                       **AGREE)
    assert not result.passed
    assert result.message.startswith("Conv2D disagrees with the reference (Conv2DLoop is right)")
    assert "gradient of b" in result.message


def test_a_wrong_shaped_first_layer_costs_the_agreement_check_nothing():
    """A4's loop convolution returning the padded dx loses in its own test only: the
    agreement check in test_conv_fast compares Conv2D with the reference."""
    from tests.corpus.mistakes import ConvNoCrop

    result = checks.check_layers_agree(ConvNoCrop(3, 4, 3, 1, 1), R.ConvIm2col(3, 4, 3, 1, 1),
                                       (2, 3, 6, 6), reference="conv2d", stride=1, pad=1,
                                       labels=("Conv2DLoop", "Conv2D"), raise_on_fail=False)
    assert result.passed
    assert "Conv2D matches the reference; Conv2DLoop does not" in result.message


def test_a_conv_forward_with_a_wrong_bias_is_not_called_unbiased():
    class DoubleBias(R.ConvLoop):
        def forward(self, x):
            return super().forward(x) + self.params["b"][None, :, None, None]
    message = checks.check_layer(DoubleBias(3, 4, 3, 1, 1), "conv2d", (2, 3, 6, 6), pad=1,
                                 raise_on_fail=False).message
    assert "forward(x) is wrong" in message and "not added" not in message
