"""The order in which a student's ``Network.backward`` calls its layers' backward.

A backward that runs the layers in forward order hands the scores' gradient (N, K) to the
first layer, a convolution, which then fails deep inside its own code ("axes don't match
array"), far from the loop that is wrong. The network-gradient check records, as plain
data, which layer's backward was called with what shape of upstream gradient; its judge
names the order when the first call went to the first layer with the scores' gradient.
The record changes only the words of a check that fails anyway, never a score.
"""
from __future__ import annotations

MAX_CALLS = 16  # enough to see the order; a network of this check has 5 layers


def record_backward_calls(layers: dict) -> list:
    """Wrap each layer's ``backward`` (on the instance: the class is untouched) so that a
    call appends [layer name, shape of its upstream gradient or None] to the list returned,
    then runs the layer's own backward unchanged."""
    calls: list = []

    def recorder(name, backward):
        def recorded(dout, *args, **kwargs):
            if len(calls) < MAX_CALLS:
                try:
                    shape = [int(s) for s in dout.shape] if hasattr(dout, "shape") else None
                except Exception:  # noqa: BLE001 (an odd object: record no shape)
                    shape = None
                calls.append([name, shape])
            return backward(dout, *args, **kwargs)
        return recorded

    for name, layer in layers.items():
        backward = getattr(layer, "backward", None)
        if callable(backward):
            try:
                layer.backward = recorder(str(name), backward)
            except (AttributeError, TypeError):  # __slots__ or a read-only attribute
                pass
    return calls


def forward_order_cause(calls, first_layer: str, dscores_shape: tuple) -> str:
    """The cause when the first backward called was the first layer's, handed the scores'
    gradient of shape ``dscores_shape``; "" when the record shows anything else (or is
    malformed)."""
    try:
        name, shape = calls[0]
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError, IndexError, KeyError):
        return ""
    if name != first_layer or shape != tuple(dscores_shape):
        return ""
    return (f"Network.backward runs the layers in forward order: it handed dscores "
            f"{shape} to the first layer's backward ({first_layer}). Run them in reverse "
            "(for _, layer in reversed(self.layers)), each layer's dx feeding the layer "
            "before it")
