//! `selfheal-service`: the remediation flow over small traits, and in-memory fakes of them.
//!
//! What it is: the handler that turns a batch of SQS records into recorded outcomes, applying every
//! guard of DESIGN §1 in order; the ports it talks through ([`ports`]); fakes for tests.
//! What it is not: it holds no AWS SDK code (that is `selfheal-aws`) and reads no wall clock
//! directly (time comes from the [`ports::Clock`] port).

mod approvals;
mod batch_reads;
mod driver;
pub mod engine;
pub mod failpoints;
mod finish;
mod flow;
pub mod machine;
pub mod outcome;
pub mod phase;
mod poll_rounds;
pub mod ports;
pub mod press;
mod record;
pub mod report;
pub mod runbook_files;
pub mod script;
pub mod verdict;

pub use engine::{Engine, EngineSettings, InboundRecord, Ports, RecordResult};
pub use outcome::Outcome;
pub use selfheal_core::calendar::day_string;
pub mod chat;
pub mod fakes;
pub mod metrics;
