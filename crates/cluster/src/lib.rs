//! Deterministic synthetic Kubernetes cluster generator (cAdvisor and kube-state-metrics).
