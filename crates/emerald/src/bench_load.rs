//! Benchmark helpers of the binary (hidden subcommands, see bench/analyses.sh): fit a photo
//! to an exact size, and a closed-loop HTTP load generator for analysis requests (and for Oz
//! API Lite's requests, bench/lite.sh: multipart without a payload, or a raw image body).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Scale `input` to cover `w`×`h` and crop the rest (keeping the upper middle, where a
/// portrait's face is), then write a JPEG. With `place`, instead scale it to that fraction of
/// the largest size that fits `w`×`h` and centre it on a grey `w`×`h` frame (a document
/// photographed from further away, bench/phone_photos.sh).
pub fn fit_photo(
    input: &std::path::Path,
    out: &std::path::Path,
    w: u32,
    h: u32,
    place: Option<f64>,
) -> anyhow::Result<()> {
    let img = image::open(input)?;
    let framed = match place {
        Some(f) => {
            anyhow::ensure!(f > 0.0 && f <= 1.0, "--place is a fraction from 0 to 1");
            let scale = f * (w as f64 / img.width() as f64).min(h as f64 / img.height() as f64);
            let (sw, sh) = ((img.width() as f64 * scale) as u32, (img.height() as f64 * scale) as u32);
            let scaled = img.resize_exact(sw.clamp(1, w), sh.clamp(1, h), image::imageops::FilterType::Triangle);
            let mut frame = image::RgbImage::from_pixel(w, h, image::Rgb([107, 100, 89]));
            let (x, y) = ((w - scaled.width()) / 2, (h - scaled.height()) / 2);
            image::imageops::overlay(&mut frame, &scaled.to_rgb8(), i64::from(x), i64::from(y));
            frame
        }
        None => {
            let scale = (w as f64 / img.width() as f64).max(h as f64 / img.height() as f64);
            let (sw, sh) = ((img.width() as f64 * scale).ceil() as u32, (img.height() as f64 * scale).ceil() as u32);
            let scaled = img.resize_exact(sw.max(w), sh.max(h), image::imageops::FilterType::Triangle);
            let x = (scaled.width() - w) / 2;
            let y = (scaled.height() - h) / 4;
            scaled.crop_imm(x, y, w, h).to_rgb8()
        }
    };
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&framed)?;
    std::fs::write(out, &bytes)?;
    println!("{} ({w}x{h}, {} bytes)", out.display(), bytes.len());
    Ok(())
}

/// What one load run sends.
pub struct Load {
    pub url: String,
    pub token: Option<String>,
    /// (part name, bytes, tags) of each file.
    pub files: Vec<(String, Vec<u8>, Vec<String>)>,
    /// The `analyses` array of the payload; None = file parts only, any 2xx succeeds (Lite).
    pub analyses: Option<serde_json::Value>,
    /// Send the one file as a raw `image/jpeg` body instead of multipart (Lite).
    pub raw: bool,
    pub concurrency: usize,
    pub duration: Duration,
    pub warmup: Duration,
}

const BOUNDARY: &str = "emeraldbenchboundary7MA4YWxkTrZu0gW";

fn body(load: &Load) -> Vec<u8> {
    if load.raw {
        return load.files.first().map(|f| f.1.clone()).unwrap_or_default();
    }
    let mut b = Vec::new();
    for (name, bytes, _) in &load.files {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    let Some(analyses) = &load.analyses else {
        b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        return b;
    };
    let tags: serde_json::Map<String, serde_json::Value> =
        load.files.iter().map(|(n, _, t)| (n.clone(), serde_json::json!(t))).collect();
    let payload = serde_json::json!({ "media:tags": tags, "analyses": analyses });
    b.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{payload}\r\n--{BOUNDARY}--\r\n"
        )
        .as_bytes(),
    );
    b
}

/// Closed loop: `concurrency` clients each send the next request when the previous answered.
/// Prints requests, analyses per minute, p50/p90/p99 latency, and failures (any answer that
/// is not a 2xx with every analysis FINISHED).
pub async fn run(load: Load) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(load.concurrency).build()?;
    let body = bytes::Bytes::from(body(&load));
    let per_request = load.analyses.as_ref().and_then(|a| a.as_array()).map(|a| a.len()).unwrap_or(1);
    let content_type =
        if load.raw { "image/jpeg".to_owned() } else { format!("multipart/form-data; boundary={BOUNDARY}") };
    let check_analyses = load.analyses.is_some();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..load.concurrency {
        let (client, body, url, token) = (client.clone(), body.clone(), load.url.clone(), load.token.clone());
        let content_type = content_type.clone();
        let (latencies, failures, measuring, stop) =
            (latencies.clone(), failures.clone(), measuring.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let mut req = client.post(&url).header("Content-Type", content_type.as_str()).body(body.clone());
                if let Some(tok) = &token {
                    req = req.header("X-Forensic-Access-Token", tok);
                }
                let outcome = match req.send().await {
                    Ok(res) => {
                        let status = res.status();
                        let text = res.text().await.unwrap_or_default();
                        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                        let finished = !check_analyses
                            || v["analyses"]
                                .as_array()
                                .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["state"] == "FINISHED"));
                        if status.is_success() && finished {
                            Ok(())
                        } else {
                            Err(format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()))
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    match outcome {
                        Ok(()) => latencies.lock().unwrap().push(t.elapsed().as_secs_f64() * 1000.0),
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                }
            }
        }));
    }
    tokio::time::sleep(load.warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(load.duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for t in tasks {
        let _ = t.await;
    }
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let pct =
        |p: f64| if l.is_empty() { f64::NAN } else { l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1] };
    let failures = failures.lock().unwrap();
    println!(
        "requests {}  failures {}  requests/min {:.0}  analyses/min {:.0}  p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  (c={}, {:.0} s)",
        l.len(),
        failures.len(),
        l.len() as f64 * 60.0 / elapsed,
        (l.len() * per_request) as f64 * 60.0 / elapsed,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        load.concurrency,
        elapsed
    );
    if let Some(f) = failures.first() {
        println!("first failure: {f}");
    }
    Ok(())
}
