//! The people who answer approval requests: they watch chat for Run/Skip buttons and, by seed,
//! press Run or Skip (sometimes twice, sometimes after the request expired), never answer, or
//! the press is interrupted between `slack-approvals`' record and its message (the record
//! without a message); and someone who can write to the queue forges presses (no record, or a
//! record for another runbook key).

use super::exec::lock;
use super::queue::Queue;
use super::rng::Rng;
use super::workload::APPROVER;
use selfheal_core::approval::{approval_message, press_id, Approval, ApprovalRecord, Decision};
use selfheal_service::fakes::{FakeStore, Recorder};
use selfheal_service::ports::EpochMillis;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PressKind {
    Run,
    Skip,
    /// Run pressed; `slack-approvals` wrote its record, then died before queueing the message.
    RecordOnly,
    /// A Run message on the queue with no record behind it.
    Forged,
    /// A record and message for another runbook key (an approver of that key pressed).
    WrongKey,
}

#[derive(Debug, Clone)]
pub struct Press {
    pub at: EpochMillis,
    pub identity: String,
    pub alert: usize,
    pub key: String,
    pub requested_at: EpochMillis,
    pub expires_at: EpochMillis,
    pub kind: PressKind,
    /// How many times the message is delivered (a double click, a redelivery).
    pub copies: usize,
    /// Slack refused it (pressed after expiry): nothing was recorded or queued.
    pub refused: bool,
    pub done: bool,
}

impl Press {
    /// A Run that the engine may act on: recorded, queued and pressed before expiry.
    pub fn valid_run(&self) -> bool {
        self.kind == PressKind::Run && !self.refused && self.at <= self.expires_at
    }
}

pub struct Human {
    rng: Rng,
    seen: usize,
    pub presses: Vec<Press>,
    /// Requests seen (identity → when requested), answered or not.
    pub requests: HashMap<String, (EpochMillis, EpochMillis)>,
    /// Set when a request was seen since the harness last looked.
    pub new_requests: bool,
}

impl Human {
    pub fn new(rng: Rng) -> Self {
        Self {
            rng,
            seen: 0,
            presses: Vec::new(),
            requests: HashMap::new(),
            new_requests: false,
        }
    }

    /// Reads the chat messages posted since the last look and plans the answers to new requests.
    pub fn watch(&mut self, chat: &Recorder, now: EpochMillis, alert_of: impl Fn(&str) -> usize) {
        let new: Vec<_> = {
            let all = lock(&chat.0);
            if all.len() == self.seen {
                return;
            }
            let v = all[self.seen..]
                .iter()
                .filter_map(|a| a.approval.clone())
                .collect();
            self.seen = all.len();
            v
        };
        for b in new {
            if self.requests.contains_key(&b.identity) {
                continue;
            }
            self.requests
                .insert(b.identity.clone(), (b.requested_at_ms, b.expires_at_ms));
            self.new_requests = true;
            if self.rng.chance(150) {
                continue; // nobody answers
            }
            let ttl = b.expires_at_ms - b.requested_at_ms;
            let at = now + self.rng.range(5_000, ttl * 13 / 10);
            let kind = match self.rng.below(100) {
                0..=59 => PressKind::Run,
                60..=79 => PressKind::Skip,
                80..=87 => PressKind::RecordOnly,
                88..=93 => PressKind::Forged,
                _ => PressKind::WrongKey,
            };
            let copies = if self.rng.chance(300) { 2 } else { 1 };
            self.presses.push(Press {
                at,
                alert: alert_of(&b.identity),
                identity: b.identity,
                key: b.key,
                requested_at: b.requested_at_ms,
                expires_at: b.expires_at_ms,
                kind,
                copies,
                refused: false,
                done: false,
            });
        }
    }

    pub fn next_at(&self) -> Option<EpochMillis> {
        self.presses.iter().filter(|p| !p.done).map(|p| p.at).min()
    }

    pub fn pending(&self) -> bool {
        self.presses.iter().any(|p| !p.done)
    }

    /// Carries out the presses due at `now`; returns trace lines.
    pub fn press_due(
        &mut self,
        now: EpochMillis,
        store: &FakeStore,
        queue: &mut Queue,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        for i in 0..self.presses.len() {
            if self.presses[i].done || self.presses[i].at > now {
                continue;
            }
            let extra = self.rng.range(0, 120_000);
            let p = &mut self.presses[i];
            p.done = true;
            let forged = p.kind == PressKind::Forged;
            let user = if forged { "U0FORGED1" } else { APPROVER };
            let action_ts = format!("{}.{:06}", p.at / 1000, p.at % 1000);
            let key = if p.kind == PressKind::WrongKey {
                "api:nginx_down".to_owned()
            } else {
                p.key.clone()
            };
            let a = Approval {
                version: selfheal_core::approval::FORMAT_VERSION,
                identity: p.identity.clone(),
                key,
                decision: if p.kind == PressKind::Skip {
                    Decision::Skip
                } else {
                    Decision::Run
                },
                user_id: user.to_owned(),
                user_name: Some("sim".to_owned()),
                allowed_by: "user".to_owned(),
                action_ts: Some(action_ts.clone()),
                press_id: press_id(user, &action_ts),
                channel_id: Some("C0SIM".to_owned()),
                message_ts: Some("1795403000.000100".to_owned()),
                requested_at_ms: p.requested_at,
                expires_at_ms: p.expires_at,
                pressed_at_ms: p.at,
            };
            if p.at > p.expires_at && !forged {
                p.refused = true;
                lines.push(format!(
                    "HUMAN {:?} pressed after expiry for alert #{}: Slack answers 410, nothing queued",
                    p.kind, p.alert
                ));
                continue;
            }
            if !forged {
                let mut rec = ApprovalRecord::from_approval(&a);
                if p.kind != PressKind::RecordOnly {
                    rec.queued_at_ms = Some(p.at);
                }
                store.put_approval(rec);
            }
            lines.push(format!(
                "HUMAN {:?} for alert #{} (key {}), {} message(s)",
                p.kind,
                p.alert,
                a.key,
                if p.kind == PressKind::RecordOnly {
                    0
                } else {
                    p.copies
                }
            ));
            if p.kind == PressKind::RecordOnly {
                continue;
            }
            let body = approval_message(&a);
            queue.send(format!("ap-{}-{i}-0", p.alert), body.clone(), p.alert, now);
            if p.copies > 1 {
                queue.send(format!("ap-{}-{i}-1", p.alert), body, p.alert, now + extra);
            }
        }
        lines
    }
}
