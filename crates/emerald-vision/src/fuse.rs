//! Two exact rewrites of an ONNX graph, made in memory before onnxruntime builds a session (the
//! file and its sha256 stay as fetched), for models exported from PaddlePaddle's PP-LCNet
//! family (PP-OCR's detector and recogniser), whose export spells every activation and every
//! learnable scalar affine as separate element-wise operators that onnxruntime's optimiser does
//! not fuse:
//!
//! 1. **Hard-swish**: `Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(·, 6)` (four passes over the
//!    tensor) becomes `HardSigmoid(x; α = 1/6, β = 0.5) → Mul(x, ·)` (two); the same function,
//!    x · min(max(x + 3, 0), 6) / 6, within float rounding (≈ 1e-7 relative).
//! 2. **Scalar affine after a convolution**: `Conv(W, b) → Mul(s) → Add(t)` (or `Mul(s)` alone),
//!    with `s`, `t` constant scalars, becomes `Conv(s·W, s·b + t)`, folded into the weights.
//!
//! Measured on PP-OCRv4 with onnxruntime 1.23 (one thread, CPU time, docs/documents.md): the
//! recogniser −12 %, the detector −5 %; outputs equal within 2e-6. A graph without these
//! patterns comes back unchanged (with zero rewrites counted).

use std::collections::HashMap;

use prost::Message;
use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

/// ONNX `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;
/// ONNX `AttributeProto.AttributeType` FLOAT and TENSOR.
const ATTR_FLOAT: i32 = 1;

/// How many of each rewrite [`fuse_elementwise`] made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fused {
    pub hard_swish: usize,
    pub conv_affine: usize,
}

/// The float values of a tensor stored as `float_data` or little-endian `raw_data`.
fn floats(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != FLOAT {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    if !t.raw_data.len().is_multiple_of(4) {
        return None;
    }
    Some(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn float_tensor(name: &str, dims: Vec<i64>, values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_owned(),
        dims,
        data_type: FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn constant_node(name: &str, tensor: TensorProto) -> NodeProto {
    NodeProto {
        output: vec![name.to_owned()],
        name: format!("{name}_const"),
        op_type: "Constant".into(),
        attribute: vec![AttributeProto { name: "value".into(), r#type: 4, t: Some(tensor), ..Default::default() }],
        ..Default::default()
    }
}

/// The constant tensors of a graph by name: `Constant` nodes' values and initializers.
fn constants(g: &GraphProto) -> HashMap<String, TensorProto> {
    let mut out: HashMap<String, TensorProto> = g.initializer.iter().map(|t| (t.name.clone(), t.clone())).collect();
    for n in &g.node {
        if n.op_type == "Constant" && n.domain.is_empty() {
            if let (Some(o), Some(t)) =
                (n.output.first(), n.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref()))
            {
                out.insert(o.clone(), t.clone());
            }
        }
    }
    out
}

/// Rewrite the model `bytes` (see the module docs); the encoded model and what was rewritten.
pub fn fuse_elementwise(bytes: &[u8]) -> Result<(Vec<u8>, Fused), String> {
    let mut model = ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model.graph.as_mut().ok_or("the model has no graph")?;
    let fused = fuse_graph(graph);
    Ok((model.encode_to_vec(), fused))
}

fn fuse_graph(g: &mut GraphProto) -> Fused {
    let consts = constants(g);
    let scalar = |name: &str| -> Option<f32> {
        let t = consts.get(name)?;
        let v = floats(t)?;
        (v.len() == 1 && t.dims.iter().product::<i64>() == 1).then_some(v[0])
    };
    let is = |name: &str, want: f32| scalar(name).is_some_and(|v| (v - want).abs() < 1e-6);
    let graph_outputs: Vec<String> = g.output.iter().map(|o| o.name.clone()).collect();
    // Consumers of each value, and its producer, by node index.
    let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
    let mut producer: HashMap<String, usize> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for x in &n.input {
            consumers.entry(x.clone()).or_default().push(i);
        }
        for o in &n.output {
            producer.insert(o.clone(), i);
        }
    }
    // A value read by exactly one node, which is `op`, and not a graph output.
    let only_consumer = |value: &str, op: &str, nodes: &[NodeProto]| -> Option<usize> {
        match consumers.get(value).map(Vec::as_slice) {
            Some(&[k])
                if nodes[k].op_type == op
                    && nodes[k].domain.is_empty()
                    && !graph_outputs.iter().any(|o| o == value) =>
            {
                Some(k)
            }
            _ => None,
        }
    };
    let mut removed = vec![false; g.node.len()];
    // Nodes to put just before a node (by index).
    let mut before: HashMap<usize, NodeProto> = HashMap::new();
    let mut new_constants: Vec<NodeProto> = Vec::new();
    let mut fused = Fused::default();

    // 1. Hard-swish.
    for ci in 0..g.node.len() {
        let clip = &g.node[ci];
        if clip.op_type != "Clip" || !clip.domain.is_empty() || clip.input.len() != 3 {
            continue;
        }
        if !(is(&clip.input[1], 0.0) && is(&clip.input[2], 6.0)) {
            continue;
        }
        let Some(&ai) = producer.get(&clip.input[0]) else { continue };
        let add = &g.node[ai];
        if add.op_type != "Add" || !add.domain.is_empty() || add.input.len() != 2 || removed[ai] {
            continue;
        }
        let x = match (is(&add.input[0], 3.0), is(&add.input[1], 3.0)) {
            (false, true) => add.input[0].clone(),
            (true, false) => add.input[1].clone(),
            _ => continue,
        };
        if only_consumer(&add.output[0], "Clip", &g.node) != Some(ci) {
            continue;
        }
        let Some(mi) = only_consumer(&clip.output[0], "Mul", &g.node) else { continue };
        let mul = &g.node[mi];
        let mut mul_in = mul.input.clone();
        mul_in.sort();
        let mut want = vec![x.clone(), clip.output[0].clone()];
        want.sort();
        if mul_in != want {
            continue;
        }
        let Some(di) = only_consumer(&mul.output[0], "Div", &g.node) else { continue };
        let div = &g.node[di];
        if div.input.len() != 2 || div.input[0] != mul.output[0] || !is(&div.input[1], 6.0) {
            continue;
        }
        let gate = format!("{}_hard_sigmoid", div.output[0]);
        let float_attr =
            |name: &str, f: f32| AttributeProto { name: name.into(), r#type: ATTR_FLOAT, f, ..Default::default() };
        before.insert(
            di,
            NodeProto {
                input: vec![x.clone()],
                output: vec![gate.clone()],
                name: gate.clone(),
                op_type: "HardSigmoid".into(),
                attribute: vec![float_attr("alpha", 1.0 / 6.0), float_attr("beta", 0.5)],
                ..Default::default()
            },
        );
        let div = &mut g.node[di];
        div.op_type = "Mul".into();
        div.input = vec![x, gate];
        removed[ai] = true;
        removed[ci] = true;
        removed[mi] = true;
        fused.hard_swish += 1;
    }

    // 2. Conv → Mul(scalar) [→ Add(scalar)].
    for k in 0..g.node.len() {
        let conv = &g.node[k];
        if conv.op_type != "Conv" || !conv.domain.is_empty() || removed[k] || !(2..=3).contains(&conv.input.len()) {
            continue;
        }
        let Some(mi) = only_consumer(&conv.output[0], "Mul", &g.node) else { continue };
        let mul = &g.node[mi];
        let Some(s) = mul.input.iter().find(|i| **i != conv.output[0]).and_then(|i| scalar(i)) else { continue };
        if mul.input.len() != 2 || removed[mi] {
            continue;
        }
        let (t, last) = match only_consumer(&mul.output[0], "Add", &g.node) {
            Some(ai) if !removed[ai] => {
                match g.node[ai].input.iter().find(|i| **i != mul.output[0]).and_then(|i| scalar(i)) {
                    Some(t) if g.node[ai].input.len() == 2 => (t, Some(ai)),
                    _ => (0.0, None),
                }
            }
            _ => (0.0, None),
        };
        let Some(w) = consts.get(&conv.input[1]).and_then(|t| floats(t).map(|v| (t.dims.clone(), v))) else { continue };
        let out_channels = w.0.first().copied().unwrap_or(0) as usize;
        if out_channels == 0 || !w.1.len().is_multiple_of(out_channels) {
            continue;
        }
        let b = match conv.input.get(2) {
            Some(name) => match consts.get(name).and_then(floats) {
                Some(b) if b.len() == out_channels => b,
                _ => continue,
            },
            None => vec![0.0; out_channels],
        };
        let base = format!("{}_folded", if conv.name.is_empty() { &conv.output[0] } else { &conv.name });
        let (w_name, b_name) = (format!("{base}_w"), format!("{base}_b"));
        let w_scaled: Vec<f32> = w.1.iter().map(|v| v * s).collect();
        let b_new: Vec<f32> = b.iter().map(|v| v * s + t).collect();
        new_constants.push(constant_node(&w_name, float_tensor(&w_name, w.0.clone(), &w_scaled)));
        new_constants.push(constant_node(&b_name, float_tensor(&b_name, vec![out_channels as i64], &b_new)));
        let out = match last {
            Some(ai) => g.node[ai].output[0].clone(),
            None => g.node[mi].output[0].clone(),
        };
        let conv = &mut g.node[k];
        conv.input.truncate(1);
        conv.input.push(w_name);
        conv.input.push(b_name);
        conv.output[0] = out;
        removed[mi] = true;
        if let Some(ai) = last {
            removed[ai] = true;
        }
        fused.conv_affine += 1;
    }

    if fused == Fused::default() {
        return fused;
    }
    let old = std::mem::take(&mut g.node);
    let mut nodes = new_constants;
    for (i, n) in old.into_iter().enumerate() {
        if let Some(b) = before.remove(&i) {
            nodes.push(b);
        }
        if !removed[i] {
            nodes.push(n);
        }
    }
    g.node = nodes;
    fused
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{OperatorSetIdProto, ValueInfoProto};

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: output.into(),
            op_type: op.into(),
            ..Default::default()
        }
    }

    fn scalar_const(name: &str, v: f32) -> NodeProto {
        constant_node(name, float_tensor(name, vec![], &[v]))
    }

    /// Conv(1×1, 2 channels) → Mul(2) → Add(0.5) → hard-swish.
    fn small_model() -> Vec<u8> {
        let nodes = vec![
            constant_node("w", float_tensor("w", vec![2, 1, 1, 1], &[1.0, -1.0])),
            constant_node("b", float_tensor("b", vec![2], &[0.25, 0.0])),
            scalar_const("s", 2.0),
            scalar_const("t", 0.5),
            scalar_const("three", 3.0),
            scalar_const("zero", 0.0),
            scalar_const("six", 6.0),
            node("Conv", &["x", "w", "b"], "c"),
            node("Mul", &["s", "c"], "m"),
            node("Add", &["m", "t"], "a"),
            node("Add", &["a", "three"], "a3"),
            node("Clip", &["a3", "zero", "six"], "cl"),
            node("Mul", &["a", "cl"], "hs"),
            node("Div", &["hs", "six"], "y"),
        ];
        let model = ModelProto {
            ir_version: 7,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 12 }],
            graph: Some(GraphProto {
                node: nodes,
                name: "g".into(),
                input: vec![ValueInfoProto { name: "x".into(), ..Default::default() }],
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        };
        model.encode_to_vec()
    }

    #[test]
    fn hard_swish_and_scalar_affine_are_fused() {
        let (bytes, fused) = fuse_elementwise(&small_model()).unwrap();
        assert_eq!(fused, Fused { hard_swish: 1, conv_affine: 1 });
        let g = ModelProto::decode(bytes.as_slice()).unwrap().graph.unwrap();
        let ops: Vec<&str> = g.node.iter().filter(|n| n.op_type != "Constant").map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Conv", "HardSigmoid", "Mul"]);
        let consts = constants(&g);
        let conv = g.node.iter().find(|n| n.op_type == "Conv").unwrap();
        // W·2; b·2 + 0.5; the conv now writes what the Add wrote.
        assert_eq!(floats(&consts[&conv.input[1]]).unwrap(), [2.0, -2.0]);
        assert_eq!(floats(&consts[&conv.input[2]]).unwrap(), [1.0, 0.5]);
        assert_eq!(conv.output[0], "a");
        let mul = g.node.iter().find(|n| n.op_type == "Mul").unwrap();
        assert_eq!(mul.output[0], "y");
        assert_eq!(mul.input, ["a", "y_hard_sigmoid"]);
        // Nothing left to fuse: a second pass changes nothing.
        assert_eq!(fuse_elementwise(&bytes).unwrap().1, Fused::default());
    }

    #[test]
    fn a_shared_intermediate_is_left_alone() {
        // The clip's input is also read elsewhere: not a private hard-swish, not fused.
        let mut m = ModelProto::decode(small_model().as_slice()).unwrap();
        let g = m.graph.as_mut().unwrap();
        g.node.push(node("Relu", &["a3"], "other"));
        g.output.push(ValueInfoProto { name: "other".into(), ..Default::default() });
        let (_, fused) = fuse_elementwise(&m.encode_to_vec()).unwrap();
        assert_eq!(fused, Fused { hard_swish: 0, conv_affine: 1 });
        assert!(fuse_elementwise(b"not a model \xff\xff").is_err());
    }
}
