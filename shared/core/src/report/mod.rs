//! The weekly alert-frequency report (issue 6): pure, streaming aggregation of history records
//! and CloudWatch alarm state updates into per-`ROLE:ALERT` figures, fleet totals and
//! one decision per key, plus its renderers.
//!
//! ```text
//! ReportWindow::new(now, tz, days, end)        // whole local days, in an IANA time zone
//!   → ReportBuilder::new(window)
//!       .add(&record) …                        // history, day by day; records are dropped
//!       .add_alarm_history(name, ms, state) …  // CloudWatch DescribeAlarmHistory
//!   → .finish(ReportConfig) → Report           // serializable, JSON schema_version 2
//!   → render::{render_text, render_markdown, render_json, render_slack, render_html,
//!              render_svg (daily by outcome), render_heatmap_svg, render_keys_svg,
//!              render_summary_svg (the PNG for Slack)}
//! ```
//!
//! No clock and no I/O: `now` is an argument. Memory is bounded per key (see [`sketch`]) and
//! the number of keys is capped ([`Limits`]).

pub mod builder;
mod counters;
mod finish;
pub mod hours;
pub mod model;
pub mod render;
pub mod rules;
pub mod sketch;
pub mod synthetic;
pub mod window;

pub use builder::{transitions, Limits, ReportBuilder, OTHER_KEYS, OUTCOMES, UNKNOWN_KEY};
pub use model::*;
pub use render::{
    render, render_heatmap_svg, render_html, render_json, render_keys_svg, render_markdown,
    render_slack, render_summary_svg, render_svg, render_text, Format, SvgOptions,
};
pub use rules::{KeyFacts, RULES};
pub use window::{parse_since, ReportError, ReportWindow, WindowEnd, MAX_PERIOD_DAYS};
