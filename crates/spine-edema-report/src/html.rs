//! The HTML report: one self-contained file (images inlined as base64, plots as inline
//! SVG, no script, no network), readable in any browser and safe to archive or e-mail.
//! Tables carry `data-exam-id` / `data-patient-id` attributes so scripts (and the
//! browser test) can find an exam's rows without parsing headings.

use base64::Engine;
use std::fmt::Write;

/// A table: headers and rows of already formatted cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows; each row has one cell per header.
    pub rows: Vec<Vec<String>>,
    /// Optional CSS class per row (e.g. a grade), same length as `rows` or empty.
    pub row_classes: Vec<String>,
}

/// One picture with its caption.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Caption under the image.
    pub caption: String,
    /// PNG bytes.
    pub png: Vec<u8>,
}

/// One exam's section.
#[derive(Clone, Debug, Default)]
pub struct ExamSection {
    /// Exam identifier (anchor and heading).
    pub exam_id: String,
    /// Short facts shown under the heading (patient, date, series used, mode, …).
    pub facts: Vec<(String, String)>,
    /// Warnings and notes.
    pub notes: Vec<String>,
    /// Overlay images.
    pub figures: Vec<Figure>,
    /// Per-vertebra table.
    pub vertebrae: Table,
}

/// One patient's change-over-time section.
#[derive(Clone, Debug, Default)]
pub struct PatientSection {
    /// Patient identifier.
    pub patient_id: String,
    /// Changes between exams, per level.
    pub changes: Table,
}

/// The whole report.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Page title.
    pub title: String,
    /// Line under the title (tool version, number of exams, …).
    pub subtitle: String,
    /// Cohort plots: (title, SVG markup).
    pub plots: Vec<(String, String)>,
    /// Patients with more than one exam.
    pub patients: Vec<PatientSection>,
    /// Exams.
    pub exams: Vec<ExamSection>,
    /// Exams that could not be scored.
    pub failures: Table,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    out
}

fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const STYLE: &str = r#"
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:40px}
.sub{color:#666;margin-top:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
tr.none td:first-child{border-left:6px solid #8fbf7f}tr.minor td:first-child{border-left:6px solid #f6d55c}
tr.moderate td:first-child{border-left:6px solid #ed9b40}tr.severe td:first-child{border-left:6px solid #b0281c}
figure{display:inline-block;margin:0 12px 12px 0;vertical-align:top}
figure img{height:440px;width:auto;border:1px solid #999;image-rendering:auto}
figcaption{font-size:12px;color:#555}
.facts{font-size:13px;color:#444}.facts b{color:#222}
.notes{color:#8a5300;font-size:13px}
.plots svg{margin:0 16px 16px 0;border:1px solid #eee}
nav a{margin-right:10px;font-size:13px}
"#;

/// Writes a table; `data` is an optional `data-*` attribute (name, value) naming what the
/// table is about.
fn table(out: &mut String, t: &Table, class: &str, data: Option<(&str, &str)>) {
    let _ = write!(out, r#"<table class="{class}""#);
    if let Some((name, value)) = data {
        let _ = write!(out, r#" data-{name}="{}""#, escape(value));
    }
    out.push_str("><thead><tr>");
    for h in &t.headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, row) in t.rows.iter().enumerate() {
        match t.row_classes.get(i).filter(|c| !c.is_empty()) {
            Some(c) => {
                let _ = write!(out, r#"<tr class="{}">"#, escape(c));
            }
            None => out.push_str("<tr>"),
        }
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// Renders the report to a complete HTML document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><p class="sub">{s}</p>"#,
        t = escape(&report.title),
        s = escape(&report.subtitle)
    );
    out.push_str("<nav>");
    for e in &report.exams {
        let _ = write!(
            out,
            r##"<a href="#{}">{}</a>"##,
            anchor(&e.exam_id),
            escape(&e.exam_id)
        );
    }
    out.push_str("</nav>");
    if !report.plots.is_empty() {
        out.push_str(r#"<h2>Cohort</h2><div class="plots">"#);
        for (title, svg) in &report.plots {
            let _ = write!(
                out,
                r#"<div title="{}" style="display:inline-block">{svg}</div>"#,
                escape(title)
            );
        }
        out.push_str("</div>");
    }
    for p in &report.patients {
        let _ = write!(
            out,
            "<h2>Patient {} — change over time</h2>",
            escape(&p.patient_id)
        );
        table(
            &mut out,
            &p.changes,
            "changes",
            Some(("patient-id", &p.patient_id)),
        );
    }
    for e in &report.exams {
        let _ = write!(
            out,
            r#"<h2 id="{}">Exam {}</h2><p class="facts">"#,
            anchor(&e.exam_id),
            escape(&e.exam_id)
        );
        for (k, v) in &e.facts {
            let _ = write!(out, "<b>{}</b>: {} &nbsp; ", escape(k), escape(v));
        }
        out.push_str("</p>");
        for n in &e.notes {
            let _ = write!(out, r#"<p class="notes">⚠ {}</p>"#, escape(n));
        }
        for f in &e.figures {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&f.png);
            let _ = write!(
                out,
                r#"<figure><img alt="{c}" src="data:image/png;base64,{b64}"><figcaption>{c}</figcaption></figure>"#,
                c = escape(&f.caption)
            );
        }
        table(
            &mut out,
            &e.vertebrae,
            "vertebrae",
            Some(("exam-id", &e.exam_id)),
        );
    }
    if !report.failures.rows.is_empty() {
        out.push_str("<h2>Not scored</h2>");
        table(&mut out, &report.failures, "failures", None);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_escaped_self_contained_page() {
        let report = Report {
            title: "Edema <report>".into(),
            subtitle: "2 exams".into(),
            plots: vec![("p".into(), "<svg></svg>".into())],
            patients: vec![],
            exams: vec![ExamSection {
                exam_id: "P1 2025".into(),
                facts: vec![("mode".into(), "t1+stir".into())],
                notes: vec!["partial body".into()],
                figures: vec![Figure {
                    caption: "T1".into(),
                    png: vec![1, 2, 3],
                }],
                vertebrae: Table {
                    headers: vec!["level".into(), "BME %".into()],
                    rows: vec![vec!["L1".into(), "40.0".into()]],
                    row_classes: vec!["moderate".into()],
                },
            }],
            failures: Table::default(),
        };
        let html = render(&report);
        assert!(html.contains("Edema &lt;report&gt;"));
        assert!(html.contains(r#"id="P1_2025""#));
        assert!(html.contains("data:image/png;base64,AQID"));
        assert!(html.contains(r#"<tr class="moderate"><td>L1</td><td>40.0</td></tr>"#));
        assert!(html.contains(r#"<table class="vertebrae" data-exam-id="P1 2025">"#));
        assert!(!html.contains("<script"), "no script");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network references"
        );
        assert!(!html.contains("Not scored"));
    }
}
