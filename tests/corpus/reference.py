"""Correct NumPy implementations, used by the tests to show that each check passes.

These live in tests/, never in the autograder package: the package holds no solutions.
"""
import numpy as np


def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    return (x > 0).astype(float)


def sigmoid(x):
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x):
    return np.tanh(x)


def tanh_grad(x):
    return 1 - np.tanh(x) ** 2


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_vjp(z, g):
    p = softmax(z)
    return p * (g - np.sum(g * p, axis=1, keepdims=True))


def cross_entropy(y, p):
    return -np.sum(y * np.log(np.clip(p, 1e-12, 1.0))) / y.shape[0]


def cross_entropy_grad(y, p):
    return -y / np.clip(p, 1e-12, 1.0) / y.shape[0]


def mse(y, y_hat):
    return np.mean((y_hat - y) ** 2)


def mse_grad(y, y_hat):
    return 2 * (y_hat - y) / y.size


def l2_penalty(weights, alpha):
    return alpha / 2 * sum(np.sum(w ** 2) for w in weights)


def l2_grad(w, alpha):
    return alpha * w


def l1_penalty(weights, alpha):
    return alpha * sum(np.sum(np.abs(w)) for w in weights)


def l1_grad(w, alpha):
    return alpha * np.sign(w)


def softmax_cross_entropy(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_p[np.arange(n), y].mean()
    d = np.exp(log_p)
    d[np.arange(n), y] -= 1
    return loss, d / n


class Linear:
    def __init__(self, d_in, d_out):
        self.params = {"W": np.random.randn(d_in, d_out) * 0.1, "b": np.zeros(d_out)}
        self.grads = {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class ReLU:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class Flatten:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.shape)


class ConvLoop:
    """Plain-loop convolution: W (F, C, HH, WW), b (F,), zero padding."""

    def __init__(self, c_in, c_out, k, stride=1, pad=0):
        self.params = {"W": np.random.randn(c_out, c_in, k, k) * 0.1, "b": np.zeros(c_out)}
        self.grads, self.stride, self.pad = {}, stride, pad

    def forward(self, x):
        W, b, s, p = self.params["W"], self.params["b"], self.stride, self.pad
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, _, h, w = self.xp.shape
        f, _, hh, ww = W.shape
        ho, wo = (h - hh) // s + 1, (w - ww) // s + 1
        out = np.zeros((n, f, ho, wo))
        for i in range(ho):
            for j in range(wo):
                window = self.xp[:, :, i * s:i * s + hh, j * s:j * s + ww]
                out[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
        return out

    def backward(self, dout):
        W, s, p = self.params["W"], self.stride, self.pad
        _, _, hh, ww = W.shape
        dxp = np.zeros_like(self.xp)
        dW = np.zeros_like(W)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                window = self.xp[:, :, i * s:i * s + hh, j * s:j * s + ww]
                dW += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
                dxp[:, :, i * s:i * s + hh, j * s:j * s + ww] += np.tensordot(
                    dout[:, :, i, j], W, axes=([1], [0]))
        self.grads["W"] = dW
        self.grads["b"] = dout.sum(axis=(0, 2, 3))
        h, w = dxp.shape[2:]
        return dxp[:, :, p:h - p, p:w - p]


class ConvIm2col(ConvLoop):
    """The same convolution through an explicit im2col matrix."""

    def _cols(self, xp, ho, wo, hh, ww):
        s = self.stride
        n, c = xp.shape[:2]
        cols = np.empty((n, ho, wo, c, hh, ww))
        for a in range(hh):
            for b in range(ww):
                cols[:, :, :, :, a, b] = xp[:, :, a:a + s * ho:s, b:b + s * wo:s].transpose(0, 2, 3, 1)
        return cols.reshape(n * ho * wo, -1)

    def forward(self, x):
        W, b, s, p = self.params["W"], self.params["b"], self.stride, self.pad
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, _, h, w = self.xp.shape
        f, _, hh, ww = W.shape
        self.ho, self.wo = (h - hh) // s + 1, (w - ww) // s + 1
        self.cols = self._cols(self.xp, self.ho, self.wo, hh, ww)
        out = self.cols @ W.reshape(f, -1).T + b
        return out.reshape(n, self.ho, self.wo, f).transpose(0, 3, 1, 2)

    def backward(self, dout):
        W, s, p = self.params["W"], self.stride, self.pad
        f, c, hh, ww = W.shape
        n = dout.shape[0]
        d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
        self.grads["W"] = (d.T @ self.cols).reshape(W.shape)
        self.grads["b"] = d.sum(axis=0)
        dcols = (d @ W.reshape(f, -1)).reshape(n, self.ho, self.wo, c, hh, ww)
        dxp = np.zeros_like(self.xp)
        for a in range(hh):
            for b in range(ww):
                dxp[:, :, a:a + s * self.ho:s, b:b + s * self.wo:s] += \
                    dcols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
        h, w = dxp.shape[2:]
        return dxp[:, :, p:h - p, p:w - p]


class MaxPool:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        n, c, h, w = x.shape
        self.x = x
        blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
        out = blocks.max(axis=(3, 5))
        self.mask = blocks == out[:, :, :, None, :, None]
        return out

    def backward(self, dout):
        n, c, h, w = self.x.shape
        d = self.mask * dout[:, :, :, None, :, None]
        return d.reshape(n, c, h, w)


def mlp_grads(params, X, Y, activation="relu"):
    """Backprop through an MLP with softmax + mean cross-entropy."""
    depth = len([k for k in params if k.startswith("W")])
    act = {"relu": (relu, relu_grad), "sigmoid": (sigmoid, sigmoid_grad),
           "tanh": (tanh, tanh_grad)}[activation]
    hs, zs = [X], []
    for i in range(1, depth + 1):
        z = hs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        zs.append(z)
        hs.append(act[0](z) if i < depth else softmax(z))
    grads = {}
    delta = (hs[-1] - Y) / X.shape[0]
    for i in range(depth, 0, -1):
        grads[f"W{i}"] = hs[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * act[1](zs[i - 2])
    return grads


def run_adam(params, grads_per_step, lr, bias_correction=True):
    b1, b2, eps = 0.9, 0.999, 1e-8
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    params = {k: p.copy() for k, p in params.items()}
    for t, grads in enumerate(grads_per_step, start=1):
        for k in params:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            mh = m[k] / (1 - b1 ** t) if bias_correction else m[k]
            vh = v[k] / (1 - b2 ** t) if bias_correction else v[k]
            params[k] -= lr * mh / (np.sqrt(vh) + eps)
    return params
