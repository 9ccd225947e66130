//! The chart's PNG (`weekly_reporter::png`) and its S3 upload (`S3ReportStore::put_png`).
//! The S3 test uses `SELFHEAL_MOTO_URL` when set, else starts moto
//! (`selfheal_aws::local::moto_for_test`; required under `make test`).

use std::time::{SystemTime, UNIX_EPOCH};

use resvg::tiny_skia::Pixmap;
use selfheal_aws::report::{S3ReportStore, PNG_URL_TTL};
use selfheal_aws::AwsClients;
use selfheal_service::report::ReportStore;
use weekly_reporter::png::{svg_to_png, PngError, MAX_SIDE, PNG_SCALE};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Width and height from the IHDR chunk, which must come first.
fn ihdr(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 33, "too short for a PNG: {} bytes", png.len());
    assert_eq!(png[..8], PNG_SIGNATURE, "PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "first chunk");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Pixels in the (unscaled) rectangle that are not opaque white.
fn ink(pixmap: &Pixmap, scale: f32, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
    let s = |v: u32| (v as f32 * scale) as u32;
    let mut n = 0;
    for y in s(y0)..s(y1) {
        for x in s(x0)..s(x1) {
            let p = pixmap.pixel(x, y).expect("pixel inside the image");
            if (p.red(), p.green(), p.blue(), p.alpha()) != (255, 255, 255, 255) {
                n += 1;
            }
        }
    }
    n
}

/// A chart like the report's: a white background, a bold title, labels and bars.
fn chart(width: u32, height: u32, family: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{family}" font-size="12">
<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>
<text x="8" y="18" font-weight="bold" fill="#111827">Daily alerts (max 7 per day)</text>
<text x="8" y="60" fill="#111827">web:disk_full</text>
<rect class="bar" x="300" y="40" width="20" height="60" fill="#2563eb"/>
<rect class="bar" x="330" y="70" width="20" height="30" fill="#2563eb"/>
<text x="310" y="116" font-size="10" text-anchor="middle" fill="#374151">Mon</text>
</svg>"##
    )
}

#[test]
fn a_chart_with_bars_and_text_renders_to_a_png_of_the_scaled_size() {
    let png = svg_to_png(&chart(400, 120, "sans-serif"), PNG_SCALE).expect("renders");
    assert_eq!(ihdr(&png), (800, 240));
    let pixmap = Pixmap::decode_png(&png).expect("a PNG tiny-skia decodes");
    assert_eq!((pixmap.width(), pixmap.height()), (800, 240));

    // The bars are painted blue.
    let bar = pixmap.pixel(310 * 2, 80 * 2).expect("pixel");
    assert_eq!((bar.red(), bar.green(), bar.blue()), (0x25, 0x63, 0xeb));
    // Text is drawn: the title, the label and the axis label leave ink where they are.
    assert!(ink(&pixmap, 2.0, 8, 4, 200, 22) > 200, "the title is drawn");
    assert!(
        ink(&pixmap, 2.0, 8, 48, 120, 64) > 100,
        "the label is drawn"
    );
    assert!(
        ink(&pixmap, 2.0, 290, 104, 330, 120) > 20,
        "the axis label is drawn"
    );
    // …and nothing else: the area under the label and left of the bars stays white.
    assert_eq!(ink(&pixmap, 2.0, 8, 70, 280, 100), 0);
}

#[test]
fn every_font_family_resolves_to_the_embedded_font() {
    let reference = svg_to_png(&chart(400, 120, "sans-serif"), 1.0).expect("renders");
    for family in ["system-ui", "serif", "Helvetica, Arial", "no-such-font"] {
        let png = svg_to_png(&chart(400, 120, family), 1.0).expect("renders");
        assert_eq!(png, reference, "font-family={family:?} draws as sans-serif");
    }
    let mono = svg_to_png(&chart(400, 120, "monospace"), 1.0).expect("renders");
    let pixmap = Pixmap::decode_png(&mono).expect("decodes");
    assert!(
        ink(&pixmap, 1.0, 8, 48, 120, 64) > 50,
        "monospace text is drawn"
    );
}

#[test]
fn bold_and_italic_text_is_drawn_with_the_regular_face() {
    // Only the regular face is embedded (binary size): other weights and styles fall back to it.
    let svg = |attrs: &str| {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="30" font-family="sans-serif" font-size="16"><rect width="200" height="30" fill="#fff"/><text x="4" y="20" {attrs}>Daily alerts</text></svg>"##
        )
    };
    let regular = svg_to_png(&svg(""), 1.0).expect("renders");
    let pixmap = Pixmap::decode_png(&regular).expect("decodes");
    assert!(ink(&pixmap, 1.0, 0, 0, 200, 30) > 100, "text is drawn");
    for attrs in [r#"font-weight="bold""#, r#"font-style="italic""#] {
        let png = svg_to_png(&svg(attrs), 1.0).expect("renders");
        assert_eq!(png, regular, "{attrs}");
    }
}

/// An SVG shaped like `selfheal_core::report::render_svg`'s chart (960 wide, a row of daily bars
/// per key, count labels, a day axis), `rows` keys over `days` days, 600 high.
fn report_like_chart(rows: usize, days: usize) -> String {
    use std::fmt::Write;
    let (width, height, label_w, row_h, top) = (960.0, 600.0, 260.0, 64.0, 28.0);
    let slot = (width - label_w - 16.0) / days as f64;
    let bar_w = slot * 0.7;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12"><title>Daily alerts per key</title><rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/><text x="8" y="18" font-weight="bold" fill="#111827">Daily alerts (max 9 per day)</text>"##
    );
    for row in 0..rows {
        let y0 = top + row as f64 * row_h;
        let base = y0 + 48.0;
        let _ = write!(
            s,
            r##"<g class="series"><text x="8" y="{:.2}" fill="#111827">role{row}:alert_disk_full_{row}</text><text x="8" y="{:.2}" fill="#6b7280">{} this period</text><line x1="{label_w}" y1="{base:.2}" x2="952" y2="{base:.2}" stroke="#d1d5db"/>"##,
            y0 + 20.0,
            y0 + 36.0,
            row * 7 + 3
        );
        for d in 0..days {
            let count = (row * 3 + d * 5) % 10;
            let h = count as f64 * 44.0 / 9.0;
            let x = label_w + d as f64 * slot + (slot - bar_w) / 2.0;
            let _ = write!(
                s,
                r##"<rect class="bar" x="{x:.2}" y="{:.2}" width="{bar_w:.2}" height="{h:.2}" fill="#2563eb"><title>{count}</title></rect><text x="{:.2}" y="{:.2}" font-size="10" text-anchor="middle" fill="#374151">{count}</text>"##,
                base - h,
                x + bar_w / 2.0,
                (base - h - 2.0).max(y0 + 8.0)
            );
        }
        s.push_str("</g>");
    }
    for d in 0..days {
        let _ = write!(
            s,
            r##"<text class="day" x="{:.2}" y="{:.2}" text-anchor="middle" fill="#4b5563">Mon 01-0{}</text>"##,
            label_w + d as f64 * slot + slot / 2.0,
            top + rows as f64 * row_h + 16.0,
            d + 1
        );
    }
    s.push_str("</svg>");
    s
}

#[test]
fn a_report_sized_chart_renders_at_960_by_600() {
    let svg = report_like_chart(8, 7);
    let png = svg_to_png(&svg, PNG_SCALE).expect("renders");
    assert_eq!(ihdr(&png), (1920, 1200));
    // Far below Slack's limits and cheap to upload.
    assert!(png.len() < 1024 * 1024, "{} bytes", png.len());
    let at_1x = svg_to_png(&svg, 1.0).expect("renders");
    assert_eq!(ihdr(&at_1x), (960, 600));
    println!(
        "960x600 chart ({} bytes of SVG): {} bytes of PNG at scale {PNG_SCALE}, {} at scale 1",
        svg.len(),
        png.len(),
        at_1x.len()
    );
}

#[test]
fn malformed_svg_is_an_error() {
    for bad in [
        "",
        "not xml at all",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect></svg>",
        "<html><body/></html>",
        // No size and no viewBox.
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\"/>",
    ] {
        let err = svg_to_png(bad, 1.0).expect_err(bad);
        assert!(matches!(err, PngError::Svg(_)), "{bad:?}: {err:?}");
    }
}

#[test]
fn bad_scales_are_errors() {
    let svg = chart(100, 100, "sans-serif");
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = svg_to_png(&svg, scale).expect_err("bad scale");
        assert!(matches!(err, PngError::InvalidScale(_)), "{err:?}");
    }
    // A tiny scale still makes at least one pixel (sizes round up).
    let png = svg_to_png(&svg, 0.001).expect("renders");
    assert_eq!(ihdr(&png), (1, 1));
}

#[test]
fn oversized_images_are_refused() {
    // Too large after scaling…
    let err = svg_to_png(&chart(3000, 600, "sans-serif"), 2.0).expect_err("too wide");
    assert!(matches!(err, PngError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("6000"), "{err}");
    // …or at any scale; the limit itself is allowed.
    let huge = r#"<svg xmlns="http://www.w3.org/2000/svg" width="1000000" height="1000000"/>"#;
    let err = svg_to_png(huge, 1.0).expect_err("too large");
    assert!(matches!(err, PngError::TooLarge { .. }), "{err:?}");
    let png = svg_to_png(&chart(MAX_SIDE / 4, 10, "sans-serif"), 4.0).expect("at the limit");
    assert_eq!(ihdr(&png), (MAX_SIDE, 40));
    // A huge document is refused before it is parsed.
    let long = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">{}</svg>",
        "<g/>".repeat(1_100_000)
    );
    let err = svg_to_png(&long, 1.0).expect_err("too long");
    assert!(matches!(err, PngError::InputTooLarge(_)), "{err:?}");
}

#[test]
fn images_and_files_are_never_loaded() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20"><rect width="20" height="20" fill="#fff"/><image href="/etc/passwd" width="20" height="20"/><image xlink:href="data:image/svg+xml;utf8,&lt;svg xmlns='http://www.w3.org/2000/svg' width='20' height='20'&gt;&lt;rect width='20' height='20'/&gt;&lt;/svg&gt;" width="20" height="20"/></svg>"##;
    let png = svg_to_png(svg, 1.0).expect("renders");
    let pixmap = Pixmap::decode_png(&png).expect("decodes");
    assert_eq!(
        ink(&pixmap, 1.0, 0, 0, 20, 20),
        0,
        "nothing but the white rect"
    );
}

// ---------------------------------------------------------------------------------------------
// S3 (moto)
// ---------------------------------------------------------------------------------------------

fn moto_url(test: &str) -> Option<(String, Option<selfheal_aws::local::Moto>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    selfheal_aws::local::moto_for_test(test, &root)
}

fn default_aws_env() {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
}

async fn s3_and_bucket(url: &str, name: &str) -> (aws_sdk_s3::Client, String) {
    default_aws_env();
    let clients = AwsClients::with_endpoint(url).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&clients.sdk_config)
            .force_path_style(true)
            .build(),
    );
    let suffix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let bucket = format!("selfheal-png-{name}-{suffix}");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    (s3, bucket)
}

fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

#[tokio::test]
async fn s3_put_png_gives_a_presigned_url_that_serves_the_png() {
    let Some((url, _moto)) = moto_url("s3_put_png_gives_a_presigned_url_that_serves_the_png")
    else {
        println!("SKIPPED s3_put_png_gives_a_presigned_url_that_serves_the_png: no moto");
        return;
    };
    let (s3, bucket) = s3_and_bucket(&url, "presign").await;
    let png = svg_to_png(&chart(400, 120, "sans-serif"), PNG_SCALE).expect("renders");
    let key = "selfheal/reports/selfheal-chart-2025-01-05.png";

    let store = S3ReportStore::new(s3.clone(), &bucket);
    let link = store
        .put_png(key, png.clone())
        .await
        .expect("uploaded")
        .expect("a URL");

    // A SigV4 query-string presigned GET of that object, valid for a week.
    assert!(
        link.starts_with(&format!("{url}/{bucket}/{key}?")),
        "{link}"
    );
    assert_eq!(
        query_param(&link, "X-Amz-Algorithm"),
        Some("AWS4-HMAC-SHA256")
    );
    assert_eq!(
        query_param(&link, "X-Amz-Expires"),
        Some(PNG_URL_TTL.as_secs().to_string().as_str())
    );
    assert_eq!(PNG_URL_TTL.as_secs(), 604_800);
    assert!(query_param(&link, "X-Amz-Signature").is_some_and(|s| s.len() == 64));

    // Slack fetches it with a plain GET: moto checks nothing but serves the object.
    let resp = reqwest::get(&link).await.expect("GET the presigned URL");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let body = resp.bytes().await.expect("body");
    assert_eq!(body.as_ref(), png.as_slice(), "the same bytes come back");

    let obj = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("get object");
    assert_eq!(obj.content_type(), Some("image/png"));
}

#[tokio::test]
async fn s3_put_png_under_a_public_url_base() {
    let Some((url, _moto)) = moto_url("s3_put_png_under_a_public_url_base") else {
        println!("SKIPPED s3_put_png_under_a_public_url_base: no moto");
        return;
    };
    let (s3, bucket) = s3_and_bucket(&url, "public").await;
    let store =
        S3ReportStore::new(s3.clone(), &bucket).with_url_base("https://reports.example.com/");
    assert_eq!(store.url_base(), Some("https://reports.example.com"));
    let key = "selfheal/reports/chart 1.png";
    let link = store
        .put_png(key, b"\x89PNG not really".to_vec())
        .await
        .expect("uploaded");
    assert_eq!(
        link.as_deref(),
        Some("https://reports.example.com/selfheal/reports/chart%201.png")
    );
    let obj = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("get object");
    assert_eq!(obj.content_type(), Some("image/png"));
    let bytes = obj.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), b"\x89PNG not really");

    // A store without a bucket that can serve images makes no URL (the trait's default).
    struct HtmlOnly;
    #[async_trait::async_trait]
    impl ReportStore for HtmlOnly {
        async fn put_html(&self, key: &str, _html: String) -> Result<String, String> {
            Ok(key.to_owned())
        }
    }
    assert_eq!(HtmlOnly.put_png("k.png", vec![1, 2, 3]).await, Ok(None));
}

#[tokio::test]
async fn s3_put_png_errors_name_the_bucket_not_a_url() {
    let Some((url, _moto)) = moto_url("s3_put_png_errors_name_the_bucket_not_a_url") else {
        println!("SKIPPED s3_put_png_errors_name_the_bucket_not_a_url: no moto");
        return;
    };
    default_aws_env();
    let clients = AwsClients::with_endpoint(&url).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&clients.sdk_config)
            .force_path_style(true)
            .build(),
    );
    let store = S3ReportStore::new(s3, "selfheal-png-no-such-bucket");
    let err = store
        .put_png("k.png", vec![1])
        .await
        .expect_err("no bucket");
    assert!(err.contains("s3:PutObject failed"), "{err}");
    assert!(!err.contains("X-Amz-Signature"), "{err}");
}
