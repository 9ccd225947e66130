//! Deterministic synthetic history for benchmarks and tests: one reusable record mutated in
//! place, so generating a million records allocates almost nothing.

use crate::history::{EpochMillis, HistoryRecord};

/// Outcomes in a plausible mix (weights out of 100).
const MIX: [(&str, u32); 8] = [
    ("healed", 55),
    ("failed", 8),
    ("no-runbook", 10),
    ("dry-run", 5),
    ("duplicate", 7),
    ("ignored", 8),
    ("budget-exhausted", 3),
    ("recovered", 4),
];

/// A generator of `HistoryRecord`s spread over `[start_ms, end_ms)`.
#[derive(Debug, Clone)]
pub struct SyntheticHistory {
    state: u64,
    start_ms: EpochMillis,
    span_ms: i64,
    keys: u32,
    instances: u32,
    rec: HistoryRecord,
}

impl SyntheticHistory {
    /// `keys` distinct `roleN:alertM` keys, `instances` distinct instance ids.
    pub fn new(seed: u64, start_ms: EpochMillis, end_ms: EpochMillis, keys: u32, instances: u32) -> Self {
        Self {
            state: seed | 1,
            start_ms,
            span_ms: (end_ms - start_ms).max(1),
            keys: keys.max(1),
            instances: instances.max(1),
            rec: HistoryRecord::default(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The next record (valid until the next call).
    pub fn next_record(&mut self) -> &HistoryRecord {
        use std::fmt::Write as _;
        let r = self.next_u64();
        // Skewed key choice: low keys are much more frequent.
        let k = ((r % u64::from(self.keys)) * ((r >> 20) % u64::from(self.keys)) / u64::from(self.keys)) as u32;
        let inst = ((r >> 32) % u64::from(self.instances)) as u32;
        let t = self.start_ms + ((r >> 8) % self.span_ms as u64) as i64;
        let mut pick = ((r >> 40) % 100) as u32;
        let mut outcome = MIX[0].0;
        for (o, w) in MIX {
            if pick < w {
                outcome = o;
                break;
            }
            pick -= w;
        }
        let rec = &mut self.rec;
        let key = rec.key.get_or_insert_with(String::new);
        key.clear();
        let _ = write!(key, "role{}:alert{}", k % 50, k);
        let role = rec.role.get_or_insert_with(String::new);
        role.clear();
        let _ = write!(role, "role{}", k % 50);
        let alert = rec.alert.get_or_insert_with(String::new);
        alert.clear();
        let _ = write!(alert, "alert{k}");
        let instance = rec.instance.get_or_insert_with(String::new);
        instance.clear();
        let _ = write!(instance, "i-{inst:017x}");
        rec.outcome.clear();
        rec.outcome.push_str(outcome);
        let state = rec.state.get_or_insert_with(String::new);
        state.clear();
        state.push_str(if outcome == "ignored" { "OK" } else { "ALARM" });
        rec.received_at_ms = t;
        rec.finished_at_ms = t + 5_000 + ((r >> 16) % 600_000) as i64;
        rec
    }
}
