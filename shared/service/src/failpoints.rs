//! Test-only failpoints: named places in the flow where a test can make the process die on
//! purpose, to prove that a crash at that exact point loses nothing and runs nothing twice.
//!
//! Without the `failpoints` feature [`failpoint`] is an empty inline function: the calls compile
//! to nothing and the environment is never read. With it, the first call reads
//! `SELFHEAL_FAILPOINTS` once (no set-up call is needed at start-up), a `;`-separated list of
//! `NAME=ACTIONS`, where ACTIONS is a subset of the `fail` crate's syntax — steps joined by `->`,
//! each `[COUNT*]TASK`, a step without a count lasting for ever:
//!
//! | task | effect |
//! |---|---|
//! | `off` | nothing (use with a count to skip the first hits: `2*off->abort`) |
//! | `abort` | `std::process::abort()` at once: no destructors, no flushing, no SQS delete — as SIGKILL |
//! | `panic` | panics (in a release build `panic = "abort"`) |
//! | `sleep(MS)` | blocks the thread for MS milliseconds (a slow step) |
//! | `print` | writes `failpoint NAME hit` to stderr |
//!
//! Example: `SELFHEAL_FAILPOINTS='after-send=1*off->abort;during-poll=print'` lets the first
//! command's id be saved and kills the process right after the second SendCommand.
//!
//! The points the engine defines (in flow order): `before-claim`, `after-claim`, `before-send`,
//! `after-send` (the command was sent, its id not yet saved), `during-poll` (before each
//! GetCommandInvocation), `before-history`, `after-history` (the final record and the claim marked
//! done committed together, nothing announced yet), `after-finish` (the claim is done; the record is about to be deleted).
//! A malformed specification is reported on stderr and ignored (no failpoint fires).

/// The environment variable read (once) when the `failpoints` feature is on.
pub const ENV: &str = "SELFHEAL_FAILPOINTS";

/// Consults the failpoint `name`. Without the `failpoints` feature this does nothing.
#[inline(always)]
pub fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    imp::hit(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Whether failpoints are compiled in (the `failpoints` feature).
pub const fn enabled() -> bool {
    cfg!(feature = "failpoints")
}

/// One step of a failpoint's action list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Off,
    Abort,
    Panic,
    Sleep(u64),
    Print,
}

/// `[COUNT*]TASK`; `count: None` lasts for ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub count: Option<u64>,
    pub task: Task,
}

/// Parses a whole `SELFHEAL_FAILPOINTS` value into `(name, steps)` pairs.
pub fn parse_spec(spec: &str) -> Result<Vec<(String, Vec<Step>)>, String> {
    let mut out = Vec::new();
    for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, actions) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected NAME=ACTIONS"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{part:?}: empty failpoint name"));
        }
        out.push((name.to_owned(), parse_actions(actions)?));
    }
    Ok(out)
}

fn parse_actions(actions: &str) -> Result<Vec<Step>, String> {
    actions
        .split("->")
        .map(|step| {
            let step = step.trim();
            let (count, task) = match step.split_once('*') {
                Some((n, t)) => {
                    let n = n
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("{step:?}: the count must be a whole number"))?;
                    (Some(n), t.trim())
                }
                None => (None, step),
            };
            let task = match task {
                "off" => Task::Off,
                "abort" => Task::Abort,
                "panic" => Task::Panic,
                "print" => Task::Print,
                t if t.starts_with("sleep(") && t.ends_with(')') => Task::Sleep(
                    t["sleep(".len()..t.len() - 1]
                        .trim()
                        .parse()
                        .map_err(|_| format!("{step:?}: sleep takes milliseconds"))?,
                ),
                other => {
                    return Err(format!(
                        "{other:?}: unknown task (off, abort, panic, sleep(MS), print)"
                    ))
                }
            };
            Ok(Step { count, task })
        })
        .collect()
}

/// The task the `hit`-th call (0-based) of a failpoint with `steps` performs.
pub fn task_at(steps: &[Step], hit: u64) -> &Task {
    let mut left = hit;
    for step in steps {
        match step.count {
            Some(n) if left >= n => left -= n,
            _ => return &step.task,
        }
    }
    &Task::Off
}

#[cfg(feature = "failpoints")]
mod imp {
    use super::{parse_spec, task_at, Step, Task, ENV};
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    struct Point {
        steps: Vec<Step>,
        hits: u64,
    }

    fn registry() -> &'static Mutex<HashMap<String, Point>> {
        static REGISTRY: OnceLock<Mutex<HashMap<String, Point>>> = OnceLock::new();
        REGISTRY.get_or_init(|| {
            let spec = std::env::var(ENV).unwrap_or_default();
            let points = match parse_spec(&spec) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("selfheal: {ENV} ignored: {e}");
                    Vec::new()
                }
            };
            Mutex::new(
                points
                    .into_iter()
                    .map(|(name, steps)| (name, Point { steps, hits: 0 }))
                    .collect(),
            )
        })
    }

    pub(super) fn hit(name: &str) {
        let task = {
            let mut points = registry()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(point) = points.get_mut(name) else {
                return;
            };
            let task = task_at(&point.steps, point.hits).clone();
            point.hits += 1;
            task
        };
        match task {
            Task::Off => {}
            Task::Print => eprintln!("failpoint {name} hit"),
            Task::Sleep(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
            Task::Panic => panic!("failpoint {name}: panic"),
            Task::Abort => {
                eprintln!("failpoint {name}: abort");
                std::process::abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fail_crate_subset() {
        let p =
            parse_spec("after-send=1*off->abort; during-poll=sleep(20) ;x=print").expect("valid");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].0, "after-send");
        assert_eq!(
            p[0].1,
            vec![
                Step {
                    count: Some(1),
                    task: Task::Off
                },
                Step {
                    count: None,
                    task: Task::Abort
                }
            ]
        );
        assert_eq!(
            p[1].1,
            vec![Step {
                count: None,
                task: Task::Sleep(20)
            }]
        );
        assert!(parse_spec("").expect("empty is fine").is_empty());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "after-send",
            "=abort",
            "x=explode",
            "x=a*abort",
            "x=sleep(soon)",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn counts_select_the_task_per_hit() {
        let steps = parse_actions("2*off->1*print->abort").expect("valid");
        assert_eq!(task_at(&steps, 0), &Task::Off);
        assert_eq!(task_at(&steps, 1), &Task::Off);
        assert_eq!(task_at(&steps, 2), &Task::Print);
        assert_eq!(task_at(&steps, 3), &Task::Abort);
        assert_eq!(task_at(&steps, 99), &Task::Abort);
        let finite = parse_actions("1*abort").expect("valid");
        assert_eq!(task_at(&finite, 0), &Task::Abort);
        assert_eq!(
            task_at(&finite, 1),
            &Task::Off,
            "a used-up finite list does nothing"
        );
    }

    #[test]
    fn without_a_configured_point_nothing_happens() {
        failpoint("no-such-point-is-ever-configured");
    }
}
