//! Region codes (from codes or CloudWatch's display names) and AWS console links (CloudWatch
//! alarms, Run Command commands), percent-encoded so they cannot break out of a `<url|label>`
//! link. Pure string work: no lookups, no I/O.

/// Region display names as CloudWatch alarm notifications carry them, and their codes.
const REGION_NAMES: &[(&str, &str)] = &[
    ("US East (N. Virginia)", "us-east-1"),
    ("US East (Ohio)", "us-east-2"),
    ("US West (N. California)", "us-west-1"),
    ("US West (Oregon)", "us-west-2"),
    ("Africa (Cape Town)", "af-south-1"),
    ("Asia Pacific (Hong Kong)", "ap-east-1"),
    ("Asia Pacific (Taipei)", "ap-east-2"),
    ("Asia Pacific (Hyderabad)", "ap-south-2"),
    ("Asia Pacific (Jakarta)", "ap-southeast-3"),
    ("Asia Pacific (Malaysia)", "ap-southeast-5"),
    ("Asia Pacific (Melbourne)", "ap-southeast-4"),
    ("Asia Pacific (Mumbai)", "ap-south-1"),
    ("Asia Pacific (New Zealand)", "ap-southeast-6"),
    ("Asia Pacific (Osaka)", "ap-northeast-3"),
    ("Asia Pacific (Seoul)", "ap-northeast-2"),
    ("Asia Pacific (Singapore)", "ap-southeast-1"),
    ("Asia Pacific (Sydney)", "ap-southeast-2"),
    ("Asia Pacific (Thailand)", "ap-southeast-7"),
    ("Asia Pacific (Tokyo)", "ap-northeast-1"),
    ("Canada (Central)", "ca-central-1"),
    ("Canada West (Calgary)", "ca-west-1"),
    ("Europe (Frankfurt)", "eu-central-1"),
    ("Europe (Ireland)", "eu-west-1"),
    ("Europe (London)", "eu-west-2"),
    ("Europe (Milan)", "eu-south-1"),
    ("Europe (Paris)", "eu-west-3"),
    ("Europe (Spain)", "eu-south-2"),
    ("Europe (Stockholm)", "eu-north-1"),
    ("Europe (Zurich)", "eu-central-2"),
    ("EU (Frankfurt)", "eu-central-1"),
    ("EU (Ireland)", "eu-west-1"),
    ("EU (London)", "eu-west-2"),
    ("EU (Milan)", "eu-south-1"),
    ("EU (Paris)", "eu-west-3"),
    ("EU (Stockholm)", "eu-north-1"),
    ("Israel (Tel Aviv)", "il-central-1"),
    ("Mexico (Central)", "mx-central-1"),
    ("Middle East (Bahrain)", "me-south-1"),
    ("Middle East (UAE)", "me-central-1"),
    ("South America (Sao Paulo)", "sa-east-1"),
    ("South America (São Paulo)", "sa-east-1"),
    ("AWS GovCloud (US-East)", "us-gov-east-1"),
    ("AWS GovCloud (US-West)", "us-gov-west-1"),
    ("AWS GovCloud (US)", "us-gov-west-1"),
    ("China (Beijing)", "cn-north-1"),
    ("China (Ningxia)", "cn-northwest-1"),
];

/// The region code for `region`: itself when it already is one (`us-east-1`), the code of a
/// known display name (`Asia Pacific (Tokyo)`), else `None` (then no console link is shown).
pub fn region_code(region: &str) -> Option<String> {
    let r = region.trim();
    if is_region_code(r) {
        return Some(r.to_owned());
    }
    REGION_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(r))
        .map(|(_, code)| (*code).to_owned())
}

fn is_region_code(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 5
        && parts[0].len() >= 2
        && parts[0].len() <= 4
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|d| !d.is_empty() && d.len() <= 2 && d.chars().all(|c| c.is_ascii_digit()))
}

/// The console host for a region (China and GovCloud have their own partitions).
fn console_host(code: &str) -> String {
    if code.starts_with("cn-") {
        format!("{code}.console.amazonaws.cn")
    } else if code.starts_with("us-gov-") {
        format!("{code}.console.amazonaws-us-gov.com")
    } else {
        format!("{code}.console.aws.amazon.com")
    }
}

/// The CloudWatch console page of an alarm.
pub fn alarm_url(region_code: &str, alarm_name: &str) -> String {
    format!(
        "https://{}/cloudwatch/home?region={region_code}#alarmsV2:alarm/{}",
        console_host(region_code),
        url_encode(alarm_name)
    )
}

/// The Systems Manager console page of a Run Command command.
pub fn command_url(region_code: &str, command_id: &str) -> String {
    format!(
        "https://{}/systems-manager/run-command/{}?region={region_code}",
        console_host(region_code),
        url_encode(command_id)
    )
}

/// SSM command ids are UUIDs; anything else is shown, never linked.
pub(super) fn is_command_id(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Percent-encodes everything but RFC 3986 unreserved characters (like `encodeURIComponent`,
/// and stricter), so the result cannot break out of a `<url|label>` link.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
