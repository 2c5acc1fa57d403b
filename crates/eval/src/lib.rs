//! PromQL evaluator with Prometheus 3.x semantics over the model's Querier seam.
