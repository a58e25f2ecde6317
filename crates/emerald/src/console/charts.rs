//! The statistics page's charts, drawn here as SVG (no script needed to see them): stacked bars,
//! lines or donuts over one table of counts (categories × series), each an image with a
//! `<title>` and the same numbers as a table beside it. Colours come from the stylesheet by the
//! series' `data-status` or `data-type`; statistics.js only remembers the choice and turns a
//! chart into a PNG.

use super::html::Html;
use super::text;

/// How a chart is drawn (`chart_orders=`, `chart_types=`; bars by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bars,
    Line,
    Donut,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Bars, Kind::Line, Kind::Donut];

    /// From a query value; anything else is bars.
    pub fn of(v: Option<&str>) -> Kind {
        match v {
            Some("line") => Kind::Line,
            Some("donut") => Kind::Donut,
            _ => Kind::Bars,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Bars => "bars",
            Kind::Line => "line",
            Kind::Donut => "donut",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Bars => text::CHART_BARS,
            Kind::Line => text::CHART_LINE,
            Kind::Donut => text::CHART_DONUT,
        }
    }
}

/// What the series are: the attribute that colours them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesAttr {
    Status,
    Type,
}

/// Counts per category (a period, an analysis type) and series (a status, a type).
pub struct Chart {
    /// The element ids' stem (`chart-{id}`).
    pub id: &'static str,
    pub title: String,
    /// The categories' heading in the table.
    pub category_label: &'static str,
    pub categories: Vec<String>,
    pub attr: SeriesAttr,
    pub series: Vec<String>,
    /// `values[category][series]`.
    pub values: Vec<Vec<u64>>,
    /// A donut per category (each its own split by series) rather than one of the totals.
    pub donut_per_category: bool,
}

/// Points at most for which a line chart marks each point (with its number as a tooltip).
const POINTS_MARKED_MAX: usize = 62;

fn n1(v: f64) -> String {
    format!("{v:.1}")
}

impl Chart {
    fn series_attr(&self, b: &mut Html, i: usize) {
        b.s(match self.attr {
            SeriesAttr::Status => " data-status=\"",
            SeriesAttr::Type => " data-type=\"",
        });
        b.t(&self.series[i]).s("\"");
    }

    fn open_svg(&self, b: &mut Html, view_box: &'static str) {
        b.s("<svg class=\"chart\" id=\"chart-").s(self.id).s("\" viewBox=\"").s(view_box);
        b.s("\" role=\"img\" aria-labelledby=\"chart-").s(self.id).s("-title\"><title id=\"chart-").s(self.id);
        b.s("-title\">").t(&self.title).s("</title>");
    }

    /// The figure: the chart drawn as `kind`, its legend, and its numbers as a table.
    pub fn render(&self, b: &mut Html, kind: Kind) {
        b.s("<figure class=\"chart\" data-chart=\"").s(self.id).s("\">");
        match kind {
            Kind::Bars => self.bars(b),
            Kind::Line => self.line(b),
            Kind::Donut => self.donuts(b),
        }
        b.s("<figcaption>");
        for (i, s) in self.series.iter().enumerate() {
            b.s("<span class=\"badge\"");
            self.series_attr(b, i);
            b.s(">").t(s).s("</span> ");
        }
        b.s("</figcaption></figure>");
        self.table(b);
    }

    /// Stacked bars, one per category.
    fn bars(&self, b: &mut Html) {
        let (w, h) = (720.0, 180.0);
        let n = self.categories.len().max(1) as f64;
        let top = self.values.iter().map(|v| v.iter().sum::<u64>()).max().unwrap_or(0).max(1) as f64;
        let slot = w / n;
        let bar = (slot * 0.8).max(1.0);
        self.open_svg(b, "0 0 720 200");
        for (c, row) in self.values.iter().enumerate() {
            let x = c as f64 * slot + (slot - bar) / 2.0;
            let mut y = h;
            for (s, count) in row.iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                let height = *count as f64 / top * (h - 10.0);
                y -= height;
                b.s("<rect");
                self.series_attr(b, s);
                b.s(" x=\"").t(n1(x)).s("\" y=\"").t(n1(y)).s("\" width=\"").t(n1(bar)).s("\" height=\"");
                b.t(n1(height)).s("\"><title>");
                b.t(format!("{} {} {count}", self.categories[c], self.series[s])).s("</title></rect>");
            }
        }
        self.x_axis(b, slot);
        b.s("<text x=\"0\" y=\"10\">").t(format!("max {}", top as u64)).s("</text></svg>");
    }

    /// The axis with the first and last categories (all of them when there are few).
    fn x_axis(&self, b: &mut Html, slot: f64) {
        b.s("<line class=\"axis\" x1=\"0\" y1=\"180\" x2=\"720\" y2=\"180\"/>");
        if self.categories.len() <= 8 && slot >= 80.0 {
            for (c, label) in self.categories.iter().enumerate() {
                b.s("<text x=\"").t(n1(c as f64 * slot + slot / 2.0)).s("\" y=\"196\" text-anchor=\"middle\">");
                b.t(label).s("</text>");
            }
        } else if let (Some(first), Some(last)) = (self.categories.first(), self.categories.last()) {
            b.s("<text x=\"0\" y=\"196\">").t(first).s("</text>");
            b.s("<text x=\"720\" y=\"196\" text-anchor=\"end\">").t(last).s("</text>");
        }
    }

    /// A line per series over the categories.
    fn line(&self, b: &mut Html) {
        let (w, h) = (720.0, 180.0);
        let n = self.categories.len().max(1) as f64;
        let top = self.values.iter().flat_map(|v| v.iter().copied()).max().unwrap_or(0).max(1) as f64;
        let slot = w / n;
        let x = |c: usize| c as f64 * slot + slot / 2.0;
        let y = |v: u64| h - v as f64 / top * (h - 10.0);
        self.open_svg(b, "0 0 720 200");
        for (s, name) in self.series.iter().enumerate() {
            let points: Vec<String> =
                self.values.iter().enumerate().map(|(c, row)| format!("{:.1},{:.1}", x(c), y(row[s]))).collect();
            b.s("<polyline class=\"line\"");
            self.series_attr(b, s);
            b.s(" points=\"").t(points.join(" ")).s("\"/>");
            if self.categories.len() <= POINTS_MARKED_MAX {
                for (c, row) in self.values.iter().enumerate() {
                    b.s("<circle class=\"point\"");
                    self.series_attr(b, s);
                    b.s(" cx=\"").t(n1(x(c))).s("\" cy=\"").t(n1(y(row[s]))).s("\" r=\"2.5\"><title>");
                    b.t(format!("{} {name} {}", self.categories[c], row[s])).s("</title></circle>");
                }
            }
        }
        self.x_axis(b, slot);
        b.s("<text x=\"0\" y=\"10\">").t(format!("max {}", top as u64)).s("</text></svg>");
    }

    /// One donut of the series' totals, or one per category.
    fn donuts(&self, b: &mut Html) {
        let rings: Vec<(Option<&str>, Vec<u64>)> = if self.donut_per_category {
            self.categories.iter().zip(&self.values).map(|(c, v)| (Some(c.as_str()), v.clone())).collect()
        } else {
            let totals = (0..self.series.len()).map(|s| self.values.iter().map(|row| row[s]).sum::<u64>()).collect();
            vec![(None, totals)]
        };
        // 180 units a ring, side by side.
        let view = match rings.len() {
            0 | 1 => "0 0 180 200",
            2 => "0 0 360 200",
            3 => "0 0 540 200",
            _ => "0 0 720 200",
        };
        self.open_svg(b, view);
        for (i, (label, values)) in rings.iter().take(4).enumerate() {
            let (cx, cy, outer, inner) = (90.0 + 180.0 * i as f64, 90.0, 80.0, 48.0);
            let total: u64 = values.iter().sum();
            b.s("<circle class=\"ring\" cx=\"").t(n1(cx)).s("\" cy=\"").t(n1(cy)).s("\" r=\"");
            b.t(n1((outer + inner) / 2.0)).s("\" stroke-width=\"").t(n1(outer - inner)).s("\"/>");
            let mut start = 0.0_f64;
            for (s, v) in values.iter().enumerate() {
                if *v == 0 {
                    continue;
                }
                let sweep = *v as f64 / total as f64 * std::f64::consts::TAU;
                b.s("<path");
                self.series_attr(b, s);
                b.s(" d=\"").t(slice_path(cx, cy, outer, inner, start, sweep)).s("\"><title>");
                let pct = *v as f64 * 100.0 / total as f64;
                let of = label.map(|l| format!("{l} ")).unwrap_or_default();
                b.t(format!("{of}{} {v} ({pct:.1} %)", self.series[s])).s("</title></path>");
                start += sweep;
            }
            b.s("<text class=\"total\" x=\"").t(n1(cx)).s("\" y=\"").t(n1(cy + 4.0)).s("\" text-anchor=\"middle\">");
            b.t(total).s("</text>");
            if let Some(l) = label {
                b.s("<text x=\"").t(n1(cx)).s("\" y=\"196\" text-anchor=\"middle\">").t(l).s("</text>");
            }
        }
        b.s("</svg>");
    }

    /// The chart's numbers (its text alternative), folded away under the chart.
    fn table(&self, b: &mut Html) {
        b.s("<details class=\"chart-data\"><summary>").t(text::CHART_DATA).s("</summary><div class=\"scroll\">");
        b.s("<table class=\"counts\"><caption>").t(&self.title).s("</caption><thead><tr><th scope=\"col\">");
        b.t(self.category_label).s("</th>");
        for s in &self.series {
            b.el("<th scope=\"col\">", s, "</th>");
        }
        b.s("<th scope=\"col\">").t(text::TOTAL).s("</th></tr></thead><tbody>");
        for (c, row) in self.categories.iter().zip(&self.values) {
            b.el("<tr><th scope=\"row\">", c, "</th>");
            for v in row {
                b.el("<td class=\"num\">", v, "</td>");
            }
            b.el("<td class=\"num\">", row.iter().sum::<u64>(), "</td></tr>");
        }
        b.s("</tbody></table></div></details>");
    }
}

/// A ring slice from `start` over `sweep` radians (clockwise from the top), as two arcs of
/// half the sweep each: never a large arc, and a whole ring (one series) still draws.
fn slice_path(cx: f64, cy: f64, outer: f64, inner: f64, start: f64, sweep: f64) -> String {
    let at = |r: f64, a: f64| (cx + r * a.sin(), cy - r * a.cos());
    let (mid, end) = (start + sweep / 2.0, start + sweep);
    let (o0, o1, o2) = (at(outer, start), at(outer, mid), at(outer, end));
    let (i2, i1, i0) = (at(inner, end), at(inner, mid), at(inner, start));
    format!(
        "M{:.2} {:.2}A{outer} {outer} 0 0 1 {:.2} {:.2}A{outer} {outer} 0 0 1 {:.2} {:.2}\
         L{:.2} {:.2}A{inner} {inner} 0 0 0 {:.2} {:.2}A{inner} {inner} 0 0 0 {:.2} {:.2}Z",
        o0.0, o0.1, o1.0, o1.1, o2.0, o2.1, i2.0, i2.1, i1.0, i1.1, i0.0, i0.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            id: "t",
            title: "<b>t</b>".into(),
            category_label: "Period",
            categories: vec!["2026-01-01".into(), "<x>".into()],
            attr: SeriesAttr::Status,
            series: vec!["SUCCESS".into(), "DECLINED".into()],
            values: vec![vec![3, 1], vec![0, 2]],
            donut_per_category: false,
        }
    }

    #[test]
    fn every_kind_is_an_image_with_a_title_and_a_table_and_escapes() {
        for kind in Kind::ALL {
            let mut b = Html::new();
            chart().render(&mut b, kind);
            let s = b.into_string();
            assert!(s.contains("role=\"img\" aria-labelledby=\"chart-t-title\"><title id=\"chart-t-title\">"), "{s}");
            assert!(s.contains("&lt;b&gt;t&lt;/b&gt;") && !s.contains("<b>") && !s.contains("<x>"), "{s}");
            assert!(s.contains("<th scope=\"row\">&lt;x&gt;</th><td class=\"num\">0</td><td class=\"num\">2</td>"));
            let marks = match kind {
                Kind::Bars => "<rect data-status=\"DECLINED\"",
                Kind::Line => "<polyline class=\"line\" data-status=\"DECLINED\"",
                Kind::Donut => "<path data-status=\"DECLINED\"",
            };
            assert!(s.contains(marks), "{kind:?}: {s}");
        }
    }

    #[test]
    fn a_donut_of_one_series_is_a_whole_ring() {
        let mut c = chart();
        c.values = vec![vec![5, 0]];
        c.categories.truncate(1);
        let mut b = Html::new();
        c.render(&mut b, Kind::Donut);
        let s = b.into_string();
        assert!(s.contains("<title>SUCCESS 5 (100.0 %)</title>"), "{s}");
        assert!(!s.contains("data-status=\"DECLINED\" d="), "{s}");
        // Top, bottom (half way), back to the top.
        assert!(s.contains("d=\"M90.00 10.00A80 80 0 0 1 90.00 170.00A80 80 0 0 1 90.00 10.00L"), "{s}");
    }

    #[test]
    fn kinds_read_from_the_query() {
        assert_eq!(Kind::of(Some("line")), Kind::Line);
        assert_eq!(Kind::of(Some("donut")), Kind::Donut);
        assert_eq!(Kind::of(Some("pie\"")), Kind::Bars);
        assert_eq!(Kind::of(None), Kind::Bars);
    }
}
