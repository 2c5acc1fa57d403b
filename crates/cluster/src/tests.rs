//! Behaviour tests of the generator: determinism, counters, owners, label styles, staleness.
