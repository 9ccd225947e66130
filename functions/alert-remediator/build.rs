//! Bundles and validates `runbooks/*.json` (see `functions/bundle_runbooks.rs`).

include!("../bundle_runbooks.rs");
