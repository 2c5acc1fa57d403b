//! The values a template computes with: the Go types rule templates meet (string, float64,
//! int, bool, label maps, query results, times), and their truthiness and comparison rules.

use std::collections::BTreeMap;

/// One element of a `query` result, as Prometheus's templates see it (`.Labels`, `.Value`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// The series' labels, `__name__` included when the series has one.
    pub labels: BTreeMap<String, String>,
    /// The sample value.
    pub value: f64,
}

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Go's nil (and a missing map key): prints as `<no value>`.
    Nil,
    /// A bool.
    Bool(bool),
    /// An int (integer literals, `len`).
    Int(i64),
    /// A float64 (`$value`, `humanize` inputs).
    Float(f64),
    /// A string.
    Str(String),
    /// A `map[string]string` (`$labels`, `$externalLabels`).
    Map(BTreeMap<String, String>),
    /// A `map[string]interface{}` (`args`) or the template's root data (`.Labels`, `.Value`, ...).
    ArgMap(BTreeMap<String, Value>),
    /// One query sample (`first`, range element).
    Sample(QuerySample),
    /// A query result (`query`).
    Samples(Vec<QuerySample>),
    /// A time (`toTime`), in milliseconds since the epoch.
    Time(i64),
}

impl Value {
    /// Go's truth: false, 0, nil and empty strings, maps and slices are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::ArgMap(m) => !m.is_empty(),
            Value::Sample(_) | Value::Time(_) => true,
            Value::Samples(s) => !s.is_empty(),
        }
    }

    /// The Go type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Map(_) => "map[string]string",
            Value::ArgMap(_) => "map[string]interface {}",
            Value::Sample(_) => "*template.sample",
            Value::Samples(_) => "template.queryResult",
            Value::Time(_) => "*time.Time",
        }
    }
}
