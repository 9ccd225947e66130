//! Silences and maintenance windows (one item per id, replaced on write), and the notes that
//! announce a silenced alarm once (`note#<id>`, a conditional write).

use super::validation::check_key;
use super::FakeStore;
use crate::fakes::lock;
use crate::ports::*;

impl FakeStore {
    /// Stores a silence or maintenance window, replacing one with the same id (as
    /// `DynamoStateStore::put_silence` does).
    pub fn add_silence(&self, s: SilenceRecord) {
        let mut all = lock(&self.silences);
        all.retain(|x| x.id != s.id);
        all.push(s);
        all.sort_by(|a, b| a.id.cmp(&b.id));
    }
    pub fn clear_silences(&self) {
        lock(&self.silences).clear();
    }
    /// Deletes the silence `id`; `false` when there was none.
    pub fn remove_silence(&self, id: &str) -> bool {
        let mut all = lock(&self.silences);
        let before = all.len();
        all.retain(|x| x.id != id);
        all.len() != before
    }
    /// How many distinct silence notes were announced.
    pub fn notes(&self) -> usize {
        lock(&self.notes).len()
    }
}

pub(super) async fn silences(store: &FakeStore) -> Result<Vec<SilenceRecord>, PortError> {
    store.check()?;
    Ok(lock(&store.silences).clone())
}

pub(super) async fn note_once(
    store: &FakeStore,
    note_id: &str,
    keep_until: EpochMillis,
) -> Result<bool, PortError> {
    store.check()?;
    check_key("silence", &format!("note#{note_id}"))?;
    let mut notes = lock(&store.notes);
    if notes.contains_key(note_id) {
        return Ok(false);
    }
    notes.insert(note_id.to_owned(), keep_until);
    Ok(true)
}
