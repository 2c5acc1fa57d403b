//! Shared helpers for promlite benchmarks (seeded data generators).
