//! Issue 13, finding 4: with `promlite serve` running on a directory, `promlite query` on the
//! same directory answers (read-only, leaving the directory unchanged), data pushed through the
//! serving process (`POST /api/v1/import/prometheus`) appears in those answers, and a second
//! `serve --read-only` beside the writer sees it too.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{path, promlite, promlite_ok};

/// Kills the server child by its PID when the test ends, pass or fail.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request; returns (status, body).
fn http(addr: &str, method: &str, target: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad reply {reply:?}"));
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn start_serve(dir: &Path, extra: &[&str]) -> (ServerProcess, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args(["serve", "--data-dir", path(dir), "--listen", &addr])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start promlite serve");
    let mut server = ServerProcess(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("promlite serve exited early: {status}");
        }
        if TcpStream::connect(&addr).is_ok() && http(&addr, "GET", "/-/ready", b"").0 == 200 {
            return (server, addr);
        }
        assert!(Instant::now() < deadline, "serve did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
                out.insert(p, Vec::new());
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// `{job: value}` of an instant query's JSON vector.
fn values_by_job(json: &str) -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(v["status"], "success", "{json}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["metric"]["source"], "import", "extra_label missing: {s}");
            (
                s["metric"]["job"].as_str().unwrap().to_string(),
                s["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const T0: i64 = 1_700_000_000_000;

#[test]
fn regression_issue13_finding4_query_beside_serve_sees_imported_data() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (_writer, addr) = start_serve(&data, &[]);

    let body = format!(
        "# TYPE up gauge\nup{{job=\"a\"}} 1 {T0}\nup{{job=\"b\"}} 0 {}\n",
        T0 + 15_000
    );
    let (status, reply) = http(
        &addr,
        "POST",
        "/api/v1/import/prometheus?extra_label=source=import",
        body.as_bytes(),
    );
    assert_eq!(status, 204, "{reply}");

    // A read-only CLI query while the server holds the directory: it answers, sees the
    // import, and leaves the directory byte-identical.
    let before = snapshot(&data);
    let time = format!("{}", (T0 + 20_000) / 1000);
    let query = |expr: &str| {
        promlite_ok(&[
            "query",
            "--data-dir",
            path(&data),
            "--time",
            &time,
            "--format",
            "json",
            expr,
        ])
    };
    let want: BTreeMap<String, String> =
        [("a".into(), "1".into()), ("b".into(), "0".into())].into();
    assert_eq!(values_by_job(&query("up")), want);
    for _ in 0..19 {
        query("up");
    }
    let series = promlite_ok(&["series", "--data-dir", path(&data), "up"]);
    assert!(series.contains("job=\"b\""), "{series}");
    assert_eq!(
        snapshot(&data),
        before,
        "read-only commands changed the directory"
    );

    // A second server, read-only, beside the writer.
    let (_reader, reader_addr) = start_serve(&data, &["--read-only", "--refresh-interval", "0s"]);
    let target = format!("/api/v1/query?query=up&time={time}");
    assert_eq!(
        values_by_job(&http(&reader_addr, "GET", &target, b"").1),
        want
    );
    // It does not accept imports (the endpoint is not mounted there).
    assert_eq!(
        http(&reader_addr, "POST", "/api/v1/import/prometheus", b"up 1\n").0,
        404
    );

    // More data through the writer: both the CLI and the read-only server see it.
    let more = format!("up{{job=\"c\"}} 7 {}\n", T0 + 16_000);
    let (status, reply) = http(
        &addr,
        "POST",
        "/api/v1/import/prometheus?extra_label=source=import",
        more.as_bytes(),
    );
    assert_eq!(status, 204, "{reply}");
    let mut want = want;
    want.insert("c".into(), "7".into());
    assert_eq!(values_by_job(&query("up")), want);
    assert_eq!(
        values_by_job(&http(&reader_addr, "GET", &target, b"").1),
        want
    );

    // A malformed body is refused with its line, and stores nothing.
    let (status, reply) = http(
        &addr,
        "POST",
        "/api/v1/import/prometheus",
        format!("up{{job=\"d\"}} 1 {T0}\nup{{job= 2\n").as_bytes(),
    );
    assert_eq!(status, 400, "{reply}");
    assert!(reply.contains("line 2"), "{reply}");
    assert_eq!(values_by_job(&query("up{source=\"import\"}")).len(), 3);
    let d = promlite(&["series", "--data-dir", path(&data), "up{job=\"d\"}"]);
    assert!(d.status.success());
    assert!(!String::from_utf8_lossy(&d.stdout).contains("job=\"d\""));
}
