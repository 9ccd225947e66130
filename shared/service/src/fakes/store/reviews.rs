//! Needs-review items (`review`, sort key `<ROLE:ALERT>#<instance>`): one per key, replaced on
//! write.

use super::validation::check_item;
use super::FakeStore;
use crate::fakes::lock;
use crate::ports::*;

impl FakeStore {
    /// Everything listed as needing review, in the table's order (`<ROLE:ALERT>#<instance>`).
    pub fn needs_review(&self) -> Vec<NeedsReview> {
        let reviews = lock(&self.reviews);
        let mut keys: Vec<&String> = reviews.keys().collect();
        keys.sort();
        keys.into_iter().map(|k| reviews[k].clone()).collect()
    }
}

pub(super) async fn mark_needs_review(
    store: &FakeStore,
    item: &NeedsReview,
) -> Result<(), PortError> {
    store.check()?;
    let sk = format!("{}#{}", item.key, item.instance);
    check_item(item, "review", &sk)?;
    lock(&store.reviews).insert(sk, item.clone());
    Ok(())
}
