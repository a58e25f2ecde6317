//! HTML that escapes by default. Markup can only be pushed as `&'static str` (text written in
//! this source, never a value read at run time); every other value goes through [`Html::t`],
//! which escapes `& < > " '`, so it is safe in element text and in quoted attribute values.

use std::fmt::Display;

/// An HTML document or fragment under construction.
#[derive(Default)]
pub struct Html(String);

/// Escape text for element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

impl Html {
    pub fn new() -> Self {
        Html(String::with_capacity(8192))
    }

    /// Markup written in the source.
    pub fn s(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Any value, escaped.
    pub fn t(&mut self, value: impl Display) -> &mut Self {
        let text = value.to_string();
        escape_into(&mut self.0, &text);
        self
    }

    /// `<tag>escaped value</tag>` for a tag written in the source.
    pub fn el(&mut self, open: &'static str, value: impl Display, close: &'static str) -> &mut Self {
        self.s(open).t(value).s(close)
    }

    /// A moment (UNIX seconds) as `<time datetime="…Z" title="… UTC">YYYY-MM-DD HH:MM:SS UTC</time>`:
    /// UTC without script; console.js rewrites the text to the browser's local time and zone.
    pub fn time(&mut self, t: f64) -> &mut Self {
        let u = super::pages::utc(t);
        let (date, clock) = u.split_once(' ').unwrap_or((&u, ""));
        let shown = format!("{u} UTC");
        self.s("<time datetime=\"").t(format_args!("{date}T{clock}Z")).s("\" title=\"").t(&shown).s("\">");
        self.t(&shown).s("</time>")
    }

    /// Another fragment built the same way (already safe).
    pub fn fragment(&mut self, other: Html) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Percent-encode a query value (for links that carry filters).
pub fn query_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_markup_is_not() {
        let mut h = Html::new();
        h.s("<p title=\"").t("\"><script>alert(1)</script>").s("\">").t("a & 'b'").s("</p>");
        assert_eq!(
            h.into_string(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">a &amp; &#39;b&#39;</p>"
        );
    }
}
