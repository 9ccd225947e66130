//! `slack-approvals`: the Lambda behind a function URL that receives Slack's interactivity
//! payloads for runbooks in mode `approve` (the Run / Skip buttons) and puts the decision on the
//! alert queue. Wiring only: the handler and its ports are `selfheal_service::press`, the AWS and
//! Slack adapters `selfheal_aws::approvals_store`; this crate holds the settings, the bundled
//! runbooks and `main`. The names below are re-exported for its tests and the CLI's.

pub mod settings;

pub use selfheal_aws::approvals_store as adapters;
pub use selfheal_service::press::{
    handle, ApprovalQueue, ApprovalStore, Directory, HttpRequest, HttpResponse, Inserted,
    PressError, Responder, SigningSecret, STALE_RECORD_MS,
};

/// Everything the handler needs, with the signing secret as a redacted [`selfheal_aws::slack::Secret`].
pub type App = selfheal_service::press::App<selfheal_aws::slack::Secret>;

include!(concat!(env!("OUT_DIR"), "/runbooks.rs"));
