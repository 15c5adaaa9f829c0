//! The fuzz targets' bodies (see targets.rs), as a library for the fuzz_targets binaries.
pub mod targets;
