//! Exam identifiers used in file names and tables: `<patient>_<date>_<8 hex>`, stable
//! across runs, safe in file names, and free of identifiers when pseudonymising.

use crate::privacy::Pseudonymizer;
use chrono::NaiveDate;

/// Keeps letters, digits and '-', folds the rest to '-', and bounds the length so a
/// hostile PatientID cannot make an unusable file name.
pub fn sanitize(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "unknown".to_string()
    } else {
        s
    }
}

/// The exam id for a patient, date and exam key (StudyInstanceUID or NIfTI prefix).
pub fn exam_id(
    pseudonymizer: &Pseudonymizer,
    patient_id: &str,
    date: Option<NaiveDate>,
    key: &str,
) -> String {
    let patient = sanitize(&pseudonymizer.apply("patient", patient_id));
    let date = date.map_or_else(|| "nodate".to_string(), |d| d.format("%Y%m%d").to_string());
    let token = if pseudonymizer.is_active() {
        pseudonymizer
            .apply("study", key)
            .rsplit('-')
            .next()
            .unwrap_or_default()
            .chars()
            .take(8)
            .collect::<String>()
    } else {
        blake3::hash(key.as_bytes()).to_hex().as_str()[..8].to_string()
    };
    format!("{patient}_{date}_{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_file_safe_stable_and_pseudonymous() {
        let plain = Pseudonymizer::identity();
        let date = NaiveDate::from_ymd_opt(2025, 3, 4);
        let id = exam_id(&plain, "PAT/../01", date, "1.2.3");
        assert!(id.starts_with("PAT----01_20250304_"), "{id}");
        assert_eq!(id, exam_id(&plain, "PAT/../01", date, "1.2.3"));
        assert_ne!(id, exam_id(&plain, "PAT/../01", date, "1.2.4"));
        let keyed = Pseudonymizer::keyed("k");
        let pid = exam_id(&keyed, "PAT01", date, "1.2.3");
        assert!(
            !pid.contains("PAT01") && pid.starts_with("patient-"),
            "{pid}"
        );
        assert_eq!(sanitize("///"), "unknown");
    }
}
