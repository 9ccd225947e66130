//! Human approval from Slack (runbook `mode: "approve"`): pure building blocks shared by the
//! `slack-approvals` function (which receives the button press) and the engine (which resumes
//! the claim that is `awaiting-approval`).
//!
//! The flow:
//!
//! 1. The engine runs the precheck, records `awaiting-approval` and announces the alert with the
//!    two Run / Skip buttons (rendered by `selfheal_aws::slack::blocks::actions_block`): **Run**
//!    (`action_id` [`ACTION_RUN`]) and **Skip**
//!    ([`ACTION_SKIP`]). Both carry the same [`ButtonValue`] (identity, key, requested and expiry
//!    time) as compact JSON.
//! 2. Slack posts a `block_actions` payload to the function URL. The function checks, in order:
//!    the request signature and its age ([`verify_signature`], 401), the payload
//!    ([`parse_press`], 400), the runbook (403 when no runbook in mode `approve` matches the key),
//!    the expiry ([`check_expiry`], 410), and the user ([`AllowList::check`], 403). The button
//!    value is never trusted alone: its expiry is capped by the Slack message's own timestamp
//!    plus the TTL, and the approvers come from the reviewed runbook, not from the button.
//! 3. The press is recorded once ([`ApprovalRecord`] at `pk = approval#<identity>`,
//!    `sk = approval`, conditional put) and then the [`Approval`] is sent to the alert queue as
//!    [`approval_message`]; the engine recognises it with [`parse_approval`].
//!
//! Nothing here reads a clock: every time is an argument (epoch milliseconds, or seconds where
//! Slack speaks seconds).
//!
//! What this module is, and is not: pure functions and data types — parsing, checking,
//! encoding and building. It does no I/O (no HTTP, no DynamoDB, no SQS, no Slack API calls):
//! the `slack-approvals` function, the engine and the AWS adapters do the I/O around it. Every public item is re-exported here, so callers write
//! `selfheal_core::approval::X` whichever file holds `X`:
//!
//! - `error.rs`: [`ApprovalError`], each refusal with its HTTP status;
//! - `signature.rs`: Slack request signing and [`verify_signature`];
//! - `button.rs`: [`Decision`] (Run or Skip) and the [`ButtonValue`] both buttons carry;
//! - `interaction.rs`: the `block_actions` payload ([`parse_interaction`], [`parse_press`]) and
//!   Slack user and user-group ids;
//! - `expiry.rs`: [`check_expiry`] and Slack timestamps;
//! - `allow_list.rs`: who may press ([`AllowList`]);
//! - `record.rs`: the stored [`ApprovalRecord`] and its keys ([`record_pk`], [`RECORD_SK`]);
//! - `codec.rs`: the [`Approval`] on the alert queue ([`approval_message`],
//!   [`parse_approval`]).
//!
//! No Slack rendering either: the Run / Skip buttons and the replies to a press are Block Kit,
//! built in `selfheal_aws::slack::{blocks, replies}`.

mod allow_list;
mod button;
mod codec;
mod error;
mod expiry;
mod interaction;
mod record;
mod signature;

pub use allow_list::{AllowList, AllowedBy, GroupMembers};
pub use button::{ButtonValue, Decision, ACTION_RUN, ACTION_SKIP, MAX_BUTTON_VALUE_CHARS};
pub use codec::{approval_message, parse_approval, Approval, MESSAGE_FIELD};
pub use error::ApprovalError;
pub use expiry::{check_expiry, slack_ts_ms};
pub use interaction::{
    is_group_id, is_user_id, parse_interaction, parse_press, press_id, Interaction, Press,
};
pub use record::{record_pk, ApprovalRecord, RECORD_SK, RECORD_TTL_SECONDS};
pub use signature::{
    sign, verify_signature, MAX_CLOCK_SKEW_SECONDS, SIGNATURE_HEADER, SIGNATURE_VERSION,
    TIMESTAMP_HEADER,
};

pub use crate::calendar::EpochMillis;

/// How long an approval request stays open by default.
pub const DEFAULT_TTL_MS: EpochMillis = 30 * 60 * 1000;
/// Version of [`ButtonValue`] and of the queue message.
pub const FORMAT_VERSION: u32 = 1;
