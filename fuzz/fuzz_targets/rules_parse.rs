//! Fuzz target: arbitrary text as a rule file through `promlite_rules::file::parse_rule_file`
//! (YAML, validation, position lookup, template parsing): errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = promlite_rules::file::parse_rule_file("fuzz.yml", text);
});
