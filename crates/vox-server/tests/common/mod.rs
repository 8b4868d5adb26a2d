//! The shared test kit (`crates/vox-testkit`), under the name these tests have always
//! used.
pub use vox_testkit::*;
