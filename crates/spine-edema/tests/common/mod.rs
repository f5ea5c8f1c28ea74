//! Helpers shared by the segmentation tests.
#![allow(dead_code)]

pub mod synthetic;
