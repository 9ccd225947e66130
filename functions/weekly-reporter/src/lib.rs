//! `weekly_reporter`: the weekly-reporter Lambda's one piece of its own, the chart's PNG
//! renderer ([`png`], resvg with an embedded font). The report's flow and ports are
//! `selfheal_service::report`; its AWS adapters are `selfheal_aws::report`; `src/main.rs` wires
//! them.

pub mod png;
