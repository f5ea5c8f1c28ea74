//! NIfTI exams named BIDS-style, as dcm2niix and BIDS converters write them:
//! `sub-01_ses-base_T1w.nii.gz`, `sub-01_ses-base_STIR.nii.gz`, `sub-01_ses-base_T2w.nii.gz`,
//! `sub-01_ses-base_acq-fs_T2w.nii.gz`. Files sharing everything before the suffix form one
//! exam. Without a DICOM header the contrast comes from the suffix alone, so only these
//! suffixes are accepted; anything else in the folder is ignored.

use crate::series::Contrast;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One NIfTI exam found by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NiftiExamFiles {
    /// Shared name prefix (e.g. `sub-01_ses-base`), used as the exam id.
    pub exam_id: String,
    /// `sub-` entity, or the prefix when there is none.
    pub patient_id: String,
    /// `ses-` entity, if any.
    pub session: Option<String>,
    /// `*_T1w` volume.
    pub t1: Option<PathBuf>,
    /// `*_STIR` volume.
    pub stir: Option<PathBuf>,
    /// `*_acq-fs_T2w` volume (fat-suppressed T2).
    pub t2fs: Option<PathBuf>,
    /// `*_T2w` volume (no fat suppression).
    pub t2: Option<PathBuf>,
}

impl NiftiExamFiles {
    /// The fluid-sensitive (or T2) file to use, best first: STIR, T2 fat-sat, T2.
    pub fn fluid(&self) -> Option<(Contrast, &Path)> {
        self.stir
            .as_deref()
            .map(|p| (Contrast::Stir, p))
            .or(self.t2fs.as_deref().map(|p| (Contrast::T2FatSat, p)))
            .or(self.t2.as_deref().map(|p| (Contrast::T2, p)))
    }
}

/// Splits a file name into (exam prefix, contrast) when it has one of the accepted suffixes.
pub fn classify_name(name: &str) -> Option<(String, Contrast)> {
    let stem = name
        .strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))?;
    const SUFFIXES: [(&str, Contrast); 4] = [
        ("_acq-fs_T2w", Contrast::T2FatSat),
        ("_T1w", Contrast::T1),
        ("_STIR", Contrast::Stir),
        ("_T2w", Contrast::T2),
    ];
    SUFFIXES.iter().find_map(|(suffix, contrast)| {
        stem.strip_suffix(suffix)
            .filter(|p| !p.is_empty())
            .map(|p| (p.to_string(), *contrast))
    })
}

fn entity(prefix: &str, key: &str) -> Option<String> {
    prefix
        .split('_')
        .find_map(|part| part.strip_prefix(key).map(str::to_string))
        .filter(|v| !v.is_empty())
}

/// Groups BIDS-named NIfTI files (from a list of paths) into exams, sorted by exam id.
pub fn group_nifti_exams<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<NiftiExamFiles> {
    let mut exams: BTreeMap<String, NiftiExamFiles> = BTreeMap::new();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((prefix, contrast)) = classify_name(name) else {
            continue;
        };
        let exam = exams
            .entry(prefix.clone())
            .or_insert_with(|| NiftiExamFiles {
                exam_id: prefix.clone(),
                patient_id: entity(&prefix, "sub-")
                    .map(|s| format!("sub-{s}"))
                    .unwrap_or_else(|| prefix.clone()),
                session: entity(&prefix, "ses-"),
                ..Default::default()
            });
        let slot = match contrast {
            Contrast::T1 => &mut exam.t1,
            Contrast::Stir => &mut exam.stir,
            Contrast::T2FatSat => &mut exam.t2fs,
            _ => &mut exam.t2,
        };
        *slot = Some(path.to_path_buf());
    }
    exams.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_prefix_and_reads_entities() {
        let files = [
            "/d/sub-01_ses-base_T1w.nii.gz",
            "/d/sub-01_ses-base_STIR.nii.gz",
            "/d/sub-01_ses-fu3m_T1w.nii",
            "/d/sub-01_ses-fu3m_acq-fs_T2w.nii.gz",
            "/d/sub-02_T2w.nii.gz",
            "/d/notes.txt",
            "/d/_T1w.nii.gz",
            "/d/sub-03_bold.nii.gz",
        ]
        .map(PathBuf::from);
        let exams = group_nifti_exams(files.iter().map(|p| p.as_path()));
        assert_eq!(exams.len(), 3);
        assert_eq!(exams[0].exam_id, "sub-01_ses-base");
        assert_eq!(exams[0].patient_id, "sub-01");
        assert_eq!(exams[0].session.as_deref(), Some("base"));
        assert_eq!(exams[0].fluid().map(|f| f.0), Some(Contrast::Stir));
        assert_eq!(exams[1].fluid().map(|f| f.0), Some(Contrast::T2FatSat));
        assert!(exams[1].t1.is_some());
        assert_eq!(exams[2].patient_id, "sub-02");
        assert_eq!(exams[2].fluid().map(|f| f.0), Some(Contrast::T2));
        assert!(exams[2].t1.is_none());
    }

    #[test]
    fn fat_suppressed_t2_is_not_mistaken_for_plain_t2() {
        assert_eq!(
            classify_name("x_acq-fs_T2w.nii.gz"),
            Some(("x".into(), Contrast::T2FatSat))
        );
        assert_eq!(
            classify_name("x_T2w.nii.gz"),
            Some(("x".into(), Contrast::T2))
        );
        assert_eq!(classify_name("x_T2w.nii.bak"), None);
    }
}
