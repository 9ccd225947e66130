//! Loading untrusted runbook text: strict JSON, duplicate keys rejected (serde would silently keep
//! the last one), unknown fields rejected, every problem reported at once with its location.

use super::diagnostic::{Diagnostic, Severity};
use super::fields::*;
use super::key::is_valid_key;
use super::model::{Mode, RunbookEntry, RunbookMap, NUMBER_RANGES};
use crate::location::LineIndex;
use jsonc_parser::ast::{ObjectProp, Value};
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};
use std::collections::HashMap;

/// One runbook file: its display name and its text.
#[derive(Debug, Clone, Copy)]
pub struct RunbookSource<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Settings that shape validation.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// `SELFHEAL_FUNCTION_BUDGET_SECONDS`: a warning is given when an entry's phases may outlast it.
    pub function_budget_seconds: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            function_budget_seconds: 840,
        }
    }
}

/// The longest command element accepted (SSM's parameter limits are far larger; this catches
/// pastes).
pub(super) const MAX_COMMAND_CHARS: usize = 4096;

/// The deepest nesting of arrays and objects accepted. A runbook file needs three (map, entry,
/// command list); the JSON parser recurses once per level, so a file nested thousands of levels
/// deep would overflow the stack before any message could be given.
const MAX_NESTING: usize = 64;

const FIELDS: [&str; 12] = [
    "description",
    "owner",
    "precheck",
    "commands",
    "verify",
    "mode",
    "approvers",
    "timeout_seconds",
    "max_attempts",
    "window_minutes",
    "max_concurrent",
    "document",
];

/// Loads and validates every source. `Ok` carries the merged map and any warnings; `Err` carries
/// every error and warning found, sorted by file and position.
pub fn load(
    sources: &[RunbookSource<'_>],
    options: &LoadOptions,
) -> Result<(RunbookMap, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut seen: HashMap<String, (String, usize, usize)> = HashMap::new();
    let mut entries = Vec::new();
    for source in sources {
        load_file(source, options, &mut seen, &mut entries, &mut diags);
    }
    if diags.iter().any(|d| d.severity == Severity::Error) {
        Err(diags)
    } else {
        Ok((RunbookMap::from_entries(entries), diags))
    }
}

pub(super) struct FileCtx<'a> {
    name: &'a str,
    index: LineIndex<'a>,
    diags: &'a mut Vec<Diagnostic>,
    /// The key of the entry being checked (its problems name it).
    key: Option<String>,
}

impl FileCtx<'_> {
    pub(super) fn push(&mut self, severity: Severity, offset: usize, message: String) {
        let (line, column) = self.index.position(offset);
        self.diags.push(Diagnostic {
            file: self.name.to_owned(),
            line,
            column,
            severity,
            message,
            key: self.key.clone(),
        });
    }
    pub(super) fn error(&mut self, offset: usize, message: String) {
        self.push(Severity::Error, offset, message);
    }
}

fn load_file(
    source: &RunbookSource<'_>,
    options: &LoadOptions,
    seen: &mut HashMap<String, (String, usize, usize)>,
    entries: &mut Vec<(String, RunbookEntry)>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut ctx = FileCtx {
        name: source.name,
        index: LineIndex::new(source.text),
        diags,
        key: None,
    };
    let parse_options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
    };
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: false,
    };
    if let Some(at) = too_deep(source.text, MAX_NESTING) {
        ctx.error(at, format!("nesting deeper than {MAX_NESTING} levels"));
        return;
    }
    let parsed = match jsonc_parser::parse_to_ast(source.text, &collect, &parse_options) {
        Ok(p) => p,
        Err(e) => {
            ctx.error(e.range().start, format!("invalid JSON: {}", e.kind()));
            return;
        }
    };
    let Some(root) = parsed.value else {
        ctx.error(
            0,
            "file is empty: expected a JSON object of runbooks".into(),
        );
        return;
    };
    let Value::Object(root) = root else {
        ctx.error(
            root_start(&root),
            "expected a JSON object mapping \"ROLE:ALERT\" keys to runbooks".into(),
        );
        return;
    };
    let mut in_file: HashMap<&str, usize> = HashMap::new();
    for prop in &root.properties {
        let name = prop.name.as_str();
        let at = prop.range.start;
        ctx.key = (name != "$schema").then(|| name.to_owned());
        if let Some(first) = in_file.insert(name, at) {
            let (l, c) = ctx.index.position(first);
            ctx.error(
                at,
                format!(
                    "duplicate key {name:?} (first defined at {}:{l}:{c})",
                    ctx.name
                ),
            );
            continue;
        }
        if name == "$schema" {
            if !matches!(prop.value, Value::StringLit(_)) {
                ctx.error(
                    value_start(&prop.value),
                    "\"$schema\" must be a string".into(),
                );
            }
            continue;
        }
        if !is_valid_key(name) {
            ctx.error(
                at,
                format!(
                    "invalid runbook key {name:?}: expected ROLE:ALERT, each part A-Z a-z 0-9 _ . - or *"
                ),
            );
            continue;
        }
        let (line, col) = ctx.index.position(at);
        if let Some((file, l, c)) = seen.get(name) {
            let msg = format!("duplicate key {name:?} (first defined at {file}:{l}:{c})");
            ctx.error(at, msg);
            continue;
        }
        seen.insert(name.to_owned(), (ctx.name.to_owned(), line, col));
        if let Some(entry) = check_entry(&mut ctx, prop, options) {
            entries.push((name.to_owned(), entry));
        }
    }
}

fn check_entry(
    ctx: &mut FileCtx<'_>,
    prop: &ObjectProp<'_>,
    options: &LoadOptions,
) -> Option<RunbookEntry> {
    let key = prop.name.as_str();
    let key_at = prop.range.start;
    let Value::Object(obj) = &prop.value else {
        ctx.error(
            value_start(&prop.value),
            format!("runbook {key:?} must be an object with at least \"commands\""),
        );
        return None;
    };
    let errors_before = ctx.diags.len();
    let mut entry = RunbookEntry::with_commands(Vec::new());
    let mut has_commands = false;
    let mut timeout_at = None;
    let mut seen_fields: HashMap<&str, usize> = HashMap::new();
    for field in &obj.properties {
        let name = field.name.as_str();
        let at = field.range.start;
        if seen_fields.insert(name, at).is_some() {
            ctx.error(at, format!("duplicate field {name:?} in runbook {key:?}"));
            continue;
        }
        let v = &field.value;
        match name {
            "description" => entry.description = text_field(ctx, name, v),
            "owner" => entry.owner = text_field(ctx, name, v),
            "precheck" => entry.precheck = command_list(ctx, name, v, false),
            "commands" => {
                has_commands = true;
                entry.commands = command_list(ctx, name, v, true);
            }
            "verify" => entry.verify = command_list(ctx, name, v, false),
            "mode" => match v {
                Value::StringLit(s) => match Mode::parse(&s.value) {
                    Some(m) => entry.mode = m,
                    None => ctx.error(
                        s.range.start,
                        format!(
                            "\"mode\" must be one of enforce, dry-run, approve, off; got {:?}",
                            s.value
                        ),
                    ),
                },
                _ => ctx.error(value_start(v), "\"mode\" must be a string".into()),
            },
            "approvers" => entry.approvers = approver_list(ctx, v),
            "document" => {
                if let Some(doc) = text_field(ctx, name, v) {
                    if valid_document(&doc) {
                        entry.document = doc;
                    } else {
                        ctx.error(
                            value_start(v),
                            format!(
                                "\"document\" {doc:?} is not an SSM document name (3-128 of A-Z a-z 0-9 _ . -) or document ARN"
                            ),
                        );
                    }
                }
            }
            _ => {
                if let Some(&(_, min, max)) = NUMBER_RANGES.iter().find(|(n, _, _)| *n == name) {
                    if let Some(n) = number_field(ctx, name, v, min, max) {
                        match name {
                            "timeout_seconds" => {
                                entry.timeout_seconds = n;
                                timeout_at = Some(at);
                            }
                            "max_attempts" => entry.max_attempts = n,
                            "window_minutes" => entry.window_minutes = n,
                            _ => entry.max_concurrent = n,
                        }
                    }
                } else {
                    ctx.error(
                        at,
                        format!(
                            "unknown field {name:?} in runbook {key:?}; expected one of: {}",
                            FIELDS.join(", ")
                        ),
                    );
                }
            }
        }
    }
    if !has_commands {
        ctx.error(
            key_at,
            format!("runbook {key:?} is missing the required field \"commands\""),
        );
    }
    if ctx.diags.len() > errors_before {
        return None;
    }
    let worst = u64::from(entry.phase_count()) * u64::from(entry.timeout_seconds);
    if worst > options.function_budget_seconds {
        ctx.push(
            Severity::Warning,
            timeout_at.unwrap_or(key_at),
            format!(
                "runbook {key:?} may run {worst} s ({} phases x {} s), more than the function budget of {} s; it will be resumed across invocations",
                entry.phase_count(),
                entry.timeout_seconds,
                options.function_budget_seconds
            ),
        );
    }
    if entry.mode == Mode::Approve && entry.approvers.is_empty() {
        ctx.push(
            Severity::Warning,
            key_at,
            format!("runbook {key:?} is in mode \"approve\" but lists no approvers: only the default approver group can press Run"),
        );
    }
    Some(entry)
}
