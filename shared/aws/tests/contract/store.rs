//! The `StateStore` contracts: `FakeStore` and `DynamoStateStore` (on moto) must answer alike.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_aws::DynamoStateStore;
use selfheal_core::approval::Decision;
use selfheal_service::fakes::FakeStore;
use selfheal_service::ports::{
    Admission, Admitted, ApprovalRecord, BudgetTake, Claim, ClaimAttempt, ClaimState,
    HistoryRecord, NeedsReview, PortError, SilenceRecord, StateStore,
};

use crate::harness::{self, Case};

/// What a store keeps as the item's TTL attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ttl {
    /// The implementation does not model TTL (the fake: see `FakeStore`'s documentation).
    NotModelled,
    /// No such item, or no `expires_at` on it.
    Missing,
    /// `expires_at` as a number.
    Number(i64),
    /// `expires_at` of another type (DynamoDB ignores it for TTL: the item never expires).
    NotANumber(String),
}

/// A fresh, empty store and what the contracts need to look into it.
#[async_trait]
pub trait StoreWorld: Send + Sync {
    fn store(&self) -> Arc<dyn StateStore>;
    /// The items of `hist#<day>` as a Query returns them.
    async fn history_day(&self, day: &str) -> Vec<HistoryRecord>;
    /// The `expires_at` attribute of the item `pk`/`sk`.
    async fn expires_at(&self, pk: &str, sk: &str) -> Ttl;
    /// Stores a silence as `selfheal silence add` does.
    async fn add_silence(&self, r: SilenceRecord);
    /// The needs-review list as `selfheal needs-review list` reads it.
    async fn needs_review(&self) -> Vec<NeedsReview>;
    /// Stores an approval record as `slack-approvals` does.
    async fn put_approval(&self, r: ApprovalRecord);
}

#[async_trait]
pub trait StoreKit: Send + Sync {
    async fn fresh(&self) -> Box<dyn StoreWorld>;
}

pub type Kit = Arc<dyn StoreKit>;

pub fn cases() -> Vec<Case<Kit>> {
    crate::cases![Kit;
        claims_are_conditional,
        concurrent_claims_have_one_winner,
        update_claim_is_versioned_and_stores_every_field,
        a_claim_that_does_not_fit_is_refused_and_changes_nothing,
        put_history_overwrites_the_same_day_and_sort,
        ttl_attributes_are_epoch_seconds,
        attempts_count_within_the_window,
        concurrent_attempts_never_exceed_the_budget,
        leases_hold_at_most_max_holders,
        a_lapsed_lease_is_never_renewed,
        a_close_writes_the_record_and_the_claim_or_neither,
        a_close_leaves_the_lease_it_holds,
        an_admission_takes_everything_or_nothing,
        concurrent_admissions_never_exceed_max,
        concurrent_leases_never_exceed_max,
        fleet_slots_cap_starts_per_hour,
        notes_are_new_once,
        open_approvals_expire_in_order_and_close,
        silences_are_listed_by_id_and_replaced_by_id,
        needs_review_items_are_listed_by_key_and_replaced,
        approval_records_are_read_as_written,
        long_keys_are_refused_as_dynamodb_refuses_them,
    ]
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const T0: i64 = 1_700_000_000_123;

fn claim(identity: &str, owner: &str) -> Claim {
    Claim {
        identity: identity.to_owned(),
        state: ClaimState::Claimed,
        owner: owner.to_owned(),
        owner_until_ms: T0 + 60_000,
        claimed_at_ms: T0,
        attempt: 0,
        version: 1,
        ..Default::default()
    }
}

/// A claim with every field set (the newer ones included).
fn full_claim(identity: &str) -> Claim {
    Claim {
        identity: identity.to_owned(),
        state: ClaimState::AwaitingApproval,
        owner: "worker-2".to_owned(),
        owner_until_ms: T0 + 120_000,
        claimed_at_ms: T0,
        phase: Some("commands".to_owned()),
        command_id: Some("0b2a1c7e-1111-2222-3333-444455556666".to_owned()),
        phase_sent_at_ms: Some(T0 + 5_000),
        command_ids: vec!["cmd-pre".to_owned(), "cmd-main".to_owned()],
        attempt: 2,
        outcome: Some("healed".to_owned()),
        version: 2,
        body: Some(
            r#"{"alert":"nginx_down","instance_id":"i-0123abcd","note":"ünïcødé ✓ \"quoted\""}"#
                .to_owned(),
        ),
        body_message_id: Some("5fea7756-0ea4-451a-a703-a558b933e274".to_owned()),
        role: Some("web".to_owned()),
        key: Some("web:nginx_down".to_owned()),
        runbook: Some("*:nginx_down".to_owned()),
        phases_done: vec!["precheck".to_owned(), "commands".to_owned()],
        approved: true,
        approval_expires_at_ms: Some(T0 + 1_800_000),
        acting_since_ms: Some(T0 + 90_000),
        decided: Some(selfheal_service::ports::Decided {
            outcome: selfheal_service::Outcome::Failed,
            reason: "commands exited 3".to_owned(),
            failed_phase: Some("commands".to_owned()),
            exit_code: Some(3),
            output_tail: Some("…tail ✓".to_owned()),
            announce: selfheal_service::ports::DecidedAnnounce::Remediation { holds_lease: true },
        }),
    }
}

fn history(day: &str, sort: &str, outcome: &str) -> HistoryRecord {
    HistoryRecord {
        day: day.to_owned(),
        sort: sort.to_owned(),
        identity: format!("id-{sort}"),
        key: Some("web:disk_full".to_owned()),
        runbook: Some("*:disk_full".to_owned()),
        role: Some("web".to_owned()),
        alert: Some("disk_full".to_owned()),
        instance: Some("i-0123abcd".to_owned()),
        source: Some("cloudwatch".to_owned()),
        state: Some("ALARM".to_owned()),
        outcome: outcome.to_owned(),
        reason: format!("{outcome} because"),
        attempt: 1,
        received_at_ms: T0,
        finished_at_ms: T0 + 1_000,
        command_ids: vec!["c1".to_owned()],
        failed_phase: None,
        exit_code: Some(0),
        output_tail: None,
        expires_at: 1_800_000_000,
        approver: None,
        decision: None,
        owner: Some("team-web".to_owned()),
        description: Some("Free disk space".to_owned()),
        mode: Some("enforce".to_owned()),
        escalated: Some(false),
        waited_ms: Some(1_200),
    }
}

fn silence(id: &str, scope: &str, reason: &str) -> SilenceRecord {
    SilenceRecord {
        id: id.to_owned(),
        scope: scope.to_owned(),
        until_ms: Some(T0 + 3_600_000),
        window: None,
        tz: None,
        reason: reason.to_owned(),
        created_by: "alice".to_owned(),
        created_at_ms: T0,
    }
}

fn review(key: &str, instance: &str, identity: &str) -> NeedsReview {
    NeedsReview {
        key: key.to_owned(),
        instance: instance.to_owned(),
        budget_key: format!("{key}#{instance}"),
        budget_keys: vec![format!("{key}#{instance}")],
        identity: identity.to_owned(),
        since_ms: T0,
        reason: "3 attempts in 60 minutes".to_owned(),
    }
}

fn exists(r: Result<ClaimAttempt, PortError>) -> Claim {
    match r {
        Ok(ClaimAttempt::Exists(c)) => c,
        other => panic!("expected Exists, got {other:?}"),
    }
}

fn is_permanent<T: std::fmt::Debug>(r: &Result<T, PortError>) -> bool {
    matches!(r, Err(PortError::Permanent(_)))
}

// ---------------------------------------------------------------------------------------------
// Contracts

/// `claim` is a conditional put: the first wins, a second (any owner) gets the stored claim,
/// and the stored claim does not change.
async fn claims_are_conditional(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let first = claim("alarm|web:disk|t1|i-0123abcd", "worker-1");
    assert_eq!(s.claim(&first).await, Ok(ClaimAttempt::Won(first.clone())));
    let mut second = claim("alarm|web:disk|t1|i-0123abcd", "worker-2");
    second.claimed_at_ms = T0 + 10;
    assert_eq!(exists(s.claim(&second).await), first);
    assert_eq!(exists(s.claim(&first).await), first, "even for its owner");
    assert_eq!(
        s.load_claim("alarm|web:disk|t1|i-0123abcd").await,
        Ok(Some(first))
    );
    assert_eq!(s.load_claim("alarm|web:disk|t1|i-0fffffff").await, Ok(None));
    assert_eq!(s.load_claim("").await.ok().flatten(), None);
}

/// Eight workers claim one identity at once: exactly one wins and everyone sees its claim.
async fn concurrent_claims_have_one_winner(kit: Kit) {
    let w = kit.fresh().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = w.store();
        tasks.push(tokio::spawn(async move {
            s.claim(&claim("generic|id|race", &format!("worker-{i}")))
                .await
        }));
    }
    let mut won = Vec::new();
    let mut seen = Vec::new();
    for t in tasks {
        match t.await.expect("joined") {
            Ok(ClaimAttempt::Won(c)) => won.push(c),
            Ok(ClaimAttempt::Exists(c)) => seen.push(c),
            Err(e) => panic!("claim failed: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "one winner: {won:?}");
    assert!(seen.iter().all(|c| *c == won[0]), "{seen:?}");
}

/// `update_claim` replaces the claim only at the expected version, never creates one, and keeps
/// every field (a round trip of a claim with every field set).
async fn update_claim_is_versioned_and_stores_every_field(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let id = "alarm|arn:aws:cloudwatch:us-east-1:123456789012:alarm:web:nginx_down|2024-01-02T03:04:05.678+0000|i-0123abcd";
    let first = claim(id, "worker-1");
    assert!(matches!(s.claim(&first).await, Ok(ClaimAttempt::Won(_))));
    let full = full_claim(id);
    assert_eq!(s.update_claim(&full, 1).await, Ok(true));
    assert_eq!(s.load_claim(id).await, Ok(Some(full.clone())));
    // The version moved on: a writer that read version 1 lost.
    let mut stale = first.clone();
    stale.version = 2;
    stale.owner = "worker-3".to_owned();
    assert_eq!(s.update_claim(&stale, 1).await, Ok(false));
    assert_eq!(s.load_claim(id).await, Ok(Some(full.clone())));
    // A claim taken with every field set comes back the same from `claim` too.
    let other = full_claim("generic|id|full");
    assert_eq!(s.claim(&other).await, Ok(ClaimAttempt::Won(other.clone())));
    assert_eq!(exists(s.claim(&claim("generic|id|full", "x")).await), other);
    // Back to the minimal shape: absent fields are absent again (nothing left over).
    let mut minimal = claim(id, "worker-1");
    minimal.version = 3;
    assert_eq!(s.update_claim(&minimal, 2).await, Ok(true));
    assert_eq!(s.load_claim(id).await, Ok(Some(minimal)));
    // No upsert: an update of a claim nobody took is refused and creates nothing.
    assert_eq!(s.update_claim(&claim("never", "w"), 0).await, Ok(false));
    assert_eq!(s.update_claim(&claim("never", "w"), 1).await, Ok(false));
    assert_eq!(s.load_claim("never").await, Ok(None));
}

/// DynamoDB refuses an item over 400 KB (ValidationException, permanent) and keeps what it had.
/// A claim keeps the alert's body while it awaits approval, and SQS carries up to 1 MiB.
async fn a_claim_that_does_not_fit_is_refused_and_changes_nothing(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let mut big = claim("generic|id|big", "w");
    big.body = Some("x".repeat(420_000));
    let r = s.claim(&big).await;
    assert!(is_permanent(&r), "{:?}", r.map(|_| "stored"));
    assert_eq!(s.load_claim("generic|id|big").await, Ok(None));
    // 300 KB fit.
    let mut fits = claim("generic|id|big", "w");
    fits.body = Some("y".repeat(300_000));
    assert!(matches!(s.claim(&fits).await, Ok(ClaimAttempt::Won(_))));
    let mut bigger = fits.clone();
    bigger.version = 2;
    bigger.body = Some("z".repeat(420_000));
    let r = s.update_claim(&bigger, 1).await;
    assert!(is_permanent(&r), "{r:?}");
    assert_eq!(s.load_claim("generic|id|big").await, Ok(Some(fits)));
}

/// PutItem overwrites the item with the same key: one history item per (day, sort), the last
/// write; other sort keys and days are kept; a Query returns them in sort-key order.
async fn put_history_overwrites_the_same_day_and_sort(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let day = "2024-01-02";
    let healed = history(day, "00aa11bb22cc33dd", "healed");
    let killed = history(day, "00aa11bb22cc33dd", "killed");
    s.put_history(&healed).await.expect("stored");
    s.put_history(&killed).await.expect("stored");
    assert_eq!(
        w.history_day(day).await,
        vec![killed.clone()],
        "overwritten"
    );
    let dup = history(day, "00aa11bb22cc33dd#dup#m2", "duplicate");
    // A record written before owner, description, mode, escalated and waited_ms existed: the
    // fields stay absent (the reporter then derives `escalated` from the outcome).
    let before = HistoryRecord {
        owner: None,
        description: None,
        mode: None,
        escalated: None,
        waited_ms: None,
        ..history(day, "0000ffff", "failed")
    };
    let other_day = history("2024-01-03", "00aa11bb22cc33dd", "healed");
    s.put_history(&dup).await.expect("stored");
    s.put_history(&before).await.expect("stored");
    s.put_history(&other_day).await.expect("stored");
    assert_eq!(
        w.history_day(day).await,
        vec![before, killed, dup],
        "sort-key order"
    );
    assert_eq!(w.history_day("2024-01-03").await, vec![other_day]);
    assert_eq!(w.history_day("2024-01-04").await, vec![]);
    // The fields the reporter needs (it has no runbooks) read back as written.
    let read = w.history_day(day).await;
    let k = read.iter().find(|h| h.outcome == "killed").expect("killed");
    assert_eq!(
        (
            k.owner.as_deref(),
            k.description.as_deref(),
            k.mode.as_deref(),
            k.escalated,
            k.waited_ms
        ),
        (
            Some("team-web"),
            Some("Free disk space"),
            Some("enforce"),
            Some(false),
            Some(1_200)
        )
    );
    let f = read.iter().find(|h| h.outcome == "failed").expect("failed");
    assert_eq!(
        (f.owner.as_deref(), f.escalated, f.waited_ms),
        (None, None, None)
    );
}

/// Every item that should expire carries `expires_at` in epoch SECONDS (DynamoDB TTL ignores
/// milliseconds: the item would live for 50,000 years). The fake does not model TTL.
async fn ttl_attributes_are_epoch_seconds(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let c = claim("generic|id|ttl", "w");
    s.claim(&c).await.expect("claimed");
    let h = history("2024-01-02", "abc", "healed");
    s.put_history(&h).await.expect("stored");
    let budget_ttl = (T0 + 3_600_000) / 1000 + 86_400;
    s.take_attempt("web:disk#i-0123abcd", 3, T0 - 3_600_000, T0, budget_ttl)
        .await
        .expect("taken");
    s.acquire_lease("web", "h1", 1, T0, T0 + 600_000)
        .await
        .expect("leased");
    s.take_fleet_slot("h1", 30, T0).await.expect("slot");
    s.open_approval("generic|id|ttl", T0 + 1_800_000)
        .await
        .expect("opened");
    s.note_once("n1", T0 + 3_600_000).await.expect("noted");
    s.mark_needs_review(&review("web:disk", "i-0123abcd", "generic|id|ttl"))
        .await
        .expect("marked");
    w.add_silence(silence("s1", "role:web", "deploy")).await;

    let expected = [
        ("claim#generic|id|ttl", "claim", T0 / 1000 + 30 * 86_400),
        ("hist#2024-01-02", "abc", h.expires_at),
        ("budget#web:disk#i-0123abcd", "budget", budget_ttl),
        ("lease#web", "lease", (T0 + 600_000) / 1000 + 86_400),
        ("fleet", "starts", T0 / 1000 + 7_200),
        (
            "approvals-open",
            "generic|id|ttl",
            (T0 + 1_800_000) / 1000 + 86_400,
        ),
        ("silence", "note#n1", (T0 + 3_600_000) / 1000 + 86_400),
        ("review", "web:disk#i-0123abcd", T0 / 1000 + 30 * 86_400),
        ("silence", "s#s1", (T0 + 3_600_000) / 1000 + 86_400),
    ];
    for (pk, sk, seconds) in expected {
        match w.expires_at(pk, sk).await {
            Ttl::NotModelled => {}
            Ttl::Number(v) => {
                assert!(
                    (1_000_000_000..100_000_000_000).contains(&v),
                    "{pk}/{sk}: expires_at {v} is not epoch seconds"
                );
                assert_eq!(v, seconds, "{pk}/{sk}");
            }
            other => panic!("{pk}/{sk}: expires_at is {other:?}"),
        }
    }
}

/// `take_attempt` counts attempts since `window_start` (inclusive), refuses at `max` without
/// counting the refusal, forgets what fell out of the window, and `clear_attempts` resets.
async fn attempts_count_within_the_window(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let k = "web:disk#i-0123abcd";
    assert_eq!(s.take_attempt(k, 2, 0, 1_000, 99).await, Ok(Some(1)));
    assert_eq!(s.take_attempt(k, 2, 0, 2_000, 99).await, Ok(Some(2)));
    assert_eq!(s.take_attempt(k, 2, 0, 3_000, 99).await, Ok(None));
    assert_eq!(s.take_attempt(k, 2, 0, 3_001, 99).await, Ok(None));
    // An attempt at exactly window_start still counts.
    assert_eq!(s.take_attempt(k, 2, 1_000, 3_002, 99).await, Ok(None));
    // The attempt at 1 000 fell out of the window; the refusals were never counted.
    assert_eq!(s.take_attempt(k, 2, 1_001, 4_000, 99).await, Ok(Some(2)));
    assert_eq!(s.take_attempt(k, 2, 1_001, 4_001, 99).await, Ok(None));
    // Another key has its own budget.
    assert_eq!(
        s.take_attempt("entry:*:disk#i-0123abcd", 2, 0, 4_002, 99)
            .await,
        Ok(Some(1))
    );
    s.clear_attempts(k).await.expect("cleared");
    assert_eq!(s.take_attempt(k, 2, 0, 5_000, 99).await, Ok(Some(1)));
    s.clear_attempts("never-used")
        .await
        .expect("nothing to clear");
    // A budget of 0 refuses at once.
    assert_eq!(s.take_attempt("zero", 0, 0, 5_000, 99).await, Ok(None));
}

async fn concurrent_attempts_never_exceed_the_budget(kit: Kit) {
    let w = kit.fresh().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = w.store();
        tasks.push(tokio::spawn(async move {
            s.take_attempt("race", 3, 0, 1_000 + i, 99).await
        }));
    }
    let mut granted = Vec::new();
    for t in tasks {
        if let Some(n) = t.await.expect("joined").expect("no error") {
            granted.push(n);
        }
    }
    granted.sort_unstable();
    assert_eq!(granted, vec![1, 2, 3]);
}

/// At most `max` unexpired holders per role; the same holder again is idempotent (and
/// extends); release is idempotent; a holder whose `until` is not after `now` has expired.
async fn leases_hold_at_most_max_holders(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    assert_eq!(s.acquire_lease("web", "h1", 2, 0, 10_000).await, Ok(true));
    assert_eq!(s.acquire_lease("web", "h2", 2, 0, 20_000).await, Ok(true));
    assert_eq!(s.acquire_lease("web", "h3", 2, 1, 10_000).await, Ok(false));
    assert_eq!(
        s.acquire_lease("web", "h1", 2, 2, 10_000).await,
        Ok(true),
        "the same holder again"
    );
    assert_eq!(s.acquire_lease("web", "h3", 2, 3, 10_000).await, Ok(false));
    assert_eq!(
        s.acquire_lease("db", "h3", 1, 3, 10_000).await,
        Ok(true),
        "per role"
    );
    s.release_lease("web", "h2").await.expect("released");
    s.release_lease("web", "h2").await.expect("released twice");
    s.release_lease("web", "nobody")
        .await
        .expect("not a holder");
    s.release_lease("never-leased", "h1")
        .await
        .expect("no lease item");
    assert_eq!(s.acquire_lease("web", "h3", 2, 4, 10_000).await, Ok(true));
    assert_eq!(s.acquire_lease("web", "h4", 2, 5, 10_000).await, Ok(false));
    // h1 extends to 15 000; at 10 000 h3 (until 10 000) has expired, h1 has not.
    assert_eq!(s.acquire_lease("web", "h1", 2, 6, 15_000).await, Ok(true));
    assert_eq!(
        s.acquire_lease("web", "h4", 2, 10_000, 20_000).await,
        Ok(true)
    );
    assert_eq!(
        s.acquire_lease("web", "h5", 2, 10_001, 20_000).await,
        Ok(false)
    );
    // Everything expired.
    assert_eq!(
        s.acquire_lease("web", "h5", 1, 20_000, 30_000).await,
        Ok(true)
    );
}

fn fresh_claim(identity: &str) -> Claim {
    Claim {
        identity: identity.to_owned(),
        state: ClaimState::Claimed,
        owner: "worker-1".to_owned(),
        owner_until_ms: T0 + 300_000,
        claimed_at_ms: T0,
        version: 1,
        ..Claim::default()
    }
}

fn budget(key: &str, max: u32) -> BudgetTake {
    BudgetTake {
        key: key.to_owned(),
        max,
        window_start: T0 - 3_600_000,
        ttl_until: T0 / 1000 + 90_000,
    }
}

/// An admission for `claim` (at its stored version) in `role`.
fn admission(
    claim: &Claim,
    role: &str,
    max: u32,
    fleet: u32,
    budgets: Vec<BudgetTake>,
) -> Admission {
    let mut next = claim.clone();
    next.version += 1;
    Admission {
        budgets,
        role: role.to_owned(),
        holder: format!("h-{}", claim.identity),
        max_concurrent: max,
        lease_until: T0 + 3_600_000,
        fleet_max: fleet,
        now: T0,
        claim: next,
        expected_version: claim.version,
    }
}

/// `admit` counts budgets, takes the lease and a fleet start and stores the claim (with its
/// attempt) only all together; any refusal (budget first, then role, then fleet) or a stale
/// claim writes nothing. The same holder again keeps its place and is not counted twice.
async fn an_admission_takes_everything_or_nothing(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let c1 = fresh_claim("generic|id|adm-1");
    s.claim(&c1).await.expect("claimed");
    let a1 = admission(
        &c1,
        "web",
        1,
        2,
        vec![budget("web:x#i-1", 2), budget("entry:*:x#i-1", 1)],
    );
    assert_eq!(s.admit(&a1).await, Ok(Admitted::Yes { attempt: 1 }));
    let mut stored = a1.claim.clone();
    stored.attempt = 1;
    assert_eq!(
        s.load_claim("generic|id|adm-1").await,
        Ok(Some(stored.clone()))
    );
    assert_eq!(
        s.acquire_lease("web", "other", 1, T0, T0 + 1).await,
        Ok(false),
        "lease held"
    );
    assert_eq!(
        s.take_attempt("entry:*:x#i-1", 1, T0 - 3_600_000, T0, T0 / 1000)
            .await,
        Ok(None),
        "budget counted"
    );
    // The role is full: nothing of the second admission is written.
    let c2 = fresh_claim("generic|id|adm-2");
    s.claim(&c2).await.expect("claimed");
    let a2 = admission(&c2, "web", 1, 2, vec![budget("web:y#i-2", 1)]);
    assert_eq!(s.admit(&a2).await, Ok(Admitted::RoleFull));
    assert_eq!(s.load_claim("generic|id|adm-2").await, Ok(Some(c2.clone())));
    assert_eq!(
        s.take_attempt("web:y#i-2", 1, T0 - 3_600_000, T0, T0 / 1000)
            .await,
        Ok(Some(1)),
        "a refused admission counts no attempt"
    );
    // A used-up budget is refused before capacity: no lease is taken for it.
    let a3 = admission(&c2, "db", 1, 2, vec![budget("web:y#i-2", 1)]);
    assert_eq!(s.admit(&a3).await, Ok(Admitted::BudgetExhausted(0)));
    assert_eq!(
        s.acquire_lease("db", "other", 1, T0, T0 + 1).await,
        Ok(true),
        "no db lease taken"
    );
    // The fleet's hour is full (one start of two already, fleet max 1).
    let a4 = admission(&c2, "cache", 1, 1, vec![]);
    assert_eq!(s.admit(&a4).await, Ok(Admitted::FleetFull));
    assert_eq!(
        s.acquire_lease("cache", "other", 1, T0, T0 + 1).await,
        Ok(true),
        "no cache lease taken"
    );
    assert_eq!(s.load_claim("generic|id|adm-2").await, Ok(Some(c2.clone())));
    // A stale claim version: nothing written.
    let mut stale = admission(&c2, "queue", 1, 5, vec![budget("queue:z#i-3", 1)]);
    stale.expected_version = 9;
    assert_eq!(s.admit(&stale).await, Ok(Admitted::ClaimChanged));
    assert_eq!(
        s.take_attempt("queue:z#i-3", 1, T0 - 3_600_000, T0, T0 / 1000)
            .await,
        Ok(Some(1)),
        "nothing counted"
    );
    // The same holder again (no budgets this time): it keeps its lease and its fleet start
    // (fleet max 1 would refuse a new one), and the claim keeps its attempt.
    let again = admission(&stored, "web", 1, 1, vec![]);
    assert_eq!(s.admit(&again).await, Ok(Admitted::Yes { attempt: 1 }));
    assert_eq!(
        s.load_claim("generic|id|adm-1")
            .await
            .map(|c| c.map(|c| c.version)),
        Ok(Some(3))
    );
}

/// Six claims race for a role with `max_concurrent` 2: exactly two are admitted.
async fn concurrent_admissions_never_exceed_max(kit: Kit) {
    let w = kit.fresh().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = w.store();
        tasks.push(tokio::spawn(async move {
            let c = fresh_claim(&format!("generic|id|race-{i}"));
            s.claim(&c).await.expect("claimed");
            s.admit(&admission(
                &c,
                "api",
                2,
                100,
                vec![budget(&format!("api:x#i-{i}"), 3)],
            ))
            .await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.expect("joined").expect("no error") {
            Admitted::Yes { .. } => admitted += 1,
            // Contended: lost every race, wrote nothing (a capacity wait for the engine).
            Admitted::RoleFull | Admitted::Contended => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(admitted, 2);
}

/// `close` is all or nothing: at the claim's version both the final record and the done claim
/// are stored; at any other version neither is.
async fn a_close_writes_the_record_and_the_claim_or_neither(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let mut first = full_claim("generic|id|close");
    first.version = 1;
    assert!(matches!(s.claim(&first).await, Ok(ClaimAttempt::Won(_))));
    let mut done = first.clone();
    done.version = 2;
    done.state = ClaimState::Done;
    done.outcome = Some("failed".to_owned());
    let rec = history("2024-02-03", "close-1", "failed");
    // A stale version: nothing at all is written.
    assert_eq!(s.close(&rec, &done, 7, None).await, Ok(false));
    assert_eq!(w.history_day("2024-02-03").await, vec![]);
    assert_eq!(s.load_claim("generic|id|close").await, Ok(Some(first)));
    // The right one: both, exactly as given.
    assert_eq!(s.close(&rec, &done, 1, None).await, Ok(true));
    assert_eq!(w.history_day("2024-02-03").await, vec![rec.clone()]);
    assert_eq!(
        s.load_claim("generic|id|close").await,
        Ok(Some(done.clone()))
    );
    // Once only.
    let other = history("2024-02-03", "close-1", "healed");
    assert_eq!(s.close(&other, &done, 1, None).await, Ok(false));
    assert_eq!(w.history_day("2024-02-03").await, vec![rec]);
}

/// A close that leaves the lease removes exactly its holder in the same write; one whose
/// holder no longer holds the lease still closes, and other holders keep theirs; a close
/// refused for the claim's version leaves the lease as it was.
async fn a_close_leaves_the_lease_it_holds(kit: Kit) {
    use selfheal_service::ports::LeaseRef;
    let w = kit.fresh().await;
    let s = w.store();
    let lease = |holder: &str| LeaseRef {
        role: "web".to_owned(),
        holder: holder.to_owned(),
    };
    let mut c = fresh_claim("generic|id|close-lease");
    s.claim(&c).await.expect("claimed");
    assert_eq!(
        s.acquire_lease("web", "h1", 2, T0, T0 + 600_000).await,
        Ok(true)
    );
    assert_eq!(
        s.acquire_lease("web", "h2", 2, T0, T0 + 600_000).await,
        Ok(true)
    );
    let mut done = c.clone();
    done.version = 2;
    done.state = ClaimState::Done;
    let rec = history("2024-02-04", "close-lease", "healed");
    // Refused for the claim: the lease is untouched.
    assert_eq!(s.close(&rec, &done, 5, Some(&lease("h1"))).await, Ok(false));
    assert_eq!(
        s.acquire_lease("web", "h3", 2, T0 + 1, T0 + 600_000).await,
        Ok(false)
    );
    // Closed: h1 has left, h2 is still there.
    assert_eq!(s.close(&rec, &done, 1, Some(&lease("h1"))).await, Ok(true));
    assert_eq!(
        s.acquire_lease("web", "h3", 2, T0 + 2, T0 + 600_000).await,
        Ok(true)
    );
    assert_eq!(
        s.acquire_lease("web", "h4", 2, T0 + 3, T0 + 600_000).await,
        Ok(false)
    );
    assert_eq!(w.history_day("2024-02-04").await, vec![rec.clone()]);
    // A holder that no longer holds the lease (never did here): the close still happens.
    c.identity = "generic|id|close-lease-2".to_owned();
    s.claim(&c).await.expect("claimed");
    let mut done2 = c.clone();
    done2.version = 2;
    done2.state = ClaimState::Done;
    let rec2 = history("2024-02-04", "close-lease-2", "healed");
    assert_eq!(
        s.close(&rec2, &done2, 1, Some(&lease("gone"))).await,
        Ok(true)
    );
    assert_eq!(
        s.load_claim("generic|id|close-lease-2").await,
        Ok(Some(done2))
    );
    assert_eq!(
        s.acquire_lease("web", "h4", 2, T0 + 4, T0 + 600_000).await,
        Ok(false),
        "h2 and h3 kept theirs"
    );
}

/// Renewing extends only a live lease of the same holder (never shortens it) and never takes a
/// lapsed or absent one, even when the role has room.
async fn a_lapsed_lease_is_never_renewed(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    assert_eq!(
        s.renew_lease("web", "h1", 0, 10_000).await,
        Ok(false),
        "no lease item"
    );
    assert_eq!(s.acquire_lease("web", "h1", 2, 0, 10_000).await, Ok(true));
    assert_eq!(
        s.renew_lease("web", "h2", 1, 10_000).await,
        Ok(false),
        "not a holder, though the role has room"
    );
    assert_eq!(s.renew_lease("web", "h1", 1, 20_000).await, Ok(true));
    assert_eq!(
        s.renew_lease("web", "h1", 2, 15_000).await,
        Ok(true),
        "never shortened"
    );
    // Still held at 19 999 (until 20 000), lapsed at 20 000.
    assert_eq!(
        s.acquire_lease("web", "h2", 1, 19_999, 40_000).await,
        Ok(false)
    );
    assert_eq!(s.renew_lease("web", "h1", 20_000, 50_000).await, Ok(false));
    assert_eq!(
        s.acquire_lease("web", "h2", 1, 20_000, 40_000).await,
        Ok(true),
        "a renewal after the lapse took nothing"
    );
    s.release_lease("web", "h2").await.expect("released");
    assert_eq!(
        s.renew_lease("web", "h2", 20_001, 50_000).await,
        Ok(false),
        "released"
    );
}

async fn concurrent_leases_never_exceed_max(kit: Kit) {
    let w = kit.fresh().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = w.store();
        tasks.push(tokio::spawn(async move {
            s.acquire_lease("api", &format!("h{i}"), 2, 0, 60_000).await
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.expect("joined").expect("no error") {
            granted += 1;
        }
    }
    assert_eq!(granted, 2);
}

/// At most `max` starts in any hour (a start exactly an hour ago still counts); the same
/// holder counts once.
async fn fleet_slots_cap_starts_per_hour(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let t = 10 * 3_600_000;
    assert_eq!(s.take_fleet_slot("s1", 2, t).await, Ok(true));
    assert_eq!(s.take_fleet_slot("s1", 2, t + 1).await, Ok(true), "again");
    assert_eq!(s.take_fleet_slot("s2", 2, t + 2).await, Ok(true));
    assert_eq!(s.take_fleet_slot("s3", 2, t + 3).await, Ok(false));
    assert_eq!(s.take_fleet_slot("s2", 2, t + 4).await, Ok(true), "again");
    assert_eq!(
        s.take_fleet_slot("s3", 2, t + 3_600_000).await,
        Ok(false),
        "s1 started exactly an hour ago: still counts"
    );
    assert_eq!(s.take_fleet_slot("s3", 2, t + 3_600_001).await, Ok(true));
    assert_eq!(
        s.take_fleet_slot("s4", 2, t + 3_600_001).await,
        Ok(false),
        "s2 (started at t + 2, not again at t + 4) and s3"
    );
    assert_eq!(s.take_fleet_slot("s4", 2, t + 3_600_003).await, Ok(true));
}

async fn notes_are_new_once(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    assert_eq!(s.note_once("s1#1700000000", T0).await, Ok(true));
    assert_eq!(s.note_once("s1#1700000000", T0).await, Ok(false));
    assert_eq!(s.note_once("s1#1700000000", T0 + 10).await, Ok(false));
    assert_eq!(s.note_once("s1#1700003600", T0).await, Ok(true));
}

/// Open requests are listed when their expiry is at or before `now`, in identity order;
/// opening again replaces the expiry; closing removes (and is idempotent).
async fn open_approvals_expire_in_order_and_close(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    assert_eq!(s.expired_approvals(T0).await, Ok(vec![]));
    s.open_approval("generic|id|c", T0 + 1_000)
        .await
        .expect("open");
    s.open_approval("generic|id|a", T0 + 2_000)
        .await
        .expect("open");
    s.open_approval("alarm|x|t|i-1", T0 + 3_000)
        .await
        .expect("open");
    assert_eq!(s.expired_approvals(T0 + 999).await, Ok(vec![]));
    assert_eq!(
        s.expired_approvals(T0 + 1_000).await,
        Ok(vec!["generic|id|c".to_owned()])
    );
    assert_eq!(
        s.expired_approvals(T0 + 5_000).await,
        Ok(vec![
            "alarm|x|t|i-1".to_owned(),
            "generic|id|a".to_owned(),
            "generic|id|c".to_owned()
        ])
    );
    s.open_approval("generic|id|c", T0 + 10_000)
        .await
        .expect("reopen");
    s.close_approval("alarm|x|t|i-1").await.expect("closed");
    s.close_approval("alarm|x|t|i-1")
        .await
        .expect("closed twice");
    s.close_approval("never-opened").await.expect("not open");
    assert_eq!(
        s.expired_approvals(T0 + 5_000).await,
        Ok(vec!["generic|id|a".to_owned()])
    );
    assert_eq!(
        s.expired_approvals(T0 + 10_000).await,
        Ok(vec!["generic|id|a".to_owned(), "generic|id|c".to_owned()])
    );
}

/// `silences` returns every stored silence (expired ones too), in id order; storing a silence
/// with an existing id replaces it.
async fn silences_are_listed_by_id_and_replaced_by_id(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    assert_eq!(s.silences().await, Ok(vec![]));
    let b = silence("b2", "role:web", "deploy");
    let a = silence("a1", "all", "freeze");
    let mut expired = silence("c3", "instance:i-0123abcd", "old");
    expired.until_ms = Some(T0 - 1);
    let mut window = silence("d4", "key:web:disk_full", "nightly backup");
    window.until_ms = None;
    window.window = Some("Mon-Fri 01:00-02:00".to_owned());
    window.tz = Some("Asia/Tokyo".to_owned());
    for r in [&b, &a, &expired, &window] {
        w.add_silence(r.clone()).await;
    }
    assert_eq!(
        s.silences().await,
        Ok(vec![a.clone(), b.clone(), expired.clone(), window.clone()])
    );
    let b_again = silence("b2", "role:api", "changed");
    w.add_silence(b_again.clone()).await;
    assert_eq!(s.silences().await, Ok(vec![a, b_again, expired, window]));
}

/// One needs-review item per `<ROLE:ALERT>#<instance>` (the last written), listed in that order.
async fn needs_review_items_are_listed_by_key_and_replaced(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    let web = review("web:disk_full", "i-0123abcd", "id-1");
    let api = review("api:nginx_down", "i-0123abcd", "id-2");
    let web_again = review("web:disk_full", "i-0123abcd", "id-3");
    let other = review("web:disk_full", "i-0fedcba9", "id-4");
    for r in [&web, &api, &web_again, &other] {
        s.mark_needs_review(r).await.expect("marked");
    }
    assert_eq!(w.needs_review().await, vec![api, web_again, other]);
}

/// The approval record `slack-approvals` wrote comes back field for field.
async fn approval_records_are_read_as_written(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    assert_eq!(s.approval_record("generic|id|a").await, Ok(None));
    let record = ApprovalRecord {
        identity: "generic|id|a".to_owned(),
        key: "web:disk_full".to_owned(),
        decision: Decision::Run,
        user_id: "U123".to_owned(),
        user_name: Some("alice".to_owned()),
        allowed_by: "S0PS".to_owned(),
        press_id: "press-1".to_owned(),
        action_ts: Some("1700000000.000100".to_owned()),
        channel_id: Some("C1".to_owned()),
        message_ts: Some("1700000000.000001".to_owned()),
        requested_at_ms: T0,
        expires_at_ms: T0 + 1_800_000,
        pressed_at_ms: T0 + 60_000,
        queued_at_ms: Some(T0 + 60_100),
        resent_at_ms: None,
        expires_at: T0 / 1000 + 86_400,
    };
    w.put_approval(record.clone()).await;
    assert_eq!(s.approval_record("generic|id|a").await, Ok(Some(record)));
    assert_eq!(s.approval_record("generic|id|b").await, Ok(None));
}

/// A partition key holds at most 2048 bytes and a sort key 1024: DynamoDB refuses longer ones
/// (ValidationException, permanent) and writes nothing. An identity comes from the alert (a
/// generic alert's `id`, an alarm name and instance list), so it can be that long.
async fn long_keys_are_refused_as_dynamodb_refuses_them(kit: Kit) {
    let w = kit.fresh().await;
    let s = w.store();
    // "claim#" + 2 042 bytes = 2 048: fits.
    let fits = format!("generic|id|{}", "a".repeat(2_042 - 11));
    assert!(matches!(
        s.claim(&claim(&fits, "w")).await,
        Ok(ClaimAttempt::Won(_))
    ));
    let too_long = format!("{fits}b");
    let r = s.claim(&claim(&too_long, "w")).await;
    assert!(is_permanent(&r), "claim of a 2049-byte key: {r:?}");
    // The sort key of an open request is the identity: 1 024 bytes at most.
    let id_1024 = format!("generic|id|{}", "c".repeat(1_024 - 11));
    s.open_approval(&id_1024, T0).await.expect("1024 bytes fit");
    let id_1025 = format!("{id_1024}d");
    let r = s.open_approval(&id_1025, T0).await;
    assert!(is_permanent(&r), "open_approval with 1025 bytes: {r:?}");
    assert_eq!(s.expired_approvals(T0).await, Ok(vec![id_1024]));
    // History: the sort key is the record's `sort`.
    let r = s
        .put_history(&history("2024-01-02", &"e".repeat(1_025), "healed"))
        .await;
    assert!(is_permanent(&r), "history sort key of 1025 bytes: {r:?}");
    assert_eq!(w.history_day("2024-01-02").await, vec![]);
    // Multi-byte characters count by their UTF-8 bytes.
    let r = s
        .open_approval(&format!("generic|id|{}", "é".repeat(507)), T0)
        .await;
    assert!(is_permanent(&r), "1025 bytes in 518 characters: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// The implementations

/// The in-memory fake.
pub struct FakeKit;

struct FakeWorld(Arc<FakeStore>);

#[async_trait]
impl StoreKit for FakeKit {
    async fn fresh(&self) -> Box<dyn StoreWorld> {
        Box::new(FakeWorld(FakeStore::new()))
    }
}

#[async_trait]
impl StoreWorld for FakeWorld {
    fn store(&self) -> Arc<dyn StateStore> {
        self.0.clone()
    }
    async fn history_day(&self, day: &str) -> Vec<HistoryRecord> {
        self.0.history_day(day)
    }
    async fn expires_at(&self, _pk: &str, _sk: &str) -> Ttl {
        Ttl::NotModelled
    }
    async fn add_silence(&self, r: SilenceRecord) {
        self.0.add_silence(r);
    }
    async fn needs_review(&self) -> Vec<NeedsReview> {
        self.0.needs_review()
    }
    async fn put_approval(&self, r: ApprovalRecord) {
        self.0.put_approval(r);
    }
}

/// `DynamoStateStore` on moto, one table per contract.
pub struct DynamoKit {
    pub clients: selfheal_aws::AwsClients,
}

pub struct DynamoWorld {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub store: Arc<DynamoStateStore>,
}

impl DynamoWorld {
    pub async fn create(clients: &selfheal_aws::AwsClients) -> Self {
        let table = harness::unique("contract");
        selfheal_aws::local::create_table(clients, &table)
            .await
            .expect("table created");
        Self {
            client: clients.dynamodb.clone(),
            store: Arc::new(DynamoStateStore::new(clients.dynamodb.clone(), &table)),
            table,
        }
    }

    /// The raw item `pk`/`sk` (consistent read).
    pub async fn raw(&self, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item
    }
}

#[async_trait]
impl StoreKit for DynamoKit {
    async fn fresh(&self) -> Box<dyn StoreWorld> {
        Box::new(DynamoWorld::create(&self.clients).await)
    }
}

#[async_trait]
impl StoreWorld for DynamoWorld {
    fn store(&self) -> Arc<dyn StateStore> {
        self.store.clone()
    }
    async fn history_day(&self, day: &str) -> Vec<HistoryRecord> {
        // A Query of `hist#<day>`, as the report reads it; check every raw item was readable.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("hist#{day}")))
            .consistent_read(true)
            .send()
            .await
            .expect("Query");
        let records = self
            .store
            .query_history_day(day)
            .await
            .expect("query_history_day");
        assert_eq!(
            records.len(),
            out.items().len(),
            "every history item reads as a record"
        );
        records
    }
    async fn expires_at(&self, pk: &str, sk: &str) -> Ttl {
        match self
            .raw(pk, sk)
            .await
            .and_then(|i| i.get("expires_at").cloned())
        {
            None => Ttl::Missing,
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_or_else(|_| Ttl::NotANumber(format!("N {v}")), Ttl::Number),
            Some(other) => Ttl::NotANumber(format!("{other:?}")),
        }
    }
    async fn add_silence(&self, r: SilenceRecord) {
        self.store.put_silence(&r).await.expect("put_silence");
    }
    async fn needs_review(&self) -> Vec<NeedsReview> {
        self.store.needs_review().await.expect("needs_review")
    }
    async fn put_approval(&self, r: ApprovalRecord) {
        // As slack-approvals writes it (shared/aws/src/approvals_store.rs).
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::aws_sdk_dynamodb_1::to_item(&r).expect("storable");
        item.insert(
            "pk".to_owned(),
            AttributeValue::S(selfheal_core::approval::record_pk(&r.identity)),
        );
        item.insert(
            "sk".to_owned(),
            AttributeValue::S(selfheal_core::approval::RECORD_SK.to_owned()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("PutItem");
    }
}
