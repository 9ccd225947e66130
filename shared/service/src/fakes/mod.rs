//! In-memory fakes of every port, with fault injection, for deterministic tests and benchmarks.
//! They keep the same semantics as the AWS adapters (conditional writes, lease expiry), and
//! record what happened so tests can assert on it.
//!
//! What they are: the ports the fault matrix, the property tests and the deterministic
//! simulation run the engine over, so the engine's invariants are proved over them. They are
//! held to the real adapters by the contract suite (`shared/aws/tests/contract.rs` and
//! `shared/aws/tests/contract/`): the same assertions run against each fake and against the
//! adapter on moto, and a fake that passes where AWS would not is a defect of the fake. That
//! covers [`FakeStore`], [`FakeExecutor`], [`FakeTags`], [`FakeAlarms`], [`FakeMode`] and
//! [`LostResponses`] over the store and the executor.
//!
//! What they are not: a model of everything AWS does. [`FakeStore`] does not model TTL deletion
//! (see its doc); [`FakeClock`] is virtual time, [`Recorder`] only keeps what the chat and
//! escalation ports were given, and [`FakeWorld`] only wires the fakes together: none of these
//! three has a real counterpart in the contract suite.
//!
//! One file per concern: `clock`, `executor` (SSM RunCommand), `store` (the DynamoDB
//! state table, one file per item kind), `tags`, `alarms`, `mode` (the kill switch),
//! `recorder` (chat and escalation), `lossy` (answers lost after the call took effect), and
//! `world` (every fake wired together). Everything is re-exported here, so a fake's path is
//! `selfheal_service::fakes::FakeStore` whichever file holds it.

mod alarms;
mod clock;
mod executor;
mod lossy;
mod mode;
mod recorder;
mod store;
mod tags;
mod world;

pub use alarms::FakeAlarms;
pub use clock::FakeClock;
pub use executor::{CommandPlan, FakeExecutor, SentCommand, COMMENT_MAX_CHARS, FIND_SKEW_MS};
pub use lossy::{Loss, LostResponses};
pub use mode::FakeMode;
pub use recorder::Recorder;
pub use store::{FakeStore, MAX_ITEM_BYTES, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES};
pub use tags::FakeTags;
pub use world::FakeWorld;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}
