//! `/api/v1/status/config` of `promlite serve --scrape-config F` against Prometheus 2.42 loading
//! the same file (the frozen fixture `testdata/scrape/config.yml`): the same YAML document, byte
//! for byte, except the one line Prometheus writes for a feature promlite's scraper does not
//! have (`enable_http2: true`; documented in docs/format/scrape-config.md).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use promlite_testkit::{
    free_port, oracle_binary, spawn_prometheus, wait_http_ok, workspace_root, ChildGuard,
};

const TEST: &str = "status_config::status_config_matches_prometheus";

fn config_yaml(addr: SocketAddr) -> String {
    let body = ureq::get(format!("http://{addr}/api/v1/status/config"))
        .call()
        .expect("status/config answers")
        .into_body()
        .read_to_string()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "success", "{body}");
    json["data"]["yaml"]
        .as_str()
        .expect("yaml is a string")
        .to_string()
}

#[test]
fn status_config_matches_prometheus() {
    let Some(prometheus) = oracle_binary("prometheus", TEST) else {
        return;
    };
    let fixture = workspace_root().join("testdata/scrape/config.yml");
    let dir = tempfile::tempdir().unwrap();
    let prometheus = spawn_prometheus(&prometheus, &fixture, &dir.path().join("prom"), &[]);
    let prom_addr = prometheus.addr;
    let lite_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _lite = ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_promlite"))
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("lite"))
            .arg("--listen")
            .arg(lite_addr.to_string())
            .arg("--scrape-config")
            .arg(&fixture)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start promlite serve"),
    );
    assert!(
        wait_http_ok(prom_addr, "/-/ready", Duration::from_secs(30)),
        "prometheus did not become ready"
    );
    assert!(
        wait_http_ok(
            lite_addr,
            "/api/v1/status/buildinfo",
            Duration::from_secs(30)
        ),
        "promlite serve did not come up"
    );
    let prom = config_yaml(prom_addr);
    let lite = config_yaml(lite_addr);
    let http2_lines = prom.matches("\n  enable_http2: true\n").count();
    assert_eq!(http2_lines, 2, "one enable_http2 line per job in:\n{prom}");
    let prom_without_http2 = prom.replace("\n  enable_http2: true\n", "\n");
    assert_eq!(lite, prom_without_http2);
}
