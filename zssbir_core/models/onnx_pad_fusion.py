"""Fold the zero ``Pad`` in front of a ``Conv`` into the convolution's own ``pads`` (export time).

EfficientNet-Lite's stride-2 convolutions pad TensorFlow's way, one pixel more at the bottom and
right, which a PyTorch ``Conv2d`` cannot say, so the network pads first (``inference.StaticPad``)
and the exporter writes a ``Pad`` node fed by a chain of constant shape arithmetic. ONNX Runtime
neither folds that into the convolution nor keeps its blocked (NCHWc) layout across it: on 2 cores
the five pads and the layout reorders around them took 23 % of the default model's time. An ONNX
``Conv`` takes asymmetric ``pads``, so the same zeros can be its own: the result is the same
arithmetic, one node less each time.
"""

from __future__ import annotations

import numpy as np


def fuse_pads_into_convs(data: bytes, image_size: int) -> bytes:
    """``data`` (an ONNX model with input ``x`` of (N, 3, S, S)) with every constant-zero ``Pad``
    of H and W whose only reader is a ``Conv`` folded into that convolution, and the constant nodes
    that only fed those pads removed."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    model = onnx.load_from_string(data)
    graph = model.graph
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {output.name for output in graph.output}
    candidates = []
    for pad in graph.node:
        if pad.op_type != "Pad" or pad.output[0] in outputs:
            continue
        mode = next((helper.get_attribute_value(a) for a in pad.attribute if a.name == "mode"), b"constant")
        users = readers.get(pad.output[0], [])
        if mode != b"constant" or len(pad.input) > 3 or (len(pad.input) == 3 and pad.input[2]):
            continue  # a padding value or axes of its own: not plain zeros
        if len(users) == 1 and users[0].op_type == "Conv" and users[0].input[0] == pad.output[0]:
            candidates.append((pad, users[0]))
    if not candidates:
        return data
    # the pads are constants computed in the graph: evaluate them once
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_tensor_value_info(pad.input[1], onnx.TensorProto.INT64, None)
                              for pad, _ in candidates)
    values = ReferenceEvaluator(probe).run(None, {"x": np.zeros((1, 3, image_size, image_size), np.float32)})
    fused = set()
    for (pad, conv), amounts in zip(candidates, values, strict=True):
        amounts = [int(v) for v in np.asarray(amounts).ravel()]
        if len(amounts) != 8 or any(v < 0 for v in amounts) or amounts[0] or amounts[1] or amounts[4] or amounts[5]:
            continue
        current = next((list(helper.get_attribute_value(a)) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        if any(a.name == "auto_pad" and helper.get_attribute_value(a) not in (b"NOTSET", b"") for a in conv.attribute):
            continue
        total = [current[0] + amounts[2], current[1] + amounts[3], current[2] + amounts[6], current[3] + amounts[7]]
        kept = [a for a in conv.attribute if a.name != "pads"]
        del conv.attribute[:]
        conv.attribute.extend([*kept, helper.make_attribute("pads", total)])
        conv.input[0] = pad.input[0]
        fused.add(id(pad))
    nodes = [node for node in graph.node if id(node) not in fused]
    needed = {output.name for output in graph.output}
    alive = []
    for node in reversed(nodes):  # the graph is topologically sorted: keep what an output needs
        if any(name in needed for name in node.output):
            alive.append(node)
            needed.update(name for name in node.input if name)
    del graph.node[:]
    graph.node.extend(reversed(alive))
    return model.SerializeToString()
