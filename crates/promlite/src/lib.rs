//! promlite: embedded time-series engine with PromQL. The facade crate library users link.
