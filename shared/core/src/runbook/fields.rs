//! Reading one field of a runbook entry from the JSON tree: text, string lists, command lists,
//! approvers, numbers in range, Slack ids, SSM document names, and where a value starts. Every
//! problem is pushed to the file's diagnostics with its location; nothing here stops a load.

use super::load::{FileCtx, MAX_COMMAND_CHARS};
use super::shell::element_problem;
use jsonc_parser::ast::{Array, Value};

pub(super) fn text_field(ctx: &mut FileCtx<'_>, name: &str, v: &Value<'_>) -> Option<String> {
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

pub(super) fn string_array<'v, 'a>(
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

pub(super) fn command_list(
    ctx: &mut FileCtx<'_>,
    name: &str,
    v: &Value<'_>,
    required: bool,
) -> Vec<String> {
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
pub(super) fn too_deep(text: &str, max: usize) -> Option<usize> {
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

pub(super) fn approver_list(ctx: &mut FileCtx<'_>, v: &Value<'_>) -> Vec<String> {
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

pub(super) fn number_field(
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

pub(super) fn valid_slack_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('U' | 'W' | 'S'))
        && s.len() >= 3
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

pub(super) fn valid_document(s: &str) -> bool {
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

pub(super) fn value_start(v: &Value<'_>) -> usize {
    root_start(v)
}

pub(super) fn root_start(v: &Value<'_>) -> usize {
    match v {
        Value::StringLit(x) => x.range.start,
        Value::NumberLit(x) => x.range.start,
        Value::BooleanLit(x) => x.range.start,
        Value::Object(x) => x.range.start,
        Value::Array(x) => x.range.start,
        Value::NullKeyword(x) => x.range.start,
    }
}
