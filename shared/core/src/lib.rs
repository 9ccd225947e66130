//! `selfheal-core`: the pure heart of selfheal.
//!
//! What it is: alert ingestion (every payload shape of DESIGN §3), the runbook map model and its
//! validation (DESIGN §2), the decision function [`decide()`], the offline plan view, and the
//! report aggregation.
//!
//! What it is not: it does no I/O, has no async, no AWS SDK and no clock. Time, file contents and
//! looked-up facts (an instance's role tag) are passed in as arguments, so every function here is
//! deterministic and tested with data-driven fixtures.

pub mod alert;
pub mod approval;
pub mod calendar;
pub mod decide;
pub mod history;
pub mod ingest;
pub mod instance;
pub mod location;
pub mod mrkdwn;
pub mod plan;
pub mod report;
pub mod runbook;
pub mod silence;

pub use alert::{claim_id, AlarmState, Alert, InvalidRecord, Source};
pub use decide::{decide, Action, Decision};
pub use ingest::{parse_body, parse_document, IngestedRecord, RecordMeta};
pub use instance::InstanceId;
pub use runbook::{Diagnostic, Mode, RunbookEntry, RunbookMap, RunbookSource, Severity};
