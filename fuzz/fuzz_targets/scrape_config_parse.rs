//! Fuzz target: arbitrary text as a scrape configuration through `promlite_scrape::Config::parse`
//! (YAML, defaults, validation, positioned errors): errors, never a panic. A configuration that
//! parses renders (`to_prometheus_yaml`) to a document that parses back and renders the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = promlite_scrape::Config::parse(text) else {
        return;
    };
    let rendered = config.to_prometheus_yaml();
    let back = match promlite_scrape::Config::parse(&rendered) {
        Ok(back) => back,
        Err(e) => panic!("rendering does not parse back: {e}\n{rendered}"),
    };
    assert_eq!(back.to_prometheus_yaml(), rendered);
});
