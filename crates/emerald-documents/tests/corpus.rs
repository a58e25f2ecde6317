//! The MRZ reader over the synthetic documents of `scripts/make-test-documents.sh` (rendered
//! ID cards and passport pages photographed with rotation, tilt, perspective, blur, noise,
//! glare and JPEG 60): the share read fully correct, and never a valid reading of a document
//! whose check digits are broken.

use std::path::PathBuf;

use emerald_documents::read_mrz;

fn corpus_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("EMERALD_TEST_DOCUMENTS_DIR").filter(|d| !d.is_empty()) {
        return d.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    cache.join("emerald/test-documents/v1")
}

#[test]
fn synthetic_documents_mrz_accuracy() {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.json")) else {
        println!(
            "SKIPPED synthetic_documents_mrz_accuracy: no corpus in {}; run scripts/make-test-documents.sh",
            dir.display()
        );
        return;
    };
    let docs: Vec<serde_json::Value> = serde_json::from_str(&manifest).unwrap();
    let (mut correct, mut valid_docs) = (0usize, 0usize);
    let mut by_variant: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut times = Vec::new();
    for d in &docs {
        let file = d["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let t = std::time::Instant::now();
        let reading = read_mrz(&bytes).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let expected: Vec<String> =
            d["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect();
        let valid = d["valid"].as_bool().unwrap();
        let got = reading.mrz.as_ref();
        if !valid {
            // Never a valid reading of a broken MRZ.
            assert!(!got.is_some_and(|m| m.valid()), "{file}: a broken MRZ read as valid: {:?}", got.map(|m| &m.lines));
            continue;
        }
        valid_docs += 1;
        let ok = got.is_some_and(|m| m.valid() && m.lines == expected);
        let v = by_variant.entry(d["variant"].as_str().unwrap().to_owned()).or_default();
        v.1 += 1;
        if ok {
            correct += 1;
            v.0 += 1;
        } else {
            println!("MISSED {file}: expected {expected:?}, read {:?}", got.map(|m| (&m.lines, m.checks)));
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "MRZ fully correct on {correct} of {valid_docs} valid synthetic documents ({:.1} %); read p50 {:.0} ms, max {:.0} ms",
        100.0 * correct as f64 / valid_docs.max(1) as f64,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    for (v, (ok, n)) in &by_variant {
        println!("  {v}: {ok}/{n}");
    }
    assert!(correct as f64 >= 0.8 * valid_docs as f64, "MRZ read fully correct on only {correct} of {valid_docs}");
}
