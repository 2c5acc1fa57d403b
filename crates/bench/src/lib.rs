//! Benchmark harness: runs the workload queries on promlite, Prometheus and VictoriaMetrics,
//! checks every answer against Prometheus's, and prints a table of medians and ratios.
