//! The query page at `/` in a real headless browser (Debian's chromium): it draws the seed's
//! workload join from promlite, and, unchanged, from a real Prometheus over the same data.
//!
//! Each check loads the page with the expression in its URL, lets the page's script run, and
//! compares what the page shows (status line, one legend row and one path per series, the
//! series names) with what the server's own API answers for the same range query. A
//! screenshot is written under the target directory and checked for drawn lines.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_cluster::{ClusterSpec, Size};
use promlite_http::{Api, ApiOptions, Server, ServerOptions};

use common::{enc, WORKLOAD_JOIN};

/// The range the page is asked for: nine minutes ending at the tiny cluster's last scrape.
const RANGE_SECS: i64 = 540;

/// Runs headless chromium with `args` and returns its stdout, killing it after a minute.
fn chromium(binary: &Path, profile: &Path, args: &[String]) -> String {
    // stdout goes to a file: a DOM dump is larger than a pipe's buffer, and nothing reads the
    // pipe while this waits.
    let out_path = profile.with_extension("stdout");
    let out_file = std::fs::File::create(&out_path).expect("chromium output file");
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            // Virtual time lets the page's fetches and drawing finish before the dump.
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(out_file)
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within 60 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    String::from_utf8_lossy(&std::fs::read(&out_path).expect("chromium output")).into_owned()
}

/// What the page shows after running its query.
#[derive(Debug)]
struct PageView {
    status: String,
    legend: Vec<String>,
    paths: usize,
}

/// Decodes the few HTML entities a serialised DOM uses in text.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn read_view(dom: &str) -> PageView {
    let status_at = dom
        .find("id=\"status\"")
        .expect("status element in the DOM");
    let status_text = &dom[status_at..];
    let status =
        status_text[status_text.find('>').unwrap() + 1..status_text.find('<').unwrap()].to_string();
    let legend_at = dom
        .find("id=\"legend\"")
        .expect("legend element in the DOM");
    let legend_end = legend_at + dom[legend_at..].find("</ul>").expect("legend end");
    let legend = dom[legend_at..legend_end]
        .split("<li>")
        .skip(1)
        .map(|item| {
            let text = item.split("</i>").nth(1).unwrap_or("");
            unescape(text.split("</li>").next().unwrap_or(""))
        })
        .collect();
    PageView {
        status: unescape(&status),
        legend,
        paths: dom.matches("class=\"series\"").count(),
    }
}

/// The page's name for a series: `name{a="x", b="y"}` with labels sorted and values quoted
/// as JSON strings.
fn page_name(metric: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut names: Vec<&String> = metric.keys().filter(|n| *n != "__name__").collect();
    names.sort();
    let inner: Vec<String> = names
        .iter()
        .map(|n| format!("{n}={}", metric[n.as_str()]))
        .collect();
    let name = metric
        .get("__name__")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    format!("{name}{{{}}}", inner.join(", "))
}

/// The server's own answer to the page's range query: series names and the point count.
fn api_answer(addr: SocketAddr, start: i64, end: i64, step: i64) -> (BTreeSet<String>, usize) {
    let body = get_json(
        addr,
        &format!(
            "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
            enc(WORKLOAD_JOIN)
        ),
    );
    let result = body["data"]["result"].as_array().expect("matrix").clone();
    let names = result
        .iter()
        .map(|s| page_name(s["metric"].as_object().expect("metric")))
        .collect();
    let points = result
        .iter()
        .map(|s| s["values"].as_array().map_or(0, Vec::len))
        .sum();
    (names, points)
}

/// Loads the page from `page` (asking `server` for data, if given) and checks it shows what
/// `api` answers. Returns the view.
fn check_page(
    browser: &Path,
    profile: &Path,
    page: SocketAddr,
    api: SocketAddr,
    server: Option<&str>,
    end_secs: i64,
) -> PageView {
    let mut url = format!(
        "http://{page}/?expr={}&range={RANGE_SECS}s&end={end_secs}",
        enc(WORKLOAD_JOIN)
    );
    if let Some(server) = server {
        url.push_str(&format!("&server={}", enc(server)));
    }
    let dom = chromium(browser, profile, &["--dump-dom".to_string(), url]);
    let view = read_view(&dom);
    // The page's automatic step: the range over 250 points, in whole seconds.
    let step = (RANGE_SECS as f64 / 250.0).round() as i64;
    let (names, points) = api_answer(api, end_secs - RANGE_SECS, end_secs, step);
    assert!(!names.is_empty(), "the workload join has series");
    assert_eq!(
        view.status.split(',').take(2).collect::<Vec<_>>().join(","),
        format!("{} series, {points} points", names.len()),
        "page status {:?}",
        view.status
    );
    assert_eq!(view.paths, names.len(), "one path per series");
    let legend: BTreeSet<String> = view.legend.iter().cloned().collect();
    assert_eq!(legend, names, "the legend names every series");
    view
}

/// `GET target` as HTTP/1.0 (so neither server chunks the body); the body as JSON.
fn get_json(addr: SocketAddr, target: &str) -> serde_json::Value {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(stream, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON: {e}"))
}

/// Counts pixels within a small distance of `rgb` in an RGB or RGBA PNG.
fn count_pixels(png_path: &Path, rgb: (u8, u8, u8)) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).expect("screenshot exists"),
    ));
    let mut reader = decoder.read_info().expect("screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|px| {
            px.len() >= 3
                && px[0].abs_diff(rgb.0) < 12
                && px[1].abs_diff(rgb.1) < 12
                && px[2].abs_diff(rgb.2) < 12
        })
        .count()
}

fn tiny_cluster_db() -> (promlite::Db, i64) {
    common::cluster_db()
}

#[test]
fn the_page_graphs_the_workload_join_from_promlite_and_from_prometheus() {
    let Some(browser) = promlite_testkit::oracle_binary("chromium", "web page in a browser") else {
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    let profile = work.path().join("chromium-profile");
    let (db, last_t) = tiny_cluster_db();
    let end_secs = last_t / 1000;
    let api = Api::new(db, ApiOptions::default()).mount(Arc::new(promlite_http::web::WebPage));
    let server = Server::start_api(
        api,
        ServerOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            workers: 4,
            ..ServerOptions::default()
        },
    )
    .expect("bind a loopback port");
    let addr = server.local_addr();

    // From promlite, same origin.
    let view = check_page(&browser, &profile, addr, addr, None, end_secs);
    eprintln!("page over promlite: {}", view.status);

    // A screenshot of the same page, kept for people to look at.
    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-page");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("workload-join.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &profile,
        &[
            "--window-size=1200,900".to_string(),
            format!("--screenshot={}", shot.display()),
            format!(
                "http://{addr}/?expr={}&range={RANGE_SECS}s&end={end_secs}",
                enc(WORKLOAD_JOIN)
            ),
        ],
    );
    // The first three palette colours are the first three series' lines and legend swatches.
    for colour in [(0x4e, 0x79, 0xa7), (0xf2, 0x8e, 0x2b), (0xe1, 0x57, 0x59)] {
        let n = count_pixels(&shot, colour);
        assert!(n > 150, "{n} pixels of {colour:?} in {}", shot.display());
    }
    eprintln!("screenshot: {}", shot.display());

    // The same page, unchanged, against a real Prometheus holding the same data.
    let (Some(prometheus), Some(promtool)) = (
        promlite_testkit::oracle_binary("prometheus", "web page against Prometheus"),
        promlite_testkit::oracle_binary("promtool", "web page against Prometheus"),
    ) else {
        server.shutdown();
        return;
    };
    let openmetrics = work.path().join("tiny.om");
    promlite_cluster::write_openmetrics(
        &ClusterSpec::preset(Size::Tiny),
        std::fs::File::create(&openmetrics).unwrap(),
    )
    .expect("write the cluster");
    let tsdb = work.path().join("prometheus-data");
    let backfill = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&openmetrics)
        .arg(&tsdb)
        .output()
        .expect("run promtool");
    assert!(backfill.status.success(), "{backfill:?}");
    let config = work.path().join("prometheus.yml");
    std::fs::write(&config, "global: {}\n").unwrap();
    let prometheus_process = promlite_testkit::spawn_prometheus(
        &prometheus,
        &config,
        &tsdb,
        &["--storage.tsdb.retention.time=100y", "--log.level=warn"],
    );
    let prometheus_addr = prometheus_process.addr;
    assert!(
        promlite_testkit::wait_http_ok(prometheus_addr, "/-/ready", Duration::from_secs(60)),
        "prometheus became ready"
    );
    let view = check_page(
        &browser,
        &profile,
        addr,
        prometheus_addr,
        Some(&format!("http://{prometheus_addr}")),
        end_secs,
    );
    eprintln!("page over Prometheus: {}", view.status);
    drop(prometheus_process);
    server.shutdown();
}
