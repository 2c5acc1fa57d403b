//! The query page served at `/` (and `/graph`, where Prometheus serves its own): one static
//! HTML file with inline script and style, no build step and no external resources.
//!
//! The page talks only to the Prometheus HTTP API, from the browser, so the same file works
//! against promlite (same origin, the default) and unchanged against a real Prometheus (its
//! `server` field; Prometheus answers cross-origin GETs under its default CORS policy).

use crate::api::{Api, Endpoints, Request, Response};

/// The page's source, embedded in the binary.
pub const INDEX_HTML: &str = include_str!("web/index.html");

/// The [`Endpoints`] set serving the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebPage;

impl Endpoints for WebPage {
    fn handle(&self, _api: &Api, req: &Request<'_>) -> Option<Response> {
        if !matches!(req.path, "/" | "/graph" | "/index.html") {
            return None;
        }
        if !matches!(req.method, "GET" | "HEAD") {
            return Some(
                Response::text(405, "method not allowed; the page answers GET\n")
                    .with_header("Allow", "GET, HEAD"),
            );
        }
        Some(Response::bytes(
            200,
            "text/html; charset=utf-8",
            INDEX_HTML.as_bytes().to_vec(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn get(api: &Api, path: &str, method: &str) -> Option<Response> {
        WebPage.handle(
            api,
            &Request {
                method,
                path,
                query: "",
                content_type: None,
                body: b"",
                received: Instant::now(),
                headers: &[],
            },
        )
    }

    #[test]
    fn serves_the_page_at_root_and_graph_only() {
        let api = Api::new(promlite::Db::in_memory(), crate::ApiOptions::default());
        let page = get(&api, "/", "GET").unwrap();
        assert_eq!(page.status, 200);
        assert!(page.content_type.starts_with("text/html"));
        assert!(page.body_text().contains("/api/v1/query_range"));
        assert_eq!(get(&api, "/graph", "GET").unwrap().status, 200);
        assert_eq!(get(&api, "/", "POST").unwrap().status, 405);
        assert!(get(&api, "/api/v1/nothing", "GET").is_none());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // No build step and no network: every script and style is inline.
        for needle in ["<script src", "<link", "@import", "http://", "https://"] {
            let found = INDEX_HTML
                .match_indices(needle)
                .filter(|(at, _)| {
                    // The SVG namespace URI is an identifier, not a fetch.
                    !INDEX_HTML[*at..].starts_with("http://www.w3.org/2000/svg")
                })
                .count();
            assert_eq!(found, 0, "{needle} in the page");
        }
    }
}
