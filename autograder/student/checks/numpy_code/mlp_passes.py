"""The MLP forward passes the judges compute: the oracle (:func:`torch_mlp`) and what
typical wrong passes return, computed from the forward check's own parameters and batch,
so that the check names the cause only when the student's probabilities P equal one:

* softmax left out (P is the last layer's scores Z);
* the hidden activation ignored (a ReLU network whatever ``activation`` says) or left out;
* the hidden activation applied to the output scores too, before softmax;
* a bias left out: the hidden layers', the output layer's, or every layer's.

All in torch (float64, imported lazily, judge side only): a NumPy forward pass in the
student kit would be the answer to the exercise.
"""
from __future__ import annotations

import numpy as np

from ..judging import lazy_torch


def hidden_activation(name: str):
    """The torch function of a hidden activation: relu, sigmoid, tanh or linear."""
    torch = lazy_torch()
    return {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "linear": lambda t: t}[name]


def torch_mlp(params: dict, X: np.ndarray, activation: str) -> dict:
    """The oracle forward pass in float64. Input: params {"W1": (D, H1), "b1": (H1,), ...},
    X (N, D). Output: {"A1", "H1", ..., "Z", "P"} as NumPy arrays (P = softmax(Z))."""
    torch, f = lazy_torch(), hidden_activation(activation)
    depth = sum(1 for key in params if key.startswith("W"))
    h, out = torch.tensor(X, dtype=torch.float64), {}
    for layer in range(1, depth + 1):
        a = h @ torch.tensor(params[f"W{layer}"]) + torch.tensor(params[f"b{layer}"])
        if layer == depth:
            out["Z"], out["P"] = a.numpy(), torch.softmax(a, dim=1).numpy()
        else:
            h = f(a)
            out[f"A{layer}"], out[f"H{layer}"] = a.numpy(), h.numpy()
    return out


def mlp_pass(params: dict, X: np.ndarray, activation: str, *, hidden_bias: bool = True,
             output_bias: bool = True, on_output: bool = False) -> tuple:
    """(Z, P) as NumPy arrays, of an MLP with params {"W1": (D, H1), "b1": (H1,), ...} on X
    (N, D), with the hidden activation ``activation``; the flags leave a bias out or apply
    the hidden activation to the output scores too (P = softmax(f(Z)))."""
    torch, f = lazy_torch(), hidden_activation(activation)
    depth = sum(1 for key in params if key.startswith("W"))

    def layer(h, number, bias):
        a = h @ torch.tensor(params[f"W{number}"], dtype=torch.float64)
        return a + torch.tensor(params[f"b{number}"], dtype=torch.float64) if bias else a

    h = torch.tensor(X, dtype=torch.float64)
    for number in range(1, depth):
        h = f(layer(h, number, hidden_bias))
    z = layer(h, depth, output_bias)
    return z.numpy(), torch.softmax(f(z) if on_output else z, dim=1).numpy()


def forward_mistakes(params: dict, X: np.ndarray, activation: str) -> dict:
    """{what the forward pass did wrong: the P it gives} for the check's parameters and
    batch; the first one the student's P equals names the cause."""
    depth = sum(1 for key in params if key.startswith("W"))
    z, _ = mlp_pass(params, X, activation)
    mistakes = {"P is the scores Z: apply softmax to the last layer": z}
    if depth > 1:
        if activation != "relu":
            mistakes[f"it equals a ReLU network's: pass activation={activation!r} on to every "
                     "hidden layer"] = mlp_pass(params, X, "relu")[1]
        mistakes["it equals a network without hidden activations: apply f to every hidden "
                 "layer's A"] = mlp_pass(params, X, "linear")[1]
    if activation != "linear":
        mistakes[f"the hidden activation ({activation}) is applied to the output scores too: "
                 "the last layer's scores Z = H W + b go straight to softmax, "
                 "P = softmax(Z)"] = mlp_pass(params, X, activation, on_output=True)[1]
    if depth > 1:
        mistakes["the hidden layers' biases are missing: every hidden layer computes "
                 "A_l = H_(l-1) W_l + b_l"] = mlp_pass(params, X, activation, hidden_bias=False)[1]
        mistakes["no layer adds its bias: A_l = H_(l-1) W_l + b_l in every layer, the last "
                 "one included"] = mlp_pass(params, X, activation, hidden_bias=False,
                                            output_bias=False)[1]
    mistakes["the last layer's bias is missing: the scores are Z = H W_L + b_L"] = mlp_pass(
        params, X, activation, output_bias=False)[1]
    return mistakes
