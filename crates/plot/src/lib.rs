//! Line charts of range-query results, as PNG or SVG.
//!
//! A [`Chart`] is what `promlite plot` draws: one line per series over `[start, end]`, time
//! ticks on round UTC clock times, value ticks with SI prefixes and the unit, and a legend
//! under the plot naming each series by its labels. A series is broken where it has no point
//! for more than one and a half steps (a range query's output has a point per step while the
//! series exists), so gaps in the data stay gaps in the picture.
//!
//! ```
//! use promlite_plot::{Chart, Format, PlotSeries};
//!
//! let chart = Chart {
//!     title: "rate(x[1m])".to_string(),
//!     series: vec![PlotSeries {
//!         name: "{pod=\"a\"}".to_string(),
//!         points: (0..10).map(|i| (i * 60_000, i as f64)).collect(),
//!     }],
//!     start: 0,
//!     end: 540_000,
//!     step: 60_000,
//!     unit: String::new(),
//! };
//! let svg = promlite_plot::render(&chart, Format::Svg, (800, 500))?;
//! assert!(String::from_utf8(svg)?.contains("pod=&quot;a&quot;"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod axis;

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

/// Errors of [`render`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The picture size is too small to hold a plot.
    #[error("picture size {width}x{height} is too small (at least 320x200)")]
    TooSmall {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// The time range is empty or reversed.
    #[error("time range is empty: start {start} ms is not before end {end} ms")]
    EmptyRange {
        /// Start in milliseconds.
        start: i64,
        /// End in milliseconds.
        end: i64,
    },
    /// The drawing library failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("encoding PNG failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSeries {
    /// The legend text (usually the series' labels).
    pub name: String,
    /// `(milliseconds, value)` in increasing time order. Non-finite values break the line.
    pub points: Vec<(i64, f64)>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The caption (usually the expression).
    pub title: String,
    /// The lines, drawn in this order with the palette's colours in turn.
    pub series: Vec<PlotSeries>,
    /// Start of the time axis in milliseconds.
    pub start: i64,
    /// End of the time axis in milliseconds.
    pub end: i64,
    /// The query's step in milliseconds (points further apart than 1.5 steps are not joined).
    pub step: i64,
    /// The values' unit for the axis labels (`"B"` uses binary prefixes); may be empty.
    pub unit: String,
}

/// Picture formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A PNG bitmap.
    Png,
    /// An SVG document.
    Svg,
}

impl Format {
    /// The format a file name's extension asks for (`.png`, `.svg`), if any.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".png") {
            Some(Format::Png)
        } else if lower.ends_with(".svg") {
            Some(Format::Svg)
        } else {
            None
        }
    }
}

/// The line colours, in order (Tableau 10: distinguishable, and readable on white).
pub const PALETTE: [(u8, u8, u8); 10] = [
    (0x4e, 0x79, 0xa7),
    (0xf2, 0x8e, 0x2b),
    (0xe1, 0x57, 0x59),
    (0x76, 0xb7, 0xb2),
    (0x59, 0xa1, 0x4f),
    (0xed, 0xc9, 0x48),
    (0xb0, 0x7a, 0xa1),
    (0xff, 0x9d, 0xa7),
    (0x9c, 0x75, 0x5f),
    (0xba, 0xb0, 0xac),
];

/// Legend rows drawn at most; further series are summarised in one line.
pub const MAX_LEGEND_ROWS: usize = 12;

const FONT: &str = "sans-serif";
const LEGEND_ROW_PX: u32 = 16;

/// Renders `chart` as `format` at `size` (width, height in pixels).
pub fn render(chart: &Chart, format: Format, size: (u32, u32)) -> Result<Vec<u8>> {
    let (width, height) = size;
    if width < 320 || height < 200 {
        return Err(Error::TooSmall { width, height });
    }
    if chart.end <= chart.start {
        return Err(Error::EmptyRange {
            start: chart.start,
            end: chart.end,
        });
    }
    register_font();
    match format {
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                draw(&root, chart).map_err(Error::Draw)?;
                root.present().map_err(|e| Error::Draw(e.to_string()))?;
            }
            Ok(svg.into_bytes())
        }
        Format::Png => {
            let pixels = usize::try_from(u64::from(width) * u64::from(height) * 3)
                .map_err(|_| Error::TooSmall { width, height })?;
            let mut rgb = vec![0u8; pixels];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                draw(&root, chart).map_err(Error::Draw)?;
                root.present().map_err(|e| Error::Draw(e.to_string()))?;
            }
            encode_png(&rgb, size)
        }
    }
}

/// Both backends lay text out (and the bitmap backend rasterises it) with fonts registered
/// here. The font is embedded, so a chart has labels on a machine without fonts.
fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The embedded font is a valid TrueType file; if ab_glyph ever rejected it, text would
        // be missing from PNGs but lines still drawn, which the tests would catch.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn encode_png(rgb: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// The value range to show: every finite value, with 5 % headroom, including 0 when all values
/// are positive (so a flat line near a large value is not magnified into noise).
fn value_range(chart: &Chart) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (_, v) in chart.series.iter().flat_map(|s| s.points.iter()) {
        if v.is_finite() {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo > 0.0 {
        lo = 0.0;
    }
    if hi < 0.0 {
        hi = 0.0;
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        return (lo - 1.0, hi + 1.0);
    }
    (lo, hi + (hi - lo) * 0.05)
}

/// Splits a series into runs of finite points no more than 1.5 steps apart.
fn runs(points: &[(i64, f64)], step: i64) -> Vec<Vec<(i64, f64)>> {
    let max_gap = step.saturating_add(step / 2).max(1);
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current: Vec<(i64, f64)> = Vec::new();
    for &(t, v) in points {
        let joins = current
            .last()
            .is_some_and(|&(last_t, _)| t - last_t <= max_gap);
        if (!v.is_finite() || !joins) && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if v.is_finite() {
            current.push((t, v));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn rgb(idx: usize) -> RGBColor {
    let (r, g, b) = PALETTE[idx % PALETTE.len()];
    RGBColor(r, g, b)
}

/// Shortens `text` to `max_chars` characters with an ellipsis.
fn ellipsize(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{kept}…")
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let (width, height) = root.dim_in_pixel();
    let n_series = chart.series.len();
    let legend_rows = n_series.min(MAX_LEGEND_ROWS) + usize::from(n_series > MAX_LEGEND_ROWS);
    let legend_px = u32::try_from(legend_rows)
        .unwrap_or(0)
        .saturating_mul(LEGEND_ROW_PX)
        .saturating_add(12)
        .min(height / 2);
    let (plot_area, legend_area) = root.split_vertically(height - legend_px);

    let (y_lo, y_hi) = value_range(chart);
    let title = ellipsize(&chart.title, usize::try_from(width / 8).unwrap_or(80));
    let mut ctx = ChartBuilder::on(&plot_area)
        .caption(title, (FONT, 15))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(78)
        .build_cartesian_2d(chart.start..chart.end, y_lo..y_hi)
        .map_err(err)?;
    let unit = chart.unit.as_str();
    let y_formatter = |v: &f64| axis::value_label(*v, unit);
    ctx.configure_mesh()
        .disable_x_mesh()
        // Time ticks are drawn below on round clock times; plotters' integer ticks would fall
        // on multiples of 10^k milliseconds. (Zero labels overflows its tick computation.)
        .x_labels(1)
        .x_label_formatter(&|_| String::new())
        .y_labels(6)
        .max_light_lines(1)
        .y_label_formatter(&y_formatter)
        .label_style((FONT, 12))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .draw()
        .map_err(err)?;

    // Time ticks: a faint vertical line and a label on round UTC clock times.
    let plot_width = width.saturating_sub(110);
    let max_ticks = usize::try_from(plot_width / 90).unwrap_or(4).max(2);
    let ticks = axis::time_ticks(chart.start, chart.end, max_ticks);
    let tick_step = match ticks.as_slice() {
        [a, b, ..] => b - a,
        _ => chart.end - chart.start,
    };
    let span = chart.end - chart.start;
    let grid = RGBColor(0xdd, 0xdd, 0xdd);
    for &t in &ticks {
        ctx.draw_series(std::iter::once(PathElement::new(
            vec![(t, y_lo), (t, y_hi)],
            grid,
        )))
        .map_err(err)?;
        let (x, y) = ctx.backend_coord(&(t, y_lo));
        let label = axis::time_label(t, span, tick_step);
        let style = TextStyle::from((FONT, 12).into_font()).color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        );
        root.draw(&Text::new(label, (x, y + 6), style))
            .map_err(err)?;
    }
    let (x_right, y_bottom) = ctx.backend_coord(&(chart.end, y_lo));
    let caption = format!("UTC, from {}", axis::date_time(chart.start));
    let caption_style = TextStyle::from((FONT, 11).into_font())
        .color(&RGBColor(0x66, 0x66, 0x66))
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Right,
            plotters::style::text_anchor::VPos::Top,
        ));
    root.draw(&Text::new(caption, (x_right, y_bottom + 22), caption_style))
        .map_err(err)?;

    // The lines.
    for (idx, series) in chart.series.iter().enumerate() {
        let color = rgb(idx);
        for run in runs(&series.points, chart.step) {
            if let [only] = run.as_slice() {
                ctx.draw_series(std::iter::once(Circle::new(*only, 2, color.filled())))
                    .map_err(err)?;
            } else {
                ctx.draw_series(LineSeries::new(run, color.stroke_width(2)))
                    .map_err(err)?;
            }
        }
    }
    if chart.series.iter().all(|s| s.points.is_empty()) {
        let (cx, _) = ctx.backend_coord(&(chart.start + span / 2, y_lo));
        let (_, cy) = ctx.backend_coord(&(chart.start, (y_lo + y_hi) / 2.0));
        let style = TextStyle::from((FONT, 16).into_font())
            .color(&RGBColor(0x88, 0x88, 0x88))
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        root.draw(&Text::new("no data in this range", (cx, cy), style))
            .map_err(err)?;
    }

    // The legend: a colour swatch and the series name per row.
    let max_chars = usize::try_from(width.saturating_sub(60) / 7).unwrap_or(60);
    let legend_style = TextStyle::from((FONT, 12).into_font()).color(&BLACK);
    let row_y = |row: usize| i32::try_from(row).unwrap_or(0) * 16 + 6;
    for (row, series) in chart.series.iter().take(MAX_LEGEND_ROWS).enumerate() {
        let y = row_y(row);
        let color = rgb(row);
        legend_area
            .draw(&Rectangle::new([(90, y + 3), (110, y + 9)], color.filled()))
            .map_err(err)?;
        legend_area
            .draw(&Text::new(
                ellipsize(&series.name, max_chars),
                (118, y),
                legend_style.clone(),
            ))
            .map_err(err)?;
    }
    if n_series > MAX_LEGEND_ROWS {
        let more = format!("… and {} more series", n_series - MAX_LEGEND_ROWS);
        legend_area
            .draw(&Text::new(
                more,
                (118, row_y(MAX_LEGEND_ROWS)),
                legend_style,
            ))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_break_at_gaps_and_non_finite_values() {
        let points = vec![
            (0, 1.0),
            (15, 2.0),
            (30, f64::NAN),
            (45, 3.0),
            (60, 4.0),
            (120, 5.0),
        ];
        let got = runs(&points, 15);
        assert_eq!(
            got,
            vec![
                vec![(0, 1.0), (15, 2.0)],
                vec![(45, 3.0), (60, 4.0)],
                vec![(120, 5.0)]
            ]
        );
    }

    #[test]
    fn value_range_includes_zero_and_pads_flat_lines() {
        let chart = |values: &[f64]| Chart {
            title: String::new(),
            series: vec![PlotSeries {
                name: "a".to_string(),
                points: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i64::try_from(i).unwrap(), *v))
                    .collect(),
            }],
            start: 0,
            end: 10,
            step: 1,
            unit: String::new(),
        };
        assert_eq!(value_range(&chart(&[5.0, 10.0])), (0.0, 10.5));
        assert_eq!(value_range(&chart(&[-2.0, -1.0])), (-2.0, 0.1));
        assert_eq!(value_range(&chart(&[0.0, 0.0])), (-1.0, 1.0));
        assert_eq!(value_range(&chart(&[f64::NAN])), (0.0, 1.0));
    }

    #[test]
    fn bad_sizes_and_ranges_are_errors() {
        let chart = Chart {
            title: String::new(),
            series: Vec::new(),
            start: 10,
            end: 10,
            step: 1,
            unit: String::new(),
        };
        assert!(matches!(
            render(&chart, Format::Svg, (800, 600)),
            Err(Error::EmptyRange { .. })
        ));
        assert!(matches!(
            render(&chart, Format::Png, (100, 100)),
            Err(Error::TooSmall { .. })
        ));
    }
}
