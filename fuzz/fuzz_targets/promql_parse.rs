//! Fuzz target: arbitrary text through `promlite_promql::parse`; whatever parses must print
//! to text that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = promlite_promql::parse(query) else {
        return;
    };
    let printed = expr.to_string();
    match promlite_promql::parse(&printed) {
        Ok(again) => assert!(
            again.same_as(&expr),
            "{query:?} printed as {printed:?} parses to a different tree"
        ),
        Err(e) => panic!("{query:?} printed as {printed:?} does not parse: {e}"),
    }
});
