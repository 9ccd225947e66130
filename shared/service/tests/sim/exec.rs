//! Simulated time and a minimal single-threaded executor: time moves only when every task is
//! waiting, straight to the next timer, so a seed fully determines the interleaving.

use async_trait::async_trait;
use selfheal_service::ports::{Clock, EpochMillis};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(EpochMillis, u64)>>,
    wakers: HashMap<u64, Waker>,
    seq: u64,
}

/// The simulated clock and its timers.
pub struct SimCore {
    now: AtomicI64,
    timers: Mutex<Timers>,
}

impl SimCore {
    pub fn new(start: EpochMillis) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(start),
            timers: Mutex::default(),
        })
    }

    pub fn now(&self) -> EpochMillis {
        self.now.load(Ordering::SeqCst)
    }

    /// Moves time forward (never back).
    pub fn advance_to(&self, t: EpochMillis) {
        self.now.fetch_max(t, Ordering::SeqCst);
    }

    pub fn next_timer(&self) -> Option<EpochMillis> {
        lock(&self.timers).heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Wakes every timer that is due; true when one was.
    pub fn fire_due(&self) -> bool {
        let now = self.now();
        let mut due = Vec::new();
        {
            let mut t = lock(&self.timers);
            while let Some(Reverse((at, seq))) = t.heap.peek().copied() {
                if at > now {
                    break;
                }
                t.heap.pop();
                if let Some(w) = t.wakers.remove(&seq) {
                    due.push(w);
                }
            }
        }
        let any = !due.is_empty();
        for w in due {
            w.wake();
        }
        any
    }

    fn register(&self, at: EpochMillis, waker: Waker) {
        let mut t = lock(&self.timers);
        t.seq += 1;
        let seq = t.seq;
        t.heap.push(Reverse((at, seq)));
        t.wakers.insert(seq, waker);
    }

    pub async fn sleep_ms(self: &Arc<Self>, ms: i64) {
        Sleep {
            core: Arc::clone(self),
            until: self.now() + ms.max(0),
        }
        .await;
    }
}

struct Sleep {
    core: Arc<SimCore>,
    until: EpochMillis,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.core.now() >= self.until {
            Poll::Ready(())
        } else {
            self.core.register(self.until, cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The engine's clock port on simulated time.
pub struct SimClock(pub Arc<SimCore>);

#[async_trait]
impl Clock for SimClock {
    fn now_ms(&self) -> EpochMillis {
        self.0.now()
    }
    async fn sleep(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        self.0.sleep_ms(ms).await;
    }
}

/// Task ids that were woken, in wake order, without repeats.
#[derive(Default)]
pub struct ReadySet(Mutex<Vec<u64>>);

impl ReadySet {
    pub fn push(&self, id: u64) {
        let mut v = lock(&self.0);
        if !v.contains(&id) {
            v.push(id);
        }
    }
    /// Removes and returns the `pick(len)`-th ready task.
    pub fn take(&self, pick: impl FnOnce(usize) -> usize) -> Option<u64> {
        let mut v = lock(&self.0);
        if v.is_empty() {
            return None;
        }
        let i = pick(v.len());
        Some(v.remove(i))
    }
}

struct TaskWaker {
    id: u64,
    ready: Arc<ReadySet>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.id);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.id);
    }
}

pub fn waker_for(id: u64, ready: &Arc<ReadySet>) -> Waker {
    Waker::from(Arc::new(TaskWaker {
        id,
        ready: Arc::clone(ready),
    }))
}
