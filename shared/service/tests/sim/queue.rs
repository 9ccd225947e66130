//! A simulated SQS standard queue with a dead-letter queue: visibility timeouts, receive counts,
//! receipt handles (a delete with a stale one does nothing), redrive after `max_receive`
//! receives, and random order among visible messages.

use super::rng::Rng;
use selfheal_service::ports::EpochMillis;
use selfheal_service::InboundRecord;

#[derive(Debug, Clone)]
pub struct Msg {
    /// Unique per queue entry (a duplicate delivery is another entry).
    pub entry: u64,
    pub message_id: String,
    pub body: String,
    /// The logical alert this is a copy of.
    pub alert: usize,
    pub receive_count: u32,
    pub visible_at: EpochMillis,
    /// The receipt of the latest receive (0: never received).
    pub receipt: u64,
}

/// A receipt for one received message.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    pub entry: u64,
    pub receipt: u64,
}

pub struct Queue {
    pub msgs: Vec<Msg>,
    pub dlq: Vec<Msg>,
    pub visibility_ms: EpochMillis,
    pub max_receive: u32,
    next_entry: u64,
    next_receipt: u64,
    /// Messages moved to the DLQ (entry, message id, when).
    pub dead_lettered: Vec<(u64, String, EpochMillis)>,
}

impl Queue {
    pub fn new(visibility_ms: EpochMillis, max_receive: u32) -> Self {
        Self {
            msgs: Vec::new(),
            dlq: Vec::new(),
            visibility_ms,
            max_receive,
            next_entry: 1,
            next_receipt: 1,
            dead_lettered: Vec::new(),
        }
    }

    pub fn send(&mut self, message_id: String, body: String, alert: usize, now: EpochMillis) {
        let entry = self.next_entry;
        self.next_entry += 1;
        self.msgs.push(Msg {
            entry,
            message_id,
            body,
            alert,
            receive_count: 0,
            visible_at: now,
            receipt: 0,
        });
    }

    /// Receives up to `max` visible messages in random order.
    pub fn receive(
        &mut self,
        now: EpochMillis,
        max: usize,
        rng: &mut Rng,
    ) -> Vec<(Receipt, InboundRecord, usize)> {
        let mut out = Vec::new();
        loop {
            if out.len() >= max {
                break;
            }
            let visible: Vec<usize> = (0..self.msgs.len())
                .filter(|&i| self.msgs[i].visible_at <= now)
                .collect();
            if visible.is_empty() {
                break;
            }
            let i = visible[rng.index(visible.len())];
            if self.msgs[i].receive_count >= self.max_receive {
                let m = self.msgs.remove(i);
                self.dead_lettered
                    .push((m.entry, m.message_id.clone(), now));
                self.dlq.push(m);
                continue;
            }
            let receipt = self.next_receipt;
            self.next_receipt += 1;
            let m = &mut self.msgs[i];
            m.receive_count += 1;
            m.receipt = receipt;
            m.visible_at = now + self.visibility_ms;
            out.push((
                Receipt {
                    entry: m.entry,
                    receipt,
                },
                InboundRecord {
                    message_id: m.message_id.clone(),
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                },
                m.alert,
            ));
        }
        out
    }

    fn find(&mut self, r: Receipt) -> Option<usize> {
        self.msgs
            .iter()
            .position(|m| m.entry == r.entry && m.receipt == r.receipt)
    }

    /// Deletes with a receipt; a stale receipt (the message was received again since) does
    /// nothing, as SQS does not promise to delete then.
    pub fn delete(&mut self, r: Receipt) -> bool {
        match self.find(r) {
            Some(i) => {
                self.msgs.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn change_visibility(&mut self, r: Receipt, visible_at: EpochMillis) -> bool {
        match self.find(r) {
            Some(i) => {
                self.msgs[i].visible_at = visible_at;
                true
            }
            None => false,
        }
    }

    pub fn next_visible_after(&self, now: EpochMillis) -> Option<EpochMillis> {
        self.msgs
            .iter()
            .map(|m| m.visible_at)
            .filter(|t| *t > now)
            .min()
    }

    pub fn any_visible(&self, now: EpochMillis) -> bool {
        self.msgs.iter().any(|m| m.visible_at <= now)
    }

    /// Moves every dead-lettered message back (a DLQ redrive: receive counts start again).
    pub fn redrive(&mut self, now: EpochMillis) -> usize {
        let n = self.dlq.len();
        for mut m in self.dlq.drain(..) {
            m.receive_count = 0;
            m.visible_at = now;
            m.receipt = 0;
            self.msgs.push(m);
        }
        n
    }
}
