"""Optimiser references: Adam in NumPy, and the wrong Adams students write.

A NumPy Adam is the answer to A1's and A4's optimiser exercises, so it lives here, on the
grader side; the check library's judge uses torch.optim.Adam as its oracle and asks this
module only to name a mistake.
"""
from __future__ import annotations

import numpy as np


def adam_reference(params: dict, grads_per_step: list, lr: float, bias_correction=True,
                   betas=(0.9, 0.999), eps=1e-8, counter="step") -> dict:
    """Adam in NumPy float64, as torch.optim.Adam; without bias correction on request.

    ``counter`` says how the bias correction's t advances: "step" (right: 1, 2, ... once
    per step), "frozen" (never incremented: t = 1 at every step), "per_parameter"
    (incremented once per parameter array instead of once per step).
    """
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    out = {k: p.copy() for k, p in params.items()}
    calls = 0
    for step, grads in enumerate(grads_per_step, start=1):
        for k in out:
            calls += 1
            t = {"step": step, "frozen": 1, "per_parameter": calls}[counter]
            m[k] = betas[0] * m[k] + (1 - betas[0]) * grads[k]
            v[k] = betas[1] * v[k] + (1 - betas[1]) * grads[k] ** 2
            m_hat = m[k] / (1 - betas[0] ** t) if bias_correction else m[k]
            v_hat = v[k] / (1 - betas[1] ** t) if bias_correction else v[k]
            out[k] = out[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return out


def adam_mistakes(params: dict, grads_per_step: list, lr: float) -> dict[str, dict]:
    """{message: params after the steps} for the known wrong implementations of Adam."""
    return {"the bias correction is missing: divide m by (1 - beta1**t) and v by "
            "(1 - beta2**t), t counting from 1": adam_reference(params, grads_per_step, lr,
                                                               bias_correction=False),
            "the step counter t is never incremented (t = 1 at every step): increase t by "
            "one before each step's bias correction": adam_reference(params, grads_per_step, lr,
                                                                     counter="frozen"),
            "the step counter t is incremented once per parameter array, not once per step: "
            "all parameters of one step share the same t": adam_reference(
                params, grads_per_step, lr, counter="per_parameter")}
