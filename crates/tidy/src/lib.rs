//! Repository hygiene checks for promlite; the checks themselves live in `tests/tidy.rs`.
