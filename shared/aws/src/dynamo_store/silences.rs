//! Silences and maintenance windows (`silence` / `s#<id>`), and the announce-once notes beside
//! them (`silence` / `note#<note id>`).

use selfheal_service::ports::{EpochMillis, PortError, SilenceRecord};

use super::{n, s, DynamoStateStore, Item, Write};

const SILENCE_PK: &str = "silence";

impl DynamoStateStore {
    /// Stores a silence or maintenance window (replacing one with the same id).
    pub async fn put_silence(&self, record: &SilenceRecord) -> Result<(), PortError> {
        let expires_at = record.until_ms.map(|until| until.div_euclid(1000) + 86_400);
        let sk = format!("s#{}", record.id);
        self.put_record(record, "silence", SILENCE_PK, &sk, expires_at)
            .await
    }

    /// Deletes the silence `id`; `false` when there was none.
    pub async fn remove_silence(&self, id: &str) -> Result<bool, PortError> {
        self.delete_existing(SILENCE_PK, &format!("s#{id}")).await
    }

    pub(crate) async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        self.query_records(SILENCE_PK, "s#", "silence").await
    }

    pub(crate) async fn note_once(
        &self,
        note_id: &str,
        keep_until: EpochMillis,
    ) -> Result<bool, PortError> {
        let item = Item::from([
            ("pk".to_owned(), s(SILENCE_PK)),
            ("sk".to_owned(), s(&format!("note#{note_id}"))),
            (
                "expires_at".to_owned(),
                n(keep_until.div_euclid(1000) + 86_400),
            ),
        ]);
        let written = self
            .put_if(item, "attribute_not_exists(#pk)", &[("#pk", "pk")], vec![])
            .await?;
        Ok(matches!(written, Write::Done))
    }
}
