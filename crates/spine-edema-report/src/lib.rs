//! Presentation of what `spine-edema` computed: CSV, JSON, HTML, PNG overlays and plots,
//! and the command-line tool built on them. No analysis happens here.

pub mod atomic;
pub mod fingerprint;
pub mod html;
pub mod overlay;
pub mod plots;
pub mod privacy;
