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
    /// Names are formatted once; records copy them (as a decoder would).
    key_names: Vec<(String, String, String)>,
    instance_names: Vec<String>,
    rec: HistoryRecord,
}

impl SyntheticHistory {
    /// `keys` distinct `roleN:alertM` keys, `instances` distinct instance ids.
    pub fn new(
        seed: u64,
        start_ms: EpochMillis,
        end_ms: EpochMillis,
        keys: u32,
        instances: u32,
    ) -> Self {
        let keys = keys.max(1);
        let instances = instances.max(1);
        Self {
            state: seed | 1,
            start_ms,
            span_ms: (end_ms - start_ms).max(1),
            keys,
            instances,
            key_names: (0..keys)
                .map(|k| {
                    (
                        format!("role{}:alert{k}", k % 50),
                        format!("role{}", k % 50),
                        format!("alert{k}"),
                    )
                })
                .collect(),
            instance_names: (0..instances).map(|i| format!("i-{i:017x}")).collect(),
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
        let r = self.next_u64();
        // Skewed key choice: low keys are much more frequent.
        let k = ((r % u64::from(self.keys)) * ((r >> 20) % u64::from(self.keys))
            / u64::from(self.keys)) as u32;
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
        let (key_name, role_name, alert_name) = &self.key_names[k as usize];
        let set = |slot: &mut Option<String>, v: &str| {
            let s = slot.get_or_insert_with(String::new);
            s.clear();
            s.push_str(v);
        };
        set(&mut rec.key, key_name);
        set(&mut rec.role, role_name);
        set(&mut rec.alert, alert_name);
        set(&mut rec.instance, &self.instance_names[inst as usize]);
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
