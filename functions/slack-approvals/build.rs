//! Bundles and validates `runbooks/*.json` into the slack-approvals binary (it needs each key's
//! mode and approvers; see `functions/bundle_runbooks.rs`): the same files as the
//! alert-remediator bundles.

include!("../bundle_runbooks.rs");
