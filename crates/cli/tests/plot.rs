//! `promlite plot`: the seed's workload join drawn as PNG and SVG, checked against the
//! library's answer for the same range query (one legend entry per series, lines drawn in the
//! palette's colours, the requested size), and its errors.

mod common;

use std::time::Duration;

use common::{fixture, path, promlite, promlite_ok, secs, WORKLOAD_JOIN};

/// Escapes text as SVG text content is escaped.
fn svg_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[test]
fn plot_draws_every_series_of_the_workload_join() {
    let fx = fixture();
    let start = fx.last_t - 9 * 60_000;
    let (start_s, end_s) = (secs(start), secs(fx.last_t));
    let svg_path = fx.dir.path().join("join.svg");
    let png_path = fx.dir.path().join("join.png");
    for out in [&svg_path, &png_path] {
        promlite_ok(&[
            "plot",
            "--data-dir",
            fx.data_str(),
            "--start",
            &start_s,
            "--end",
            &end_s,
            "--step",
            "15s",
            "--width",
            "900",
            "--height",
            "700",
            "--out",
            path(out),
            WORKLOAD_JOIN,
        ]);
    }
    let db = promlite::Db::open(&fx.data, promlite::Options::default()).unwrap();
    let expected = db
        .query_range(WORKLOAD_JOIN, start, fx.last_t, Duration::from_secs(15))
        .unwrap();
    let promlite::Value::Matrix(matrix) = expected.value else {
        panic!("a range query gives a matrix");
    };
    assert!(matrix.len() >= 5, "{} series", matrix.len());

    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("width=\"900\""));
    let shown = matrix
        .iter()
        .take(promlite_plot::MAX_LEGEND_ROWS)
        // Long names are shortened to the picture's width; their first 80 characters show.
        .filter(|s| {
            let name: String = s.labels.to_string().chars().take(80).collect();
            svg.contains(&svg_escape(&name))
        })
        .count();
    assert_eq!(shown, matrix.len().min(promlite_plot::MAX_LEGEND_ROWS));
    if matrix.len() > promlite_plot::MAX_LEGEND_ROWS {
        let more = matrix.len() - promlite_plot::MAX_LEGEND_ROWS;
        assert!(svg.contains(&format!("and {more} more series")));
    }
    // One polyline per unbroken run; every series of this query is unbroken over the range.
    assert!(svg.matches("<polyline").count() >= matrix.len());
    // Time ticks name round UTC minutes inside the range.
    assert!(svg.contains("UTC, from"));

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (900, 700));
    let channels = info.color_type.samples();
    for (r, g, b) in promlite_plot::PALETTE.iter().take(matrix.len().min(3)) {
        let n = pixels[..info.buffer_size()]
            .chunks(channels)
            .filter(|px| px[0] == *r && px[1] == *g && px[2] == *b)
            .count();
        assert!(
            n > 100,
            "{n} pixels of the palette colour #{r:02x}{g:02x}{b:02x}"
        );
    }
}

#[test]
fn plot_errors_name_the_problem() {
    let fx = fixture();
    let out = fx.dir.path().join("chart.gif");
    let end = secs(fx.last_t);
    let failed = promlite(&[
        "plot",
        "--data-dir",
        fx.data_str(),
        "--start",
        "1700000000",
        "--end",
        &end,
        "--out",
        path(&out),
        "up",
    ]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains(".png or .svg"), "{stderr}");

    let svg = fx.dir.path().join("chart.svg");
    let failed = promlite(&[
        "plot",
        "--data-dir",
        fx.data_str(),
        "--start",
        "1700000000",
        "--end",
        &end,
        "--out",
        path(&svg),
        "sum(",
    ]);
    assert!(!failed.status.success());
    assert!(!svg.exists(), "no picture is written for a bad query");
}
