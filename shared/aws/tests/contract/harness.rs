//! Runs a list of named contracts against one implementation and reports every failure at once
//! (not only the first), with the time each took.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use selfheal_aws::local::Moto;
use selfheal_aws::AwsClients;

pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// One named contract over a kit `K` (an implementation under test).
pub struct Case<K> {
    pub name: &'static str,
    pub run: fn(K) -> BoxFuture,
}

/// `cases![kit_type; f, g, …]`: each async fn `f(kit: K)` as a named [`Case`].
#[macro_export]
macro_rules! cases {
    ($k:ty; $($f:path),+ $(,)?) => {
        vec![$($crate::harness::Case::<$k> {
            name: stringify!($f),
            run: |k: $k| -> $crate::harness::BoxFuture { Box::pin($f(k)) },
        }),+]
    };
}

/// The longest one contract may take (moto answers in milliseconds; the slowest contract waits
/// out the mode parameter's 2 s cache).
const CASE_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs every case against `kit` (concurrently unless `sequential`) and panics with the list of
/// failed contracts when any failed.
pub async fn run<K: Clone + Send + 'static>(
    implementation: &str,
    kit: K,
    cases: Vec<Case<K>>,
    sequential: bool,
) {
    run_known(implementation, kit, cases, sequential, &[]).await;
}

/// [`run`], where each `(contract, why)` of `known` is a reported defect of the real adapter
/// (never "fixed" by weakening the contract): it must still fail, and is listed as known. When
/// it passes, the suite fails so the entry is removed.
pub async fn run_known<K: Clone + Send + 'static>(
    implementation: &str,
    kit: K,
    cases: Vec<Case<K>>,
    sequential: bool,
    known: &[(&str, &str)],
) {
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut results = Vec::new();
    for case in cases {
        let fut = (case.run)(kit.clone());
        let task = tokio::spawn(async move {
            let t = Instant::now();
            let r = tokio::time::timeout(CASE_TIMEOUT, fut).await;
            (r.is_ok(), t.elapsed())
        });
        if sequential {
            results.push((case.name, task.await));
        } else {
            handles.push((case.name, task));
        }
    }
    for (name, task) in handles {
        results.push((name, task.await));
    }
    let mut failed = Vec::new();
    for (name, result) in results {
        let name = name.rsplit("::").next().unwrap_or(name);
        let outcome = match result {
            Ok((true, took)) => Ok(took),
            Ok((false, _)) => Err(format!("timed out after {CASE_TIMEOUT:?}")),
            Err(e) => Err(match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panicked".to_owned()),
                Err(e) => e.to_string(),
            }),
        };
        let known_defect = known.iter().find(|(k, _)| *k == name).map(|(_, why)| *why);
        match (outcome, known_defect) {
            (Ok(took), None) => eprintln!("contract {implementation}/{name}: ok ({took:.1?})"),
            (Err(why), None) => {
                eprintln!("contract {implementation}/{name}: FAILED: {why}");
                failed.push(format!("{name}: {why}"));
            }
            (Err(how), Some(why)) => eprintln!(
                "contract {implementation}/{name}: KNOWN ADAPTER DEFECT (reported): {why}; \
                 it fails with: {how}"
            ),
            (Ok(_), Some(why)) => {
                eprintln!(
                    "contract {implementation}/{name}: passes, but is listed as a known defect"
                );
                failed.push(format!(
                    "{name}: listed as a known adapter defect ({why}) but passes: take it off the list"
                ));
            }
        }
    }
    eprintln!(
        "contracts on {implementation}: {} failed, {:.1?}",
        failed.len(),
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "{} contract(s) failed on {implementation}:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
}

/// The emulator for one test function: `SELFHEAL_MOTO_URL` when set, else a moto started for it
/// (stopped when the returned server is dropped). `None`: moto is not installed and not required.
pub fn moto(test: &str) -> Option<(String, Option<Moto>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    selfheal_aws::local::moto_for_test(test, &root)
}

/// Clients pointed at the emulator, with the product's retries (standard mode,
/// `config::MAX_ATTEMPTS` attempts, SendCommand never retried) and timeouts; only the backoff
/// is shortened so lost responses do not make the suite sleep for seconds.
pub async fn clients(url: &str) -> AwsClients {
    let config = selfheal_aws::config::sdk_loader()
        .retry_config(
            selfheal_aws::config::standard_retries()
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .endpoint_url(url)
        .region(aws_config::Region::new(selfheal_aws::local::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await;
    AwsClients::from_sdk_config(config)
}

/// A name no other contract uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos}-{}", N.fetch_add(1, Ordering::SeqCst))
}

/// Wall-clock epoch milliseconds.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
