//! ICAO 9303 machine-readable zones: the three layouts (TD1 3×30, TD2 2×36, TD3 2×44), every
//! check digit, and the correction of the usual OCR confusions where the check digits prove it.
//!
//! Characters are `A`–`Z`, `0`–`9` and the filler `<`. A check digit is the sum of the values
//! (`0`–`9` as themselves, `A`–`Z` as 10–35, `<` as 0) weighted 7, 3, 1, 7, 3, 1 … modulo 10.
//!
//! Corrections: a letter read in a numeric field (dates, check digits) is the digit it is
//! confused with (`O`→`0`, `I`→`1`, `S`→`5`, `B`→`8`, `Z`→`2`, …) and a digit read in an alpha
//! field (names, states, sex) the letter; the check digits then judge the result. In the
//! alphanumeric fields (document number, optional data) either reading is possible, so a field
//! whose check digit fails as read is changed only when exactly one combination of the fewest
//! confusable swaps (`0/O`, `1/I`, `2/Z`, `5/S`, `6/G`, `8/B`, `<`/`K`) makes its check digit
//! hold, and the swaps stand only if every check digit of the MRZ, the composite included, then
//! holds (one check digit alone is matched by a wrong swap one time in ten). Every change made
//! is listed in [`Mrz::corrections`].

use std::fmt;

/// The three ICAO 9303 layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ID cards: 3 lines of 30.
    Td1,
    /// 2 lines of 36.
    Td2,
    /// Passports: 2 lines of 44.
    Td3,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Td1, Format::Td2, Format::Td3];

    pub fn lines(self) -> usize {
        match self {
            Format::Td1 => 3,
            Format::Td2 | Format::Td3 => 2,
        }
    }

    pub fn width(self) -> usize {
        match self {
            Format::Td1 => 30,
            Format::Td2 => 36,
            Format::Td3 => 44,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Td1 => "TD1",
            Format::Td2 => "TD2",
            Format::Td3 => "TD3",
        }
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        (1..=12).contains(&month).then_some(())?;
        (1..=days_in_month(year, month)).contains(&day).then_some(Date { year, month, day })
    }

    /// The UTC date of a Unix time in seconds.
    pub fn from_unix(secs: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = secs.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Today (UTC).
    pub fn today() -> Date {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Date::from_unix(secs)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The value of an MRZ character in a check digit computation; None outside the MRZ set.
pub fn char_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
        '<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit of `s` (weights 7, 3, 1; characters outside the set count 0).
pub fn check_digit(s: &str) -> u32 {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    s.chars().enumerate().map(|(i, c)| char_value(c).unwrap_or(0) * WEIGHTS[i % 3]).sum::<u32>() % 10
}

/// Whether `digit` (one character; `<` counts 0) is the check digit of `s`.
pub fn check(s: &str, digit: char) -> bool {
    match digit {
        '<' => check_digit(s) == 0,
        '0'..='9' => check_digit(s) == digit as u32 - '0' as u32,
        _ => false,
    }
}

/// Which characters a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Digits (and `<` where a value is unknown or a check digit is empty).
    Numeric,
    /// Letters and `<`.
    Alpha,
    /// Letters, digits and `<`.
    Alnum,
}

/// The digit a letter read in a numeric field stands for.
fn letter_to_digit(c: char) -> Option<char> {
    Some(match c {
        'O' | 'Q' | 'D' | 'U' => '0',
        'I' | 'L' | 'J' => '1',
        'Z' => '2',
        'A' => '4',
        'S' => '5',
        'G' => '6',
        'T' => '7',
        'B' => '8',
        _ => return None,
    })
}

/// The letter a digit read in an alpha field stands for.
fn digit_to_letter(c: char) -> Option<char> {
    Some(match c {
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '4' => 'A',
        '5' => 'S',
        '6' => 'G',
        '7' => 'T',
        '8' => 'B',
        _ => return None,
    })
}

/// The other reading of a character confusable in an alphanumeric field.
fn swap(c: char) -> Option<char> {
    Some(match c {
        '0' => 'O',
        'O' => '0',
        '1' => 'I',
        'I' => '1',
        '2' => 'Z',
        'Z' => '2',
        '5' => 'S',
        'S' => '5',
        '6' => 'G',
        'G' => '6',
        '8' => 'B',
        'B' => '8',
        '<' => 'K',
        'K' => '<',
        _ => return None,
    })
}

/// `s` with every character impossible in `class` replaced by the one it is confused with.
fn force(s: &str, class: Class) -> String {
    s.chars()
        .map(|c| match class {
            Class::Numeric => letter_to_digit(c).unwrap_or(c),
            Class::Alpha => digit_to_letter(c).unwrap_or(c),
            Class::Alnum => c,
        })
        .collect()
}

/// Most swaps tried in one alphanumeric field.
const MAX_SWAPS: usize = 3;

/// `field` as read if `holds` accepts it; else the single combination of the fewest confusable
/// swaps that `holds` accepts; None when there is none or more than one.
fn prove(field: &str, holds: impl Fn(&str) -> bool) -> Option<String> {
    if holds(field) {
        return Some(field.to_owned());
    }
    let chars: Vec<char> = field.chars().collect();
    let spots: Vec<usize> = (0..chars.len()).filter(|&i| swap(chars[i]).is_some()).collect();
    for k in 1..=MAX_SWAPS.min(spots.len()) {
        let mut found: Option<String> = None;
        let mut many = false;
        for_each_combination(spots.len(), k, &mut |pick| {
            if many {
                return;
            }
            let mut c = chars.clone();
            for &p in pick {
                let i = spots[p];
                c[i] = swap(c[i]).unwrap_or(c[i]);
            }
            let s: String = c.into_iter().collect();
            if holds(&s) {
                if found.is_some() {
                    many = true;
                } else {
                    found = Some(s);
                }
            }
        });
        if many {
            return None;
        }
        if found.is_some() {
            return found;
        }
    }
    None
}

fn for_each_combination(n: usize, k: usize, f: &mut impl FnMut(&[usize])) {
    fn rec(start: usize, n: usize, k: usize, pick: &mut Vec<usize>, f: &mut impl FnMut(&[usize])) {
        if pick.len() == k {
            f(pick);
            return;
        }
        for i in start..n {
            if n - i < k - pick.len() {
                break;
            }
            pick.push(i);
            rec(i + 1, n, k, pick, f);
            pick.pop();
        }
    }
    rec(0, n, k, &mut Vec::with_capacity(k), f);
}

/// Which check digits hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub document_number: bool,
    pub birth_date: bool,
    pub expiry_date: bool,
    /// TD3: the personal number's own check digit (None for TD1/TD2, which have none).
    pub optional_data: Option<bool>,
    pub composite: bool,
}

impl Checks {
    pub fn all(&self) -> bool {
        self.document_number
            && self.birth_date
            && self.expiry_date
            && self.optional_data.unwrap_or(true)
            && self.composite
    }

    /// How many hold (to rank readings).
    pub fn count(&self) -> usize {
        [self.document_number, self.birth_date, self.expiry_date, self.optional_data.unwrap_or(true), self.composite]
            .iter()
            .filter(|b| **b)
            .count()
    }
}

/// A change made to what was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub field: &'static str,
    pub read: String,
    pub corrected: String,
    /// A swap in an alphanumeric field (not a character impossible where it was read).
    pub swapped: bool,
}

/// A parsed MRZ. Text fields have their fillers removed (`<` inside names is a space).
#[derive(Debug, Clone, PartialEq)]
pub struct Mrz {
    pub format: Format,
    /// The lines after corrections.
    pub lines: Vec<String>,
    /// `P`, `I`, `ID`, `AC`, … (fillers removed).
    pub document_type: String,
    pub issuing_state: String,
    pub surname: String,
    pub given_names: String,
    pub document_number: String,
    pub nationality: String,
    /// `YYMMDD` as printed.
    pub birth_date: String,
    /// `M`, `F` or `X` (`<` is unspecified: `X`).
    pub sex: String,
    /// `YYMMDD` as printed.
    pub expiry_date: String,
    /// TD3 personal number, TD2 optional data, TD1 line 1 optional data (after an extended
    /// document number, if any).
    pub optional_data: String,
    /// TD1 line 2 optional data.
    pub optional_data_2: String,
    pub checks: Checks,
    pub corrections: Vec<Correction>,
}

/// Why lines are no MRZ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    #[error("{0} lines do not make an MRZ (3 of 30, 2 of 36 or 2 of 44 characters)")]
    Shape(String),
    #[error("character {0:?} is not an MRZ character")]
    Charset(char),
}

fn trim_fill(s: &str) -> String {
    s.trim_end_matches('<').trim_start_matches('<').to_owned()
}

/// Names: primary identifier, `<<`, secondary identifier; `<` inside each is a space.
fn split_name(s: &str) -> (String, String) {
    let s = s.trim_end_matches('<');
    let (sur, given) = s.split_once("<<").unwrap_or((s, ""));
    let clean = |p: &str| p.split('<').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    (clean(sur), clean(given))
}

/// Date of a `YYMMDD`: None when not a valid date. Years within 50 years ahead of `today`
/// (expiry) or not after `today` (birth) pick the century.
fn date(yymmdd: &str, today: Date, birth: bool) -> Option<Date> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| yymmdd[r].parse::<u32>().ok();
    let (yy, mm, dd) = (n(0..2)? as i32, n(2..4)?, n(4..6)?);
    let century = today.year - today.year.rem_euclid(100);
    let mut year = century + yy;
    if birth {
        if year > today.year {
            year -= 100;
        }
    } else if year > today.year + 50 {
        year -= 100;
    } else if year < today.year - 50 {
        year += 100;
    }
    Date::new(year, mm, dd)
}

impl Mrz {
    /// Parse MRZ lines (already one MRZ line per item; spaces are dropped, lower case raised,
    /// `«` read as `<`). The layout comes from the line count and width.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<Mrz, MrzError> {
        let lines: Vec<String> = lines.iter().map(|l| normalize(l.as_ref())).collect();
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        let format = Format::ALL
            .into_iter()
            .find(|f| f.lines() == lines.len() && widths.iter().all(|w| *w == f.width()))
            .ok_or_else(|| {
                MrzError::Shape(format!(
                    "{} ({})",
                    lines.len(),
                    widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", ")
                ))
            })?;
        if let Some(c) = lines.iter().flat_map(|l| l.chars()).find(|c| char_value(*c).is_none()) {
            return Err(MrzError::Charset(c));
        }
        // Swaps in alphanumeric fields stand only if every check digit, the composite included,
        // then holds: one check digit alone is matched by a wrong swap one time in ten.
        let swapped = parse_fixed(format, lines.clone(), true);
        if swapped.valid() || !swapped.corrections.iter().any(|c| c.swapped) {
            return Ok(swapped);
        }
        Ok(parse_fixed(format, lines, false))
    }

    /// Every check digit holds.
    pub fn valid(&self) -> bool {
        self.checks.all()
    }

    pub fn birth(&self, today: Date) -> Option<Date> {
        date(&self.birth_date, today, true)
    }

    pub fn expiry(&self, today: Date) -> Option<Date> {
        date(&self.expiry_date, today, false)
    }

    /// Expired before `today` (None when the expiry date cannot be read as a date).
    pub fn expired(&self, today: Date) -> Option<bool> {
        self.expiry(today).map(|e| e < today)
    }
}

/// Upper case, no whitespace, the look-alikes of `<` as `<`.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '«' | '‹' | '≤' | '(' | '[' | '{' => '<',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Character positions of a field within one line.
type Span = (usize, usize);

/// The parts of a line being corrected in place.
struct Lines {
    lines: Vec<Vec<char>>,
    corrections: Vec<Correction>,
    /// Whether alphanumeric fields may be changed by swaps.
    swaps: bool,
}

impl Lines {
    fn get(&self, line: usize, (a, b): Span) -> String {
        self.lines[line][a..b].iter().collect()
    }

    fn set(&mut self, field: &'static str, line: usize, span: Span, value: &str) {
        self.change(field, line, span, value, false);
    }

    fn change(&mut self, field: &'static str, line: usize, (a, b): Span, value: &str, swapped: bool) {
        let read = self.get(line, (a, b));
        if read != value {
            self.corrections.push(Correction { field, read, corrected: value.to_owned(), swapped });
            for (i, c) in value.chars().enumerate() {
                self.lines[line][a + i] = c;
            }
        }
    }

    /// Replace the characters impossible in `class`.
    fn force(&mut self, field: &'static str, line: usize, span: Span, class: Class) {
        let v = force(&self.get(line, span), class);
        self.set(field, line, span, &v);
    }

    /// A field followed by its check digit: force the check digit to a digit (and the field
    /// when numeric), then, for an alphanumeric field, prove a correction if it fails.
    fn checked(&mut self, field: &'static str, line: usize, span: Span, digit_at: usize, class: Class) -> bool {
        self.force(field, line, (digit_at, digit_at + 1), Class::Numeric);
        if class != Class::Alnum {
            self.force(field, line, span, class);
        }
        let digit = self.lines[line][digit_at];
        let read = self.get(line, span);
        if class == Class::Alnum {
            if !self.swaps {
                return check(&read, digit);
            }
            if let Some(v) = prove(&read, |s| check(s, digit)) {
                self.change(field, line, span, &v, true);
                return true;
            }
            return false;
        }
        check(&read, digit)
    }
}

fn parse_fixed(format: Format, lines: Vec<String>, swaps: bool) -> Mrz {
    let mut l = Lines { lines: lines.iter().map(|s| s.chars().collect()).collect(), corrections: Vec::new(), swaps };
    // Document code, issuing state: letters.
    l.force("document_type", 0, (0, 2), Class::Alpha);
    l.force("issuing_state", 0, (2, 5), Class::Alpha);
    let (number, number_ok, optional, optional_ok, optional_2, name_line, name_span);
    let (birth_ok, expiry_ok, sex_at, nat_line, nat_span, birth_span, expiry_span, data_line);
    match format {
        Format::Td1 => {
            let (n, ok, rest) = extended_number(&mut l, 0, 5, 15, 30);
            (number, number_ok, optional) = (n, ok, rest);
            optional_ok = None;
            birth_ok = l.checked("birth_date", 1, (0, 6), 6, Class::Numeric);
            l.force("sex", 1, (7, 8), Class::Alpha);
            expiry_ok = l.checked("expiry_date", 1, (8, 14), 14, Class::Numeric);
            l.force("nationality", 1, (15, 18), Class::Alpha);
            optional_2 = trim_fill(&l.get(1, (18, 29)));
            l.force("composite", 1, (29, 30), Class::Numeric);
            (sex_at, nat_line, nat_span, birth_span, expiry_span, data_line) = (7, 1, (15, 18), (0, 6), (8, 14), 1);
            l.force("name", 2, (0, 30), Class::Alpha);
            (name_line, name_span) = (2, (0, 30));
        }
        Format::Td2 | Format::Td3 => {
            let w = format.width();
            l.force("name", 0, (5, w), Class::Alpha);
            (name_line, name_span) = (0, (5, w));
            if format == Format::Td2 {
                let (n, ok, rest) = extended_number(&mut l, 1, 0, 28, 35);
                (number, number_ok, optional) = (n, ok, rest);
                optional_ok = None;
            } else {
                number_ok = l.checked("document_number", 1, (0, 9), 9, Class::Alnum);
                number = trim_fill(&l.get(1, (0, 9)));
                // An empty personal number may have `<` as its check digit.
                let personal = l.get(1, (28, 42));
                optional_ok = Some(if l.lines[1][42] == '<' && personal.chars().all(|c| c == '<') {
                    true
                } else {
                    l.checked("personal_number", 1, (28, 42), 42, Class::Alnum)
                });
                optional = trim_fill(&l.get(1, (28, 42)));
            }
            l.force("nationality", 1, (10, 13), Class::Alpha);
            birth_ok = l.checked("birth_date", 1, (13, 19), 19, Class::Numeric);
            l.force("sex", 1, (20, 21), Class::Alpha);
            expiry_ok = l.checked("expiry_date", 1, (21, 27), 27, Class::Numeric);
            l.force("composite", 1, (w - 1, w), Class::Numeric);
            optional_2 = String::new();
            (sex_at, nat_line, nat_span, birth_span, expiry_span, data_line) = (20, 1, (10, 13), (13, 19), (21, 27), 1);
        }
    }
    // TD1: line 1 from the number on, line 2 birth date, expiry and optional data; TD2/TD3:
    // line 2 number, birth date and expiry (with their check digits) and the optional data.
    let composite_ok = match format {
        Format::Td1 => {
            let s = [l.get(0, (5, 30)), l.get(1, (0, 7)), l.get(1, (8, 15)), l.get(1, (18, 29))].concat();
            check(&s, l.lines[1][29])
        }
        Format::Td2 | Format::Td3 => {
            let w = format.width();
            let s = [l.get(1, (0, 10)), l.get(1, (13, 20)), l.get(1, (21, w - 1))].concat();
            check(&s, l.lines[1][w - 1])
        }
    };
    let (surname, given_names) = split_name(&l.get(name_line, name_span));
    let sex = match l.lines[data_line][sex_at] {
        c @ ('M' | 'F') => c.to_string(),
        _ => "X".to_owned(),
    };
    Mrz {
        format,
        document_type: trim_fill(&l.get(0, (0, 2))),
        issuing_state: trim_fill(&l.get(0, (2, 5))),
        surname,
        given_names,
        document_number: number,
        nationality: trim_fill(&l.get(nat_line, nat_span)),
        birth_date: l.get(data_line, birth_span),
        sex,
        expiry_date: l.get(data_line, expiry_span),
        optional_data: optional,
        optional_data_2: optional_2,
        checks: Checks {
            document_number: number_ok,
            birth_date: birth_ok,
            expiry_date: expiry_ok,
            optional_data: optional_ok,
            composite: composite_ok,
        },
        lines: l.lines.iter().map(|c| c.iter().collect()).collect(),
        corrections: l.corrections,
    }
}

/// TD1/TD2 document number at `at` (9 characters, check digit after them). When longer than 9
/// characters the check digit position holds `<` and the number goes on in the optional data
/// (from `opt` to `opt_end`) up to its check digit, the character before the first `<`.
/// Returns the number, whether its check digit holds, and the optional data after it.
fn extended_number(l: &mut Lines, line: usize, at: usize, opt: usize, opt_end: usize) -> (String, bool, String) {
    let digit_at = at + 9;
    let rest = l.get(line, (opt, opt_end));
    if l.lines[line][digit_at] == '<' && !rest.starts_with('<') {
        let tail_len = rest.find('<').unwrap_or(rest.len());
        if tail_len >= 2 {
            let head = l.get(line, (at, digit_at));
            let tail = &rest[..tail_len - 1];
            l.force("document_number", line, (opt + tail_len - 1, opt + tail_len), Class::Numeric);
            let digit = l.lines[line][opt + tail_len - 1];
            let joined = format!("{head}{tail}");
            let proved = if l.swaps { prove(&joined, |s| check(s, digit)) } else { None };
            let ok = match proved {
                Some(v) => {
                    l.change("document_number", line, (at, digit_at), &v[..9], true);
                    l.change("document_number", line, (opt, opt + tail_len - 1), &v[9..], true);
                    true
                }
                None => check(&joined, digit),
            };
            let number = format!("{}{}", l.get(line, (at, digit_at)), l.get(line, (opt, opt + tail_len - 1)));
            let optional = trim_fill(&l.get(line, (opt + tail_len, opt_end)));
            return (number, ok, optional);
        }
    }
    let ok = l.checked("document_number", line, (at, digit_at), digit_at, Class::Alnum);
    (trim_fill(&l.get(line, (at, digit_at))), ok, trim_fill(&l.get(line, (opt, opt_end))))
}

/// Fit a line read by OCR to `width`: characters dropped or doubled inside filler runs are
/// put back or taken out there (the longest run first), else at the end.
pub fn fit_line(line: &str, width: usize) -> String {
    let mut c: Vec<char> = line.chars().collect();
    while c.len() != width {
        // The longest run of fillers.
        let (mut best, mut best_len, mut i) = (None, 0, 0);
        while i < c.len() {
            if c[i] == '<' {
                let start = i;
                while i < c.len() && c[i] == '<' {
                    i += 1;
                }
                if i - start > best_len {
                    (best, best_len) = (Some(start), i - start);
                }
            } else {
                i += 1;
            }
        }
        if c.len() < width {
            match best {
                Some(s) if best_len >= 2 => c.insert(s, '<'),
                _ => c.push('<'),
            }
        } else {
            match best {
                Some(s) if best_len >= 2 => {
                    c.remove(s);
                }
                _ => {
                    c.pop();
                }
            }
        }
    }
    c.into_iter().collect()
}

/// Find an MRZ in OCR text: groups of consecutive lines shaped like one of the layouts (give or
/// take a few characters, fitted with [`fit_line`]), the reading whose check digits hold best.
pub fn find(text: &str) -> Option<Mrz> {
    let lines: Vec<String> = text
        .lines()
        .map(normalize)
        .map(|l| l.chars().filter(|c| char_value(*c).is_some()).collect::<String>())
        .filter(|l| l.len() >= 20)
        .collect();
    let mut best: Option<Mrz> = None;
    for format in Format::ALL {
        let n = format.lines();
        if lines.len() < n {
            continue;
        }
        for start in 0..=lines.len() - n {
            let group = &lines[start..start + n];
            if group.iter().any(|l| l.len().abs_diff(format.width()) > 4) {
                continue;
            }
            let fitted: Vec<String> = group.iter().map(|l| fit_line(l, format.width())).collect();
            let Ok(m) = Mrz::parse(&fitted) else { continue };
            if best.as_ref().is_none_or(|b| rank(&m) > rank(b)) {
                best = Some(m);
            }
        }
    }
    best
}

/// Readings ranked by check digits holding, then by fewer corrections.
fn rank(m: &Mrz) -> (usize, std::cmp::Reverse<usize>) {
    (m.checks.count(), std::cmp::Reverse(m.corrections.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] =
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
    const TD1: [&str; 3] =
        ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
    const TD2: [&str; 2] = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];

    fn today() -> Date {
        Date::new(2025, 6, 1).unwrap()
    }

    #[test]
    fn check_digits_of_the_icao_examples() {
        assert_eq!(check_digit("L898902C3"), 6);
        assert_eq!(check_digit("740812"), 2);
        assert_eq!(check_digit("120415"), 9);
        assert_eq!(check_digit("ZE184226B<<<<<"), 1);
        assert_eq!(check_digit("D23145890"), 7);
        assert_eq!(check_digit("<<<<"), 0);
        assert!(check("520727", '3'));
    }

    #[test]
    fn td3_specimen() {
        let m = Mrz::parse(&TD3).unwrap();
        assert_eq!(m.format, Format::Td3);
        assert_eq!(m.document_type, "P");
        assert_eq!(m.issuing_state, "UTO");
        assert_eq!(m.surname, "ERIKSSON");
        assert_eq!(m.given_names, "ANNA MARIA");
        assert_eq!(m.document_number, "L898902C3");
        assert_eq!(m.nationality, "UTO");
        assert_eq!(m.birth_date, "740812");
        assert_eq!(m.sex, "F");
        assert_eq!(m.expiry_date, "120415");
        assert_eq!(m.optional_data, "ZE184226B");
        assert!(m.valid(), "{:?}", m.checks);
        assert!(m.corrections.is_empty());
        assert_eq!(m.birth(today()), Date::new(1974, 8, 12));
        assert_eq!(m.expiry(today()), Date::new(2012, 4, 15));
        assert_eq!(m.expired(today()), Some(true));
        assert_eq!(m.expired(Date::new(2010, 1, 1).unwrap()), Some(false));
    }

    #[test]
    fn td1_specimen() {
        let m = Mrz::parse(&TD1).unwrap();
        assert_eq!(m.format, Format::Td1);
        assert_eq!((m.document_type.as_str(), m.issuing_state.as_str()), ("I", "UTO"));
        assert_eq!(m.document_number, "D23145890");
        assert_eq!((m.surname.as_str(), m.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
        assert_eq!((m.birth_date.as_str(), m.sex.as_str(), m.expiry_date.as_str()), ("740812", "F", "120415"));
        assert_eq!(m.nationality, "UTO");
        assert!(m.valid(), "{:?}", m.checks);
        assert_eq!(m.checks.optional_data, None);
    }

    #[test]
    fn td2_specimen() {
        let m = Mrz::parse(&TD2).unwrap();
        assert_eq!(m.format, Format::Td2);
        assert_eq!(m.document_number, "D23145890");
        assert_eq!((m.surname.as_str(), m.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
        assert_eq!((m.birth_date.as_str(), m.expiry_date.as_str()), ("740812", "120415"));
        assert!(m.valid(), "{:?}", m.checks);
    }

    #[test]
    fn td1_extended_document_number() {
        // ICAO 9303 part 5 example: number D23145890734, check digit 9, after a `<`.
        let lines =
            ["I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"];
        let m = Mrz::parse(&lines).unwrap();
        assert_eq!(m.document_number, "D23145890734");
        assert!(m.checks.document_number);
        assert!(m.checks.composite, "{:?}", m.checks);
        assert_eq!(m.given_names, "PETER JOHN");
    }

    #[test]
    fn a_broken_check_digit_is_reported_not_corrected() {
        let mut l1 = TD3[1].to_owned();
        l1.replace_range(9..10, "5");
        let m = Mrz::parse(&[TD3[0], &l1]).unwrap();
        assert!(!m.checks.document_number);
        assert!(!m.checks.composite);
        assert!(!m.valid());
        // A changed birth date fails its digit and the composite.
        let mut l1 = TD3[1].to_owned();
        l1.replace_range(13..19, "740813");
        let m = Mrz::parse(&[TD3[0], &l1]).unwrap();
        assert!(!m.checks.birth_date && !m.checks.composite);
        assert_eq!(m.birth_date, "740813");
    }

    #[test]
    fn ocr_confusions_are_corrected_where_check_digits_prove_them() {
        // Letters in dates and check digits, digits in names, a 0/O swap in the number.
        let l0 = "P<UT0ERIK5SON<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<";
        let l1 = "L898902C36UTO74O8I22F12O4I59ZE184226B<<<<<1O";
        let m = Mrz::parse(&[l0, l1]).unwrap();
        assert!(m.valid(), "{:?} {:?}", m.checks, m.corrections);
        assert_eq!(m.lines, TD3);
        assert_eq!(m.issuing_state, "UTO");
        assert_eq!(m.surname, "ERIKSSON");
        assert_eq!(m.given_names, "ANNA MARIA");
        // Document number read with O for 0: only one swap makes its check digit hold.
        let l1 = "L8989O2C36UTO7408122F1204159ZE184226B<<<<<10";
        let m = Mrz::parse(&[TD3[0], l1]).unwrap();
        assert_eq!(m.document_number, "L898902C3");
        assert!(m.valid());
        assert_eq!(m.corrections.len(), 1);
        assert_eq!(m.corrections[0].field, "document_number");
        // TD1 with S for 5 and B for 8 in the number, K for the fillers of the optional data.
        let l0 = "I<UTOD231A5B907<<<<<<<<<<<<<<<";
        let m = Mrz::parse(&[l0, TD1[1], TD1[2]]).unwrap();
        // `A` for 4 is no swap an alphanumeric field can prove (A is a letter it may hold).
        assert!(!m.checks.document_number);
        let l0 = "I<UTOD2314S89O7<<<<<<<<<<<<<<<";
        let m = Mrz::parse(&[l0, TD1[1], TD1[2]]).unwrap();
        assert_eq!(m.document_number, "D23145890");
        assert!(m.valid(), "{:?}", m.checks);
    }

    #[test]
    fn a_correction_is_made_only_when_one_reading_of_the_fewest_swaps_holds() {
        // One swap: unique.
        assert_eq!(prove("O0", |s| s == "00").as_deref(), Some("00"));
        // Two single swaps hold: ambiguous, left alone.
        assert_eq!(prove("O0", |s| s == "00" || s == "OO"), None);
        // The fewest swaps win: one swap holds, so two swaps are not looked at.
        assert_eq!(prove("O0", |s| s == "OO" || s == "0O").as_deref(), Some("OO"));
        // Nothing holds.
        assert_eq!(prove("XY", |_| false), None);
        // As read when it holds.
        assert_eq!(prove("O0", |s| s == "O0").as_deref(), Some("O0"));
    }

    #[test]
    fn shapes_and_charset() {
        assert!(matches!(Mrz::parse(&["P<UTO"]), Err(MrzError::Shape(_))));
        let bad = TD3[1].replace('L', "#");
        assert!(matches!(Mrz::parse(&[TD3[0], &bad]), Err(MrzError::Charset('#'))));
    }

    #[test]
    fn found_in_ocr_text_with_dropped_and_extra_fillers() {
        let text = format!(
            "REPUBLIC OF UTOPIA\nPASSPORT\n{}\n{}\n",
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<", // two fillers dropped
            "L898902C36UTO7408122F1204159ZE184226B<<<<<<10"  // one filler too many
        );
        let m = find(&text).unwrap();
        assert_eq!(m.format, Format::Td3);
        assert!(m.valid());
        assert_eq!(m.lines, TD3);
        let text = format!("ID CARD\n{}\n{}\n{}", TD1[0].replace('<', " < "), TD1[1], TD1[2].replace('<', "«"));
        let m = find(&text).unwrap();
        assert_eq!(m.format, Format::Td1);
        assert!(m.valid());
        assert!(find("nothing here\nat all").is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_unix(0), Date::new(1970, 1, 1).unwrap());
        assert_eq!(Date::from_unix(951_782_400), Date::new(2000, 2, 29).unwrap());
        assert_eq!(Date::new(2023, 2, 29), None);
        assert_eq!(date("991231", today(), true), Date::new(1999, 12, 31));
        assert_eq!(date("250101", today(), true), Date::new(2025, 1, 1));
        assert_eq!(date("300101", today(), false), Date::new(2030, 1, 1));
        assert_eq!(date("701301", today(), false), None);
        assert_eq!(date("7O0101", today(), false), None);
    }
}
