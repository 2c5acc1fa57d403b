//! `promlite serve` answers promtool with the same series as `promlite query` (issue 6's
//! acceptance check).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, promlite_ok, secs, WORKLOAD_JOIN};

/// Stops the server child by its PID when the test ends, pass or fail.
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

fn wait_ready(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("promlite serve exited early: {status}");
        }
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ =
                stream.write_all(b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("promlite serve did not become ready on {addr}");
}

fn series_of(json_vector: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = json_vector
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"].to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn promtool_against_serve_matches_promlite_query() {
    let Some(promtool) = promlite_testkit::oracle_binary(
        "promtool",
        "promtool against serve matches promlite query",
    ) else {
        return;
    };
    let fx = fixture();
    let time = secs(fx.last_t);
    let cli = promlite_ok(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        &time,
        "--format",
        "json",
        WORKLOAD_JOIN,
    ]);
    let cli: serde_json::Value = serde_json::from_str(&cli).unwrap();
    let want = series_of(&cli["data"]["result"]);
    assert!(want.len() >= 5, "{cli}");

    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args(["serve", "--data-dir", fx.data_str(), "--listen", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start promlite serve");
    let mut server = ServerProcess(child);
    wait_ready(&addr, &mut server.0);

    let out = Command::new(&promtool)
        .args([
            "query",
            "instant",
            "-o",
            "json",
            "--time",
            &time,
            &format!("http://{addr}"),
            WORKLOAD_JOIN,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", promtool.display()));
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(series_of(&got), want);
}
