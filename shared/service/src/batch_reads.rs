//! Reads shared by one batch: before any record is handled, the tags of every instance the
//! batch's alerts name (one tag lookup: GetResources takes up to 100 ARNs), the live state of
//! every alarm they name (one DescribeAlarms for up to 100 names) and the stored silences (one
//! query) are read once. Each record's step then answers from here instead of calling the
//! port again.
//!
//! What it is not: a cache that outlives the batch, or one that can be wrong in the unsafe
//! direction. A batch read that fails leaves its part empty and every record reads for itself
//! (and fails closed as before); a remediation resumed in a later delivery re-checks its alarm
//! right before `commands` with a fresh read (the phase machine's re-check is never served
//! from here), and the mode is read before every phase as before.

use std::collections::HashMap;

use selfheal_core::{AlarmState, InstanceId};

use crate::engine::Engine;
use crate::flow::ReadRecord;
use crate::ports::{InstanceTags, LiveAlarm, SilenceRecord};
use crate::record::has_live_alarm;

/// What one batch read once for all its records.
#[derive(Debug, Default)]
pub(crate) struct BatchReads {
    pub tags: HashMap<InstanceId, InstanceTags>,
    pub alarms: HashMap<(String, InstanceId), Option<LiveAlarm>>,
    pub silences: Option<Vec<SilenceRecord>>,
}

impl Engine {
    /// Reads what the batch's alerts will ask for (nothing for a batch of one record: the
    /// record's own reads cost the same).
    pub(crate) async fn read_for_batch(&self, records: &[&ReadRecord]) -> BatchReads {
        let mut instances: Vec<InstanceId> = Vec::new();
        let mut alarms: Vec<(String, InstanceId)> = Vec::new();
        let mut alerts = 0usize;
        for r in records {
            let ReadRecord::Alert(Ok(alert)) = *r else {
                continue;
            };
            // Recovery notices are recorded, never acted on: nothing to read for them.
            if alert.state != AlarmState::Alarm {
                continue;
            }
            let Some(instance) = alert.single_instance() else {
                continue;
            };
            alerts += 1;
            if !instances.contains(instance) {
                instances.push(instance.clone());
            }
            if let (true, Some(name)) = (has_live_alarm(alert), alert.alarm_name.as_ref()) {
                let pair = (name.clone(), instance.clone());
                if !alarms.contains(&pair) {
                    alarms.push(pair);
                }
            }
        }
        let mut reads = BatchReads::default();
        if alerts < 2 {
            return reads;
        }
        let (tags, live, silences) = futures::join!(
            self.ports.tags.tags_of_many(&instances),
            async {
                if alarms.is_empty() {
                    Ok(HashMap::new())
                } else {
                    self.ports.alarms.live_alarms(&alarms).await
                }
            },
            self.ports.store.silences()
        );
        match tags {
            Ok(t) => reads.tags = t,
            Err(e) => {
                tracing::warn!(error = %e, "batch tag lookup failed; each record reads its own")
            }
        }
        match live {
            Ok(a) => reads.alarms = a,
            Err(e) => {
                tracing::warn!(error = %e, "batch alarm read failed; each record reads its own")
            }
        }
        match silences {
            Ok(s) => reads.silences = Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "batch silence read failed; each record reads its own")
            }
        }
        reads
    }
}
