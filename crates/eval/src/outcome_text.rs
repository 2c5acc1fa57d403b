//! A canonical text of a query's outcome, for equivalence tests: two outcomes give equal texts
//! exactly when they hold the same error message, or the same value bit for bit (labels, times,
//! float bit patterns, series order) and the same warning and info annotations in order.
//!
//! Equivalence tests of an optimisation against the plain path compare these texts, so a
//! rewrite that changes a value's last bit, drops an annotation or reorders series fails them.

use std::fmt::Write as _;

use crate::{Error, QueryOutput, Value};

/// The text of a query's result, its error message included (see the module doc).
pub fn outcome_text(result: &Result<QueryOutput, Error>) -> String {
    match result {
        Err(e) => format!("error: {e}"),
        Ok(out) => output_text(out),
    }
}

/// The text of a successful query's value and annotations (see the module doc).
pub fn output_text(out: &QueryOutput) -> String {
    let mut s = String::new();
    match &out.value {
        Value::Scalar { t, v } => {
            let _ = writeln!(s, "scalar @{t} {:#x}", v.to_bits());
        }
        Value::String { t, v } => {
            let _ = writeln!(s, "string @{t} {v:?}");
        }
        Value::Vector(v) => {
            for x in v {
                let _ = writeln!(s, "{} @{} {:#x}", x.labels, x.t, x.v.to_bits());
            }
        }
        Value::Matrix(m) => {
            for x in m {
                let _ = write!(s, "{}", x.labels);
                for p in &x.samples {
                    let _ = write!(s, " {}:{:#x}", p.t, p.v.to_bits());
                }
                s.push('\n');
            }
        }
    }
    let _ = write!(s, "warnings {:?} infos {:?}", out.warnings, out.infos);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, EngineOptions};
    use promlite_model::storage::MemStore;
    use promlite_model::{Labels, Sample};

    fn db() -> MemStore {
        let db = MemStore::new();
        for (pod, v) in [("a", 1.0), ("b", -0.0)] {
            let labels = Labels::from_pairs([("__name__", "m"), ("pod", pod)]);
            db.add(labels, Sample::new(0, v));
        }
        db
    }

    #[test]
    fn texts_tell_apart_what_equivalence_must_see() {
        let engine = Engine::new(EngineOptions::default());
        let db = db();
        let text = |q: &str| outcome_text(&engine.instant_query(&db, q, 0));
        // -0 and +0 compare equal as floats but not as bits.
        assert_ne!(text("m{pod=\"b\"}"), text("m{pod=\"b\"} * -1"));
        // The same value with and without an annotation.
        assert_ne!(
            text("quantile(0.5, m)"),
            text("quantile(2, m) * 0 + quantile(0.5, m)")
        );
        assert!(text("quantile(2, m)").contains("quantile value should be between 0 and 1"));
        // Errors carry their message.
        assert!(text("m * on() m").starts_with("error: "));
        // Series order is part of the text.
        let ab = text("m");
        assert_eq!(ab.lines().count(), 3, "{ab}");
        assert_eq!(ab, text("m"));
        assert!(text("scalar(m{pod=\"a\"})").starts_with("scalar @0 0x3ff0000000000000"));
    }
}
