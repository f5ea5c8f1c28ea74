//! Phantom generator: realistic sagittal T1 / STIR / T2-FS DICOM exams of the
//! thoracolumbar spine with exact per-vertebra ground truth (SPEC §5).
