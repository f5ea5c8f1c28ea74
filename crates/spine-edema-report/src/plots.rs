//! Cohort plots as inline SVG, in the style of the reference studies' figures: stacked
//! bars of BME grade per time point (study B), and the share of vertebrae with moderate
//! or severe edema per follow-up interval (study A). SVG keeps the HTML report one
//! self-contained file that prints sharply and needs no plotting library.

use spine_edema::compare::cohort::{CohortSummary, Share};
use std::fmt::Write;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 320.0;
const MARGIN_LEFT: f64 = 56.0;
const MARGIN_RIGHT: f64 = 130.0;
const MARGIN_TOP: f64 = 36.0;
const MARGIN_BOTTOM: f64 = 48.0;

/// Grade colours, none → severe, readable in greyscale print (light to dark).
const GRADE_COLOURS: [&str; 4] = ["#d9ead3", "#f6d55c", "#ed9b40", "#b0281c"];
const GRADE_NAMES: [&str; 4] = ["none", "minor", "moderate", "severe"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn frame(svg: &mut String, title: &str, y_label: &str) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{t}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
        t = escape(title)
    );
    let _ = write!(svg, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = write!(
        svg,
        r#"<text x="{}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        MARGIN_LEFT,
        escape(title)
    );
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    for pct in [0, 25, 50, 75, 100] {
        let y = MARGIN_TOP + plot_h * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            svg,
            r##"<line x1="{MARGIN_LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{pct} %</text>"##,
            WIDTH - MARGIN_RIGHT,
            MARGIN_LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = write!(
        svg,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        MARGIN_TOP + plot_h / 2.0,
        escape(y_label)
    );
}

fn bar_geometry(n: usize, index: usize) -> (f64, f64) {
    let plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let slot = plot_w / n.max(1) as f64;
    (MARGIN_LEFT + slot * index as f64 + slot * 0.2, slot * 0.6)
}

/// Study B's figure: per time point, the distribution of bodies over the four grades,
/// as stacked 100 % bars labelled with the number of bodies.
pub fn grade_distribution_svg(summary: &CohortSummary) -> String {
    let mut svg = String::new();
    frame(
        &mut svg,
        "BME grade (Voormolen) by time point",
        "share of vertebrae",
    );
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let groups = &summary.grade_distribution;
    for (i, g) in groups.iter().enumerate() {
        let (x, w) = bar_geometry(groups.len(), i);
        let total = g.total();
        let mut y = MARGIN_TOP + plot_h;
        for (grade, &count) in g.counts.iter().enumerate() {
            if total == 0 || count == 0 {
                continue;
            }
            let h = plot_h * count as f64 / total as f64;
            y -= h;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}" stroke="#555" stroke-width="0.5"><title>{}: {count} of {total}</title></rect>"##,
                GRADE_COLOURS[grade], GRADE_NAMES[grade]
            );
            if h > 14.0 {
                let _ = write!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{count}</text>"#,
                    x + w / 2.0,
                    y + h / 2.0 + 4.0
                );
            }
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#666">n = {total}</text>"##,
            x + w / 2.0,
            HEIGHT - MARGIN_BOTTOM + 16.0,
            escape(&g.time_point),
            x + w / 2.0,
            HEIGHT - MARGIN_BOTTOM + 32.0
        );
    }
    for (grade, name) in GRADE_NAMES.iter().enumerate().rev() {
        let y = MARGIN_TOP + 10.0 + (3 - grade) as f64 * 20.0;
        let x = WIDTH - MARGIN_RIGHT + 16.0;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="14" height="14" fill="{}" stroke="#555" stroke-width="0.5"/><text x="{}" y="{}">{name}</text>"##,
            GRADE_COLOURS[grade],
            x + 20.0,
            y + 11.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A bar chart of shares (one bar per group) with count/total under each bar; used for
/// study A's figure (moderate or severe edema per interval bin) and for the share of
/// bodies whose edema resolved per visit.
pub fn share_svg(title: &str, y_label: &str, shares: &[Share]) -> String {
    let mut svg = String::new();
    frame(&mut svg, title, y_label);
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    for (i, s) in shares.iter().enumerate() {
        let (x, w) = bar_geometry(shares.len(), i);
        if let Some(f) = s.fraction() {
            let h = plot_h * f;
            let y = MARGIN_TOP + plot_h - h;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#4a78a8"><title>{}: {} of {}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle">{:.0} %</text>"##,
                escape(&s.group),
                s.count,
                s.total,
                x + w / 2.0,
                y - 4.0,
                f * 100.0
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#666">{}/{}</text>"##,
            x + w / 2.0,
            HEIGHT - MARGIN_BOTTOM + 16.0,
            escape(&s.group),
            x + w / 2.0,
            HEIGHT - MARGIN_BOTTOM + 32.0,
            s.count,
            s.total
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use spine_edema::compare::cohort::GradeDistribution;

    fn summary() -> CohortSummary {
        CohortSummary {
            grade_distribution: vec![
                GradeDistribution {
                    time_point: "baseline".into(),
                    counts: [0, 10, 40, 50],
                },
                GradeDistribution {
                    time_point: "3m".into(),
                    counts: [35, 30, 25, 10],
                },
            ],
            moderate_or_severe_by_interval: vec![Share {
                group: ">6m".into(),
                count: 22,
                total: 100,
            }],
            resolved_by_time_point: vec![Share {
                group: "3m".into(),
                count: 35,
                total: 100,
            }],
            further_height_loss_by_time_point: vec![],
            change_by_time_point: vec![],
        }
    }

    #[test]
    fn grade_plot_has_one_rect_per_nonzero_grade_and_labels() {
        let svg = grade_distribution_svg(&summary());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 3 + 4 stacked segments, 4 legend swatches, 1 background.
        assert_eq!(svg.matches("<rect").count(), 3 + 4 + 4 + 1);
        assert!(svg.contains("baseline") && svg.contains("n = 100"));
    }

    #[test]
    fn share_plot_shows_percent_and_counts_and_escapes_names() {
        let svg = share_svg(
            "t<1>",
            "share",
            &[
                Share {
                    group: "<6w".into(),
                    count: 1,
                    total: 4,
                },
                Share {
                    group: "empty".into(),
                    count: 0,
                    total: 0,
                },
            ],
        );
        assert!(svg.contains("25 %"));
        assert!(svg.contains("1/4") && svg.contains("0/0"));
        assert!(svg.contains("&lt;6w") && !svg.contains("<6w"));
    }
}
