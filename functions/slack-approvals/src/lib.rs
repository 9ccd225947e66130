//! `slack-approvals`: the Lambda behind a function URL that receives Slack's interactivity
//! payloads for runbooks in mode `approve` (the Run / Skip buttons) and puts the decision on the
//! alert queue. Wiring only: the handler and its ports are `selfheal_service::press`, the AWS
//! adapters `selfheal_aws::approvals_store`, the Slack ones (group lookup, replies and their
//! rendering) `selfheal_aws::slack::{directory, replies}`; this crate holds the settings, the
//! bundled runbooks and `main`. The names below are re-exported for its tests and the CLI's.

pub mod settings;

pub use selfheal_aws::approvals_store as adapters;
/// What a test or the function gives the handler to post replies: it receives the Slack JSON.
pub use selfheal_aws::slack::replies::SlackResponder as Responder;
pub use selfheal_aws::slack::replies::{answer_press as handle, SlackAnswer};
pub use selfheal_service::press::{
    ApprovalQueue, ApprovalStore, Directory, EventError, HttpRequest, HttpResponse, Inserted,
    PressError, PressReply, SigningSecret, STALE_RECORD_MS,
};

/// Everything the handler needs, with the signing secret as a redacted
/// [`selfheal_aws::slack::Secret`] and a responder that posts rendered Slack JSON.
pub type App = selfheal_service::press::App<
    selfheal_aws::slack::Secret,
    dyn selfheal_aws::slack::SlackResponder,
>;

include!(concat!(env!("OUT_DIR"), "/runbooks.rs"));
