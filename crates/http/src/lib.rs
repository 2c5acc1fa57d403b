//! Prometheus-compatible /api/v1 HTTP server over the promlite facade.
