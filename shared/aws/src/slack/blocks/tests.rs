//! Unit tests of the announcement renderer's helpers (regions, links, owner mentions,
//! durations). Whole messages are snapshot-tested in `shared/aws/tests/slack_render.rs`.

use super::*;

#[test]
fn regions() {
    assert_eq!(region_code("us-east-1").as_deref(), Some("us-east-1"));
    assert_eq!(
        region_code("us-gov-west-1").as_deref(),
        Some("us-gov-west-1")
    );
    assert_eq!(
        region_code("Asia Pacific (Tokyo)").as_deref(),
        Some("ap-northeast-1")
    );
    assert_eq!(
        region_code("us east (n. virginia)").as_deref(),
        Some("us-east-1")
    );
    assert_eq!(region_code("Atlantis (Central)"), None);
    assert_eq!(region_code("us-east-1a"), None);
    assert_eq!(region_code("x"), None);
    assert_eq!(region_code("https://evil|x"), None);
}

#[test]
fn links() {
    assert_eq!(
        alarm_url("us-east-1", "web:disk full/1"),
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/web%3Adisk%20full%2F1"
    );
    assert_eq!(
        command_url("eu-west-1", "0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a"),
        "https://eu-west-1.console.aws.amazon.com/systems-manager/run-command/0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a?region=eu-west-1"
    );
    assert!(alarm_url("cn-north-1", "a").starts_with("https://cn-north-1.console.amazonaws.cn/"));
    assert_eq!(url_encode("a|b>c"), "a%7Cb%3Ec");
}

#[test]
fn owners() {
    assert_eq!(owner_mention("@web-oncall"), "@web-oncall");
    assert_eq!(owner_mention("S0123ABC"), "<!subteam^S0123ABC>");
    assert_eq!(
        owner_mention("<!subteam^S0123ABC|@web>"),
        "<!subteam^S0123ABC>"
    );
    assert_eq!(owner_mention("<@U0123ABC>, @ops"), "<@U0123ABC> @ops");
    assert_eq!(owner_mention("<!channel>"), "&lt;!channel&gt;");
    assert_eq!(owner_mention("@here"), "@\u{2060}here");
}

#[test]
fn durations() {
    assert_eq!(duration(850), "850 ms");
    assert_eq!(duration(12_345), "12.3 s");
    assert_eq!(duration(245_000), "4 min 5 s");
    assert_eq!(duration(3_720_000), "1 h 2 min");
    assert_eq!(duration(-5), "0 ms");
}
