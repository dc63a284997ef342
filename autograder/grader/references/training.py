"""Training and evaluation loops on the check library's tiny problem.

These loops are the answers to A2's and A3's training exercises, so they live on the grader
side; the judges of ``check_train_one_epoch`` and ``check_test_one_epoch`` get them from
here (see ``autograder.student.checks.core.grader_reference``).
"""
from __future__ import annotations

import numpy as np

from ...student.checks.torch_code.torch_helpers import preserved_rng, state_arrays, tiny_problem


# Typical mistakes in a training loop, each a variant of the trusted epoch: the judges
# compare a wrong result with them to name the cause (checks' messages, keyed by name).
MISTAKEN_LOSSES = {
    "label_smoothing": lambda F, logits, y: F.cross_entropy(logits, y, label_smoothing=0.1),
    "softmax_then_ce": lambda F, logits, y: F.cross_entropy(F.softmax(logits, dim=1), y),
    "nll_on_logits": lambda F, logits, y: F.nll_loss(logits, y),
    "summed_loss": lambda F, logits, y: F.cross_entropy(logits, y, reduction="sum"),
}


def reference_train_epoch(params, log_interval, variant="correct"):
    """The trusted epoch on the tiny problem. Output: (losses, n_correct, final state).

    variant "no_zero_grad" accumulates gradients, and each key of MISTAKEN_LOSSES trains
    with that wrong loss (typical mistakes), used to explain a mismatch.
    """
    import torch.nn.functional as F

    with preserved_rng(0):
        model, loader, optimizer = tiny_problem(params)
        losses, correct = [], 0
        for batch, (x, y) in enumerate(loader):
            logits = model(x)
            loss = MISTAKEN_LOSSES.get(variant, lambda F, z, t: F.cross_entropy(z, t))(F, logits, y)
            if variant != "no_zero_grad":
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += int((logits.argmax(1) == y).sum())
            if batch % log_interval == 0:
                losses.append(loss.item())
    return np.array(losses), correct, state_arrays(model)


def reference_test_epoch(params) -> dict:
    """The trusted evaluation on the tiny problem with dropout.

    Output: {"mean_loss": per-example mean, "batch_sums", "batch_means", "n_correct"}; the
    per-batch figures let the judge name the usual averaging mistakes.
    """
    import torch
    import torch.nn.functional as F

    with preserved_rng(0):
        model, loader, _ = tiny_problem(params, dropout=True)
        model.eval()
        sums, means, counts, correct = [], [], [], 0
        with torch.no_grad():
            for x, y in loader:
                logits = model(x)
                sums.append(F.cross_entropy(logits, y, reduction="sum").item())
                means.append(F.cross_entropy(logits, y).item())
                counts.append(len(y))
                correct += int((logits.argmax(1) == y).sum())
    return {"mean_loss": sum(sums) / sum(counts), "batch_sums": sums, "batch_means": means,
            "n_correct": correct}


def _batch_sizes(params) -> np.ndarray:
    n, size = len(params["y"]), params["batch_size"]
    return np.array([min(size, n - start) for start in range(0, n, size)], dtype=np.float64)


def reference_train_epoch_means(params) -> dict:
    """A2's ``train_epoch`` on the tiny problem: per-batch losses and sizes, the per-example
    mean loss, the accuracy, the final state, and the state a loop without zero_grad reaches."""
    means, correct, state = reference_train_epoch(params, 1)
    _, _, accumulated = reference_train_epoch(params, 1, "no_zero_grad")
    sizes = _batch_sizes(params)
    return {"batch_means": means, "batch_sizes": sizes,
            "mean_loss": float((means * sizes).sum() / sizes.sum()), "n_correct": correct,
            "accuracy": correct / sizes.sum(), "state": state, "state_no_zero_grad": accumulated,
            "mistaken_states": mistaken_states(params)}


def mistaken_states(params) -> dict:
    """{mistake: the state one epoch with that wrong loss reaches} (MISTAKEN_LOSSES)."""
    return {name: reference_train_epoch(params, 1, name)[2] for name in MISTAKEN_LOSSES}


def reference_evaluate(params) -> dict:
    """A2's ``evaluate`` on the tiny problem with dropout: test_one_epoch's figures plus the
    batch sizes and the accuracy."""
    figures = reference_test_epoch(params)
    sizes = _batch_sizes(params)
    return dict(figures, batch_sizes=sizes, accuracy=figures["n_correct"] / sizes.sum())


def checkpoint_scores(weight, bias, x, y):
    """(accuracy, mean cross-entropy) of logits x @ weight.T + bias in float64, for the judge
    of ``check_best_checkpoint`` (the validation figures a correct history holds)."""
    logits = x.astype(np.float64) @ np.asarray(weight, np.float64).T + np.asarray(bias, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(np.mean(logits.argmax(1) == y)), float(-log_probs[np.arange(len(y)), y].mean())
