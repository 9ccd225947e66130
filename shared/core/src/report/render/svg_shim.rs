//! TEMPORARY: placeholders until the new charts land in `svg.rs` (removed then).
use super::svg::{render_svg, SvgOptions};
use crate::report::model::Report;

pub fn render_heatmap_svg(_r: &Report, _opts: SvgOptions) -> String {
    String::new()
}
pub fn render_keys_svg(_r: &Report, _opts: SvgOptions) -> String {
    String::new()
}
pub fn render_summary_svg(r: &Report) -> String {
    render_svg(r, SvgOptions::default())
}
