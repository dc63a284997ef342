"""Checks on a model class and its modes (A3): the forward pass computes what the
architecture table says, dropout is active in training mode and off in eval mode, and an
evaluation function gives the same result twice.

The forward pass is judged from plain data: the model's ``state_dict`` arrays, the input and
the outputs; the judge recomputes the table's layers with F.conv2d, F.linear, ... (the kit's
``network_forward``), so a forged output would need the forward pass itself.
"""
from __future__ import annotations

import numpy as np

from ..saved_files.saved_network import network_forward
from ..core import Check, StudentError, call_student
from ..convert import numeric, returned, tensor_record
from .torch_helpers import _record_modes, preserved_rng, state_arrays

__all__ = ["check_model_forward", "check_evaluation_repeatable"]


def _model_device(model):
    import torch

    params = list(model.parameters()) if hasattr(model, "parameters") else []
    return params[0].device if params else torch.device("cpu")


def _variants(layers: list) -> list[tuple[str, list]]:
    """(mistake, layers) for the usual deviations from a table of layers."""
    variants = []
    for i, spec in enumerate(layers):
        before = next((s.get("W") for s in reversed(layers[:i]) if "W" in s), "the input")
        if spec["type"] == "relu":
            variants.append((f"the ReLU after {before.rsplit('.', 1)[0]} is missing",
                             layers[:i] + layers[i + 1:]))
        if spec["type"] == "maxpool2d":
            variants.append((f"the pooling after {before.rsplit('.', 1)[0]} is an average "
                             "pooling; the table asks for max pooling (F.max_pool2d)",
                             layers[:i] + [dict(spec, type="avgpool2d")] + layers[i + 1:]))
    variants.append(("the logits pass through a ReLU: the last layer must return raw logits",
                     layers + [{"type": "relu"}]))
    variants.append(("the model returns log-probabilities (log_softmax): return the raw "
                     "logits, F.cross_entropy applies log-softmax itself",
                     layers + [{"type": "log_softmax"}]))
    variants.append(("the model returns probabilities (softmax): return the raw logits",
                     layers + [{"type": "softmax"}]))
    return variants


class ForwardCheck(Check):
    """``model(x)`` in eval mode equals the layers of the table, recomputed from the model's
    state_dict (layers as in ``check_saved_network_accuracy``: conv2d, maxpool2d, relu,
    flatten, torch_linear, ...). ReLU and max pooling commute, so either order passes.

    dropout: the attribute name of the dropout module (e.g. "conv2_drop", of class
    ``dropout_type``): it must change the output in training mode and not in eval mode.
    None: the output must be the same in both modes.
    """

    kind = "model_forward"
    collects = "the model's modules and state_dict, and its outputs in eval and training mode"
    compares_with = "the table's layers recomputed from the state_dict"

    def __init__(self, layers, input_shape=(6, 1, 28, 28), dropout=None,
                 dropout_type="Dropout2d", seed=0, name=None, points=1.0):
        self.layers = [dict(spec) for spec in layers]
        self.input_shape = tuple(int(n) for n in input_shape)
        self.dropout, self.dropout_type = dropout, dropout_type
        super().__init__(name or "forward pass as in the table", points, seed)

    def inputs(self):
        return {"x": self.rng("x").normal(0, 1, self.input_shape).astype(np.float32)}

    def collect(self, model):
        import torch

        if not hasattr(model, "state_dict") or not hasattr(model, "train"):
            raise StudentError(f"got a {type(model).__name__}, expected an nn.Module")
        x = torch.from_numpy(self.inputs()["x"]).to(_model_device(model))
        was_training = bool(model.training)
        evidence = {"modules": {name: type(module).__name__ for name, module in model.named_modules()},
                    "state": state_arrays(model)}
        try:
            with preserved_rng(self.seed), torch.no_grad():
                for mode in ("eval", "train"):
                    model.train(mode == "train")
                    for draw in (1, 2):
                        out = call_student(model, x, what=f"model(x) in {mode} mode")
                        evidence[f"{mode}{draw}"] = tensor_record(out, "model(x)")
        finally:
            model.train(was_training)
        return evidence

    def verdict(self, ev):
        import torch

        x = self.inputs()["x"]
        n = self.input_shape[0]
        modules = ev.get("modules") if isinstance(ev.get("modules"), dict) else {}
        if self.dropout is not None:
            found = modules.get(self.dropout)
            if found != self.dropout_type:
                hint = ""
                if found == "Dropout" and self.dropout_type == "Dropout2d":
                    hint = ": nn.Dropout zeroes single values, nn.Dropout2d whole channels"
                what = f"is an nn.{found}" if found else "is missing"
                return self.failed(f"self.{self.dropout} {what}; the table asks for "
                                   f"nn.{self.dropout_type}(){hint}")
        outputs = {}
        for key in ("eval1", "eval2", "train1", "train2"):
            out = numeric(returned(ev, key).get("array"))
            if out is None or out.ndim != 2 or out.shape[0] != n:
                shape = getattr(returned(ev, key).get("array"), "shape", None)
                return self.failed(f"model(x) returned shape {shape} for x of shape "
                                   f"{self.input_shape}; expected logits (N, classes)")
            outputs[key] = out
        if not np.allclose(outputs["eval1"], outputs["eval2"], rtol=1e-6, atol=1e-7):
            return self.failed("in eval mode two outputs for the same input differ: dropout is "
                               "still active after model.eval(). Use a dropout module (an "
                               "nn.Module attribute follows the model's mode) or pass the "
                               "model's training flag to the functional dropout")
        state = ev.get("state") if isinstance(ev.get("state"), dict) else {}
        arrays = {k: v for k, v in state.items() if numeric(v) is not None}
        try:
            with torch.no_grad():
                expected = network_forward(arrays, self.layers, x).double().numpy()
        except StudentError as err:
            return self.failed(str(err))
        if outputs["eval1"].shape != expected.shape or not np.allclose(
                outputs["eval1"], expected, atol=1e-4, rtol=1e-4):
            return self.failed(self._diagnosis(arrays, x, outputs["eval1"], expected))
        train_differs = not np.allclose(outputs["train1"], outputs["train2"], atol=1e-6)
        if self.dropout is not None and not train_differs:
            return self.failed(f"in training mode two outputs for the same input are equal: "
                               f"dropout is not applied; call self.{self.dropout} in forward")
        if self.dropout is None and not np.allclose(outputs["train1"], outputs["eval1"], atol=1e-5):
            return self.failed("the output changes in training mode although the table has no "
                               "dropout: remove the random layers that are not in the table")
        mode_note = "dropout on in training mode, off in eval mode" if self.dropout else \
            "the same output in training and eval mode"
        return self.passed(f"eval-mode output equals the table's layers; {mode_note}")

    def _diagnosis(self, arrays, x, got, expected) -> str:
        import torch

        if got.shape != expected.shape:
            return (f"model(x) has shape {got.shape}, the table's layers give {expected.shape}")
        for mistake, layers in _variants(self.layers):
            try:
                with torch.no_grad():
                    variant = network_forward(arrays, layers, x).double().numpy()
            except StudentError:
                continue
            if np.allclose(got, variant, atol=1e-4, rtol=1e-4):
                return f"model(x) in eval mode differs from the table: {mistake}"
        order = " -> ".join(spec.get("W", spec["type"]).rsplit(".", 1)[0] for spec in self.layers)
        return (f"model(x) in eval mode differs from the table's layers by up to "
                f"{np.abs(got - expected).max():.3g} (expected order: {order})")


check_model_forward = ForwardCheck.function("check_model_forward", "model")


class EvaluationRepeatableCheck(Check):
    """``test_one_epoch(loader, model, device)`` called twice with the model left in training
    mode (as after training) on ``n_items`` random inputs of ``item_shape``: the model must run
    in eval mode and both results must be equal."""

    kind = "evaluation_repeatable"
    collects = "the results of two calls and the model's mode"
    compares_with = "each other, and eval mode"

    def __init__(self, n_items=800, batch_size=64, item_shape=(1, 28, 28), n_classes=10, seed=0,
                 name=None, points=1.0):
        self.n_items, self.batch_size = int(n_items), int(batch_size)
        self.item_shape, self.n_classes = tuple(int(n) for n in item_shape), int(n_classes)
        super().__init__(name or "two evaluations give the same result", points, seed)

    def inputs(self):
        rng = self.rng("data")
        return {"x": rng.normal(0, 1, (self.n_items, *self.item_shape)).astype(np.float32),
                "y": rng.integers(0, self.n_classes, self.n_items).astype(np.int64)}

    def collect(self, student):
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        test_one_epoch, model = student
        data = self.inputs()
        loader = DataLoader(TensorDataset(torch.from_numpy(data["x"]), torch.from_numpy(data["y"])),
                            batch_size=self.batch_size)
        was_training = bool(model.training)
        calls, handle = _record_modes(model)
        results = []
        try:
            with preserved_rng(self.seed):
                for _ in range(2):
                    model.train()  # as after training: test_one_epoch must switch to eval mode
                    result = call_student(test_one_epoch, loader, model, _model_device(model),
                                          what="test_one_epoch(loader, model, device)")
                    if not isinstance(result, (tuple, list)) or len(result) != 2:
                        raise StudentError(f"test_one_epoch returned a {type(result).__name__}, "
                                           "expected (mean_loss, n_correct)")
                    try:
                        results.append([float(v) for v in result])
                    except (TypeError, ValueError):
                        raise StudentError("test_one_epoch returned values that are not "
                                           "numbers") from None
        finally:
            handle.remove()
            model.train(was_training)
        return {"results": np.array(results, dtype=np.float64),
                "training": np.array([c[0] for c in calls], dtype=bool)}

    def verdict(self, ev):
        results = numeric(ev.get("results"), (2, 2))
        training = ev.get("training")
        if results is None or not isinstance(training, np.ndarray):
            return self.failed("no evaluation results were recorded")
        if training.size == 0:
            return self.failed("test_one_epoch never called the model")
        if training.any():
            return self.failed("test_one_epoch ran the model in training mode: call model.eval() "
                               "at its start (dropout must be off when testing)")
        if not np.allclose(results[0], results[1], rtol=1e-7, atol=1e-9):
            return self.failed(f"the model was in eval mode, yet two evaluations of the same data "
                               f"differ (mean loss {results[0][0]:.6f} and {results[1][0]:.6f}): "
                               "the model's forward applies dropout in eval mode too (e.g. "
                               "F.dropout2d(x) without training=self.training); use the module "
                               "self.conv2_drop")
        return self.passed("eval mode, and the same result twice")


check_evaluation_repeatable = EvaluationRepeatableCheck.function(
    "check_evaluation_repeatable", "test_one_epoch", "model")
