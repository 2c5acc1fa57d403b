//! Untrusted request text (parameters, paths, form bodies) never panics the API: every input
//! gets a response, and every error response has Prometheus's shape.

use std::time::Instant;

use promlite::{Db, Labels};
use promlite_http::api::{Api, ApiOptions, Request};
use promlite_http::params::{parse_duration, parse_form, parse_time};
use proptest::prelude::*;

fn api() -> Api {
    let db = Db::in_memory();
    let mut app = db.appender();
    app.append(
        &Labels::from_pairs([("__name__", "up"), ("job", "a")]),
        1_000,
        1.0,
    )
    .unwrap();
    app.commit().unwrap();
    Api::new(db, ApiOptions::default())
}

proptest! {
    #[test]
    fn parameter_parsers_never_panic(text in "\\PC{0,40}") {
        let _ = parse_time(&text);
        let _ = parse_duration(&text);
        let _ = parse_form(&text);
    }

    #[test]
    fn numeric_and_rfc3339_looking_input_never_panics(text in "[-+0-9.eE:TZz]{0,32}") {
        let _ = parse_time(&text);
        let _ = parse_duration(&text);
    }

    #[test]
    fn any_request_gets_a_well_formed_response(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        path in prop_oneof![
            Just("/api/v1/query".to_string()),
            Just("/api/v1/query_range".to_string()),
            Just("/api/v1/series".to_string()),
            Just("/api/v1/labels".to_string()),
            "/api/v1/label/[a-z%_/]{0,8}/values",
            "/[a-z/%]{0,20}",
        ],
        query in "(query|time|start|end|step|timeout|limit|stats|match%5B%5D)=[a-z0-9%(){}\\[\\]=.:+-]{0,16}(&(query|time|start|end|step|timeout|limit|match%5B%5D)=[a-z0-9%(){}=.:+-]{0,12}){0,4}",
    ) {
        let api = api();
        let req = Request {
            method,
            path: &path,
            query: &query,
            content_type: Some("application/x-www-form-urlencoded"),
            body: query.as_bytes(),
            received: Instant::now(),
            headers: &[],
        };
        let response = api.handle(&req);
        if response.status >= 400 && response.content_type == "application/json" {
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            prop_assert_eq!(&body["status"], "error");
            prop_assert!(body["errorType"].is_string());
            prop_assert!(body["error"].is_string());
        } else {
            prop_assert!(response.status == 200, "{} {}", response.status, response.body_text());
        }
    }
}
