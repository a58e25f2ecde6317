#!/usr/bin/env python3
"""Convert MTCNN's ONet (the landmark stage) from facenet-pytorch's weights to a batch-1 ONNX model, without torch.

    convert_onet.py onet.pt mtcnn_onet.onnx

Source: PyPI facenet-pytorch==2.6.0 (MIT), facenet_pytorch/data/onet.pt (sha256 pinned by scripts/fetch-models.sh,
which runs this script in its convert venv and pins the sha256 of the output). The weights are MTCNN's (Zhang et
al. 2016) as ported by davidsandberg/facenet (MIT) and then to PyTorch by timesler/facenet-pytorch.

What the ONNX model is:
  input      `input`      float32 [1, 3, 48, 48]  the face's square box resized (area) to 48x48, RGB planes,
                                                  (v - 127.5) / 128
  outputs    `box`        float32 [1, 4]          box regression (x1, y1, x2, y2 offsets in box widths/heights)
             `landmarks`  float32 [1, 10]         5 x coordinates then 5 y coordinates, in box units (0..1):
                                                  left eye, right eye (image-left first), nose, mouth corners
             `face`       float32 [1, 2]          softmax: p(not a face), p(face)
  opset 13, IR version 7; node and value names fixed, no timestamps: the same onet.pt gives the same bytes.

How it converts: onet.pt is a legacy (pre-zip) torch serialisation of a state dict: five pickles (magic number,
protocol, system info, the dict, its storage keys) and then each storage as an int64 element count and raw
little-endian float32 data. The dict is read with a restricted unpickler that only builds tensors (any other class
is refused), so no torch and no arbitrary code. The graph is facenet-pytorch's ONet: conv 3x3 (32) PReLU, max-pool
3/2, conv 3x3 (64) PReLU, max-pool 3/2, conv 3x3 (64) PReLU, max-pool 2/2, conv 2x2 (128) PReLU, permute to
(N, W, H, C) as the Caffe original was trained on transposed images, dense 1152->256 PReLU, then the three heads.
PyTorch's ceil_mode pooling becomes explicit end padding (only the first pool needs one pixel: 46 -> 23).
"""

from __future__ import annotations

import collections
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PRODUCER = "emerald scripts/convert_onet.py"
PRODUCER_VERSION = "1"

SHAPES = {
    "conv1.weight": (32, 3, 3, 3), "conv1.bias": (32,), "prelu1.weight": (32,),
    "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,), "prelu2.weight": (64,),
    "conv3.weight": (64, 64, 3, 3), "conv3.bias": (64,), "prelu3.weight": (64,),
    "conv4.weight": (128, 64, 2, 2), "conv4.bias": (128,), "prelu4.weight": (128,),
    "dense5.weight": (256, 1152), "dense5.bias": (256,), "prelu5.weight": (256,),
    "dense6_1.weight": (2, 256), "dense6_1.bias": (2,),
    "dense6_2.weight": (4, 256), "dense6_2.bias": (4,),
    "dense6_3.weight": (10, 256), "dense6_3.bias": (10,),
}


class Refused(Exception):
    pass


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)

        class Restricted(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return lambda key, offset, size, stride, *rest: ("tensor", key, offset, tuple(size), tuple(stride))
                if module == "torch" and name == "FloatStorage":
                    return name
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                raise Refused(f"onet.pt refers to {module}.{name}, which this converter does not build")

            def persistent_load(self, pid):
                if pid[0] != "storage" or pid[1] != "FloatStorage":
                    raise Refused(f"unexpected storage {pid!r}")
                return pid[2]

        state = Restricted(f).load()
        keys = pickle.load(f)
        storages = {}
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            storages[key] = np.frombuffer(f.read(4 * count), dtype="<f4")
        if f.read(1):
            raise Refused("trailing bytes after the last storage")
    out = {}
    for name, (_, key, offset, size, stride) in state.items():
        arr = storages[key]
        # Strides are honoured: the ported convolution weights are stored in Fortran order.
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if len(size) != len(stride) or min(stride, default=1) < 1 or offset < 0 or last >= len(arr):
            raise Refused(f"{name}: tensor outside its storage")
        view = np.lib.stride_tricks.as_strided(arr[offset:], size, [4 * s for s in stride], writeable=False)
        out[name] = np.array(view, dtype=np.float32)
    if {k: v.shape for k, v in out.items()} != SHAPES:
        raise Refused(f"onet.pt does not hold MTCNN's ONet: {sorted((k, v.shape) for k, v in out.items())}")
    return out


def build(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def conv(x, n, k):
        nodes.append(helper.make_node("Conv", [x, const(f"{n}.weight", w[f"{n}.weight"]), const(f"{n}.bias", w[f"{n}.bias"])],
                                      [n], name=n, kernel_shape=[k, k]))
        return n

    def prelu(x, n, spatial):
        slope = w[f"{n}.weight"]
        nodes.append(helper.make_node("PRelu", [x, const(f"{n}.slope", slope.reshape(-1, 1, 1) if spatial else slope)],
                                      [n], name=n))
        return n

    def pool(x, n, k, end_pad):
        nodes.append(helper.make_node("MaxPool", [x], [n], name=n, kernel_shape=[k, k], strides=[2, 2],
                                      pads=[0, 0, end_pad, end_pad]))
        return n

    def dense(x, n):
        nodes.append(helper.make_node("Gemm", [x, const(f"{n}.weight", w[f"{n}.weight"]), const(f"{n}.bias", w[f"{n}.bias"])],
                                      [n], name=n, transB=1))
        return n

    x = pool(prelu(conv("input", "conv1", 3), "prelu1", True), "pool1", 3, 1)   # 46 -> 23 (ceil mode)
    x = pool(prelu(conv(x, "conv2", 3), "prelu2", True), "pool2", 3, 0)         # 21 -> 10
    x = pool(prelu(conv(x, "conv3", 3), "prelu3", True), "pool3", 2, 0)         # 8 -> 4
    x = prelu(conv(x, "conv4", 2), "prelu4", True)                              # 3x3x128
    nodes.append(helper.make_node("Transpose", [x], ["nwhc"], name="nwhc", perm=[0, 3, 2, 1]))
    nodes.append(helper.make_node("Flatten", ["nwhc"], ["flat"], name="flat", axis=1))
    x = prelu(dense("flat", "dense5"), "prelu5", False)
    for head, out in (("dense6_2", "box"), ("dense6_3", "landmarks")):
        nodes.append(helper.make_node("Gemm", [x, const(f"{head}.weight", w[f"{head}.weight"]), const(f"{head}.bias", w[f"{head}.bias"])],
                                      [out], name=head, transB=1))
    nodes.append(helper.make_node("Gemm", [x, const("dense6_1.weight", w["dense6_1.weight"]), const("dense6_1.bias", w["dense6_1.bias"])],
                                  ["logits"], name="dense6_1", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["face"], name="softmax", axis=1))
    graph = helper.make_graph(
        nodes, "mtcnn_onet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 48, 48])],
        [helper.make_tensor_value_info("box", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, [1, 10]),
         helper.make_tensor_value_info("face", TensorProto.FLOAT, [1, 2])],
        inits)
    model = helper.make_model(graph, producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        model = build(load_state_dict(sys.argv[1]))
    except Refused as e:
        print(f"convert_onet.py: refused: {e}", file=sys.stderr)
        return 1
    with open(sys.argv[2], "wb") as f:
        f.write(model.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
