//! The report's SVG chart as a PNG, for Slack (Slack shows no SVG, and the Lambda has no browser).
//!
//! Pure Rust: `resvg` parses with `usvg` and paints with `tiny-skia`. The Lambda has no fonts, so
//! DejaVu Sans (see `assets/DejaVu-LICENSE.txt`) is compiled in and every font family —
//! `sans-serif`, `system-ui`, `monospace`, any name — resolves to it. Only the regular face is
//! embedded (the bold one would cost another 709 kB of a binary kept under 15 MB): bold and
//! italic text is drawn upright in the regular weight. Characters DejaVu Sans lacks (CJK,
//! emoji) are drawn as empty boxes. External resources are never read: `<image href>` (files,
//! `data:` URLs) is ignored.
//!
//! Bad input is an error, never a panic: an SVG that does not parse, a scale that is not a
//! positive finite number, or an image larger than [`MAX_SIDE`] pixels a side after scaling
//! (a pixmap is 4 bytes a pixel: 4096×4096 is 64 MiB, within the Lambda's memory).

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

/// The default scale for Slack: a 960-pixel-wide chart becomes 1920 pixels, sharp on
/// high-density screens.
pub const PNG_SCALE: f32 = 2.0;

/// The largest width and height (each) of a rendered PNG, in pixels, after scaling.
pub const MAX_SIDE: u32 = 4096;

/// The longest SVG text accepted (the report's chart is a few tens of kilobytes).
pub const MAX_SVG_BYTES: usize = 4 * 1024 * 1024;

/// The family name inside the embedded font files.
const FAMILY: &str = "DejaVu Sans";
const REGULAR: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Why an SVG could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("the SVG is {0} bytes; at most {MAX_SVG_BYTES} are accepted")]
    InputTooLarge(usize),
    #[error("invalid scale {0}: it must be a positive finite number")]
    InvalidScale(f32),
    #[error("invalid SVG: {0}")]
    Svg(String),
    #[error("the PNG would be {width}×{height} pixels; at most {MAX_SIDE}×{MAX_SIDE} are allowed")]
    TooLarge { width: f64, height: f64 },
    #[error("the PNG would be empty ({width}×{height} pixels)")]
    Empty { width: f64, height: f64 },
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

/// The embedded fonts, loaded once per process (parsing the font tables is not free; a warm
/// Lambda reuses the database).
fn fonts() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        // A `&'static [u8]` source: the font bytes are not copied.
        db.load_font_source(fontdb::Source::Binary(Arc::new(REGULAR)));
        db.set_sans_serif_family(FAMILY);
        // usvg falls back to the serif family for any name it cannot find (`system-ui`,
        // `Helvetica`, …): that is DejaVu Sans too, as are the other generic families.
        db.set_serif_family(FAMILY);
        db.set_monospace_family(FAMILY);
        db.set_cursive_family(FAMILY);
        db.set_fantasy_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

fn options() -> usvg::Options<'static> {
    let mut opt = usvg::Options {
        font_family: FAMILY.to_owned(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    // Never read files or decode embedded images: the chart has none, and the default
    // resolver would open any path an `<image href>` names.
    opt.image_href_resolver = usvg::ImageHrefResolver {
        resolve_data: Box::new(|_, _, _| None),
        resolve_string: Box::new(|_, _| None),
    };
    opt
}

/// Renders `svg` to a PNG `scale` times its size (`width`/`height`, else its `viewBox`).
/// What the SVG does not paint stays transparent (the report's chart paints a white background).
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, PngError> {
    if svg.len() > MAX_SVG_BYTES {
        return Err(PngError::InputTooLarge(svg.len()));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(PngError::InvalidScale(scale));
    }
    let tree = usvg::Tree::from_str(svg, &options()).map_err(|e| PngError::Svg(e.to_string()))?;
    let size = tree.size();
    let width = (f64::from(size.width()) * f64::from(scale)).ceil();
    let height = (f64::from(size.height()) * f64::from(scale)).ceil();
    let max = f64::from(MAX_SIDE);
    if !(width <= max && height <= max) {
        return Err(PngError::TooLarge { width, height });
    }
    if !(width >= 1.0 && height >= 1.0) {
        return Err(PngError::Empty { width, height });
    }
    // In range 1..=MAX_SIDE, checked above.
    let mut pixmap = tiny_skia::Pixmap::new(width as u32, height as u32)
        .ok_or(PngError::Empty { width, height })?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PngError::Encode(e.to_string()))
}

/// The report's chart renderer (`selfheal_service::report::ChartRenderer`): [`svg_to_png`] at
/// [`PNG_SCALE`], the error as a sentence.
pub fn chart_png(svg: &str) -> Result<Vec<u8>, String> {
    svg_to_png(svg, PNG_SCALE).map_err(|e| e.to_string())
}
