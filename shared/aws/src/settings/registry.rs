//! Every `SELFHEAL_*` runtime setting: its name, who reads it, its default and its meaning. The
//! README's configuration tables are held to this table by a test (`tests/settings.rs`), and the
//! loaders beside this module read exactly these names.

/// A program part that reads a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The remediation engine: the alert-remediator Lambda, `selfheal serve` and `selfheal run`.
    Engine,
    /// The weekly report: the weekly-reporter Lambda and `selfheal report`.
    Report,
    /// The slack-approvals Lambda.
    Approvals,
    /// The `selfheal` command line (every command that reads the state table, validation, logs).
    Cli,
}

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    /// Who reads it.
    pub read_by: &'static [Component],
    /// Its default, as the README writes it (`–`: none).
    pub default: &'static str,
    /// What it means, in one line.
    pub meaning: &'static str,
}

use Component::{Approvals as A, Cli as C, Engine as E, Report as R};

const fn s(
    name: &'static str,
    read_by: &'static [Component],
    default: &'static str,
    meaning: &'static str,
) -> Setting {
    Setting {
        name,
        read_by,
        default,
        meaning,
    }
}

/// Every `SELFHEAL_*` runtime setting (test-only variables such as `SELFHEAL_MOTO_URL` are not
/// settings and are not listed).
#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    // The engine (`engine::Settings`).
    s("SELFHEAL_TABLE", &[E, R, A, C], "– (required)", "the DynamoDB state table"),
    s("SELFHEAL_MODE_PARAM", &[E, C], "unset", "SSM parameter holding enforce, dry-run or off"),
    s("SELFHEAL_RUNBOOKS", &[E, A], "bundled / runbooks/", "runbook file or directory"),
    s("SELFHEAL_ROLE_TAG", &[E, C], "Role", "the instance tag holding its role"),
    s("SELFHEAL_MAX_PER_HOUR", &[E], "30", "remediations that may start fleet-wide in any hour"),
    s("SELFHEAL_AWS_CONNECT_TIMEOUT_MS", &[E, R, A, C], "3000", "connecting to an AWS endpoint"),
    s("SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS", &[E, R, A, C], "10000", "one attempt of any AWS call"),
    s("SELFHEAL_AWS_OPERATION_TIMEOUT_MS", &[E, R, A, C], "30000", "a whole AWS call, retries included"),
    s("SELFHEAL_SSM_SEND_TIMEOUT_MS", &[E], "15000", "SendCommand's single attempt"),
    s("SELFHEAL_FUNCTION_BUDGET_SECONDS", &[E, C], "840", "time one invocation may spend"),
    s("SELFHEAL_HISTORY_TTL_DAYS", &[E], "90", "history items expire after this"),
    s("SELFHEAL_CAPACITY_RETRY_SECONDS", &[E], "60", "a full role is waited out in the batch for at most this long, then a capacity wait comes back after this long"),
    s("SELFHEAL_QUEUE_URL", &[E, A], "–", "the alert queue"),
    s("SELFHEAL_MAX_RECEIVE_COUNT", &[E], "5", "the queue's redrive limit"),
    s("SELFHEAL_APPROVAL_TTL_MINUTES", &[E, A], "30", "Run/Skip requests expire this long after they are posted"),
    s("SELFHEAL_SLACK_WEBHOOK_PARAM", &[E, R], "–", "SSM SecureString holding the Slack webhook URL"),
    s("SELFHEAL_SLACK_WEBHOOK_URL", &[E, R], "–", "the Slack webhook URL itself (local runs; a secret)"),
    s("SELFHEAL_SLACK_TOKEN_PARAM", &[E, A], "–", "SSM SecureString holding a Slack bot token"),
    s("SELFHEAL_SLACK_CHANNEL", &[E], "–", "the channel the bot token posts to"),
    s("SELFHEAL_SLACK_API_URL", &[E, A], "https://slack.com/api", "Slack Web API base"),
    s("SELFHEAL_CHAT_TOPIC_ARN", &[E], "–", "SNS topic for AWS Chatbot custom notifications"),
    s("SELFHEAL_ESCALATION_TOPIC_ARN", &[E], "–", "SNS topic paged on escalations"),
    // The process (`process::ProcessSettings`).
    s("SELFHEAL_ACCOUNT_ID", &[E], "from the queue URL", "account of the instances (tagging ARNs)"),
    s("SELFHEAL_CLAIM_LEASE_SECONDS", &[E], "budget + 60", "how long a worker owns a claim"),
    s("SELFHEAL_METRICS", &[E], "stdout (Lambda), off (serve)", "where EMF metric lines go"),
    s("SELFHEAL_LOG_FORMAT", &[C], "text", "json for JSON logs from selfheal serve and run"),
    s("SELFHEAL_USER", &[C], "$USER, $LOGNAME", "the operator name of a command"),
    // The weekly report (`report`).
    s("SELFHEAL_REPORT_TZ", &[R], "UTC", "IANA time zone of the report's days and weeks"),
    s("SELFHEAL_REPORT_PERIOD", &[R], "7d", "period of the scheduled report"),
    s("SELFHEAL_REPORT_MINUTES_PER_PAGE", &[R], "15", "on-call minutes one page costs"),
    s("SELFHEAL_REPORT_WORK_HOURS", &[R], "mon-fri 08:00-19:00", "working hours in the report's time zone"),
    s("SELFHEAL_REPORT_FREQUENT_ALERTS", &[R], "3", "write-runbook: no-runbook alerts per period"),
    s("SELFHEAL_REPORT_PROMOTE_MIN_APPROVED", &[R], "5", "promote-to-enforce: Run presses (0 = off)"),
    s("SELFHEAL_REPORT_PROMOTE_MIN_DRY_RUNS", &[R], "5", "promote-to-enforce: dry runs (0 = off)"),
    s("SELFHEAL_REPORT_DOWNGRADE_MIN_HEALED", &[R], "5", "downgrade-to-warning: heals per period"),
    s("SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT", &[R], "95", "downgrade-to-warning: success rate (%)"),
    s("SELFHEAL_REPORT_FIX_RUNBOOK_MIN_RUNS", &[R], "3", "fix-runbook: attempts per period"),
    s("SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT", &[R], "30", "fix-runbook: rate not healed (%)"),
    s("SELFHEAL_REPORT_REPEAT_INSTANCE_HEALS", &[R], "3", "permanent-fix-instance: alerts on one instance"),
    s("SELFHEAL_REPORT_FLEET_MIN_INSTANCES", &[R], "5", "permanent-fix-fleet: distinct instances"),
    s("SELFHEAL_REPORT_RECURRING_MIN_DAYS", &[R], "4", "permanent-fix-fleet: days of the period"),
    s("SELFHEAL_REPORT_FLAPPING_TRANSITIONS", &[R], "6", "tune-or-retire-alarm: unexplained state changes"),
    s("SELFHEAL_REPORT_CLOUDWATCH_ONLY_MIN_ALARMS", &[R], "1", "route-elsewhere: ALARMs selfheal never saw"),
    s("SELFHEAL_REPORT_ROUTE_MIN_UNRESOLVED", &[R], "3", "route-elsewhere: unresolved or expired alerts"),
    s("SELFHEAL_REPORT_MIN_RATE_SAMPLE", &[R], "3", "success rates over fewer attempts are not shown"),
    s("SELFHEAL_REPORT_ALARM_HISTORY", &[R], "true", "read CloudWatch alarm history"),
    s("SELFHEAL_REPORT_BUCKET", &[R], "–", "S3 bucket for the HTML report"),
    s("SELFHEAL_REPORT_PREFIX", &[R], "selfheal/reports/", "key prefix in the bucket"),
    s("SELFHEAL_REPORT_URL_BASE", &[R], "–", "URL the bucket's objects are served under"),
    // The slack-approvals function (`approvals::FunctionSettings`).
    s("SELFHEAL_SLACK_SIGNING_SECRET_PARAM", &[A], "– (required)", "SSM SecureString holding the Slack app's signing secret"),
    s("SELFHEAL_SLACK_SIGNING_SECRET", &[A], "–", "the signing secret itself (local runs and tests)"),
    s("SELFHEAL_APPROVER_GROUP", &[A], "unset", "a Slack user group allowed to approve every approve-mode runbook"),
    s("SELFHEAL_SLACK_TOKEN", &[A], "unset", "the bot token itself (local runs)"),
    s("SELFHEAL_SLACK_RESPONSE_URL_PREFIX", &[A], "https://hooks.slack.com/", "replies go only to response_urls under it"),
];

/// The setting called `name`, if it is one.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The settings `component` reads.
pub fn read_by(component: Component) -> impl Iterator<Item = &'static Setting> {
    SETTINGS
        .iter()
        .filter(move |s| s.read_by.contains(&component))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a name is listed twice");
        for s in SETTINGS {
            assert!(s.name.starts_with("SELFHEAL_"), "{}", s.name);
            assert!(
                s.name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                s.name
            );
            assert!(!s.read_by.is_empty() && !s.meaning.is_empty(), "{}", s.name);
        }
        assert!(find("SELFHEAL_TABLE").is_some());
        assert_eq!(read_by(Component::Approvals).count(), 14);
    }
}
