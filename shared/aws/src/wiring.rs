//! Wiring: every port built from the settings and the clients. It lives in [`crate::startup`]
//! now (the one start-up path); these names stay for existing callers.

pub use crate::startup::{build_engine, warm_connections, WiringOptions};
