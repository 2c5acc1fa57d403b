//! Rule file parsing and validation tests.
