//! A small blocking HTTP client for engines on loopback, and free-port allocation.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use crate::error::{Error, Result};

/// Responses larger than this are refused (a whole-cluster matrix is a few hundred MB at most).
const MAX_BODY_BYTES: u64 = 4 << 30;

/// A client bound to one server's base URL, e.g. `http://127.0.0.1:9090`. Non-2xx statuses are
/// returned, not turned into errors, because Prometheus puts query errors in 4xx/5xx bodies.
pub struct HttpClient {
    agent: ureq::Agent,
    base: String,
}

impl HttpClient {
    /// A client for `base` (no trailing slash) whose requests give up after `timeout`.
    pub fn new(base: impl Into<String>, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(Duration::from_secs(5)))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            base: base.into(),
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET base+path`; returns the status and the body.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        let url = self.url(path);
        let response = self.agent.get(&url).call().map_err(|e| http_err(&url, e))?;
        read(&url, response)
    }

    /// `POST base+path` with an `application/x-www-form-urlencoded` body.
    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<(u16, String)> {
        let url = self.url(path);
        let response = self
            .agent
            .post(&url)
            .send_form(form.iter().copied())
            .map_err(|e| http_err(&url, e))?;
        read(&url, response)
    }

    /// `POST base+path` streaming `body` with chunked transfer encoding.
    pub fn post_stream(&self, path: &str, body: &mut dyn Read) -> Result<(u16, String)> {
        let url = self.url(path);
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", "text/plain")
            .send(ureq::SendBody::from_reader(body))
            .map_err(|e| http_err(&url, e))?;
        read(&url, response)
    }
}

fn read(url: &str, mut response: ureq::http::Response<ureq::Body>) -> Result<(u16, String)> {
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .map_err(|e| http_err(url, e))?;
    Ok((status, body))
}

fn http_err(url: &str, e: ureq::Error) -> Error {
    Error::Http {
        url: url.to_string(),
        message: e.to_string(),
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago: the OS picks it for a listener we drop at
/// once. Another process could take it before the engine binds it; the engine then fails to start
/// and the caller sees its log.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| Error::Io {
        path: "127.0.0.1:0".into(),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| Error::Io {
            path: "127.0.0.1:0".into(),
            source,
        })?
        .port();
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    #[test]
    fn free_ports_are_bindable_and_distinct_from_a_held_one() {
        let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let held_port = held.local_addr().unwrap().port();
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        assert_ne!(port, held_port, "a port in use was handed out");
        // The port really is free: we can bind it ourselves.
        let again = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
        assert!(again.is_ok(), "port {port} could not be bound: {again:?}");
    }

    /// A one-shot HTTP server on loopback answering with `status` and `body`; returns its base
    /// URL and a handle yielding the request it received (head and body).
    fn serve_once(status: u16, body: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let mut content_length = 0usize;
            let mut chunked = false;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    content_length = v.trim().parse().unwrap();
                }
                if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                    chunked = true;
                }
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            if chunked {
                loop {
                    let mut size_line = String::new();
                    reader.read_line(&mut size_line).unwrap();
                    let size = usize::from_str_radix(size_line.trim(), 16).unwrap();
                    let mut chunk = vec![0u8; size + 2];
                    reader.read_exact(&mut chunk).unwrap();
                    if size == 0 {
                        break;
                    }
                    request.push_str(std::str::from_utf8(&chunk[..size]).unwrap());
                }
            } else {
                let mut buf = vec![0u8; content_length];
                reader.read_exact(&mut buf).unwrap();
                request.push_str(std::str::from_utf8(&buf).unwrap());
            }
            let mut stream: TcpStream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            request
        });
        (base, handle)
    }

    #[test]
    fn form_posts_are_encoded_and_error_statuses_returned() {
        let (base, server) = serve_once(422, r#"{"status":"error"}"#);
        let client = HttpClient::new(base, Duration::from_secs(10));
        let query = r#"sum(x{a="b&c=d"} + 1) by (a) / 100%"#;
        let (status, body) = client
            .post_form("/api/v1/query", &[("query", query), ("time", "1.5")])
            .unwrap();
        assert_eq!(status, 422);
        assert_eq!(body, r#"{"status":"error"}"#);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /api/v1/query HTTP/1.1\r\n"),
            "{request}"
        );
        let form = request.rsplit("\r\n").next().unwrap();
        let pairs: Vec<(String, String)> = form
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (form_decode(k), form_decode(v))
            })
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("query".to_string(), query.to_string()),
                ("time".into(), "1.5".into())
            ]
        );
    }

    /// Decodes `application/x-www-form-urlencoded` text.
    fn form_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut k = 0;
        while k < bytes.len() {
            match bytes[k] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(
                        u8::from_str_radix(std::str::from_utf8(&bytes[k + 1..k + 3]).unwrap(), 16)
                            .unwrap(),
                    );
                    k += 2;
                }
                b => out.push(b),
            }
            k += 1;
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_bodies_arrive_whole() {
        let (base, server) = serve_once(204, "");
        let client = HttpClient::new(base, Duration::from_secs(10));
        let mut data: &[u8] = b"up{a=\"1\"} 1 1000\nup{a=\"2\"} 2 1000\n";
        let (status, _) = client
            .post_stream("/api/v1/import/prometheus", &mut data)
            .unwrap();
        assert_eq!(status, 204);
        let request = server.join().unwrap();
        assert!(
            request.ends_with("up{a=\"1\"} 1 1000\nup{a=\"2\"} 2 1000\n"),
            "{request}"
        );
    }

    #[test]
    fn connection_refused_is_an_http_error() {
        let port = free_port().unwrap();
        let client = HttpClient::new(format!("http://127.0.0.1:{port}"), Duration::from_secs(5));
        let err = client.get("/-/ready").unwrap_err();
        assert!(matches!(err, Error::Http { .. }), "{err}");
    }
}
