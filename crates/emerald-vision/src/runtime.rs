//! The ONNX runtime behind every model.
//!
//! - **tract** (pure Rust, always built): optimised once at load, then run concurrently from
//!   any thread (each run spawns its own state over the shared plan).
//! - **onnxruntime** through `ort` (feature `ort`, `load-dynamic`): the `libonnxruntime.so` of
//!   the PyPI wheel `onnxruntime==1.31.1`, found at run time — nothing is downloaded at build
//!   time. `scripts/fetch-models.sh` puts it in the models cache.
//!
//! Choice: `EMERALD_RUNTIME` = `auto` (default), `tract` or `ort`. With `auto`, a model runs on
//! onnxruntime when the library loads, otherwise on tract. `ort` insists (a clear error when the
//! library is missing). `auto` used to load every model on both runtimes and time them before
//! choosing; onnxruntime won for every model on every host measured (2.2–4.5× faster, see
//! docs/benchmarks.md), and the double load cost 1–4 s of start and ~130 MiB of memory.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::VisionError;

/// Environment variable choosing the runtime: `auto`, `tract` or `ort`.
pub const RUNTIME_ENV: &str = "EMERALD_RUNTIME";

/// Which runtime runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Tract,
    OnnxRuntime,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::OnnxRuntime => "onnxruntime",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preference {
    Auto,
    Tract,
    Ort,
}

fn preference() -> Result<Preference, VisionError> {
    match std::env::var(RUNTIME_ENV).unwrap_or_default().trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(Preference::Auto),
        "tract" => Ok(Preference::Tract),
        "ort" | "onnxruntime" => Ok(Preference::Ort),
        other => Err(VisionError::Inference(format!("{RUNTIME_ENV}={other:?}: expected auto, tract or ort"))),
    }
}

/// One loaded ONNX model with its output names in output order.
pub struct OnnxPlan {
    name: &'static str,
    inner: Inner,
    output_names: Vec<String>,
    /// `run` takes any input height and width (see [`OnnxPlan::load_spatially_free`]).
    spatially_free: bool,
}

/// What is done to a model's graph in memory before onnxruntime loads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    None,
    /// [`OnnxPlan::load_spatially_free`].
    FreeSpatial,
    /// [`OnnxPlan::load_fused`].
    Fuse,
}

enum Inner {
    Tract(Arc<TypedRunnableModel>),
    #[cfg(feature = "ort")]
    Ort(ort_backend::Pool),
}

impl OnnxPlan {
    /// Load `path` for a single NCHW f32 input of `input_shape`, on the runtime chosen by
    /// `EMERALD_RUNTIME` (see the module docs).
    pub fn load(name: &'static str, path: &Path, input_shape: [usize; 4]) -> Result<Self, VisionError> {
        Self::load_with(name, path, input_shape, Rewrite::None, 1)
    }

    /// [`OnnxPlan::load_threaded`] with the graph's spelled-out hard-swish activations and
    /// scalar affines after convolutions fused on onnxruntime ([`crate::fuse`]; PP-OCR's
    /// PP-LCNet models), in memory: the file and its sha256 stay as fetched. When the rewrite
    /// fails the file loads as it is.
    pub fn load_fused(
        name: &'static str,
        path: &Path,
        input_shape: [usize; 4],
        threads: usize,
    ) -> Result<Self, VisionError> {
        Self::load_with(name, path, input_shape, Rewrite::Fuse, threads)
    }

    /// [`OnnxPlan::load`] for a model whose one run is worth splitting over `threads` cores (a
    /// large input run alone, a text detector): on onnxruntime each session runs an operator
    /// on up to `threads` threads (no spinning between operators: the cores are shared), same
    /// results; tract runs it on one.
    pub fn load_threaded(
        name: &'static str,
        path: &Path,
        input_shape: [usize; 4],
        threads: usize,
    ) -> Result<Self, VisionError> {
        Self::load_with(name, path, input_shape, Rewrite::None, threads)
    }

    /// Load a fully convolutional model whose file declares a fixed input size (`input_shape`)
    /// so that it takes any height and width. On onnxruntime the declared input height and
    /// width (and the outputs' shapes) are made symbolic in memory before the session is built
    /// — the file and its sha256 stay as fetched; `spatially_free()` is then true. When that
    /// session cannot be built the model loads as [`OnnxPlan::load`] would; tract plans stay at
    /// `input_shape` (it optimises for one concrete shape).
    pub fn load_spatially_free(name: &'static str, path: &Path, input_shape: [usize; 4]) -> Result<Self, VisionError> {
        Self::load_with(name, path, input_shape, Rewrite::FreeSpatial, 1)
    }

    /// `load`, `load_spatially_free` or `load_fused` (`rewrite`), each onnxruntime session on
    /// `threads` threads; without onnxruntime support all load the file's fixed shape on tract.
    #[cfg_attr(not(feature = "ort"), allow(unused_variables))]
    fn load_with(
        name: &'static str,
        path: &Path,
        input_shape: [usize; 4],
        rewrite: Rewrite,
        threads: usize,
    ) -> Result<Self, VisionError> {
        let pref = preference()?;
        let free = rewrite == Rewrite::FreeSpatial;
        #[cfg(feature = "ort")]
        if pref != Preference::Tract {
            let bytes = std::fs::read(path).map_err(|e| VisionError::inference(name, e.to_string()));
            let loaded = match rewrite {
                Rewrite::FreeSpatial => bytes
                    .and_then(|b| free_spatial_dims(&without_denormals(b)).map_err(|e| VisionError::inference(name, e)))
                    .and_then(|bytes| ort_backend::Pool::load_bytes(name, &bytes)),
                // A graph that cannot be rewritten loads as it is (below, on the error).
                Rewrite::Fuse => bytes
                    .and_then(|b| {
                        crate::fuse::fuse_elementwise(&without_denormals(b))
                            .map_err(|e| VisionError::inference(name, e))
                    })
                    .and_then(|(bytes, _)| ort_backend::Pool::load_bytes_threaded(name, &bytes, threads)),
                Rewrite::None => bytes
                    .map(without_denormals)
                    .and_then(|bytes| ort_backend::Pool::load_bytes_threaded(name, &bytes, threads)),
            };
            match loaded {
                Ok((pool, names)) => {
                    return Ok(OnnxPlan { name, inner: Inner::Ort(pool), output_names: names, spatially_free: free })
                }
                Err(e) if pref == Preference::Ort => return Err(e),
                Err(_) if rewrite != Rewrite::None => {
                    return Self::load_with(name, path, input_shape, Rewrite::None, threads)
                }
                Err(_) => {}
            }
        }
        #[cfg(not(feature = "ort"))]
        if pref == Preference::Ort {
            return Err(VisionError::Inference(format!(
                "{RUNTIME_ENV}=ort but this build has no onnxruntime support (cargo feature `ort`)"
            )));
        }
        Self::load_tract(name, path, input_shape)
    }

    /// Whether `run` takes any input height and width (see [`OnnxPlan::load_spatially_free`]).
    pub fn spatially_free(&self) -> bool {
        self.spatially_free
    }

    /// Load on tract whatever the environment says (benchmarks compare both).
    pub fn load_tract(name: &'static str, path: &Path, input_shape: [usize; 4]) -> Result<Self, VisionError> {
        let err = |e: TractError| VisionError::inference(name, format!("{e:#}"));
        let bytes = std::fs::read(path).map_err(|e| VisionError::inference(name, e.to_string()))?;
        let mut model = tract_onnx::onnx().model_for_read(&mut without_denormals(bytes).as_slice()).map_err(err)?;
        model.set_input_fact(0, f32::fact(input_shape).into()).map_err(err)?;
        let output_names = model
            .output_outlets()
            .map_err(err)?
            .iter()
            .map(|o| model.outlet_label(*o).map(str::to_owned).unwrap_or_else(|| model.node(o.node).name.clone()))
            .collect();
        let plan = model.into_optimized().map_err(err)?.into_runnable().map_err(err)?;
        Ok(OnnxPlan { name, inner: Inner::Tract(plan), output_names, spatially_free: false })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Tract(_) => Backend::Tract,
            #[cfg(feature = "ort")]
            Inner::Ort(_) => Backend::OnnxRuntime,
        }
    }

    /// Run on one NCHW f32 input; returns every output as a flat f32 vector, keyed by name.
    pub fn run(&self, shape: [usize; 4], data: Vec<f32>) -> Result<Vec<(String, Vec<f32>)>, VisionError> {
        match &self.inner {
            Inner::Tract(plan) => {
                let err = |e: TractError| VisionError::inference(self.name, format!("{e:#}"));
                let input = Tensor::from_shape(&shape, &data).map_err(err)?;
                let outputs = plan.run(tvec!(input.into())).map_err(err)?;
                outputs
                    .iter()
                    .zip(&self.output_names)
                    .map(|(t, name)| {
                        let view = t.to_plain_array_view::<f32>().map_err(err)?;
                        Ok((name.clone(), view.iter().copied().collect()))
                    })
                    .collect()
            }
            #[cfg(feature = "ort")]
            Inner::Ort(pool) => pool.run(self.name, &self.output_names, shape, data),
        }
    }
}

/// The ONNX model `bytes` with the first input's height and width (dimensions 2 and 3) made
/// symbolic and the outputs' declared shapes dropped, so that onnxruntime takes any spatial
/// size. Only for fully convolutional graphs whose reshapes use -1 (YuNet): the runtime checks
/// the rest when it builds the session.
#[cfg(feature = "ort")]
/// The model with every subnormal float weight set to zero, in memory (the file and its sha256
/// stay as fetched); the bytes as they are when there is none or they are not an ONNX model.
///
/// Why: a multiplication by a subnormal takes a slow microcode path on Intel cores. fr_feature
/// holds 8,938 subnormal weights (of 1.19 M); on a 2-vCPU Intel Xeon one inference took 64–68 ms
/// with them and 19 ms without, on both runtimes, with bit-identical embeddings (AMD cores do
/// not slow down, which is why earlier hosts did not show it).
fn without_denormals(bytes: Vec<u8>) -> Vec<u8> {
    use prost::Message;
    let Ok(mut model) = tract_onnx::pb::ModelProto::decode(bytes.as_slice()) else { return bytes };
    let Some(graph) = model.graph.as_mut() else { return bytes };
    if flush_subnormals(&mut graph.initializer) == 0 {
        return bytes;
    }
    model.encode_to_vec()
}

/// Set the subnormal values of the float tensors to zero; how many there were.
fn flush_subnormals(tensors: &mut [tract_onnx::pb::TensorProto]) -> usize {
    const FLOAT: i32 = 1;
    let subnormal = |v: f32| v != 0.0 && v.is_subnormal();
    let mut flushed = 0;
    for t in tensors.iter_mut().filter(|t| t.data_type == FLOAT) {
        for v in t.float_data.iter_mut().filter(|v| subnormal(**v)) {
            *v = 0.0;
            flushed += 1;
        }
        for chunk in t.raw_data.chunks_exact_mut(4) {
            let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if subnormal(v) {
                chunk.copy_from_slice(&0f32.to_le_bytes());
                flushed += 1;
            }
        }
    }
    flushed
}

fn free_spatial_dims(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use prost::Message;
    use tract_onnx::pb::tensor_shape_proto::dimension::Value;
    use tract_onnx::pb::type_proto::Value as TypeValue;

    let mut model = tract_onnx::pb::ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model.graph.as_mut().ok_or("the model has no graph")?;
    let input = graph.input.first_mut().ok_or("the model has no input")?;
    let Some(TypeValue::TensorType(tensor)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
        return Err("the first input is not a tensor".into());
    };
    let dims = tensor.shape.as_mut().map(|s| &mut s.dim).filter(|d| d.len() == 4).ok_or("the input is not NCHW")?;
    dims[2].value = Some(Value::DimParam("height".into()));
    dims[3].value = Some(Value::DimParam("width".into()));
    for output in &mut graph.output {
        if let Some(TypeValue::TensorType(t)) = output.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            t.shape = None;
        }
    }
    Ok(model.encode_to_vec())
}

/// Median wall time of one raw inference (no pre- or post-processing) of each default model on
/// `backend`, over `runs` runs on a random input after two warm-up runs; single-threaded. What
/// benchmarks compare the pipeline with (`bench/vision.sh`). Errors when a model file or the
/// runtime is missing.
pub fn raw_inference_times(
    models_dir: &Path,
    backend: Backend,
    runs: usize,
) -> Result<Vec<(&'static str, std::time::Duration)>, VisionError> {
    let models = [
        ("yunet", crate::detect::YUNET.file, [1, 3, 640, 640]),
        ("onet", crate::refine::MTCNN_ONET.file, [1, 3, 48, 48]),
        ("fr_feature", crate::embed::FR_FEATURE.descriptor.file, [1, 3, 112, 112]),
        ("mobilefacenet", crate::embed::SIRIUS_MFN.descriptor.file, [1, 3, 112, 112]),
        ("fr_liveness", crate::liveness::FR_LIVENESS.file, [1, 3, 128, 128]),
    ];
    let mut out = Vec::new();
    for (name, file, shape) in models {
        let path = models_dir.join(file);
        let plan = match backend {
            Backend::Tract => OnnxPlan::load_tract(name, &path, shape)?,
            #[cfg(feature = "ort")]
            Backend::OnnxRuntime => {
                let bytes = std::fs::read(&path).map_err(|e| VisionError::inference(name, e.to_string()))?;
                let (pool, output_names) = ort_backend::Pool::load_sized(name, &without_denormals(bytes), 1)?;
                OnnxPlan { name, inner: Inner::Ort(pool), output_names, spatially_free: false }
            }
            #[cfg(not(feature = "ort"))]
            Backend::OnnxRuntime => {
                return Err(VisionError::Inference(
                    "this build has no onnxruntime support (cargo feature `ort`)".into(),
                ))
            }
        };
        let n: usize = shape.iter().product();
        // A fixed pseudo-random input in 0..255 (xorshift): no zero-input shortcuts.
        let mut x = 0x9E37_79B9_u32;
        let input: Vec<f32> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 256) as f32
            })
            .collect();
        for _ in 0..2 {
            plan.run(shape, input.clone())?;
        }
        let mut times = Vec::with_capacity(runs.max(1));
        for _ in 0..runs.max(1) {
            let data = input.clone();
            let t = std::time::Instant::now();
            plan.run(shape, data)?;
            times.push(t.elapsed());
        }
        times.sort();
        out.push((name, times[times.len() / 2]));
    }
    Ok(out)
}

#[cfg(feature = "ort")]
mod ort_backend {
    //! onnxruntime through `ort` with `load-dynamic`. A session's `run` takes `&mut self`, so
    //! a model has a small pool of sessions (one per core), each behind a mutex.

    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, OnceLock};

    use ort::session::builder::SessionBuilder;
    use ort::session::Session;
    use ort::value::Tensor;

    use crate::error::VisionError;

    /// Path of `libonnxruntime.so` (else the models cache's `onnxruntime/`, else `ORT_DYLIB_PATH`).
    pub const ORT_LIB_ENV: &str = "EMERALD_ONNXRUNTIME_LIB";

    fn library_path() -> Option<PathBuf> {
        for var in [ORT_LIB_ENV, "ORT_DYLIB_PATH"] {
            if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
                return Some(PathBuf::from(p));
            }
        }
        let dir = crate::provision::default_models_dir().join("onnxruntime");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so")))
            .collect();
        found.sort();
        found.pop()
    }

    /// Load the library and create the environment once per process.
    fn init() -> Result<&'static ort::environment::Environment, VisionError> {
        static INIT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
        INIT.get_or_init(|| {
            let path = library_path().ok_or_else(|| {
                format!(
                    "libonnxruntime.so not found: set {ORT_LIB_ENV}, or run scripts/fetch-models.sh \
                     (it unpacks the PyPI onnxruntime==1.31.1 wheel's library into the models cache)"
                )
            })?;
            let builder = ort::init_from(&path).map_err(|e| format!("loading {}: {e}", path.display()))?;
            builder.with_name("emerald").build().map_err(|e| format!("onnxruntime environment: {e}"))
        })
        .as_ref()
        .map_err(|e| VisionError::Inference(e.clone()))
    }

    /// Sessions of a pool: one per core, at most 8.
    fn per_core() -> usize {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8)
    }

    pub struct Pool {
        sessions: Vec<Mutex<Session>>,
        next: AtomicUsize,
    }

    impl Pool {
        /// One session per core (at most 8) of an in-memory model, each on `threads` threads.
        pub fn load_bytes_threaded(
            name: &'static str,
            bytes: &[u8],
            threads: usize,
        ) -> Result<(Pool, Vec<String>), VisionError> {
            Self::build(name, per_core(), threads, |mut b| b.commit_from_memory(bytes))
        }

        /// `n` single-threaded sessions of an in-memory model.
        pub fn load_sized(name: &'static str, bytes: &[u8], n: usize) -> Result<(Pool, Vec<String>), VisionError> {
            Self::build(name, n, 1, |mut b| b.commit_from_memory(bytes))
        }

        /// One single-threaded session per core (at most 8) of an in-memory model.
        pub fn load_bytes(name: &'static str, bytes: &[u8]) -> Result<(Pool, Vec<String>), VisionError> {
            Self::build(name, per_core(), 1, |mut b| b.commit_from_memory(bytes))
        }

        fn build(
            name: &'static str,
            n: usize,
            threads: usize,
            commit: impl Fn(SessionBuilder) -> ort::Result<Session>,
        ) -> Result<(Pool, Vec<String>), VisionError> {
            let env = init()?;
            let err = |e: ort::Error| VisionError::inference(name, e);
            let n = n.max(1);
            let mut sessions = Vec::with_capacity(n);
            for _ in 0..n {
                let mut builder = Session::builder(env)
                    .map_err(err)?
                    .with_intra_threads(threads.max(1))
                    .map_err(|e| VisionError::inference(name, e))?;
                if threads > 1 {
                    // The pool threads flush subnormals too (see `run`).
                    builder = builder.with_intra_op_spinning(false).map_err(|e| VisionError::inference(name, e))?;
                    builder = builder.with_flush_to_zero().map_err(|e| VisionError::inference(name, e))?;
                }
                sessions.push(Mutex::new(commit(builder).map_err(err)?));
            }
            let names = sessions[0]
                .lock()
                .map_err(|_| VisionError::inference(name, "poisoned"))?
                .outputs()
                .iter()
                .map(|o| o.name().to_owned())
                .collect();
            Ok((Pool { sessions, next: AtomicUsize::new(0) }, names))
        }

        pub fn run(
            &self,
            name: &'static str,
            output_names: &[String],
            shape: [usize; 4],
            data: Vec<f32>,
        ) -> Result<Vec<(String, Vec<f32>)>, VisionError> {
            let err = |e: ort::Error| VisionError::inference(name, e);
            // Take a free session if there is one, else wait on the next in turn.
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let k = self.sessions.len();
            let mut guard = (0..k)
                .find_map(|i| self.sessions[(start + i) % k].try_lock().ok())
                .map(Ok)
                .unwrap_or_else(|| self.sessions[start % k].lock())
                .map_err(|_| VisionError::inference(name, "session mutex poisoned"))?;
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let input = Tensor::from_array((shape, data)).map_err(err)?;
            // Subnormal numbers flushed to zero while the model runs on this thread (onnxruntime's
            // own option only reaches its pool threads, and most sessions have none): fr_feature's
            // activations go subnormal, and each multiplication by one takes a microcode assist on
            // Intel cores — one inference took 15.9 ms there without the flags and 8.2 ms with
            // them, on 300 faces-dev crops, with bit-identical embeddings (AMD cores barely slow
            // down). SAFETY: the flags are set only around the call into onnxruntime's C++ code
            // (the `ort` glue around it does no float arithmetic) and restored when it returns;
            // Rust code of ours never runs with them set.
            #[allow(unsafe_code)]
            let outputs = unsafe { no_denormals::no_denormals(|| guard.run(ort::inputs![input])) }.map_err(err)?;
            output_names
                .iter()
                .map(|n| {
                    let (_, values) = outputs[n.as_str()].try_extract_tensor::<f32>().map_err(err)?;
                    Ok((n.clone(), values.to_vec()))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod denormal_tests {
    use super::*;
    use prost::Message;

    #[test]
    fn subnormal_weights_are_set_to_zero_and_nothing_else_changes() {
        let tiny = f32::from_bits(1); // the smallest subnormal
        let raw: Vec<u8> = [1.5f32, tiny, -tiny, 0.0, f32::MIN_POSITIVE].iter().flat_map(|v| v.to_le_bytes()).collect();
        let graph = tract_onnx::pb::GraphProto {
            initializer: vec![
                tract_onnx::pb::TensorProto { data_type: 1, dims: vec![5], raw_data: raw, ..Default::default() },
                tract_onnx::pb::TensorProto {
                    data_type: 1,
                    dims: vec![2],
                    float_data: vec![tiny, 2.0],
                    ..Default::default()
                },
                // Not floats: left alone whatever their bytes look like.
                tract_onnx::pb::TensorProto {
                    data_type: 6,
                    dims: vec![1],
                    raw_data: 1i32.to_le_bytes().to_vec(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let model = tract_onnx::pb::ModelProto { graph: Some(graph), ..Default::default() };
        let out = tract_onnx::pb::ModelProto::decode(without_denormals(model.encode_to_vec()).as_slice()).unwrap();
        let init = &out.graph.unwrap().initializer;
        let floats: Vec<f32> =
            init[0].raw_data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(floats, [1.5, 0.0, 0.0, 0.0, f32::MIN_POSITIVE]);
        assert_eq!(init[1].float_data, [0.0, 2.0]);
        assert_eq!(init[2].raw_data, 1i32.to_le_bytes());
        // A model without subnormals, and bytes that are not a model, come back unchanged.
        let clean =
            tract_onnx::pb::ModelProto { graph: Some(Default::default()), ..Default::default() }.encode_to_vec();
        assert_eq!(without_denormals(clean.clone()), clean);
        assert_eq!(without_denormals(b"not onnx".to_vec()), b"not onnx");
    }
}
