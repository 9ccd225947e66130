//! Loading untrusted runbook text: strict JSON, duplicate keys rejected (serde would silently keep
//! the last one), unknown fields rejected, every problem reported at once with its location.

use super::diagnostic::{Diagnostic, Severity};
use super::key::is_valid_key;
use super::model::{Mode, RunbookEntry, RunbookMap, NUMBER_RANGES};
use super::shell::element_problem;
use crate::location::LineIndex;
use jsonc_parser::ast::{Array, ObjectProp, Value};
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
const MAX_COMMAND_CHARS: usize = 4096;

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

struct FileCtx<'a> {
    name: &'a str,
    index: LineIndex<'a>,
    diags: &'a mut Vec<Diagnostic>,
}

impl FileCtx<'_> {
    fn push(&mut self, severity: Severity, offset: usize, message: String) {
        let (line, column) = self.index.position(offset);
        self.diags.push(Diagnostic {
            file: self.name.to_owned(),
            line,
            column,
            severity,
            message,
        });
    }
    fn error(&mut self, offset: usize, message: String) {
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

fn text_field(ctx: &mut FileCtx<'_>, name: &str, v: &Value<'_>) -> Option<String> {
    match v {
        Value::StringLit(s) if s.value.trim().is_empty() => {
            ctx.error(s.range.start, format!("{name:?} must not be empty"));
            None
        }
        Value::StringLit(s) => Some(s.value.to_string()),
        _ => {
            ctx.error(value_start(v), format!("{name:?} must be a string"));
            None
        }
    }
}

fn string_array<'v, 'a>(
    ctx: &mut FileCtx<'_>,
    name: &str,
    v: &'v Value<'a>,
) -> Option<&'v Array<'a>> {
    match v {
        Value::Array(a) => Some(a),
        _ => {
            ctx.error(
                value_start(v),
                format!("{name:?} must be an array of strings"),
            );
            None
        }
    }
}

fn command_list(ctx: &mut FileCtx<'_>, name: &str, v: &Value<'_>, required: bool) -> Vec<String> {
    let Some(array) = string_array(ctx, name, v) else {
        return Vec::new();
    };
    if required && array.elements.is_empty() {
        ctx.error(
            array.range.start,
            format!("{name:?} must list at least one command"),
        );
    }
    let mut out = Vec::with_capacity(array.elements.len());
    for (i, el) in array.elements.iter().enumerate() {
        match el {
            Value::StringLit(s) => {
                let text = &s.value;
                if text.trim().is_empty() {
                    ctx.error(s.range.start, format!("{name}[{i}] must not be empty"));
                } else if text.contains(['\r', '\0']) {
                    ctx.error(
                        s.range.start,
                        format!("{name}[{i}] must not contain a carriage return or NUL (an element may span lines with \\n only)"),
                    );
                } else if text.chars().count() > MAX_COMMAND_CHARS {
                    ctx.error(
                        s.range.start,
                        format!("{name}[{i}] is longer than {MAX_COMMAND_CHARS} characters"),
                    );
                } else if let Some(problem) = element_problem(text) {
                    ctx.error(s.range.start, format!("{name}[{i}] {problem}"));
                } else {
                    out.push(text.to_string());
                }
            }
            other => ctx.error(value_start(other), format!("{name}[{i}] must be a string")),
        }
    }
    out
}

/// The offset of the first `[` or `{` nested deeper than `max` levels, found without recursion
/// (strings and comments skipped), so that the recursive parser only ever sees shallow text.
fn too_deep(text: &str, max: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

fn approver_list(ctx: &mut FileCtx<'_>, v: &Value<'_>) -> Vec<String> {
    let Some(array) = string_array(ctx, "approvers", v) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, el) in array.elements.iter().enumerate() {
        match el {
            Value::StringLit(s) if valid_slack_id(&s.value) => out.push(s.value.to_string()),
            Value::StringLit(s) => ctx.error(
                s.range.start,
                format!(
                    "approvers[{i}] {:?} is not a Slack user (U…/W…) or user-group (S…) id",
                    s.value
                ),
            ),
            other => ctx.error(
                value_start(other),
                format!("approvers[{i}] must be a string"),
            ),
        }
    }
    out
}

fn number_field(
    ctx: &mut FileCtx<'_>,
    name: &str,
    v: &Value<'_>,
    min: u64,
    max: u64,
) -> Option<u32> {
    let Value::NumberLit(n) = v else {
        ctx.error(
            value_start(v),
            format!("{name:?} must be a whole number between {min} and {max}"),
        );
        return None;
    };
    let raw = n.value;
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        ctx.error(
            n.range.start,
            format!("{name:?} must be a whole number between {min} and {max}, got {raw}"),
        );
        return None;
    }
    let value = if raw.starts_with('-') {
        None
    } else {
        digits.parse::<u64>().ok()
    };
    match value {
        Some(x) if (min..=max).contains(&x) => u32::try_from(x).ok(),
        _ => {
            ctx.error(
                n.range.start,
                format!("{name:?} must be between {min} and {max}, got {raw}"),
            );
            None
        }
    }
}

fn valid_slack_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('U' | 'W' | 'S'))
        && s.len() >= 3
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn valid_document(s: &str) -> bool {
    let name = match s.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            match parts.as_slice() {
                [partition, "ssm", _region, account, resource]
                    if partition.starts_with("aws")
                        && account.bytes().all(|b| b.is_ascii_digit())
                        && account.len() <= 12 =>
                {
                    match resource.strip_prefix("document/") {
                        Some(n) => n,
                        None => return false,
                    }
                }
                _ => return false,
            }
        }
        None => s,
    };
    (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn value_start(v: &Value<'_>) -> usize {
    root_start(v)
}

fn root_start(v: &Value<'_>) -> usize {
    match v {
        Value::StringLit(x) => x.range.start,
        Value::NumberLit(x) => x.range.start,
        Value::BooleanLit(x) => x.range.start,
        Value::Object(x) => x.range.start,
        Value::Array(x) => x.range.start,
        Value::NullKeyword(x) => x.range.start,
    }
}
