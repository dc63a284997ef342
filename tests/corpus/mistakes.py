"""A corpus of typical student mistakes, each with the check that must catch it and the
words its failure message must contain.

Each entry is data: ``Mistake(id, check, buggy, expect)``, where ``check(buggy)`` runs the
check with ``raise_on_fail=False`` and ``expect`` is a phrase the message must contain.
The sample class of buggy students reuses these ids and descriptions.

This module holds the mistakes every assignment shares (activations, losses, layers,
network gradients, counts). Each assignment's own checks have their corpus beside their
tests, each mistake with the words its message must contain: A1/A4 in
``tests/test_checks_scratch.py`` (``A1_MISTAKES``, ``A4_MISTAKES``), A2/A3 in
``tests/test_checks_torch_parts.py`` and ``tests/test_training_checks.py``, A5 in
``tests/test_checks_a5.py``, the saved-network conventions in
``tests/test_saved_network.py``. Whole buggy notebooks, graded end to end, are in
``samples/sample_class.json``: each names the cells it must lose and the words of their
messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from autograder.student import checks

from . import reference as R


@dataclass
class Mistake:
    id: str
    description: str
    check: Callable[[Any], checks.CheckResult]
    buggy: Any
    expect: str


# ---------------------------------------------------------------- buggy pieces

def relu_grad_ge(x):
    return (x >= 0).astype(float)


def relu_grad_ones(x):
    return np.ones_like(x)


def sigmoid_naive(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_grad_from_input(x):
    return x * (1 - x)


def softmax_axis0(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_unstable(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_vjp_diagonal(z, g):
    p = R.softmax(z)
    return g * p * (1 - p)


def sigmoid_grad_mixed(x):
    """The one-token variant of the input form: s * (1 - x)."""
    return R.sigmoid(x) * (1 - x)


def tanh_grad_no_square(x):
    return 1 - np.tanh(x)


def softmax_vjp_wrong_contraction(z, g):
    """The full Jacobian J[n, i, j] = s_i (delta_ij - s_j), right, but g put on axis 2 and
    the sum taken over axis 1: sum_i J[n, i, j] g[n, j] = 0 up to rounding."""
    s = R.softmax(z)
    J = s[:, :, None] * np.eye(s.shape[1]) - s[:, :, None] * s[:, None, :]
    return (J * g[:, None, :]).sum(axis=1)


def cross_entropy_over_entries(y, p):
    return -np.mean(y * np.log(np.clip(p, 1e-12, 1)))


def cross_entropy_no_mean_no_clip(y, p):
    return -np.sum(y * np.log(p))


def mlp_grads_softmax_twice(params, X, Y):
    """Backprop whose output delta (P - Y) / N goes through softmax's Jacobian once more."""
    depth = len([k for k in params if k.startswith("W")])
    hs = [X]
    for i in range(1, depth):
        hs.append(np.maximum(hs[-1] @ params[f"W{i}"] + params[f"b{i}"], 0))
    p = R.softmax(hs[-1] @ params[f"W{depth}"] + params[f"b{depth}"])
    delta, grads = (p - Y) / X.shape[0], {}
    delta = p * (delta - np.sum(delta * p, axis=1, keepdims=True))
    for i in range(depth, 0, -1):
        grads[f"W{i}"], grads[f"b{i}"] = hs[i - 1].T @ delta, delta.sum(axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * (hs[i - 1] > 0)
    return grads


def cross_entropy_no_mean(y, p):
    return -np.sum(y * np.log(np.clip(p, 1e-12, 1)))


def cross_entropy_grad_no_mean(y, p):
    return -y / np.clip(p, 1e-12, 1)


def cross_entropy_unclipped(y, p):
    return -np.sum(y * np.log(p)) / y.shape[0]


def mse_grad_sign(y, y_hat):
    return 2 * (y - y_hat) / y.size


def l2_grad_double(w, alpha):
    return 2 * alpha * w


def sce_no_mean(scores, y):
    loss, d = R.softmax_cross_entropy(scores, y)
    return loss, d * scores.shape[0]


class LinearNoBiasGrad(R.Linear):
    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        return dout @ self.params["W"].T


class LinearBiasPerSample(R.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout
        return dx


class LinearTransposedGrad(R.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = dout.T @ self.x
        return dx


class ConvNoCrop(R.ConvLoop):
    """Returns the gradient of the padded input: forgets to remove the padding."""

    def backward(self, dout):
        super().backward(dout)  # the parameter gradients are right
        W, s = self.params["W"], self.stride
        _, _, hh, ww = W.shape
        dxp = np.zeros_like(self.xp)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dxp[:, :, i * s:i * s + hh, j * s:j * s + ww] += np.tensordot(
                    dout[:, :, i, j], W, axes=([1], [0]))
        return dxp


class ConvIgnoresStrideInBackward(R.ConvLoop):
    """Sends each output's gradient back to window (i, j) instead of (i*s, j*s)."""

    def backward(self, dout):
        W, p = self.params["W"], self.pad
        _, _, hh, ww = W.shape
        dxp = np.zeros_like(self.xp)
        dW = np.zeros_like(W)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                window = self.xp[:, :, i:i + hh, j:j + ww]
                dW += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
                dxp[:, :, i:i + hh, j:j + ww] += np.tensordot(dout[:, :, i, j], W, axes=([1], [0]))
        self.grads["W"], self.grads["b"] = dW, dout.sum(axis=(0, 2, 3))
        h, w = dxp.shape[2:]
        return dxp[:, :, p:h - p, p:w - p]


class MaxPoolEverywhere(R.MaxPool):
    def backward(self, dout):
        return dout.repeat(2, axis=2).repeat(2, axis=3)


class ReLUForgetsDout(R.ReLU):
    """Returns the local derivative (the mask) without multiplying it by dout."""

    def backward(self, dout):
        return self.mask * 1.0


class FlattenNoReshape(R.Flatten):
    def backward(self, dout):
        return dout


class ConvForgetsBias(R.ConvLoop):
    def forward(self, x):
        return super().forward(x) - self.params["b"][None, :, None, None]


class ConvBiasAveraged(R.ConvLoop):
    """The bias gradient averaged (dout.mean) instead of summed over batch and positions."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.mean(axis=(0, 2, 3))
        return dx


class ConvBiasOverBatch(R.ConvLoop):
    """The bias gradient divided by the batch size."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.sum(axis=(0, 2, 3)) / len(dout)
        return dx


class MaxPoolDecoded:
    """Max pooling through each window's flat argmax, decoded as ``decode`` says:
    "right" (a // k, a % k), "swapped" (a % k, a // k), "no_offset" (the position inside
    the window used as an image position), "overwrite" (assigns instead of adding)."""

    def __init__(self, kernel=2, stride=2, decode="right"):
        self.kernel, self.stride, self.decode = kernel, stride, decode
        self.params, self.grads = {}, {}

    def forward(self, x):
        k, s = self.kernel, self.stride
        n, c, h, w = x.shape
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        self.x_shape, self.arg = x.shape, np.zeros((n, c, ho, wo), dtype=int)
        out = np.zeros((n, c, ho, wo))
        for i in range(ho):
            for j in range(wo):
                flat = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(n, c, -1)
                self.arg[:, :, i, j] = flat.argmax(axis=2)
                out[:, :, i, j] = flat.max(axis=2)
        return out

    def backward(self, dout):
        k, s = self.kernel, self.stride
        dx = np.zeros(self.x_shape)
        for n_, c_, i, j in np.ndindex(*dout.shape):
            a = self.arg[n_, c_, i, j]
            r, col = (a % k, a // k) if self.decode == "swapped" else divmod(a, k)
            if self.decode != "no_offset":
                r, col = r + i * s, col + j * s
            if self.decode == "overwrite":
                dx[n_, c_, r, col] = dout[n_, c_, i, j]
            else:
                dx[n_, c_, r, col] += dout[n_, c_, i, j]
        return dx


class ConvIm2colWrongGather(R.ConvIm2col):
    """im2col that swaps the kernel's row and column offsets."""

    def _cols(self, xp, ho, wo, hh, ww):
        cols = super()._cols(xp, ho, wo, hh, ww)
        n = cols.shape[0]
        c = xp.shape[1]
        return cols.reshape(n, c, hh, ww).transpose(0, 1, 3, 2).reshape(n, -1)


class ConvIm2colReshapedStraight(R.ConvIm2col):
    """Reshapes the (N*H'*W', F) product straight to (N, F, H', W'), without the transpose."""

    def forward(self, x):
        out = super().forward(x)  # (N, F, H', W'), from (N*H'*W', F) reshaped and transposed
        return out.transpose(0, 2, 3, 1).reshape(out.shape)


def mlp_grads_no_bias(params, X, Y):
    grads = R.mlp_grads(params, X, Y)
    return {k: v for k, v in grads.items() if not k.startswith("b")}


def mlp_grads_sum_not_mean(params, X, Y):
    return {k: v * X.shape[0] for k, v in R.mlp_grads(params, X, Y).items()}


def mlp_grads_l2(penalise_biases=False, penalise_weights=True, alpha=0.1):
    """Network gradients with an L2 penalty, placed right or wrong."""
    def grads_fn(params, X, Y):
        grads = R.mlp_grads(params, X, Y, "tanh")
        for key, value in params.items():
            if (key.startswith("W") and penalise_weights) or (key.startswith("b") and penalise_biases):
                grads[key] = grads[key] + R.l2_grad(value, alpha)
        return grads
    return grads_fn


def mlp_grads_slope(activation, slope):
    """Backprop through an MLP whose activation slope at a hidden layer is ``slope(z, a)``
    (pre-activation z, activation a) instead of f'(z): R.mlp_grads, one line changed."""
    f = {"sigmoid": R.sigmoid, "tanh": R.tanh}[activation]

    def grads_fn(params, X, Y):
        depth = len([k for k in params if k.startswith("W")])
        hs, zs = [X], []
        for i in range(1, depth + 1):
            zs.append(hs[-1] @ params[f"W{i}"] + params[f"b{i}"])
            hs.append(f(zs[-1]) if i < depth else R.softmax(zs[-1]))
        grads, delta = {}, (hs[-1] - Y) / X.shape[0]
        for i in range(depth, 0, -1):
            grads[f"W{i}"], grads[f"b{i}"] = hs[i - 1].T @ delta, delta.sum(axis=0)
            if i > 1:
                delta = (delta @ params[f"W{i}"].T) * slope(zs[i - 2], hs[i - 1])
        return grads
    return grads_fn


def relu_grad_zero(x):
    return np.zeros_like(x)


def adam_no_bias_correction(params, grads, lr):
    return R.run_adam(params, grads, lr, bias_correction=False)


def adam_with_counter(counter):
    """Adam whose bias-correction counter t advances wrongly: "frozen" (always 1),
    "per_parameter" (once per parameter array), "from_zero" (0 at the first step)."""
    def run_adam(params, grads_per_step, lr):
        b1, b2, eps = 0.9, 0.999, 1e-8
        m = {k: np.zeros_like(v) for k, v in params.items()}
        v = {k: np.zeros_like(p) for k, p in params.items()}
        params = {k: p.copy() for k, p in params.items()}
        t = 1 if counter == "frozen" else 0
        for grads in grads_per_step:
            for k in params:
                t += counter == "per_parameter"
                m[k] = b1 * m[k] + (1 - b1) * grads[k]
                v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
                with np.errstate(divide="ignore", invalid="ignore"):
                    mh, vh = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
                    params[k] -= lr * mh / (np.sqrt(vh) + eps)
            t += counter == "from_zero"
        return params
    return run_adam


def mse_grad_scaled(factor):
    """The MSE gradient times a wrong constant (a factor or a divisor forgotten)."""
    def gradient(y, y_hat):
        return factor(y) * R.mse_grad(y, y_hat)
    return gradient


def count_weights_only(model):
    return sum(p.numel() for p in model.parameters() if p.dim() >= 2)


def count_including_frozen(model):
    return sum(p.numel() for p in model.parameters())


def count_state_dict(model):
    return sum(v.numel() for v in model.state_dict().values())


def count_with_buffers(model):
    return (sum(p.numel() for p in model.parameters() if p.requires_grad)
            + sum(b.numel() for b in model.buffers()))


def lenet_conv1_without_bias():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5, bias=False), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(6 * 12 * 12, 10))


def mlp_without_biases():
    return torch.nn.Sequential(torch.nn.Linear(784, 64, bias=False), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10, bias=False))


CORPUS = [
    Mistake("relu_grad_at_zero", "ReLU derivative 1 at x == 0",
            lambda b: checks.check_elementwise(R.relu, b, "relu", raise_on_fail=False),
            relu_grad_ge, "at x == 0"),
    Mistake("relu_grad_below_zero", "ReLU derivative 1 for x < 0",
            lambda b: checks.check_elementwise(R.relu, b, "relu", raise_on_fail=False),
            relu_grad_ones, "slope is 0 where x < 0"),
    Mistake("sigmoid_grad_from_input", "sigmoid derivative computed from the input",
            lambda b: checks.check_elementwise(R.sigmoid, b, "sigmoid", raise_on_fail=False),
            sigmoid_grad_from_input, "from the input x instead of the output"),
    Mistake("sigmoid_grad_mixed", "sigmoid derivative s * (1 - x): one x where s belongs",
            lambda b: checks.check_elementwise(R.sigmoid, b, "sigmoid", raise_on_fail=False),
            sigmoid_grad_mixed, "mixes the input x and the output s"),
    Mistake("tanh_grad_no_square", "tanh derivative 1 - tanh(x) without the square",
            lambda b: checks.check_elementwise(R.tanh, b, "tanh", raise_on_fail=False),
            tanh_grad_no_square, "the square is missing"),
    Mistake("linear_grad_zeros", "the identity activation's gradient returned as zeros",
            lambda b: checks.check_elementwise(lambda x: x, b, "linear", raise_on_fail=False),
            np.zeros_like, "the linear (identity) activation f(x) = x has slope 1"),
    Mistake("linear_grad_is_x", "the identity activation's gradient returned as x itself",
            lambda b: checks.check_elementwise(lambda x: x, b, "linear", raise_on_fail=False),
            lambda x: np.array(x, dtype=float), "you returned x itself"),
    Mistake("sigmoid_unstable", "sigmoid overflows for large negative x",
            lambda b: checks.check_elementwise(b, R.sigmoid_grad, "sigmoid", raise_on_fail=False),
            sigmoid_naive, "numerically unstable"),
    Mistake("softmax_wrong_axis", "softmax normalised over axis 0",
            lambda b: checks.check_softmax(b, raise_on_fail=False), softmax_axis0, "axis 0"),
    Mistake("softmax_unstable", "softmax without subtracting the max",
            lambda b: checks.check_softmax(b, raise_on_fail=False), softmax_unstable,
            "subtract each row's max"),
    Mistake("softmax_vjp_diagonal", "softmax JVP using only the Jacobian's diagonal",
            lambda b: checks.check_softmax_vjp(b, raise_on_fail=False), softmax_vjp_diagonal,
            "only the diagonal"),
    Mistake("softmax_vjp_wrong_contraction", "softmax Jacobian contracted over the wrong axis",
            lambda b: checks.check_softmax_vjp(b, raise_on_fail=False),
            softmax_vjp_wrong_contraction, "zero up to rounding"),
    Mistake("cross_entropy_over_entries", "cross-entropy averaged over all N*C entries",
            lambda b: checks.check_loss(b, R.cross_entropy_grad, "cross_entropy",
                                        raise_on_fail=False),
            cross_entropy_over_entries, "averaged over all N*C"),
    Mistake("cross_entropy_no_mean_no_clip", "cross-entropy neither averaged nor clipped",
            lambda b: checks.check_loss(b, R.cross_entropy_grad, "cross_entropy",
                                        raise_on_fail=False),
            cross_entropy_no_mean_no_clip, "(divide by N); also, the loss when the true class "
            "has p = 0 is not finite"),
    Mistake("cross_entropy_no_mean", "cross-entropy without the 1/N",
            lambda b: checks.check_loss(b, R.cross_entropy_grad, "cross_entropy",
                                        raise_on_fail=False),
            cross_entropy_no_mean, "average over the batch"),
    Mistake("cross_entropy_grad_no_mean", "cross-entropy gradient without the 1/N",
            lambda b: checks.check_loss(R.cross_entropy, b, "cross_entropy", raise_on_fail=False),
            cross_entropy_grad_no_mean, "average over the batch"),
    Mistake("cross_entropy_log_zero", "cross-entropy takes log(0)",
            lambda b: checks.check_loss(b, R.cross_entropy_grad, "cross_entropy",
                                        raise_on_fail=False),
            cross_entropy_unclipped, "clip the probabilities"),
    Mistake("mse_grad_sign", "MSE gradient with the sign flipped",
            lambda b: checks.check_loss(R.mse, b, "mse", raise_on_fail=False),
            mse_grad_sign, "sign is flipped"),
    Mistake("l2_grad_double", "L2 penalty gradient 2*alpha*W",
            lambda b: checks.check_penalty(R.l2_penalty, b, "l2", raise_on_fail=False),
            l2_grad_double, "2x too large"),
    Mistake("softmax_ce_no_mean", "softmax cross-entropy gradient not averaged",
            lambda b: checks.check_softmax_cross_entropy(b, raise_on_fail=False),
            sce_no_mean, "without averaging over the batch"),
    Mistake("linear_missing_bias_grad", "Linear layer stores no bias gradient",
            lambda b: checks.check_layer(b, "linear", (4, 5), raise_on_fail=False),
            LinearNoBiasGrad(5, 3), "no gradient stored for parameter(s) ['b']"),
    Mistake("linear_bias_grad_not_summed", "bias gradient not summed over the batch",
            lambda b: checks.check_layer(b, "linear", (4, 5), raise_on_fail=False),
            LinearBiasPerSample(5, 3), "sum over the batch axis"),
    Mistake("linear_weight_grad_transposed", "weight gradient transposed",
            lambda b: checks.check_layer(b, "linear", (4, 5), raise_on_fail=False),
            LinearTransposedGrad(5, 3), "transposed"),
    Mistake("conv_grad_wrong_padding", "conv dx keeps the padding",
            lambda b: checks.check_layer(b, "conv2d", (2, 3, 6, 6), pad=1, raise_on_fail=False),
            ConvNoCrop(3, 4, 3, 1, 1), "remove the 1 rows/columns of padding"),
    Mistake("conv_grad_wrong_stride", "conv backward ignores the stride",
            lambda b: checks.check_layer(b, "conv2d", (2, 3, 7, 7), stride=2, pad=1,
                                         raise_on_fail=False),
            ConvIgnoresStrideInBackward(3, 4, 3, 2, 1), "with stride 2"),
    Mistake("maxpool_grad_everywhere", "max-pool gradient sent to every window position",
            lambda b: checks.check_layer(b, "maxpool2d", (2, 3, 6, 6), raise_on_fail=False),
            MaxPoolEverywhere(), "every position of each window"),
    Mistake("relu_layer_forgets_dout", "ReLU layer backward returns the mask without dout",
            lambda b: checks.check_layer(b, "relu", (4, 5), raise_on_fail=False),
            ReLUForgetsDout(), "multiply it by the upstream gradient dout"),
    Mistake("flatten_backward_no_reshape", "Flatten backward returns dout unreshaped",
            lambda b: checks.check_layer(b, "flatten", (2, 3, 4, 5), raise_on_fail=False),
            FlattenNoReshape(), "reshape dout back to the input's shape"),
    Mistake("conv_forward_no_bias", "conv forward without the bias",
            lambda b: checks.check_layer(b, "conv2d", (2, 3, 6, 6), pad=1, raise_on_fail=False),
            ConvForgetsBias(3, 4, 3, 1, 1), "the bias b is not added"),
    Mistake("conv_bias_grad_averaged", "conv bias gradient averaged instead of summed",
            lambda b: checks.check_layer(b, "conv2d", (2, 3, 7, 7), stride=2, pad=1,
                                         raise_on_fail=False),
            ConvBiasAveraged(3, 4, 3, 2, 1), "averaged (dout.mean) instead of summed"),
    Mistake("conv_bias_grad_over_batch", "conv bias gradient divided by the batch size",
            lambda b: checks.check_layer(b, "conv2d", (3, 3, 6, 6), pad=1, raise_on_fail=False),
            ConvBiasOverBatch(3, 4, 3, 1, 1), "divided by the batch size N=3"),
    Mistake("maxpool_argmax_swapped", "max-pool argmax decoded with row and column swapped",
            lambda b: checks.check_layer(b, "maxpool2d", (2, 3, 6, 6), raise_on_fail=False),
            MaxPoolDecoded(decode="swapped"), "row and column are swapped"),
    Mistake("maxpool_argmax_no_offset", "max-pool argmax used without the window's offset",
            lambda b: checks.check_layer(b, "maxpool2d", (2, 3, 6, 6), raise_on_fail=False),
            MaxPoolDecoded(decode="no_offset"), "add the window's offset"),
    Mistake("maxpool_overlap_overwrites", "max-pool gradient assigned, lost where windows overlap",
            lambda b: checks.check_layer(b, "maxpool2d", (2, 2, 7, 7), kernel=3, stride=2,
                                         raise_on_fail=False),
            MaxPoolDecoded(3, 2, decode="overwrite"), "do not assign it"),
    Mistake("im2col_disagrees_with_loop", "im2col gathers the kernel transposed",
            lambda b: checks.check_layers_agree(R.ConvLoop(3, 4, 3, 1, 1), b, (2, 3, 6, 6),
                                                raise_on_fail=False, reference="conv2d",
                                                stride=1, pad=1, labels=("loop", "im2col")),
            ConvIm2colWrongGather(3, 4, 3, 1, 1),
            "im2col disagrees with the reference (loop is right): forward(x) is wrong"),
    Mistake("im2col_reshape_no_transpose", "conv forward reshapes the (N*H'*W', F) product "
            "straight to (N, F, H', W')",
            lambda b: checks.check_layer(b, "conv2d", (2, 3, 6, 6), pad=1, raise_on_fail=False),
            ConvIm2colReshapedStraight(3, 4, 3, 1, 1),
            "the (N*H'*W', F) product was reshaped straight to (N, F, H', W')"),
    Mistake("mlp_missing_bias_grads", "network backward returns no bias gradients",
            lambda b: checks.check_mlp_gradients(b, [6, 5, 3], raise_on_fail=False),
            mlp_grads_no_bias, "no gradient returned for ['b1', 'b2']"),
    Mistake("mlp_grads_not_averaged", "network gradients summed over the batch",
            lambda b: checks.check_mlp_gradients(b, [6, 5, 3], raise_on_fail=False),
            mlp_grads_sum_not_mean, "average over the batch"),
    Mistake("mlp_l2_on_biases", "the L2 penalty applied to the biases too",
            lambda b: checks.check_mlp_gradients(b, [5, 4, 3], "tanh", penalty="l2", alpha=0.1,
                                                 raise_on_fail=False),
            mlp_grads_l2(penalise_biases=True), "applied to the biases too"),
    Mistake("mlp_l2_missing", "the L2 penalty left out of the weight gradients",
            lambda b: checks.check_mlp_gradients(b, [5, 4, 3], "tanh", penalty="l2", alpha=0.1,
                                                 raise_on_fail=False),
            mlp_grads_l2(penalise_weights=False), "penalty's gradient is missing"),
    Mistake("mlp_sigmoid_slope_at_activation", "backprop through sigmoid'(a) instead of "
            "sigmoid'(z)", lambda b: checks.check_mlp_gradients(b, [6, 5, 4], "sigmoid",
                                                                 raise_on_fail=False),
            mlp_grads_slope("sigmoid", lambda z, a: R.sigmoid_grad(a)),
            "evaluates sigmoid' at the activation"),
    Mistake("mlp_tanh_output_form_on_z", "backprop through 1 - z**2 instead of 1 - tanh(z)**2",
            lambda b: checks.check_mlp_gradients(b, [6, 5, 4], "tanh", raise_on_fail=False),
            mlp_grads_slope("tanh", lambda z, a: 1 - z ** 2),
            "applies the output form of tanh' to the pre-activation z"),
    Mistake("mlp_softmax_twice", "backprop through softmax's Jacobian on top of (P - Y) / N",
            lambda b: checks.check_mlp_gradients(b, [6, 5, 4], raise_on_fail=False),
            mlp_grads_softmax_twice, "softmax Jacobian once more"),
    Mistake("relu_grad_zero", "ReLU derivative returned as zeros",
            lambda b: checks.check_elementwise(R.relu, b, "relu", raise_on_fail=False),
            relu_grad_zero, "zero everywhere"),
    Mistake("adam_no_bias_correction", "Adam without bias correction",
            lambda b: checks.check_adam(b, raise_on_fail=False), adam_no_bias_correction,
            "bias correction is missing"),
    Mistake("adam_counter_frozen", "Adam's step counter t never incremented",
            lambda b: checks.check_adam(b, raise_on_fail=False), adam_with_counter("frozen"),
            "t is never incremented"),
    Mistake("adam_counter_per_parameter", "Adam's step counter incremented per parameter",
            lambda b: checks.check_adam(b, raise_on_fail=False),
            adam_with_counter("per_parameter"), "once per parameter array"),
    Mistake("adam_counter_from_zero", "Adam's step counter starting at 0",
            lambda b: checks.check_adam(b, raise_on_fail=False), adam_with_counter("from_zero"),
            "t starts at 0"),
    Mistake("mse_grad_no_two", "MSE gradient without the factor 2",
            lambda b: checks.check_loss(R.mse, b, "mse", raise_on_fail=False),
            mse_grad_scaled(lambda y: 0.5), "factor 2 from the square is missing"),
    Mistake("mse_grad_per_row", "MSE gradient divided by the batch size only",
            lambda b: checks.check_loss(R.mse, b, "mse", raise_on_fail=False),
            mse_grad_scaled(lambda y: y.shape[1]), "divided by the batch size N=8 only"),
    Mistake("mse_grad_no_mean", "MSE gradient not divided by the number of entries",
            lambda b: checks.check_loss(R.mse, b, "mse", raise_on_fail=False),
            mse_grad_scaled(lambda y: y.size), "not divided by the number of entries"),
    Mistake("count_weights_only", "parameter count without the biases",
            lambda b: checks.check_count_function(b, raise_on_fail=False), count_weights_only,
            "biases are parameters too"),
    Mistake("count_frozen_too", "parameter count includes frozen parameters",
            lambda b: checks.check_count_function(b, seed=1, raise_on_fail=False),
            count_including_frozen, "frozen parameters"),
    Mistake("model_without_biases", "784-64-10 MLP built with bias=False",
            lambda b: checks.check_parameter_count(b, 50_890, raise_on_fail=False),
            mlp_without_biases(), "exactly the number of biases"),
    Mistake("count_state_dict", "parameter count over model.state_dict() (buffers and frozen "
            "parameters included)",
            lambda b: checks.check_count_function(b, raise_on_fail=False), count_state_dict,
            "it counted model.state_dict()"),
    Mistake("count_with_buffers", "parameter count adds model.buffers() (BatchNorm's running "
            "statistics)",
            lambda b: checks.check_count_function(b, raise_on_fail=False), count_with_buffers,
            "it counted the buffers too"),
    Mistake("conv_without_bias", "one conv layer built with bias=False",
            lambda b: checks.check_parameter_count(b, 6 * 25 + 6 + 864 * 10 + 10,
                                                   raise_on_fail=False),
            lenet_conv1_without_bias(), "biases of the layers without one (0)"),
]
