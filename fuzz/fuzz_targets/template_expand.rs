//! Fuzz target: arbitrary text as an alert template, parsed and (when it parses) expanded with
//! sample data: errors, never a panic or an endless loop.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use promlite_rules::template::{AlertData, Environment, QuerySample, Template};

struct NoQueries;

impl Environment for NoQueries {
    fn query(&self, _expr: &str) -> Result<Vec<QuerySample>, String> {
        let labels: BTreeMap<String, String> = [("job".to_string(), "x".to_string())].into();
        Ok(vec![QuerySample { labels, value: 1.5 }])
    }
    fn external_url(&self) -> &str {
        "http://localhost:9090/p"
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = Template::parse_alert("Fuzz", text) else {
        return;
    };
    let data = AlertData {
        labels: [("instance".to_string(), "a:1".to_string())].into(),
        value: 0.5,
        ..AlertData::default()
    };
    let _ = template.expand(&data, &NoQueries);
});
