"""Network references: backprop through an MLP with a wrong activation derivative.

A NumPy backprop is the answer to A1's network exercise, so it lives here, on the grader
side; the check library's judge uses torch autograd as its oracle and asks this module
only to name a mistake (``MLPGradientCheck``'s kind, "mlp_gradients").
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# activation: (f, f' as a function of the input, the same derivative written from the
# output a = f(z)); ReLU is absent because its derivative is the same at z and at f(z).
_ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z)), lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2, lambda a: 1 - a ** 2),
}


def mlp_backprop(params: dict, X, Y, activation: str, slope) -> dict:
    """Gradients of the mean softmax cross-entropy of an MLP, the activation's slope at
    layer i being ``slope(z_i, a_i)`` (pre-activation z_i, activation a_i = f(z_i))."""
    depth = len([k for k in params if k.startswith("W")])
    f = _ACTIVATIONS[activation][0]
    hs, zs = [X], []
    for i in range(1, depth + 1):
        z = hs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        zs.append(z)
        if i < depth:
            hs.append(f(z))
    scores = zs[-1] - zs[-1].max(axis=1, keepdims=True)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    delta, grads = (p - Y) / X.shape[0], {}
    for i in range(depth, 0, -1):
        grads[f"W{i}"] = hs[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * slope(zs[i - 2], hs[i - 1])
    return grads


def mlp_mistakes(params: dict, X, Y, activation: str, penalty=None, alpha=0.0) -> dict:
    """{message: gradients} for the activation-derivative mistakes of backprop, with the
    weight penalty (if any) right, so that only the named mistake differs."""
    if activation not in _ACTIVATIONS:
        return {}
    _, at_input, from_output = _ACTIVATIONS[activation]
    name = f"{activation}'"
    wrong = {
        f"backprop evaluates {name} at the activation a = {activation}(z) instead of at the "
        f"pre-activation z: use the z cached in the forward pass (or the derivative's "
        f"output form applied to a)": lambda z, a: at_input(a),
        f"backprop applies the output form of {name} to the pre-activation z: "
        f"{'a * (1 - a)' if activation == 'sigmoid' else '1 - a**2'} needs the activation "
        f"a = {activation}(z), not z": lambda z, a: from_output(z)}
    out = {}
    for message, slope in wrong.items():
        grads = mlp_backprop(params, X, Y, activation, slope)
        for key in grads:
            if key.startswith("W") and penalty in ("l1", "l2") and alpha:
                grads[key] = grads[key] + alpha * (params[key] if penalty == "l2"
                                                   else np.sign(params[key]))
        out[message] = grads
    return out
