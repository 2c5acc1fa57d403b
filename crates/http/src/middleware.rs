//! What Prometheus wraps around every API handler: CORS headers by `--web.cors.origin`, the
//! `OPTIONS` answer, and gzip when the client sends `Accept-Encoding: gzip`.
//!
//! CORS follows Prometheus's `util/httputil.SetCORS`: nothing without an `Origin` header;
//! otherwise the four fixed headers, and `Access-Control-Allow-Origin` of `*` when the origin
//! pattern is the default `.*`, of the origin itself when it matches, else absent.

use std::io::Write as _;

use regex::Regex;

use crate::api::Response;

/// Headers Prometheus sets on every API response to a request with an `Origin`.
const CORS_HEADERS: [(&str, &str); 4] = [
    (
        "Access-Control-Allow-Headers",
        "Accept, Authorization, Content-Type, Origin",
    ),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ("Access-Control-Expose-Headers", "Date"),
    ("Vary", "Origin"),
];

/// Bodies shorter than this go out uncompressed: the gzip header and trailer alone are 18
/// bytes. (Prometheus compresses every body when asked; a client that asked for gzip accepts
/// either, so the answer is the same document.)
const MIN_GZIP_BYTES: usize = 256;

/// A compiled `--web.cors.origin`.
#[derive(Debug, Clone)]
pub struct CorsOrigin {
    pattern: String,
    regex: Regex,
}

impl CorsOrigin {
    /// Compiles `pattern` fully anchored, as Prometheus does (`^(?:pattern)$`).
    pub fn new(pattern: &str) -> Result<CorsOrigin, regex::Error> {
        Ok(CorsOrigin {
            pattern: pattern.to_string(),
            regex: Regex::new(&format!("^(?:{pattern})$"))?,
        })
    }

    /// Adds the CORS headers for a request from `origin` (if any) to `response`.
    pub fn apply(&self, origin: Option<&str>, response: &mut Response) {
        let Some(origin) = origin.filter(|o| !o.is_empty()) else {
            return;
        };
        for (name, value) in CORS_HEADERS {
            response.headers.push((name, value.to_string()));
        }
        if self.pattern == ".*" {
            response
                .headers
                .push(("Access-Control-Allow-Origin", "*".to_string()));
        } else if self.regex.is_match(origin) {
            response
                .headers
                .push(("Access-Control-Allow-Origin", origin.to_string()));
        }
    }
}

/// True if an `Accept-Encoding` value admits gzip (`gzip`, `gzip;q=0.5`, `*`; not `gzip;q=0`).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(value) = accept_encoding else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// Compresses `response`'s body with gzip unless it is short or already encoded (remote read
/// answers snappy), and adds `Content-Encoding: gzip` and `Vary: Accept-Encoding`.
pub fn gzip(response: &mut Response) {
    if response.body.len() < MIN_GZIP_BYTES
        || response
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Content-Encoding"))
    {
        return;
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(response.body.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail; on the impossible error the body goes out as it is.
    if encoder.write_all(&response.body).is_err() {
        return;
    }
    let Ok(compressed) = encoder.finish() else {
        return;
    };
    response.body = compressed;
    response
        .headers
        .push(("Content-Encoding", "gzip".to_string()));
    response
        .headers
        .push(("Vary", "Accept-Encoding".to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn gzip_round_trips_and_skips_short_or_encoded_bodies() {
        let body = "{\"status\":\"success\"}".repeat(100);
        let mut response = Response::json(200, body.clone());
        gzip(&mut response);
        assert!(response.body.len() < body.len());
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&response.body[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, body);

        let mut short = Response::json(200, "{}".to_string());
        gzip(&mut short);
        assert_eq!(short.body, b"{}");
        let mut snappy = Response::bytes(200, "application/x-protobuf", vec![7; 1000])
            .with_header("Content-Encoding", "snappy");
        gzip(&mut snappy);
        assert_eq!(snappy.body, vec![7; 1000]);
    }

    #[test]
    fn accept_encoding_forms() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=1.0, *;q=0.5")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("br")));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn cors_like_prometheus() {
        let any = CorsOrigin::new(".*").unwrap();
        let mut r = Response::json(200, String::new());
        any.apply(Some("http://a.example"), &mut r);
        assert!(r
            .headers
            .contains(&("Access-Control-Allow-Origin", "*".to_string())));
        let mut r = Response::json(200, String::new());
        any.apply(None, &mut r);
        assert!(r.headers.is_empty());

        let some = CorsOrigin::new("https?://(a|b)\\.example").unwrap();
        let mut r = Response::json(200, String::new());
        some.apply(Some("http://b.example"), &mut r);
        assert!(r.headers.contains(&(
            "Access-Control-Allow-Origin",
            "http://b.example".to_string()
        )));
        let mut r = Response::json(200, String::new());
        some.apply(Some("http://c.example"), &mut r);
        assert!(r
            .headers
            .iter()
            .all(|(n, _)| *n != "Access-Control-Allow-Origin"));
        assert!(r.headers.contains(&("Vary", "Origin".to_string())));
    }
}
