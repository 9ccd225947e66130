//! The function's `SELFHEAL_*` settings. They are read with every other setting in
//! [`selfheal_aws::settings::approvals`] (every problem at once, secrets never echoed); these names
//! stay here for `main` and the tests: `FunctionSettings::from_env()` / `from_lookup(…)`.

pub use selfheal_aws::settings::approvals::{
    FunctionSettings, SecretSource, DEFAULT_RESPONSE_URL_PREFIX, DEFAULT_SLACK_API_URL,
};
