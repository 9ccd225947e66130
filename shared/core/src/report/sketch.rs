//! Bounded-memory estimators: [`DurationSketch`] (quantiles of time-to-heal) and
//! [`SpaceSaving`] (top instances).
//!
//! Why these two: the report must not hold every record. Per key it keeps
//!
//! * time-to-heal samples **exactly** up to [`EXACT_SAMPLES`] (128) values — so small weeks,
//!   and every test with known answers, get exact nearest-rank quantiles — and beyond that a
//!   fixed **log histogram** of [`BUCKETS`] `u32` counters whose bucket `i` spans
//!   `[γ^(i-1), γ^i)` ms with γ = 1.04. A quantile is reported as the bucket's geometric
//!   midpoint, so its relative error is at most √γ − 1 ≈ 2 %, at a fixed 2.8 KiB per key, and
//!   the histogram is only allocated for keys healed more than 128 times in a week. Unlike a
//!   capped sorted `Vec` (a reservoir) it never drops the tail, so p95 stays honest.
//! * instances with the **Space-Saving** algorithm (Metwally et al., 2005) in `capacity`
//!   slots: exact when a key has at most `capacity` distinct instances; otherwise every
//!   instance seen more than `n / capacity` times is kept and each count overestimates by at
//!   most its recorded `error`, so `count - error` is a guaranteed lower bound (the "same
//!   instance healed ≥ 3 times" rule uses the lower bound).

/// Samples kept exactly before switching to the histogram.
pub const EXACT_SAMPLES: usize = 128;
/// Histogram growth factor.
pub const GAMMA: f64 = 1.04;
/// Histogram buckets: γ^720 ms ≈ 60 years, far beyond any time to heal.
pub const BUCKETS: usize = 720;

/// Quantiles of non-negative durations (ms) in bounded memory.
#[derive(Debug, Clone, Default)]
pub struct DurationSketch {
    count: u64,
    exact: Vec<u64>,
    hist: Option<Box<[u32]>>,
}

fn bucket_of(ms: u64) -> usize {
    if ms == 0 {
        return 0;
    }
    // ms ≥ 1: bucket i ≥ 1 holds [γ^(i-1), γ^i).
    let i = ((ms as f64).ln() / GAMMA.ln()).floor() as usize + 1;
    i.min(BUCKETS - 1)
}

fn bucket_value(i: usize) -> u64 {
    if i == 0 {
        return 0;
    }
    GAMMA.powf(i as f64 - 0.5).round() as u64
}

impl DurationSketch {
    pub fn add(&mut self, ms: u64) {
        self.count += 1;
        if let Some(h) = self.hist.as_mut() {
            let b = bucket_of(ms);
            h[b] = h[b].saturating_add(1);
            return;
        }
        self.exact.push(ms);
        if self.exact.len() > EXACT_SAMPLES {
            let mut h = vec![0u32; BUCKETS].into_boxed_slice();
            for v in self.exact.drain(..) {
                let b = bucket_of(v);
                h[b] = h[b].saturating_add(1);
            }
            self.exact = Vec::new();
            self.hist = Some(h);
        }
    }

    /// Samples seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// `true` while every sample is kept exactly.
    pub fn is_exact(&self) -> bool {
        self.hist.is_none()
    }

    /// Nearest-rank quantile (`q` in 0..=1): the smallest sample with at least `q·n` samples at
    /// or below it. `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        match &self.hist {
            None => {
                let mut v = self.exact.clone();
                v.sort_unstable();
                v.get(rank as usize - 1).copied()
            }
            Some(h) => {
                let mut seen = 0u64;
                for (i, c) in h.iter().enumerate() {
                    seen += u64::from(*c);
                    if seen >= rank {
                        return Some(bucket_value(i));
                    }
                }
                Some(bucket_value(BUCKETS - 1))
            }
        }
    }
}

/// FNV-1a, 64 bit: fast for short ids; only used to compare within one summary.
/// FNV-1a, 64 bits: a cheap stable hash of short names (instance ids).
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Approximate top-k counts in `capacity` slots (see the module doc).
///
/// Laid out as parallel arrays: a lookup scans only the slots' hashes (a few cache lines) and
/// compares strings on a hash match; an eviction scans only the counts and reuses the evicted
/// slot's string buffer.
#[derive(Debug, Clone)]
pub struct SpaceSaving {
    capacity: usize,
    hashes: Vec<u64>,
    counts: Vec<u64>,
    errors: Vec<u64>,
    items: Vec<String>,
}

/// A counted item: `count` may overestimate by at most `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub item: String,
    pub count: u64,
    pub error: u64,
}

impl Counted {
    /// A guaranteed lower bound of the true count.
    pub fn at_least(&self) -> u64 {
        self.count - self.error
    }
}

impl SpaceSaving {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            hashes: Vec::new(),
            counts: Vec::new(),
            errors: Vec::new(),
            items: Vec::new(),
        }
    }

    fn find(&self, hash: u64, item: &str) -> Option<usize> {
        self.hashes
            .iter()
            .enumerate()
            .filter(|(_, h)| **h == hash)
            .map(|(i, _)| i)
            .find(|i| self.items[*i] == item)
    }

    pub fn add(&mut self, item: &str) {
        let hash = fnv1a(item);
        if let Some(i) = self.find(hash, item) {
            self.counts[i] += 1;
            return;
        }
        if self.hashes.len() < self.capacity {
            self.hashes.push(hash);
            self.counts.push(1);
            self.errors.push(0);
            self.items.push(item.to_owned());
            return;
        }
        // Replace the slot with the smallest count (first one on ties).
        let mut min_i = 0;
        let mut min_c = u64::MAX;
        for (i, c) in self.counts.iter().enumerate() {
            if *c < min_c {
                min_c = *c;
                min_i = i;
            }
        }
        self.errors[min_i] = min_c;
        self.counts[min_i] = min_c + 1;
        self.hashes[min_i] = hash;
        let s = &mut self.items[min_i];
        s.clear();
        s.push_str(item);
    }

    fn counted(&self, i: usize) -> Counted {
        Counted {
            item: self.items[i].clone(),
            count: self.counts[i],
            error: self.errors[i],
        }
    }

    /// The count recorded for `item`, if it holds a slot.
    pub fn get(&self, item: &str) -> Option<Counted> {
        self.find(fnv1a(item), item).map(|i| self.counted(i))
    }

    fn all(&self) -> Vec<Counted> {
        let mut v: Vec<Counted> = (0..self.items.len()).map(|i| self.counted(i)).collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.item.cmp(&b.item)));
        v
    }

    /// Up to `n` items, highest count first (ties by name).
    pub fn top(&self, n: usize) -> Vec<Counted> {
        let mut v = self.all();
        v.truncate(n);
        v
    }

    /// Every item whose guaranteed count is at least `min`, highest first.
    pub fn at_least(&self, min: u64) -> Vec<Counted> {
        self.all()
            .into_iter()
            .filter(|c| c.at_least() >= min)
            .collect()
    }

    /// `true` once some count may be overestimated (more distinct items than slots).
    pub fn is_approximate(&self) -> bool {
        self.errors.iter().any(|e| *e > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_quantiles() {
        let mut s = DurationSketch::default();
        assert_eq!(s.quantile(0.5), None);
        for v in [5, 1, 4, 2, 3] {
            s.add(v);
        }
        assert_eq!(s.quantile(0.5), Some(3));
        assert_eq!(s.quantile(0.95), Some(5));
        assert_eq!(s.quantile(0.0), Some(1));
        assert!(s.is_exact());
    }

    #[test]
    fn histogram_quantiles_within_two_percent() {
        let mut s = DurationSketch::default();
        for v in 1..=10_000u64 {
            s.add(v * 100);
        }
        assert!(!s.is_exact());
        assert_eq!(s.count(), 10_000);
        let check = |q: f64, want: f64| {
            let got = s.quantile(q).expect("samples") as f64;
            assert!(
                (got - want).abs() / want <= 0.021,
                "q={q} got {got} want {want}"
            );
        };
        check(0.5, 500_000.0);
        check(0.95, 950_000.0);
        check(1.0, 1_000_000.0);
    }

    #[test]
    fn space_saving_exact_under_capacity() {
        let mut t = SpaceSaving::new(4);
        for i in ["a", "b", "a", "c", "a", "b"] {
            t.add(i);
        }
        let top = t.top(2);
        assert_eq!(top[0].item, "a");
        assert_eq!(top[0].count, 3);
        assert_eq!(top[1].item, "b");
        assert_eq!(top[1].error, 0);
    }

    #[test]
    fn space_saving_keeps_heavy_hitter() {
        let mut t = SpaceSaving::new(8);
        for i in 0..1000 {
            t.add(&format!("noise{i}"));
            if i % 4 == 0 {
                t.add("heavy");
            }
        }
        let h = t.get("heavy").expect("kept");
        assert!(h.count >= 250 && h.at_least() <= 250, "{h:?}");
    }
}
