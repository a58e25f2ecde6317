//! The ONNX runtime behind every model: tract (pure Rust), optimised once at load, then run
//! concurrently from any thread (each run spawns its own state over the shared plan).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::VisionError;

/// One loaded, optimised ONNX model with its output names in output order.
pub struct OnnxPlan {
    name: &'static str,
    plan: Arc<TypedRunnableModel>,
    output_names: Vec<String>,
}

impl OnnxPlan {
    /// Load `path`, fix the single input to `input_shape` (NCHW f32), optimise.
    pub fn load(name: &'static str, path: &Path, input_shape: [usize; 4]) -> Result<Self, VisionError> {
        let err = |e: TractError| VisionError::inference(name, format!("{e:#}"));
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(err)?;
        model
            .set_input_fact(0, f32::fact(input_shape).into())
            .map_err(err)?;
        let output_names = model
            .output_outlets()
            .map_err(err)?
            .iter()
            .map(|o| {
                model
                    .outlet_label(*o)
                    .map(str::to_owned)
                    .unwrap_or_else(|| model.node(o.node).name.clone())
            })
            .collect();
        let plan = model
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(OnnxPlan { name, plan, output_names })
    }

    /// Run on one NCHW f32 input; returns every output as a flat f32 vector, keyed by name.
    pub fn run(&self, shape: [usize; 4], data: Vec<f32>) -> Result<Vec<(String, Vec<f32>)>, VisionError> {
        let err = |e: TractError| VisionError::inference(self.name, format!("{e:#}"));
        let input = Tensor::from_shape(&shape, &data).map_err(err)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(err)?;
        outputs
            .iter()
            .zip(&self.output_names)
            .map(|(t, name)| {
                let view = t.to_plain_array_view::<f32>().map_err(err)?;
                Ok((name.clone(), view.iter().copied().collect()))
            })
            .collect()
    }
}
