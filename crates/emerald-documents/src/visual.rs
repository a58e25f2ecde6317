//! The visual zone: the printed fields of a document (surname, given names, number, dates,
//! nationality, sex), read by an OCR ([`VisualOcr`]: PP-OCRv4 in process, [`crate::ppocr`], or
//! Tesseract) and compared with the MRZ.
//!
//! * [`Tesseract`]: the `tesseract` binary (Debian `tesseract-ocr` + `tesseract-ocr-eng`), run
//!   as a bounded child process — an emptied environment, one thread, the image on its standard
//!   input, killed after a wall-clock limit, its output read up to a bound.
//! * [`zone`]: where the fields are: above the MRZ, about as wide as the MRZ lines, the portrait
//!   blanked out (its picture makes the OCR invent characters at the start of the lines).
//! * [`parse`]: the fields from the OCR text by their labels (English, French, German, Spanish
//!   labels; bilingual `Surname / Nom` too): the value is the rest of the label's line or the
//!   next line.
//! * [`compare`]: a visual value against the MRZ's after normalisation — case, accents, the
//!   MRZ's `<` as a space, spaces and punctuation in names ignored, dates in DD.MM.YYYY,
//!   DD/MM/YYYY, DD MMM YYYY, YYYY-MM-DD.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use image::GrayImage;

/// Environment variable naming the `tesseract` binary.
pub const TESSERACT_ENV: &str = "EMERALD_TESSERACT";

/// How to get Tesseract when none is found.
pub const TESSERACT_HINT: &str = "run `scripts/fetch-tesseract.sh` (as root it runs `apt-get install tesseract-ocr \
     tesseract-ocr-eng`), or set EMERALD_TESSERACT (--tesseract) to a tesseract 4 or 5 binary with the `eng` \
     language";

/// Wall-clock limit of one OCR run.
pub const OCR_WALL: Duration = Duration::from_secs(10);
/// Most bytes of output kept from a run.
const MAX_OUTPUT: usize = 256 << 10;
/// Width the visual zone is scaled to before the OCR (values ~30 px high on an ID card).
const ZONE_WIDTH: f32 = 1000.0;

/// A usable `tesseract` binary with the English language.
#[derive(Debug, Clone)]
pub struct Tesseract {
    pub path: PathBuf,
    /// As it prints it (`5.3.0`).
    pub version: String,
}

impl Tesseract {
    /// `configured` (`--tesseract`), else `EMERALD_TESSERACT`, else `tesseract` on `PATH`;
    /// checked by running it (`--version`, `--list-langs` must list `eng`). `Err`: why there is
    /// none and how to get one.
    pub fn find(configured: Option<&Path>) -> Result<Tesseract, String> {
        let env = std::env::var_os(TESSERACT_ENV).filter(|p| !p.is_empty()).map(PathBuf::from);
        let path = match configured.map(Path::to_path_buf).or(env) {
            Some(p) => p,
            None => std::env::var_os("PATH")
                .and_then(|p| std::env::split_paths(&p).map(|d| d.join("tesseract")).find(|f| f.is_file()))
                .ok_or_else(|| format!("no tesseract on PATH; {TESSERACT_HINT}"))?,
        };
        Self::check(&path).map_err(|why| format!("{why}; {TESSERACT_HINT}"))
    }

    fn check(path: &Path) -> Result<Tesseract, String> {
        let shown = path.display();
        let run = run_bounded(path, &["--version"], None, Duration::from_secs(20))
            .map_err(|e| format!("tesseract at {shown} cannot be run: {e}"))?;
        // Tesseract 4 printed its version on standard error, 5 on standard output.
        let text = format!("{}\n{}", run.stdout, run.stderr);
        let version = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("tesseract "))
            .map(|v| v.trim().to_owned())
            .filter(|_| run.success)
            .ok_or_else(|| format!("{shown} does not look like tesseract (no version line)"))?;
        let langs = run_bounded(path, &["--list-langs"], None, Duration::from_secs(20))
            .map_err(|e| format!("tesseract at {shown} cannot be run: {e}"))?;
        if !format!("{}\n{}", langs.stdout, langs.stderr).lines().any(|l| l.trim() == "eng") {
            return Err(format!("tesseract at {shown} has no English language data (tesseract-ocr-eng)"));
        }
        Ok(Tesseract { path: path.to_path_buf(), version })
    }

    /// The text of a grey image, as lines (one block of text, `--psm 6`), with Tesseract's
    /// word boxes and confidences kept out of the way of [`columns`]: words left of the labels'
    /// column (debris of the portrait's edge) and words read with a confidence under
    /// [`MIN_WORD_CONFIDENCE`] are left out.
    pub fn read(&self, img: &GrayImage) -> Result<Vec<String>, String> {
        let mut pgm = format!("P5\n{} {}\n255\n", img.width(), img.height()).into_bytes();
        pgm.extend_from_slice(img.as_raw());
        let args = ["stdin", "stdout", "--psm", "6", "-l", "eng", "--dpi", "300", "tsv"];
        let run = run_bounded(&self.path, &args, Some(pgm), OCR_WALL)?;
        if run.timed_out {
            return Err(format!("tesseract did not finish within {} s", OCR_WALL.as_secs()));
        }
        if !run.success {
            return Err(format!("tesseract failed: {}", run.stderr.trim()));
        }
        Ok(columns(&tsv_lines(&run.stdout)))
    }
}

/// The OCR that reads the visual zone: PP-OCRv4 in process ([`crate::ppocr`]) or Tesseract as
/// a child process ([`VisualOcr::read_fields`]: PP-OCR's lines with their places, Tesseract's in order).
#[derive(Debug, Clone)]
pub enum VisualOcr {
    PpOcr(std::sync::Arc<crate::ppocr::PpOcr>),
    Tesseract(Tesseract),
}

impl VisualOcr {
    /// `ppocr` or `tesseract` (as `EMERALD_DOCUMENTS_OCR` names them).
    pub fn name(&self) -> &'static str {
        match self {
            VisualOcr::PpOcr(_) => "ppocr",
            VisualOcr::Tesseract(_) => "tesseract",
        }
    }

    /// The visual zone of an upright grey photo as this OCR reads it ([`zone_scaled`]).
    pub fn zone(&self, gray: &GrayImage, mrz: Option<[u32; 4]>, portrait: Option<[u32; 4]>) -> Option<GrayImage> {
        zone_scaled(gray, mrz, portrait, matches!(self, VisualOcr::Tesseract(_)))
    }

    /// The text lines of a visual zone ([`VisualOcr::zone`]), in reading order, and the fields in them: by the lines' places where the
    /// OCR gives them (PP-OCR: [`parse_placed`]), else by their order ([`parse`]).
    pub fn read_fields(&self, img: &GrayImage) -> Result<(Vec<String>, VisualFields), String> {
        match self {
            VisualOcr::PpOcr(p) => {
                let (rows, fields) = p.read_zone(img)?;
                Ok((rows.into_iter().map(|r| r.text).collect(), fields))
            }
            VisualOcr::Tesseract(t) => {
                let lines = t.read(img)?;
                let fields = parse(&lines);
                Ok((lines, fields))
            }
        }
    }
}

/// A word Tesseract read: its left and right edges (pixels), confidence (0–100) and text.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub left: u32,
    pub right: u32,
    pub conf: f32,
    pub text: String,
}

/// Words under this confidence are left out (noise read as letters).
pub const MIN_WORD_CONFIDENCE: f32 = 40.0;

/// The lines of Tesseract's TSV output (level 5 rows: one word each), in reading order.
pub fn tsv_lines(tsv: &str) -> Vec<Vec<Word>> {
    let mut lines: Vec<((u32, u32, u32), Vec<Word>)> = Vec::new();
    for row in tsv.lines().skip(1) {
        let c: Vec<&str> = row.split('\t').collect();
        if c.len() < 12 || c[0] != "5" || c[11].trim().is_empty() {
            continue;
        }
        let n = |i: usize| c[i].parse::<u32>().unwrap_or(0);
        let key = (n(2), n(3), n(4));
        let word = Word { left: n(6), right: n(6) + n(8), conf: c[10].parse().unwrap_or(0.0), text: c[11].to_owned() };
        match lines.last_mut() {
            Some((k, words)) if *k == key => words.push(word),
            _ => lines.push((key, vec![word])),
        }
    }
    lines.into_iter().map(|(_, w)| w).collect()
}

/// The text lines, without the words left of the labels' column (the median left edge of the
/// lines that are labels) and without the words read with little confidence.
pub fn columns(lines: &[Vec<Word>]) -> Vec<String> {
    let join = |ws: &[&Word]| ws.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
    let mut label_lefts: Vec<u32> = Vec::new();
    for words in lines {
        // The label's first word: after up to two specks.
        for k in 0..words.len().min(3) {
            let rest: Vec<&Word> = words[k..].iter().collect();
            if label_of(&join(&rest)).is_some()
                && words[..k].iter().all(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count() <= 2)
            {
                label_lefts.push(words[k].left);
                break;
            }
        }
    }
    label_lefts.sort_unstable();
    let column = label_lefts.get(label_lefts.len() / 2).copied();
    lines
        .iter()
        .map(|words| {
            let kept: Vec<&Word> = words
                .iter()
                .filter(|w| w.conf >= MIN_WORD_CONFIDENCE)
                // Left of the column by more than a character or two: not in it.
                .filter(|w| column.is_none_or(|c| w.right + 4 > c && w.left + 24 >= c))
                .collect();
            join(&kept)
        })
        .filter(|l| !l.trim().is_empty())
        .collect()
}

struct Run {
    stdout: String,
    stderr: String,
    success: bool,
    timed_out: bool,
}

fn read_bounded(r: impl Read) -> String {
    let mut kept = Vec::new();
    let mut reader = BufReader::new(r);
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Run `path args` with an emptied environment (one OpenMP thread), `input` on its standard
/// input, killed after `wall`.
fn run_bounded(path: &Path, args: &[&str], input: Option<Vec<u8>>, wall: Duration) -> Result<Run, String> {
    let mut child = Command::new(path)
        .args(args)
        .env_clear()
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("no pipes to the child process".into());
    };
    let writer = input.zip(child.stdin.take()).map(|(bytes, mut stdin)| {
        std::thread::spawn(move || {
            // A child that exits early closes the pipe: its status says why.
            let _ = stdin.write_all(&bytes);
        })
    });
    let child = Arc::new(Mutex::new(child));
    let err = std::thread::spawn(move || read_bounded(stderr));
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = {
        let child = child.clone();
        std::thread::spawn(move || match finished.recv_timeout(wall) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Not waited for yet, so the process id still names our child.
                let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
                true
            }
            _ => false,
        })
    };
    let out = read_bounded(stdout);
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let status = child.lock().unwrap_or_else(|p| p.into_inner()).wait().map_err(|e| e.to_string())?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stderr = err.join().unwrap_or_default();
    Ok(Run { stdout: out, stderr, success: status.success() && !timed_out, timed_out })
}

/// The visual zone of an upright grey photo: above the MRZ whose box (x0, y0, x1, y1) is
/// `mrz`, 6 % wider than the MRZ lines on each side and 0.8 MRZ widths high (an ID-1 card or
/// passport page whose MRZ spans ~92 % of its width is ~0.7 MRZ widths high), or the whole
/// photo when no MRZ was read on it; the `portrait` cut (x0, y0, x1, y1) painted white; scaled
/// to about [`ZONE_WIDTH`] pixels wide. None when nothing is left.
pub fn zone(gray: &GrayImage, mrz: Option<[u32; 4]>, portrait: Option<[u32; 4]>) -> Option<GrayImage> {
    zone_scaled(gray, mrz, portrait, true)
}

/// [`zone`], scaled to about [`ZONE_WIDTH`] pixels wide when `downscale`, else only enlarged
/// to it (PP-OCR crops each line from the zone at the photo's own resolution).
pub fn zone_scaled(
    gray: &GrayImage,
    mrz: Option<[u32; 4]>,
    portrait: Option<[u32; 4]>,
    downscale: bool,
) -> Option<GrayImage> {
    let (w, h) = (gray.width() as f32, gray.height() as f32);
    let [x0, y0, x1, y1] = match mrz {
        Some([mx0, my0, mx1, _]) => {
            let mw = (mx1 - mx0) as f32;
            [mx0 as f32 - 0.06 * mw, my0 as f32 - 0.8 * mw, mx1 as f32 + 0.06 * mw, my0 as f32]
        }
        None => [0.0, 0.0, w, h],
    }
    .map(|v| v.max(0.0));
    let (x0, y0, x1, y1) = (x0 as u32, y0 as u32, x1.min(w) as u32, y1.min(h) as u32);
    if x1 <= x0 + 16 || y1 <= y0 + 16 {
        return None;
    }
    let mut crop = image::imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image();
    if let Some([px0, py0, px1, py1]) = portrait {
        for y in py0.max(y0)..py1.min(y1) {
            for x in px0.max(x0)..px1.min(x1) {
                crop.put_pixel(x - x0, y - y0, image::Luma([255]));
            }
        }
    }
    let scale = (ZONE_WIDTH / crop.width() as f32).clamp(if downscale { 0.3 } else { 1.0 }, 2.0);
    if (scale - 1.0).abs() < 0.05 {
        return Some(crop);
    }
    let (nw, nh) = ((crop.width() as f32 * scale) as u32, (crop.height() as f32 * scale) as u32);
    Some(emerald_vision::scale::resize_gray(&crop, nw.max(1), nh.max(1)))
}

/// The fields the visual zone is searched for, by `text_fields[].field_name`.
pub const FIELDS: [&str; 7] =
    ["surname", "given_names", "document_number", "nationality", "birth_date", "sex", "expiry_date"];

/// Labels of each field (lower case, accents removed), several languages.
const LABELS: &[(&str, &[&str])] = &[
    (
        "surname",
        &[
            "surname",
            "surnames",
            "last name",
            "family name",
            "name",
            "nom",
            "nom de famille",
            "name/nom",
            "apellidos",
            "familienname",
            "cognome",
        ],
    ),
    (
        "given_names",
        &[
            "given names",
            "given name",
            "first names",
            "first name",
            "forenames",
            "forename",
            "prenoms",
            "prenom",
            "vornamen",
            "nombres",
            "nome",
        ],
    ),
    (
        "document_number",
        &[
            "document no",
            "document number",
            "document nr",
            "passport no",
            "passport number",
            "card no",
            "card number",
            "id no",
            "no du document",
            "numero du document",
            "dokumentennummer",
            "numero",
        ],
    ),
    ("nationality", &["nationality", "nationalite", "staatsangehorigkeit", "nacionalidad", "cittadinanza"]),
    (
        "birth_date",
        &[
            "date of birth",
            "of birth",
            "birth date",
            "born",
            "date de naissance",
            "geburtsdatum",
            "fecha de nacimiento",
            "data di nascita",
        ],
    ),
    ("sex", &["sex", "sexe", "gender", "geschlecht", "sexo", "sesso"]),
    (
        "expiry_date",
        &[
            "date of expiry",
            "of expiry",
            "expiry date",
            "date of expiration",
            "expiration date",
            "expires",
            "expiry",
            "valid until",
            "date d expiration",
            "gultig bis",
            "fecha de caducidad",
            "scadenza",
        ],
    ),
];

/// The fields found in a visual zone's text: (field_name, value as printed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisualFields {
    pub fields: Vec<(&'static str, String)>,
}

impl VisualFields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// Fields of `other` this one lacks, added.
    pub fn fill_from(&mut self, other: &VisualFields) {
        for (n, v) in &other.fields {
            if self.get(n).is_none() {
                self.fields.push((n, v.clone()));
            }
        }
    }
}

/// Lower case, accents removed (Latin-1 and the common Latin Extended-A letters), ß as ss.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let f = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'ł' | 'ľ' | 'ĺ' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'œ' => "oe",
            'ř' | 'ŕ' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ß' => "ss",
            'ť' | 'ţ' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            'þ' => "th",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(f);
    }
    out
}

/// The words of a line as (folded letters-and-digits form, original).
fn words(line: &str) -> Vec<(String, &str)> {
    line.split(|c: char| c.is_whitespace() || c == '/' || c == ':' || c == '|')
        .filter(|w| !w.is_empty())
        .map(|w| (fold(w).chars().filter(|c| c.is_alphanumeric()).collect::<String>(), w))
        .filter(|(f, _)| !f.is_empty())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether a word read is a label's word: equal, or one edit off for words of 5 letters or more
/// once the OCR's classic letter-pair confusions are undone (`rn` read as `m`, `vv` as `w`:
/// `Sumame` is `Surname` on a blurred card).
fn word_is(read: &str, label: &str) -> bool {
    let pairs = |s: &str| s.replace("rn", "m").replace("vv", "w");
    read == label || (label.len() >= 5 && edit_distance(&pairs(read), &pairs(label)) <= 1)
}

/// The number of words `ws` starts with that spell the label's `parts`, a word allowed to hold
/// several parts run together (the OCR drops spaces: `Givennames`, `Dateof birth`).
fn words_match(parts: &[String], ws: &[(String, &str)]) -> Option<usize> {
    if parts.is_empty() {
        return Some(0);
    }
    let (w, _) = ws.first()?;
    let mut joined = String::new();
    for (i, p) in parts.iter().enumerate() {
        joined.push_str(p);
        if word_is(w, &joined) {
            if let Some(n) = words_match(&parts[i + 1..], &ws[1..]) {
                return Some(n + 1);
            }
        }
    }
    None
}

/// The label the words start with: (field, number of words it takes). Longest labels first.
fn label_at(ws: &[(String, &str)]) -> Option<(&'static str, usize)> {
    let mut best: Option<(&'static str, usize, usize)> = None;
    for (field, labels) in LABELS {
        for label in labels.iter() {
            let parts: Vec<String> =
                label.split([' ', '/']).map(|p| p.chars().filter(|c| c.is_alphanumeric()).collect()).collect();
            let Some(n) = words_match(&parts, ws) else { continue };
            let len = label.len();
            if best.is_none_or(|(_, _, l)| len > l) {
                best = Some((field, n, len));
            }
        }
    }
    best.map(|(f, n, _)| (f, n))
}

/// A line's label and the text after it (bilingual labels — `Surname / Nom` — taken whole).
fn label_of(line: &str) -> Option<(&'static str, String)> {
    let ws = words(line);
    // Up to two specks before the label (`7a Surname`, `* Sex`): debris of the card's edge.
    let (field, mut n) = (0..=2.min(ws.len()))
        .take_while(|&k| ws[..k].iter().all(|(w, _)| w.len() <= 2))
        .find_map(|k| label_at(&ws[k..]).map(|(f, n)| (f, k + n)))?;
    // Further labels of the same field (another language) and the "No." of "Document No.".
    while let Some((f, k)) = label_at(&ws[n..]) {
        if f != field {
            break;
        }
        n += k;
    }
    let rest: Vec<&str> = ws[n..].iter().map(|(_, w)| *w).collect();
    Some((field, clean_value(&rest.join(" "))))
}

/// A value without the stray marks the OCR adds (`, » ~ |` …): short tokens holding a mark that
/// no printed value has are debris of the portrait's, a seal's or the card's edge.
fn clean_value(v: &str) -> String {
    let printed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '\'' | '/' | ',');
    let tokens: Vec<&str> = v
        .split_whitespace()
        .filter(|t| t.chars().filter(|c| c.is_alphanumeric()).count() > 2 || t.chars().all(printed))
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|t| !t.is_empty())
        .collect();
    tokens.join(" ")
}

/// The fields in the OCR lines of a visual zone: a label's value is the rest of its line, else
/// the next line when that is not a label itself. The first value of a field counts.
pub fn parse(lines: &[String]) -> VisualFields {
    let mut out = VisualFields::default();
    for (i, line) in lines.iter().enumerate() {
        let Some((field, rest)) = label_of(line) else { continue };
        if out.get(field).is_some() {
            continue;
        }
        let value = if !rest.is_empty() {
            rest
        } else {
            match lines.get(i + 1) {
                Some(next) if label_of(next).is_none() => clean_value(next),
                _ => continue,
            }
        };
        if let Some(v) = normalized(field, &value) {
            out.fields.push((field, v));
        }
    }
    out
}

/// A row of text and where it is: left, top, right, bottom (pixels of the zone).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub text: String,
    pub bounds: [f32; 4],
}

/// The fields in placed rows (reading order): a label's value is the rest of its row, else the
/// nearest row that is no label and stands under the label (starting at most a line height
/// left of it and overlapping it, its top within two line heights of the label's bottom), else
/// the nearest on the label's row to its right (within eight line heights). Layouts with
/// labels side by side (`Sex   Nationality` above `M   D`) read as well as one field per line;
/// what this finds nothing for, [`parse`] looks for in the rows' order.
pub fn parse_placed(rows: &[Placed]) -> VisualFields {
    let labels: Vec<Option<(&'static str, String)>> = rows.iter().map(|r| label_of(&r.text)).collect();
    let mut out = VisualFields::default();
    for (i, label) in labels.iter().enumerate() {
        let Some((field, rest)) = label else { continue };
        if out.get(field).is_some() {
            continue;
        }
        let value = if !rest.is_empty() {
            Some(rest.clone())
        } else {
            value_near(rows, &labels, i).map(|j| clean_value(&rows[j].text))
        };
        if let Some(v) = value.as_deref().and_then(|v| normalized(field, v)) {
            out.fields.push((field, v));
        }
    }
    let by_order = parse(&rows.iter().map(|r| r.text.clone()).collect::<Vec<_>>());
    out.fill_from(&by_order);
    out
}

/// The row holding the value of the label row `i` ([`parse_placed`]).
fn value_near(rows: &[Placed], labels: &[Option<(&'static str, String)>], i: usize) -> Option<usize> {
    let [l0, t0, r0, b0] = rows[i].bounds;
    let h = (b0 - t0).max(1.0);
    let mid = (t0 + b0) / 2.0;
    let mut below: Option<(f32, usize)> = None;
    let mut right: Option<(f32, usize)> = None;
    for (j, r) in rows.iter().enumerate() {
        if j == i || labels[j].is_some() {
            continue;
        }
        let [l, t, rr, b] = r.bounds;
        let hj = (b - t).max(1.0);
        let gap_down = t - b0;
        if (t + b) / 2.0 > mid + 0.5 * h && gap_down < 2.0 * h.max(hj) && l > l0 - h && l < r0 && rr > l0 {
            if below.is_none_or(|(d, _)| gap_down < d) {
                below = Some((gap_down, j));
            }
        } else if ((t + b) / 2.0 - mid).abs() < 0.5 * h.min(hj) && l >= r0 - 0.5 * h && l - r0 < 8.0 * h {
            let gap = l - r0;
            if right.is_none_or(|(d, _)| gap < d) {
                right = Some((gap, j));
            }
        }
    }
    below.or(right).map(|(_, j)| j)
}

/// A visual value in a form that can be compared with the MRZ's, or None when it cannot be
/// (a date that is no date, a nationality written as a country name, a sex that is not M, F
/// or X): names and numbers as printed (upper case), dates as YYYY-MM-DD (or the text when the
/// year has two digits), nationality as its code, sex as M, F or X.
pub fn normalized(field: &str, value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match field {
        "birth_date" | "expiry_date" => match parse_date(v)? {
            (y, m, d) if y >= 1000 => Some(format!("{y:04}-{m:02}-{d:02}")),
            _ => Some(v.to_owned()),
        },
        "sex" => {
            let w = fold(v);
            let first = w.split(|c: char| !c.is_alphabetic()).find(|t| !t.is_empty())?;
            match first {
                "m" | "male" | "masculin" | "mannlich" | "masculino" | "h" | "hombre" => Some("M".into()),
                "f" | "female" | "feminin" | "weiblich" | "femenino" | "w" | "mujer" => Some("F".into()),
                "x" => Some("X".into()),
                _ => None,
            }
        }
        "nationality" => {
            // Codes are letters only (ICAO 9303): a digit in a code-sized word is the OCR's
            // look-alike (`P0L`, `UT0`).
            let word = v.split_whitespace().next().unwrap_or("");
            let letters = |c: char| match c {
                '0' => 'O',
                '1' => 'I',
                '5' => 'S',
                '8' => 'B',
                c => c,
            };
            let code: String =
                if (2..=3).contains(&word.chars().count()) && word.chars().all(|c| c.is_ascii_alphanumeric()) {
                    word.chars().map(letters).filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_uppercase()
                } else {
                    v.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_uppercase()
                };
            (1..=3).contains(&code.len()).then_some(code)
        }
        "document_number" => {
            let n: String = v.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_uppercase();
            (!n.is_empty()).then_some(n)
        }
        _ => Some(v.to_uppercase()),
    }
}

const MONTHS: [[&str; 4]; 12] = [
    ["jan", "janv", "jan", "ene"],
    ["feb", "fev", "feb", "feb"],
    ["mar", "mars", "marz", "mar"],
    ["apr", "avr", "apr", "abr"],
    ["may", "mai", "mai", "may"],
    ["jun", "juin", "jun", "jun"],
    ["jul", "juil", "jul", "jul"],
    ["aug", "aout", "aug", "ago"],
    ["sep", "sept", "sep", "sep"],
    ["oct", "oct", "okt", "oct"],
    ["nov", "nov", "nov", "nov"],
    ["dec", "dec", "dez", "dic"],
];

fn month_of(word: &str) -> Option<u32> {
    let w = fold(word);
    MONTHS.iter().position(|names| names.iter().any(|n| w.starts_with(n))).map(|i| i as u32 + 1)
}

/// A token mixing digits and a month's letters, as the OCR reads `14 OCT 1975` run together
/// (`140CT1975`) or with the month's `O` as a zero (`0CT`): the digits before, the month (its
/// first letter a digit the OCR confuses with it when the letters alone are no month), the digits
/// after. Other tokens as they are.
fn split_month(t: &str) -> Vec<String> {
    let cs: Vec<char> = t.chars().collect();
    let (Some(a), Some(b)) = (cs.iter().position(|c| c.is_alphabetic()), cs.iter().rposition(|c| c.is_alphabetic()))
    else {
        return vec![t.to_owned()];
    };
    if !cs.iter().any(char::is_ascii_digit) || !cs[a..=b].iter().all(|c| c.is_alphabetic()) {
        return vec![t.to_owned()];
    }
    let letters: String = cs[a..=b].iter().collect();
    let (start, month) = match (month_of(&letters), a.checked_sub(1).map(|i| cs[i])) {
        (Some(_), _) => (a, letters),
        (None, Some(d @ ('0' | '1' | '5' | '8'))) => {
            let l = match d {
                '0' => 'O',
                '1' => 'I',
                '5' => 'S',
                _ => 'B',
            };
            let m = format!("{l}{letters}");
            if month_of(&m).is_none() {
                return vec![t.to_owned()];
            }
            (a - 1, m)
        }
        _ => return vec![t.to_owned()],
    };
    [cs[..start].iter().collect::<String>(), month, cs[b + 1..].iter().collect::<String>()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect()
}

/// A printed date: DD.MM.YYYY, DD/MM/YYYY, DD-MM-YYYY, DD MM YYYY, YYYY-MM-DD, DD MMM YYYY
/// (English, French, German, Spanish months; bilingual `JAN/JAN` too), two-digit years as
/// such. (year, month, day), checked to be a date.
pub fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    let tokens: Vec<String> =
        s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).flat_map(split_month).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let nums: Vec<&str> = tokens.iter().copied().filter(|t| t.chars().all(|c| c.is_ascii_digit())).collect();
    let month = tokens.iter().filter(|t| t.chars().all(char::is_alphabetic)).find_map(|t| month_of(t));
    let n = |t: &str| t.parse::<u32>().ok();
    let (y, m, d) = match (nums.as_slice(), month) {
        ([y, m, d], None) if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => (n(y)?, n(m)?, n(d)?),
        ([d, m, y], None) if (y.len() == 4 || y.len() == 2) && m.len() <= 2 && d.len() <= 2 => (n(y)?, n(m)?, n(d)?),
        ([d, y], Some(m)) if (y.len() == 4 || y.len() == 2) && d.len() <= 2 => (n(y)?, m, n(d)?),
        // 17.08.1991 read as one token by the OCR: 17081991.
        ([t], None) if t.len() == 8 => {
            let (a, b) = (n(&t[..4])?, n(&t[4..])?);
            if a > 1900 {
                (a, b / 100, b % 100)
            } else {
                (b, a % 100, a / 100)
            }
        }
        _ => return None,
    };
    let days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    ((1..=12).contains(&m) && d >= 1 && d <= days[m as usize - 1]).then_some((y, m, d))
}

/// Letters of a name, upper case, accents removed, digits the OCR confused with letters read
/// as those letters, spaces, hyphens, apostrophes and the MRZ's `<` left out.
fn name_key(s: &str, umlaut_e: bool) -> String {
    let s = if umlaut_e {
        s.replace(['Ä', 'ä'], "AE").replace(['Ö', 'ö'], "OE").replace(['Ü', 'ü'], "UE").replace(['Å', 'å'], "AA")
    } else {
        s.to_owned()
    };
    fold(&s)
        .chars()
        .filter_map(|c| match c {
            '0' => Some('o'),
            '1' => Some('i'),
            '5' => Some('s'),
            '8' => Some('b'),
            '2' => Some('z'),
            '6' => Some('g'),
            c if c.is_alphabetic() => Some(c),
            _ => None,
        })
        .collect::<String>()
        .to_uppercase()
}

/// Characters the OCR confuses in document numbers.
fn confusable(a: char, b: char) -> bool {
    const PAIRS: [(char, char); 7] =
        [('0', 'O'), ('1', 'I'), ('5', 'S'), ('8', 'B'), ('2', 'Z'), ('6', 'G'), ('0', 'D')];
    PAIRS.iter().any(|&(x, y)| (a, b) == (x, y) || (a, b) == (y, x))
}

/// One character read wrong, dropped or added by the OCR in a value of 5 characters or more (a
/// glyph at the zone's edge, a speck): taken as the same value. A forger changing one letter of
/// a long name is not caught; a changed name or number is.
fn slip(visual: &str, mrz: &str) -> bool {
    mrz.chars().count() >= 5 && edit_distance(visual, mrz) <= 1
}

/// Document-number characters with the OCR's confusions folded (`O` as `0`, `I` as `1`, …).
fn unconfused(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'O' | 'D' | 'Q' => '0',
            'I' | 'L' => '1',
            'S' => '5',
            'B' => '8',
            'Z' => '2',
            'G' => '6',
            c => c,
        })
        .collect()
}

/// Whether the visual value (as [`normalized`]) says what the MRZ value (as `text_fields[].mrz`
/// shows it: `<` already a space in names, dates ISO 8601) says.
pub fn compare(field: &str, visual: &str, mrz: &str) -> bool {
    match field {
        "surname" | "given_names" => {
            let m = name_key(mrz, false);
            [name_key(visual, false), name_key(visual, true)].iter().any(|v| *v == m || slip(v, &m))
        }
        "document_number" | "personal_number" | "optional_data" => {
            let m: String = mrz.chars().filter(|c| c.is_alphanumeric()).collect();
            let v: String = visual.chars().filter(|c| c.is_alphanumeric()).collect();
            let same = v.len() == m.len() && v.chars().zip(m.chars()).all(|(a, b)| a == b || confusable(a, b));
            same || slip(&unconfused(&v), &unconfused(&m))
        }
        "birth_date" | "expiry_date" => match (parse_date(visual), parse_date(mrz)) {
            (Some((vy, vm, vd)), Some((my, mm, md))) => {
                (vm, vd) == (mm, md) && (vy == my || (vy < 100 && vy == my % 100))
            }
            _ => false,
        },
        "sex" => {
            let m = if mrz.trim().is_empty() || mrz.trim() == "<" { "X" } else { mrz.trim() };
            visual.eq_ignore_ascii_case(m)
        }
        "nationality" | "issuing_state" => visual.eq_ignore_ascii_case(mrz.trim_end_matches('<').trim()),
        _ => fold(visual).split_whitespace().eq(fold(mrz).split_whitespace()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
    }

    #[test]
    fn fields_by_their_labels() {
        let text = lines(
            "REPUBLIC OF D PASSPORT
             Surname
             ERIKSSON
             Given names
             ANNA MARIA
             Document No.
             F5C526835
             , Nationality
             a» D
             . Date of birth
             17 AUG 1991
             Sex: M
             Date of expiry
             2035-07-07",
        );
        let f = parse(&text);
        assert_eq!(f.get("surname"), Some("ERIKSSON"));
        assert_eq!(f.get("given_names"), Some("ANNA MARIA"));
        assert_eq!(f.get("document_number"), Some("F5C526835"));
        assert_eq!(f.get("nationality"), Some("D"));
        assert_eq!(f.get("birth_date"), Some("1991-08-17"));
        assert_eq!(f.get("sex"), Some("M"));
        assert_eq!(f.get("expiry_date"), Some("2035-07-07"));
    }

    #[test]
    fn nationality_codes_are_letters() {
        assert_eq!(normalized("nationality", "P0L").as_deref(), Some("POL"));
        assert_eq!(normalized("nationality", "UT0").as_deref(), Some("UTO"));
        assert_eq!(normalized("nationality", "D").as_deref(), Some("D"));
        assert_eq!(normalized("nationality", "ESP").as_deref(), Some("ESP"));
    }

    #[test]
    fn labels_read_with_a_letter_pair_confused() {
        let f = parse(&lines("Sumame\nKOWALSKI\nGivennames\nSEAN"));
        assert_eq!(f.get("surname"), Some("KOWALSKI"));
        assert_eq!(f.get("given_names"), Some("SEAN"));
        // Two slips are still no label.
        assert_eq!(parse(&lines("Sumone\nKOWALSKI")).get("surname"), None);
    }

    #[test]
    fn labels_side_by_side_take_the_values_under_them() {
        let row = |text: &str, l: f32, t: f32, r: f32| Placed { text: text.into(), bounds: [l, t, r, t + 20.0] };
        // Two columns: labels on one row, values on the next; a value right of its label; a
        // value under the wrong column is not taken.
        let rows = [
            row("Surname", 300.0, 100.0, 400.0),
            row("GARCIA", 300.0, 125.0, 420.0),
            row("Sex", 300.0, 160.0, 340.0),
            row("Nationality", 500.0, 160.0, 640.0),
            row("F", 300.0, 185.0, 315.0),
            row("ESP", 500.0, 185.0, 560.0),
            row("Date of birth", 300.0, 220.0, 450.0),
            row("12.03.1980", 520.0, 220.0, 650.0),
            row("Date of expiry", 300.0, 260.0, 460.0),
            row("Document No.", 700.0, 260.0, 860.0),
            row("X123456", 700.0, 285.0, 800.0),
        ];
        let f = parse_placed(&rows);
        assert_eq!(f.get("surname"), Some("GARCIA"));
        assert_eq!(f.get("sex"), Some("F"));
        assert_eq!(f.get("nationality"), Some("ESP"));
        assert_eq!(f.get("birth_date"), Some("1980-03-12"));
        assert_eq!(f.get("document_number"), Some("X123456"));
        // Nothing under or right of the expiry label: not taken from the other column.
        assert_eq!(f.get("expiry_date"), None);
        // Read by order alone, the side-by-side labels lose their values.
        let by_order = parse(&rows.iter().map(|r| r.text.clone()).collect::<Vec<_>>());
        assert_eq!(by_order.get("sex"), None);
        assert_ne!(by_order.get("nationality"), Some("ESP"));
    }

    #[test]
    fn bilingual_labels_and_a_missing_value() {
        let f = parse(&lines("Nom / Surname\nDUPONT\nPrénoms / Given names\nDate of birth\n12.03.1980"));
        assert_eq!(f.get("surname"), Some("DUPONT"));
        // The next line is a label: no value.
        assert_eq!(f.get("given_names"), None);
        assert_eq!(f.get("birth_date"), Some("1980-03-12"));
        // Specks before a label, a label misread by one letter.
        assert_eq!(parse(&lines("7a Surname\n| NAKAMURA")).get("surname"), Some("NAKAMURA"));
        assert_eq!(parse(&lines("Surnane\nROSSI")).get("surname"), Some("ROSSI"));
        // Spaces the OCR dropped.
        let f = parse(&lines("Givennames\nANNA\nDateof birth\n12.03.1980\nDateofexpiry 01.02.2030"));
        assert_eq!(f.get("given_names"), Some("ANNA"));
        assert_eq!(f.get("birth_date"), Some("1980-03-12"));
        assert_eq!(f.get("expiry_date"), Some("2030-02-01"));
    }

    #[test]
    fn words_left_of_the_labels_column_are_debris() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
5\t1\t1\t1\t1\t1\t300\t10\t90\t20\t96\tSurname
5\t1\t1\t1\t2\t1\t250\t40\t20\t20\t60\tLH
5\t1\t1\t1\t2\t2\t301\t40\t90\t20\t95\tGARCIA
5\t1\t1\t1\t3\t1\t302\t70\t90\t20\t95\tGiven
5\t1\t1\t1\t3\t2\t400\t70\t90\t20\t95\tnames
5\t1\t1\t1\t4\t1\t300\t100\t90\t20\t20\tPISNISEEY
";
        let lines = columns(&tsv_lines(tsv));
        assert_eq!(lines, vec!["Surname", "GARCIA", "Given names"]);
        assert_eq!(parse(&lines).get("surname"), Some("GARCIA"));
        assert_eq!(parse(&lines).get("given_names"), None);
    }

    #[test]
    fn dates_in_their_printed_forms() {
        for s in ["17.08.1991", "17/08/1991", "17 AUG 1991", "17 AOÛT/AUG 1991", "1991-08-17", "17 08 1991", "17081991"]
        {
            assert_eq!(parse_date(s), Some((1991, 8, 17)), "{s}");
        }
        assert_eq!(parse_date("17 AUG 91"), Some((91, 8, 17)));
        // The OCR runs the date together or reads the month's O as a zero.
        for s in ["14 0CT 1975", "140CT1975", "14OCT 1975", "14 OCT1975"] {
            assert_eq!(parse_date(s), Some((1975, 10, 14)), "{s}");
        }
        assert_eq!(parse_date("14 0XT 1975"), None);
        assert_eq!(parse_date("31.02.1991"), None);
        // A year with its first digit lost is no date.
        assert_eq!(parse_date("027-03-22"), None);
        assert_eq!(parse_date("hello"), None);
        assert!(compare("birth_date", "1991-08-17", "1991-08-17"));
        assert!(compare("birth_date", "17 AUG 91", "1991-08-17"));
        assert!(!compare("birth_date", "1991-08-18", "1991-08-17"));
    }

    #[test]
    fn names_compare_after_normalisation() {
        assert!(compare("surname", "Müller", "MULLER"));
        assert!(compare("surname", "MÜLLER", "MUELLER"));
        assert!(compare("surname", "van der Berg", "VAN DER BERG"));
        assert!(compare("surname", "O'BRIEN", "OBRIEN"));
        assert!(compare("given_names", "JEAN-PAUL", "JEAN PAUL"));
        assert!(compare("surname", "R0SSI", "ROSSI"));
        assert!(!compare("surname", "ERIKSSON", "ROSSI"));
        // One slip of the OCR in a long value is no disagreement; a short or changed one is.
        assert!(compare("surname", "QUPONT", "DUPONT"));
        assert!(!compare("surname", "ROSA", "ROSI"));
        assert!(!compare("surname", "ROSSINI", "ROSSI"));
        assert!(compare("document_number", "DOSAEFB49", "D08AEFB49"));
        assert!(compare("document_number", "C23D03DC", "RC23D03DC"));
        assert!(compare("document_number", "F5C52683S", "F5C526835"));
        assert!(!compare("document_number", "F5C526736", "F5C526835"));
        assert!(compare("sex", "X", "<"));
        assert!(compare("nationality", "D", "D"));
        assert_eq!(normalized("nationality", "GERMAN"), None);
        assert_eq!(normalized("sex", "F/F"), Some("F".into()));
        assert_eq!(normalized("sex", "Female"), Some("F".into()));
    }

    #[test]
    fn the_zone_is_above_the_mrz_and_blanks_the_portrait() {
        let gray = GrayImage::from_pixel(1000, 800, image::Luma([0]));
        let z = zone(&gray, Some([100, 600, 900, 700]), Some([0, 0, 300, 500])).unwrap();
        // 896 × 600 scaled to 1000 wide.
        assert_eq!((z.width(), z.height()), (1000, 669));
        assert_eq!(z.get_pixel(10, 10).0[0], 255);
        assert_eq!(z.get_pixel(800, 500).0[0], 0);
        assert!(zone(&gray, Some([100, 5, 900, 60]), None).is_none());
        // No MRZ: the whole photo, scaled.
        let z = zone(&gray, None, None).unwrap();
        assert_eq!((z.width(), z.height()), (1000, 800));
    }
}
