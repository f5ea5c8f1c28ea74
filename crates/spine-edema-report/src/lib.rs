//! Presentation of what `spine-edema` computed: CSV, JSON, HTML, PNG overlays and plots,
//! and the command-line tool built on them. No analysis happens here.

pub mod atomic;
pub mod batch_report;
pub mod cli;
pub mod commands;
pub mod exam_id;
pub mod fingerprint;
pub mod html;
pub mod overlay;
pub mod overlay_files;
pub mod plots;
pub mod privacy;
pub mod settings;
pub mod tables;
