//! The report's SVG charts read back against known data: the daily chart's stacked segments
//! and last-period ghosts, the weekday × hour heatmap and its busiest cell, the top-keys chart
//! and the keys it leaves out, label layout (no two label boxes overlap, nothing outside the
//! viewBox) and escaping of hostile names.

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::{Document, Node};
use selfheal_core::history::HistoryRecord;
use selfheal_core::report::render::{render_heatmap_svg, render_keys_svg, render_summary_svg};
use selfheal_core::report::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2024-06-12T10:00:00Z, a Wednesday; 12:00 in Berlin (UTC+2).
const NOW: i64 = 1_718_186_400_000;
const SVG_NS: &str = "http://www.w3.org/2000/svg";
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Stacking order, bottom first.
const SERIES: [&str; 9] = [
    "healed",
    "failed",
    "precheck_failed",
    "needs_human",
    "dry_run",
    "not_acted",
    "no_runbook",
    "in_progress",
    "cloudwatch_only",
];

fn window(days: u32, end: WindowEnd) -> ReportWindow {
    ReportWindow::new(NOW, "Europe/Berlin", days, end).expect("window")
}

fn rec(key: &str, outcome: &str, instance: &str, at: i64) -> HistoryRecord {
    let (role, alert) = key.split_once(':').unwrap_or(("", key));
    HistoryRecord {
        key: Some(key.into()),
        role: Some(role.into()),
        alert: Some(alert.into()),
        instance: Some(instance.into()),
        state: Some("ALARM".into()),
        outcome: outcome.into(),
        received_at_ms: at,
        finished_at_ms: at + 90_000,
        ..Default::default()
    }
}

/// Alerts per day of this period (2024-06-05 Wed … 2024-06-11 Tue): outcome, its group, count.
/// They are placed one per local hour from 09:00, so no heatmap cell gets two of them.
const DAYTIME: [&[(&str, &str, u64)]; 7] = [
    &[("healed", "healed", 3), ("failed", "failed", 1)],
    &[("healed", "healed", 5), ("no-runbook", "no_runbook", 2)],
    &[],
    &[
        ("dry-run", "dry_run", 2),
        ("unresolved", "needs_human", 1),
        ("recovered", "not_acted", 1),
    ],
    &[
        ("healed", "healed", 1),
        ("precheck-failed", "precheck_failed", 2),
        ("awaiting-approval", "in_progress", 1),
    ],
    &[("timed-out", "failed", 1), ("skipped", "not_acted", 1)],
    &[("healed", "healed", 2)],
];

/// Last period's alerts per day slot.
const LAST: [u64; 7] = [9, 0, 4, 1, 0, 3, 1];

/// The known report and what it must show.
struct Known {
    report: Report,
    /// (day index, series) → count, non-zero only.
    segments: BTreeMap<(usize, &'static str), u64>,
    /// Weekday (Monday = 0) × local hour.
    heatmap: [[u64; 24]; 7],
}

/// Daytime alerts from `DAYTIME`, a nightly crash on one instance at 02:10 local every night
/// (three times in the night to Tuesday), one CloudWatch-only alarm on day 3 and last period's
/// alerts from `LAST`.
fn known() -> Known {
    let w = window(7, WindowEnd::StartOfToday);
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    let mut segments = BTreeMap::new();
    let mut heatmap = [[0u64; 24]; 7];
    let keys = ["web:disk_full", "db:replication_lag"];
    for (d, outcomes) in DAYTIME.iter().enumerate() {
        // Day 0 is a Wednesday.
        let wd = (2 + d) % 7;
        let mut hour = 9;
        for (outcome, group, n) in outcomes.iter() {
            for i in 0..*n {
                let key = keys[(hour + i as usize) % 2];
                b.add(&rec(
                    key,
                    outcome,
                    &format!("i-{hour:04}"),
                    start + d as i64 * DAY + hour as i64 * HOUR + 5 * MIN,
                ));
                heatmap[wd][hour] += 1;
                hour += 1;
            }
            *segments.entry((d, *group)).or_insert(0) += n;
        }
        let crashes: &[i64] = if d == 6 { &[10, 25, 40] } else { &[10] };
        for m in crashes {
            b.add(&rec(
                "app:nightly_crash",
                "healed",
                "i-0nightly",
                start + d as i64 * DAY + 2 * HOUR + m * MIN,
            ));
            heatmap[wd][2] += 1;
            *segments.entry((d, "healed")).or_insert(0) += 1;
        }
    }
    b.add_alarm_history("legacy-alarm", start + 3 * DAY + 5 * HOUR, "ALARM");
    segments.insert((3, "cloudwatch_only"), 1);
    for (d, n) in LAST.iter().enumerate() {
        for i in 0..*n {
            b.add(&rec(
                "web:disk_full",
                "healed",
                "i-last",
                start - 7 * DAY + d as i64 * DAY + 10 * HOUR + i as i64 * MIN,
            ));
        }
    }
    Known {
        report: b.finish(ReportConfig::default()),
        segments,
        heatmap,
    }
}

/// `keys` keys with `n, n-1, …, 1` alerts (plus last period's `n/2, …`), every fourth one
/// also an alarm seen only in CloudWatch.
fn many_keys(keys: u64, window: ReportWindow, name: impl Fn(u64) -> String) -> Report {
    let (start, _) = window.this_period();
    let mut b = ReportBuilder::new(window);
    for k in 0..keys {
        let n = keys - k;
        for i in 0..n {
            let outcome = ["healed", "failed", "no-runbook", "dry-run"][(i % 4) as usize];
            b.add(&rec(
                &name(k),
                outcome,
                &format!("i-{i}"),
                start + (i as i64 % 7) * DAY + (i as i64 % 24) * HOUR + k as i64 * MIN,
            ));
        }
        for i in 0..n / 2 {
            b.add(&rec(
                &name(k),
                "healed",
                "i-last",
                start - 7 * DAY + i as i64 * HOUR,
            ));
        }
    }
    b.finish(ReportConfig::default())
}

// ---------------------------------------------------------------------------------------------
// Reading the SVG back
// ---------------------------------------------------------------------------------------------

fn parse(svg: &str) -> Document<'_> {
    Document::parse(svg).unwrap_or_else(|e| panic!("well-formed SVG: {e}\n{svg}"))
}

fn num(n: Node, attr: &str) -> f64 {
    n.attribute(attr)
        .unwrap_or_else(|| panic!("{attr} on {n:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{attr} is a number on {n:?}"))
}

fn count(n: Node) -> u64 {
    n.attribute("data-count")
        .expect("data-count")
        .parse()
        .expect("count")
}

fn class_is(n: &Node, class: &str) -> bool {
    n.attribute("class") == Some(class)
}

fn with_class<'a, 'i>(doc: &'a Document<'i>, tag: &str, class: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.has_tag_name(tag) && class_is(n, class))
        .collect()
}

/// The sum of the `translate(x,y)` of a node's ancestors.
fn offset(n: Node) -> (f64, f64) {
    let (mut dx, mut dy) = (0.0, 0.0);
    for a in n.ancestors().skip(1) {
        if let Some(t) = a.attribute("transform") {
            let inner = t
                .strip_prefix("translate(")
                .and_then(|t| t.strip_suffix(')'))
                .unwrap_or_else(|| panic!("only translate() is used: {t}"));
            let mut parts = inner.split([',', ' ']).filter(|p| !p.is_empty());
            dx += parts.next().expect("x").parse::<f64>().expect("x");
            dy += parts.next().map_or(0.0, |y| y.parse().expect("y"));
        }
    }
    (dx, dy)
}

fn text_of(n: Node) -> String {
    n.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

fn font_size(n: Node) -> f64 {
    n.ancestors()
        .find_map(|a| a.attribute("font-size"))
        .expect("font-size")
        .parse()
        .expect("size")
}

/// A label's box: 0.6 × font size per character wide, from 0.8 font sizes above the baseline
/// to 0.2 below.
#[derive(Debug, Clone)]
struct Label {
    text: String,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

fn labels(doc: &Document) -> Vec<Label> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let (dx, dy) = offset(n);
            let (x, y) = (num(n, "x") + dx, num(n, "y") + dy);
            let size = font_size(n);
            let text = text_of(n);
            let w = 0.6 * size * text.chars().count() as f64;
            let x0 = match n.attribute("text-anchor").unwrap_or("start") {
                "middle" => x - w / 2.0,
                "end" => x - w,
                _ => x,
            };
            Label {
                text,
                x0,
                x1: x0 + w,
                y0: y - 0.8 * size,
                y1: y + 0.2 * size,
            }
        })
        .collect()
}

fn view_box(doc: &Document) -> (f64, f64) {
    let root = doc.root_element();
    let vb: Vec<f64> = root
        .attribute("viewBox")
        .expect("viewBox")
        .split(' ')
        .map(|v| v.parse().expect("number"))
        .collect();
    assert_eq!(vb[..2], [0.0, 0.0]);
    assert_eq!(num(root, "width"), vb[2]);
    assert_eq!(num(root, "height"), vb[3]);
    (vb[2], vb[3])
}

/// Every label inside the viewBox and no two labels overlapping; every rect and line inside.
fn check_layout(svg: &str, what: &str) {
    let doc = parse(svg);
    let (w, h) = view_box(&doc);
    assert_eq!(w, 960.0, "{what}: width");
    let eps = 0.01;
    let ls = labels(&doc);
    for l in &ls {
        assert!(
            l.x0 >= -eps && l.x1 <= w + eps && l.y0 >= -eps && l.y1 <= h + eps,
            "{what}: label {l:?} outside 0 0 {w} {h}"
        );
    }
    for (i, a) in ls.iter().enumerate() {
        for b in &ls[i + 1..] {
            let apart = a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
            assert!(
                apart,
                "{what}: labels {:?} and {:?} overlap: {a:?} {b:?}",
                a.text, b.text
            );
        }
    }
    for n in doc.descendants() {
        let (dx, dy) = offset(n);
        let (x0, y0, x1, y1) = if n.has_tag_name("rect") {
            let (x, y) = (num(n, "x") + dx, num(n, "y") + dy);
            (x, y, x + num(n, "width"), y + num(n, "height"))
        } else if n.has_tag_name("line") {
            let (xa, xb) = (num(n, "x1") + dx, num(n, "x2") + dx);
            let (ya, yb) = (num(n, "y1") + dy, num(n, "y2") + dy);
            (xa.min(xb), ya.min(yb), xa.max(xb), ya.max(yb))
        } else {
            continue;
        };
        assert!(
            x0 >= -eps && y0 >= -eps && x1 <= w + eps && y1 <= h + eps,
            "{what}: {:?} at {x0},{y0}–{x1},{y1} outside 0 0 {w} {h}",
            n.tag_name().name()
        );
        assert!(x1 >= x0 && y1 >= y0, "{what}: negative size");
    }
}

/// Pure SVG: no script, no event handler, no external reference, no stylesheet, generic font.
fn check_pure(svg: &str, what: &str) {
    let doc = parse(svg);
    for n in doc.descendants().filter(|n| n.is_element()) {
        let tag = n.tag_name().name();
        assert!(
            !matches!(
                tag,
                "script" | "style" | "image" | "use" | "foreignObject" | "a"
            ),
            "{what}: <{tag}>"
        );
        for a in n.attributes() {
            let name = a.name();
            assert!(
                !name.starts_with("on") && name != "href" && name != "style",
                "{what}: attribute {name}"
            );
            if name == "font-family" {
                assert_eq!(a.value(), "sans-serif", "{what}");
            }
        }
    }
    assert_eq!(
        doc.root_element().attribute("font-family"),
        Some("sans-serif"),
        "{what}"
    );
    assert!(!svg.contains("url("), "{what}: no url()");
}

fn all_charts(r: &Report) -> Vec<(&'static str, String)> {
    let inline = SvgOptions {
        standalone: false,
        ..SvgOptions::default()
    };
    vec![
        ("daily", render_svg(r, SvgOptions::default())),
        ("daily inline", render_svg(r, inline)),
        ("heatmap", render_heatmap_svg(r, SvgOptions::default())),
        ("keys", render_keys_svg(r, SvgOptions::default())),
        ("summary", render_summary_svg(r)),
    ]
}

// ---------------------------------------------------------------------------------------------
// The daily chart
// ---------------------------------------------------------------------------------------------

#[test]
fn daily_segments_and_ghosts_match_known_counts() {
    let k = known();
    let r = &k.report;
    assert_eq!(r.days.len(), 7);
    assert_eq!(r.days[0], "2024-06-05");
    let svg = render_svg(r, SvgOptions::default());
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS), "standalone");
    // Day 0: 4 daytime + 1 crash this period, 9 last period: the ghost is the tallest bar.
    let max = num(root, "data-max");
    assert_eq!(max, 9.0);
    let unit = num(root, "data-unit");
    assert!((unit * max - 220.0).abs() < 0.01, "unit {unit}");
    let close = |h: f64, n: u64| (h - n as f64 * unit).abs() <= 0.011 + n as f64 * 0.0001;

    // Segments: exactly the known non-zero (day, group) counts, heights count × unit.
    let segs = with_class(&doc, "rect", "seg");
    let mut seen = BTreeMap::new();
    for s in &segs {
        let day = s.attribute("data-day").expect("day");
        let d = r
            .days
            .iter()
            .position(|x| x == day)
            .expect("a day of the period");
        let group = s.attribute("data-group").expect("group");
        let g = SERIES.iter().find(|x| **x == group).expect("known group");
        let n = count(*s);
        assert!(n > 0, "no empty segments");
        assert!(close(num(*s, "height"), n), "{day} {group}: height");
        assert!(seen.insert((d, *g), n).is_none(), "one segment per group");
    }
    assert_eq!(seen, k.segments);

    // Stack order: bottom up in series order, each segment directly on the one below, all on
    // one baseline — the ghosts' baseline.
    let ghosts = with_class(&doc, "rect", "ghost");
    assert_eq!(ghosts.len(), 7);
    let base = num(ghosts[0], "y") + num(ghosts[0], "height");
    for (d, day) in r.days.iter().enumerate() {
        let ghost = ghosts[d];
        assert_eq!(ghost.attribute("data-day"), Some(day.as_str()));
        assert_eq!(count(ghost), LAST[d], "{day}: last period");
        assert!(close(num(ghost, "height"), LAST[d]), "{day}: ghost height");
        assert!((num(ghost, "y") + num(ghost, "height") - base).abs() < 0.011);

        let mine: Vec<_> = segs
            .iter()
            .filter(|s| s.attribute("data-day") == Some(day))
            .collect();
        let order: Vec<usize> = mine
            .iter()
            .map(|s| {
                SERIES
                    .iter()
                    .position(|g| Some(*g) == s.attribute("data-group"))
                    .expect("group")
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{day}: {order:?}");
        let mut bottom = base;
        for s in &mine {
            let (y, h) = (num(**s, "y"), num(**s, "height"));
            assert!((y + h - bottom).abs() < 0.011, "{day}: stacked");
            bottom = y;
            // The ghost is drawn behind: before the day's segments in document order.
            assert!(ghost.range().start < s.range().start, "{day}: ghost behind");
            // …and wider, so its outline shows on both sides.
            assert!(num(ghost, "x") < num(**s, "x"));
            assert!(num(ghost, "x") + num(ghost, "width") > num(**s, "x") + num(**s, "width"));
        }

        // The total sits above the taller of the stack and the ghost.
        let total: u64 = mine.iter().map(|s| count(**s)).sum();
        assert_eq!(total, r.totals.daily[d], "{day}: total");
        let label = with_class(&doc, "text", "total")
            .into_iter()
            .find(|t| t.attribute("data-day") == Some(day));
        if total == 0 {
            assert!(label.is_none(), "{day}: no total without alerts");
            continue;
        }
        let label = label.expect("total label");
        assert_eq!(text_of(label), total.to_string());
        let top = bottom.min(num(ghost, "y"));
        assert!(
            num(label, "y") + 0.2 * font_size(label) <= top,
            "{day}: total above the bars"
        );
    }

    // Gridlines with labels starting at 0.
    let ylabels: Vec<String> = with_class(&doc, "text", "ylabel")
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(ylabels.first().map(String::as_str), Some("0"));
    assert!((2..=7).contains(&ylabels.len()), "{ylabels:?}");

    // Day labels: weekday and MM-DD, every day fits at seven days.
    let days: Vec<String> = with_class(&doc, "text", "day")
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(days.len(), 7);
    assert_eq!(days[0], "Wed 06-05");
    assert_eq!(days[6], "Tue 06-11");
    assert!(!svg.contains("(partial)"));
    check_layout(&svg, "daily");
    check_pure(&svg, "daily");
}

#[test]
fn legend_lists_exactly_the_groups_present() {
    let k = known();
    let doc_s = render_svg(&k.report, SvgOptions::default());
    let doc = parse(&doc_s);
    let legend: Vec<&str> = with_class(&doc, "g", "legend")
        .iter()
        .map(|g| g.attribute("data-group").expect("group"))
        .collect();
    let present: BTreeSet<&str> = k.segments.keys().map(|(_, g)| *g).collect();
    let expected: Vec<&str> = SERIES
        .iter()
        .copied()
        .filter(|g| present.contains(g))
        .collect();
    assert_eq!(legend, expected, "legend in stacking order");
    assert_eq!(expected.len(), 9, "the known report uses every series");
    // Each legend swatch has its series' colour.
    for g in with_class(&doc, "g", "legend") {
        let group = g.attribute("data-group").expect("group");
        let swatch = g
            .children()
            .find(|c| c.has_tag_name("rect"))
            .expect("swatch");
        let seg = with_class(&doc, "rect", "seg")
            .into_iter()
            .find(|s| s.attribute("data-group") == Some(group))
            .expect("a segment");
        assert_eq!(swatch.attribute("fill"), seg.attribute("fill"), "{group}");
    }
    assert_eq!(with_class(&doc, "g", "legend-ghost").len(), 1);
    // Distinct colours.
    let fills: BTreeSet<&str> = with_class(&doc, "rect", "seg")
        .iter()
        .map(|s| s.attribute("fill").expect("fill"))
        .collect();
    assert_eq!(fills.len(), 9);

    // Only healed alerts and no last period: only `healed` in the legend, no ghost entry.
    let w = window(7, WindowEnd::StartOfToday);
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for d in 0..7 {
        b.add(&rec("web:x", "healed", "i-1", start + d * DAY + 9 * HOUR));
    }
    let r = b.finish(ReportConfig::default());
    let svg = render_svg(&r, SvgOptions::default());
    let doc = parse(&svg);
    let legend: Vec<_> = with_class(&doc, "g", "legend")
        .iter()
        .map(|g| g.attribute("data-group").expect("group"))
        .collect();
    assert_eq!(legend, ["healed"]);
    assert!(with_class(&doc, "g", "legend-ghost").is_empty());
    assert!(with_class(&doc, "rect", "ghost")
        .iter()
        .all(|g| count(*g) == 0));
    check_layout(&svg, "healed only");
}

#[test]
fn partial_today_is_marked_and_long_periods_thin_their_labels() {
    // Today is partial: its label says so, and it is always labelled.
    for days in [7, 14, 30, 61, 92] {
        let w = window(days, WindowEnd::EndOfToday);
        let (start, end) = w.this_period();
        let mut b = ReportBuilder::new(w);
        let mut t = start + 9 * HOUR;
        let mut i = 0;
        while t < end.min(NOW) {
            b.add(&rec("web:x", ["healed", "failed"][i % 2], "i-1", t));
            t += 7 * HOUR;
            i += 1;
        }
        let r = b.finish(ReportConfig::default());
        let today = r.partial_day.clone().expect("partial");
        assert_eq!(today, "2024-06-12");
        let svg = render_svg(&r, SvgOptions::default());
        let doc = parse(&svg);
        let labels = with_class(&doc, "text", "day");
        assert!(labels.len() <= 14, "{days} days: {} labels", labels.len());
        assert!(labels.len() >= 7.min(days as usize), "{days} days");
        let last = labels.last().expect("labels");
        assert_eq!(last.attribute("data-day"), Some(today.as_str()));
        assert_eq!(text_of(*last), "Wed 06-12");
        let notes = with_class(&doc, "text", "day-note");
        assert_eq!(notes.len(), 1);
        assert_eq!(text_of(notes[0]), "(partial)");
        assert_eq!(notes[0].attribute("x"), last.attribute("x"));
        // One segment group per day with alerts; ghosts for every day.
        assert_eq!(with_class(&doc, "rect", "ghost").len(), days as usize);
        check_layout(&svg, &format!("{days} days"));
        check_layout(&render_summary_svg(&r), &format!("{days} days summary"));
    }
}

// ---------------------------------------------------------------------------------------------
// The heatmap
// ---------------------------------------------------------------------------------------------

#[test]
fn heatmap_cells_hold_known_counts_and_name_the_busiest() {
    let k = known();
    let svg = render_heatmap_svg(&k.report, SvgOptions::default());
    let doc = parse(&svg);
    let cells = with_class(&doc, "rect", "cell");
    assert_eq!(cells.len(), 7 * 24);
    for c in &cells {
        let wd = WEEKDAYS
            .iter()
            .position(|w| Some(*w) == c.attribute("data-weekday"))
            .expect("weekday");
        let h: usize = c
            .attribute("data-hour")
            .expect("hour")
            .parse()
            .expect("hour");
        assert_eq!(count(*c), k.heatmap[wd][h], "{} {h}", WEEKDAYS[wd]);
    }
    // The night to Tuesday crashed three times between 02:00 and 02:59, every other night once.
    let cell = |wd: &str, h: &str| {
        cells
            .iter()
            .find(|c| {
                c.attribute("data-weekday") == Some(wd) && c.attribute("data-hour") == Some(h)
            })
            .copied()
            .expect("cell")
    };
    assert_eq!(count(cell("Tue", "2")), 3);
    assert_eq!(count(cell("Wed", "2")), 1);
    assert_eq!(count(cell("Mon", "3")), 0);
    let caption = with_class(&doc, "text", "caption");
    assert_eq!(caption.len(), 1);
    assert_eq!(text_of(caption[0]), "busiest: Tue 02:00–02:59, 3 alerts");
    assert_eq!(caption[0].attribute("data-weekday"), Some("Tue"));
    assert_eq!(caption[0].attribute("data-hour"), Some("2"));

    // Shading: zero cells share one near-white fill; darker with more alerts.
    let lum = |n: Node| {
        let f = n.attribute("fill").expect("fill");
        let v = |i: usize| u32::from_str_radix(&f[i..i + 2], 16).expect("hex");
        v(1) + v(3) + v(5)
    };
    let zero: BTreeSet<u32> = cells
        .iter()
        .filter(|c| count(**c) == 0)
        .map(|c| lum(*c))
        .collect();
    assert_eq!(zero.len(), 1);
    assert!(zero.iter().all(|z| *z > 700), "near white");
    assert!(lum(cell("Wed", "2")) < *zero.iter().next().expect("zero"));
    assert!(lum(cell("Tue", "2")) < lum(cell("Wed", "2")));
    assert!(cells.iter().all(|c| lum(*c) >= lum(cell("Tue", "2"))));
    // The busiest cell's count is written inside it.
    let (tx, ty) = (num(cell("Tue", "2"), "x"), num(cell("Tue", "2"), "y"));
    let inside = with_class(&doc, "text", "cell-count").into_iter().any(|t| {
        text_of(t) == "3"
            && num(t, "x") > tx
            && num(t, "x") < tx + num(cell("Tue", "2"), "width")
            && num(t, "y") > ty
            && num(t, "y") < ty + num(cell("Tue", "2"), "height")
    });
    assert!(inside, "count in the busiest cell");
    // Hour and weekday labels.
    let hours: Vec<String> = with_class(&doc, "text", "hour")
        .into_iter()
        .map(text_of)
        .collect();
    assert!(
        hours.len() >= 8 && hours.contains(&"00".to_owned()),
        "{hours:?}"
    );
    let weekdays: Vec<String> = with_class(&doc, "text", "weekday")
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(weekdays, WEEKDAYS);
    // Working hours (mon-fri 08:00-19:00) are outlined.
    assert_eq!(with_class(&doc, "path", "work-hours").len(), 1);
    check_layout(&svg, "heatmap");
    check_pure(&svg, "heatmap");
}

// ---------------------------------------------------------------------------------------------
// Top keys
// ---------------------------------------------------------------------------------------------

#[test]
fn keys_chart_shows_top_keys_and_mentions_the_rest() {
    let mut r = many_keys(15, window(7, WindowEnd::StartOfToday), |k| {
        format!("role{k:02}:alert")
    });
    // A CloudWatch-only alarm among the top keys.
    let w = window(7, WindowEnd::StartOfToday);
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for i in 0..12 {
        b.add_alarm_history("legacy-alarm", start + i * 6 * HOUR, "ALARM");
        b.add_alarm_history("legacy-alarm", start + i * 6 * HOUR + HOUR, "OK");
    }
    let cw = b.finish(ReportConfig::default());
    let cw_key = cw
        .keys
        .iter()
        .find(|k| !k.seen.history)
        .expect("CloudWatch-only key")
        .clone();
    assert!(cw_key.this_period > 0);
    r.keys.push(cw_key.clone());
    r.keys.sort_by_key(|k| std::cmp::Reverse(k.this_period));

    let opts = SvgOptions {
        top_keys: 10,
        standalone: true,
    };
    let svg = render_keys_svg(&r, opts);
    let doc = parse(&svg);
    let unit = num(doc.root_element(), "data-unit");
    let rows = with_class(&doc, "g", "series");
    assert_eq!(rows.len(), 10);
    let active: Vec<&KeyReport> = r.keys.iter().filter(|k| k.this_period > 0).collect();
    for (row, k) in rows.iter().zip(&active) {
        assert_eq!(row.attribute("data-key"), Some(k.key.as_str()));
        let segs: Vec<_> = row
            .descendants()
            .filter(|n| n.has_tag_name("rect") && class_is(n, "seg"))
            .collect();
        let mut expected: Vec<(&str, u64)> = OUTCOME_GROUPS
            .iter()
            .enumerate()
            .map(|(i, g)| (*g, k.outcome_groups.get(i)))
            .filter(|(_, n)| *n > 0)
            .collect();
        if !k.seen.history {
            expected = vec![("cloudwatch_only", k.this_period)];
        }
        let got: Vec<(&str, u64)> = segs
            .iter()
            .map(|s| (s.attribute("data-group").expect("group"), count(*s)))
            .collect();
        assert_eq!(got, expected, "{}", k.key);
        // Segments side by side from one start, widths count × unit.
        let x0 = num(segs[0], "x");
        let mut x = x0;
        for s in &segs {
            assert!((num(*s, "x") - x).abs() < 0.011);
            assert!((num(*s, "width") - count(*s) as f64 * unit).abs() < 0.011);
            x += num(*s, "width");
        }
        // The tick at last period's count.
        let tick = row
            .descendants()
            .find(|n| n.has_tag_name("line") && class_is(n, "last"));
        if k.last_period == 0 {
            assert!(tick.is_none());
        } else {
            let tick = tick.expect("tick");
            assert_eq!(count(tick), k.last_period);
            assert!((num(tick, "x1") - x0 - k.last_period as f64 * unit).abs() < 0.011);
        }
        let value = row
            .descendants()
            .find(|n| n.has_tag_name("text") && class_is(n, "count"))
            .expect("count");
        assert_eq!(text_of(value), k.this_period.to_string());
        assert!(num(value, "x") > x, "count after the bar");
        // …and not cut by the tick.
        if let Some(tick) = tick {
            let (x0, x1) = (
                num(value, "x"),
                num(value, "x") + 0.6 * 11.0 * text_of(value).len() as f64,
            );
            assert!(
                !(x0..=x1).contains(&num(tick, "x1")),
                "{}: tick through the count",
                k.key
            );
        }
    }
    assert!(
        rows.iter()
            .any(|r| r.attribute("data-key") == Some(cw_key.key.as_str())),
        "the CloudWatch-only key is charted"
    );
    // 16 keys with alerts, 10 shown: the last 6 are mentioned with their alerts.
    let dropped = &active[10..];
    let alerts: u64 = dropped.iter().map(|k| k.this_period).sum();
    let more = with_class(&doc, "text", "more");
    assert_eq!(more.len(), 1);
    assert_eq!(
        text_of(more[0]),
        format!(
            "+ {} more keys with {alerts} alerts not shown",
            dropped.len()
        )
    );
    check_layout(&svg, "keys");
    check_pure(&svg, "keys");

    // Fewer alerts than last period: the count follows the bar, the tick stands further right.
    let k = known();
    let svg = render_keys_svg(&k.report, SvgOptions::default());
    let doc = parse(&svg);
    let row = with_class(&doc, "g", "series")
        .into_iter()
        .find(|g| g.attribute("data-key") == Some("web:disk_full"))
        .expect("row");
    let find = |tag: &str, class: &str| {
        row.descendants()
            .find(|n| n.has_tag_name(tag) && class_is(n, class))
            .expect(class)
    };
    let (value, tick) = (find("text", "count"), find("line", "last"));
    assert!(count(tick) > text_of(value).parse::<u64>().expect("count"));
    let value_end = num(value, "x") + 0.6 * 11.0 * text_of(value).len() as f64;
    assert!(
        value_end < num(tick, "x1"),
        "count between the bar and the tick"
    );
    check_layout(&svg, "known keys");

    // All shown: nothing mentioned.
    let svg = render_keys_svg(
        &r,
        SvgOptions {
            top_keys: 100,
            standalone: false,
        },
    );
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "g", "series").len(), 16);
    assert!(with_class(&doc, "text", "more").is_empty());
    assert_eq!(doc.root_element().tag_name().namespace(), None);
    check_layout(&svg, "keys, all");

    // One left out: singular.
    let svg = render_keys_svg(
        &r,
        SvgOptions {
            top_keys: 15,
            standalone: true,
        },
    );
    let doc = parse(&svg);
    let last = active[15];
    assert_eq!(
        text_of(with_class(&doc, "text", "more")[0]),
        format!(
            "+ 1 more key with {} not shown",
            if last.this_period == 1 {
                "1 alert".to_owned()
            } else {
                format!("{} alerts", last.this_period)
            }
        )
    );
}

#[test]
fn long_key_names_are_clipped_with_the_full_name_in_the_title() {
    let long = format!("web:{}", "very_long_alert_name_".repeat(6));
    let r = many_keys(3, window(7, WindowEnd::StartOfToday), |k| {
        format!("{long}{k}")
    });
    let svg = render_keys_svg(&r, SvgOptions::default());
    let doc = parse(&svg);
    for row in with_class(&doc, "g", "series") {
        let key = row.attribute("data-key").expect("key");
        assert!(key.starts_with(&long));
        let name = row
            .descendants()
            .find(|n| n.has_tag_name("text") && class_is(n, "key"))
            .expect("name");
        let shown = text_of(name);
        assert!(shown.chars().count() <= 41, "{shown}");
        assert!(shown.contains('…'), "{shown}");
        // Clipped in the middle: both the role and the alert keep their ends, so keys that
        // differ only at the end stay apart.
        let tail: String = key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert!(shown.starts_with("web:very_long"), "{shown}");
        assert!(shown.ends_with(&tail), "{shown} ends like {key}");
        let title = row
            .children()
            .find(|n| n.has_tag_name("title"))
            .expect("title");
        assert!(text_of(title).contains(key), "full name in the title");
        // The name ends before the bars start.
        let seg = row
            .descendants()
            .find(|n| n.has_tag_name("rect"))
            .expect("seg");
        assert!(num(name, "x") + 0.6 * 12.0 * 41.0 < num(seg, "x"));
    }
    check_layout(&svg, "long names");

    // Keys that differ only at the end of a long role, or of a long alert, stay distinct.
    for name in [
        |k: u64| format!("a-rather-long-role-name-{k}:and-an-even-longer-alert-name"),
        |k: u64| format!("web:{}{k}", "x".repeat(60)),
        |k: u64| format!("{}{k}", "no-colon-".repeat(8)),
    ] {
        let r = many_keys(12, window(7, WindowEnd::StartOfToday), name);
        let svg = render_keys_svg(&r, SvgOptions::default());
        let doc = parse(&svg);
        let shown: BTreeSet<String> = with_class(&doc, "text", "key")
            .into_iter()
            .map(text_of)
            .collect();
        assert_eq!(shown.len(), 10, "{shown:?}");
        assert!(shown.iter().all(|s| s.chars().count() <= 41), "{shown:?}");
        check_layout(&svg, "similar long names");
    }
}

// ---------------------------------------------------------------------------------------------
// All charts
// ---------------------------------------------------------------------------------------------

#[test]
fn no_label_overlaps_and_nothing_leaves_the_view_box() {
    let reports = vec![
        ("known", known().report),
        (
            "40 keys, 7 days",
            many_keys(40, window(7, WindowEnd::StartOfToday), |k| {
                format!("role:alert_{k}")
            }),
        ),
        (
            "25 keys, 30 days",
            many_keys(25, window(30, WindowEnd::EndOfToday), |k| {
                format!("a-rather-long-role-name-{k}:and-an-even-longer-alert-name")
            }),
        ),
        (
            "60 keys, 92 days",
            many_keys(60, window(92, WindowEnd::StartOfToday), |k| {
                format!("r{k}:a")
            }),
        ),
        (
            "one day",
            many_keys(3, window(1, WindowEnd::StartOfToday), |k| format!("r{k}:a")),
        ),
    ];
    for (what, r) in &reports {
        for (chart, svg) in all_charts(r) {
            check_layout(&svg, &format!("{what}: {chart}"));
            check_pure(&svg, &format!("{what}: {chart}"));
        }
    }
    // Busy days: four-digit totals.
    let w = window(7, WindowEnd::StartOfToday);
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for i in 0..7000i64 {
        b.add(&rec(
            &format!("r{}:a", i % 3),
            ["healed", "failed", "dry-run"][(i % 3) as usize],
            &format!("i-{}", i % 50),
            start + (i % 7) * DAY + (i % 1440) * MIN,
        ));
    }
    let r = b.finish(ReportConfig::default());
    for (chart, svg) in all_charts(&r) {
        check_layout(&svg, &format!("7000 alerts: {chart}"));
    }
}

#[test]
fn empty_report_says_so_without_bars() {
    let r = ReportBuilder::new(window(7, WindowEnd::StartOfToday)).finish(ReportConfig::default());
    for (chart, svg) in all_charts(&r) {
        let doc = parse(&svg);
        assert!(svg.contains("No alerts in this period."), "{chart}");
        for class in ["seg", "ghost", "cell"] {
            assert!(
                with_class(&doc, "rect", class).is_empty(),
                "{chart}: {class}"
            );
        }
        assert!(with_class(&doc, "g", "series").is_empty(), "{chart}");
        check_layout(&svg, &format!("empty: {chart}"));
        check_pure(&svg, &format!("empty: {chart}"));
    }
}

#[test]
fn hostile_names_are_escaped() {
    const HOSTILE: &str =
        "web:<script>alert(1)</script>&amp;<!channel>\"'\u{202e}evil\u{2066}\n# x&";
    let w = window(7, WindowEnd::StartOfToday);
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for i in 0..3 {
        b.add(&rec(
            HOSTILE,
            "no-runbook",
            "i-<img src=x onerror=alert(1)>",
            start + i * DAY + 2 * HOUR,
        ));
    }
    b.add_alarm_history("<svg onload=alert(1)>&", start + DAY, "ALARM");
    let mut r = b.finish(ReportConfig::default());
    r.time_zone = "Europe/<b>Berlin</b>&\u{202e}".into();
    r.weekdays[0] = "<i>".into();
    r.totals.off_hours.work_hours = "<x>&".into();
    for (chart, svg) in all_charts(&r) {
        assert!(!svg.contains("<script"), "{chart}");
        assert!(!svg.contains("<img"), "{chart}");
        assert!(!svg.contains("<b>") && !svg.contains("<i>"), "{chart}");
        assert!(!svg.contains("<svg onload"), "{chart}");
        assert!(
            !svg.contains('\u{202e}') && !svg.contains('\u{2066}'),
            "{chart}"
        );
        if chart == "keys" {
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;"));
        }
        let doc = parse(&svg);
        // Escaped data reads back as the (sanitized) text, never as markup.
        for n in doc.descendants().filter(|n| n.is_element()) {
            assert!(
                n.attributes().all(|a| !a.name().starts_with("on")),
                "{chart}: handler"
            );
        }
        check_pure(&svg, &format!("hostile: {chart}"));
        check_layout(&svg, &format!("hostile: {chart}"));
    }
    let svg = render_keys_svg(&r, SvgOptions::default());
    let doc = parse(&svg);
    let keys: Vec<&str> = with_class(&doc, "g", "series")
        .iter()
        .map(|g| g.attribute("data-key").expect("key"))
        .collect();
    assert!(
        keys.iter()
            .any(|k| k.starts_with("web:<script>alert(1)</script>&amp;<!channel>\"' evil")),
        "{keys:?}"
    );
    assert!(keys.contains(&"<svg onload=alert(1)>&"), "{keys:?}");
}

#[test]
fn summary_stacks_title_daily_chart_and_heatmap() {
    let k = known();
    let svg = render_summary_svg(&k.report);
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
    assert_eq!(num(root, "width"), 960.0);
    check_pure(&svg, "summary");
    check_layout(&svg, "summary");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(text_of)
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("2024-06-05 – 2024-06-11")),
        "{texts:?}"
    );
    assert!(texts.contains(&"busiest: Tue 02:00–02:59, 3 alerts".to_owned()));
    assert_eq!(with_class(&doc, "rect", "seg").len(), k.segments.len());
    assert_eq!(with_class(&doc, "rect", "cell").len(), 168);
    // The daily chart above the heatmap.
    let daily = with_class(&doc, "g", "daily");
    let heat = with_class(&doc, "g", "heatmap");
    assert!(
        offset(daily[0].first_child().expect("child")).1
            < offset(heat[0].first_child().expect("child")).1
    );
    // Styled by presentation attributes: every text has its size and fill, every shape a fill
    // or stroke; no stylesheet.
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        assert!(n.attribute("font-size").is_some() && n.attribute("fill").is_some());
    }
    for n in doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") || n.has_tag_name("line") || n.has_tag_name("path"))
    {
        assert!(
            n.attribute("fill").is_some() || n.attribute("stroke").is_some(),
            "{:?}",
            n
        );
    }
}
