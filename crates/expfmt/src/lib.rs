//! Prometheus text format 0.0.4 and OpenMetrics 1.0 parser, and scrape-file replay.
