"""Network references: backprop through an MLP with a wrong activation derivative, or with
softmax's Jacobian applied on top of the fused output gradient.

A NumPy backprop is the answer to A1's network exercise, so it lives here, on the grader
side; the check library's judge uses torch autograd as its oracle and asks this module
only to name a mistake (``MLPGradientCheck``'s kind, "mlp_gradients").
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_FORWARD = {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
            "linear": lambda z: z}

# activation: (f' as a function of the input, the same derivative written from the output
# a = f(z), how that output form reads); ReLU and the identity are absent because their
# derivative is the same at z and at f(z).
_DERIVATIVES = {
    "sigmoid": (lambda z: _sigmoid(z) * (1 - _sigmoid(z)), lambda a: a * (1 - a),
                "a * (1 - a)"),
    "tanh": (lambda z: 1 - np.tanh(z) ** 2, lambda a: 1 - a ** 2, "1 - a**2"),
}


def _right_slope(activation: str, z):
    if activation in _DERIVATIVES:
        return _DERIVATIVES[activation][0](z)
    return (z > 0).astype(float) if activation == "relu" else np.ones_like(z)


def mlp_backprop(params: dict, X, Y, activation: str, slope=None, twice_softmax=False) -> dict:
    """Gradients of the mean softmax cross-entropy of an MLP, the activation's slope at
    layer i being ``slope(z_i, a_i)`` (pre-activation z_i, activation a_i = f(z_i)); with
    ``twice_softmax``, the output delta (P - Y) / N is multiplied by softmax's Jacobian once
    more (the chained and the fused gradient both applied)."""
    depth = len([k for k in params if k.startswith("W")])
    f = _FORWARD[activation]
    slope = slope or (lambda z, a: _right_slope(activation, z))
    hs, zs = [X], []
    for i in range(1, depth + 1):
        z = hs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        zs.append(z)
        if i < depth:
            hs.append(f(z))
    p = _softmax(zs[-1])
    delta, grads = (p - Y) / X.shape[0], {}
    if twice_softmax:
        delta = p * (delta - np.sum(delta * p, axis=1, keepdims=True))
    for i in range(depth, 0, -1):
        grads[f"W{i}"] = hs[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * slope(zs[i - 2], hs[i - 1])
    return grads


def mlp_mistakes(params: dict, X, Y, activation: str, penalty=None, alpha=0.0) -> dict:
    """{message: gradients} for the usual backprop mistakes (the activation's derivative
    taken at the wrong place, softmax's Jacobian applied twice), with the weight penalty
    (if any) right, so that only the named mistake differs."""
    if activation not in _FORWARD:
        return {}
    out = {"backprop multiplies (P - Y) / N by the softmax Jacobian once more: (P - Y) / N "
           "is already the gradient with respect to the output scores (softmax and "
           "cross-entropy together), so start backprop from it as it is":
           mlp_backprop(params, X, Y, activation, twice_softmax=True)}
    if activation in _DERIVATIVES:
        at_input, from_output, form = _DERIVATIVES[activation]
        name = f"{activation}'"
        wrong = {
            f"backprop evaluates {name} at the activation a = {activation}(z) instead of at "
            f"the pre-activation z: the derivative must get the z that forward cached (check "
            f"the key backward reads and what forward stores under it)":
            lambda z, a: at_input(a),
            f"backprop applies the output form of {name} to the pre-activation z: the slope "
            f"used is {form.replace('a', 'z')}, and {form} needs the activation a = "
            f"{activation}(z), not z. Either backward applies {form} to z, or the "
            f"activation's gradient(z) computes {form.replace('a', 'z')} from its input "
            f"(given z, it must return {name}(z))":
            lambda z, a: from_output(z)}
        for message, slope in wrong.items():
            out[message] = mlp_backprop(params, X, Y, activation, slope)
    for grads in out.values():
        for key in grads:
            if key.startswith("W") and penalty in ("l1", "l2") and alpha:
                grads[key] = grads[key] + alpha * (params[key] if penalty == "l2"
                                                   else np.sign(params[key]))
    return out
