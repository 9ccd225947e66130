//! The chat and escalation recorder: keeps every announcement so a test can assert on it.

use super::lock;
use crate::ports::*;
use async_trait::async_trait;
use std::sync::{Arc, Mutex};

/// Records announcements (chat or escalation).
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Announcement>>);

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn all(&self) -> Vec<Announcement> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl Chat for Recorder {
    async fn announce(&self, a: &Announcement) {
        lock(&self.0).push(a.clone());
    }
}

#[async_trait]
impl Escalator for Recorder {
    async fn escalate(&self, a: &Announcement) {
        lock(&self.0).push(a.clone());
    }
}
