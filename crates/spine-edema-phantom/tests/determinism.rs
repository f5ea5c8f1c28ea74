//! The same options must give byte-identical DICOM and truth.

mod common;

use spine_edema_phantom::{Preset, generate_patient, write_patient};

#[test]
fn same_seed_gives_identical_files_and_other_seed_differs() {
    for compressed in [false, true] {
        let opts = common::small(Preset::Lumbar, 21, compressed);
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_patient(&generate_patient(&opts).unwrap(), a.path()).unwrap();
        write_patient(&generate_patient(&opts).unwrap(), b.path()).unwrap();
        let fa = common::files_under(a.path());
        let fb = common::files_under(b.path());
        let rel = |d: &std::path::Path, f: &[std::path::PathBuf]| {
            f.iter()
                .map(|p| p.strip_prefix(d).unwrap().to_path_buf())
                .collect::<Vec<_>>()
        };
        assert_eq!(rel(a.path(), &fa), rel(b.path(), &fb));
        assert!(fa.len() > 40, "only {} files", fa.len());
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{}",
                x.display()
            );
        }
    }
    let one = generate_patient(&common::small(Preset::Lumbar, 21, false)).unwrap();
    let two = generate_patient(&common::small(Preset::Lumbar, 22, false)).unwrap();
    assert_ne!(
        one.exams[0].series[0].volume.voxels,
        two.exams[0].series[0].volume.voxels
    );
    assert_ne!(
        one.exams[0].truth.study_instance_uid,
        two.exams[0].truth.study_instance_uid
    );
}
