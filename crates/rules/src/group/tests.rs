//! Group evaluation tests.
