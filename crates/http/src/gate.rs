//! The query concurrency limit and its queue (Prometheus's `--query.max-concurrency`): at most
//! `max` queries run at once; others wait, in no particular order, until a slot frees, their
//! deadline passes (`query timed out in query queue`) or their client goes away.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use promlite::CancelToken;

use crate::api::ApiError;

/// How often a waiting query looks at its cancellation token.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Running and waiting queries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GateCounts {
    /// Queries holding a slot.
    pub running: usize,
    /// Queries waiting for one.
    pub waiting: usize,
}

/// The limit. Shared by every request of one API.
#[derive(Debug)]
pub struct QueryGate {
    max: usize,
    counts: Mutex<GateCounts>,
    freed: Condvar,
}

/// A slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit<'a> {
    gate: &'a QueryGate,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut counts = self.gate.lock();
        counts.running = counts.running.saturating_sub(1);
        self.gate.freed.notify_one();
    }
}

impl QueryGate {
    /// A gate letting `max` queries (at least one) run at once.
    pub fn new(max: usize) -> QueryGate {
        QueryGate {
            max: max.max(1),
            counts: Mutex::new(GateCounts::default()),
            freed: Condvar::new(),
        }
    }

    /// The configured limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Running and waiting queries now.
    pub fn counts(&self) -> GateCounts {
        *self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, GateCounts> {
        // The counts stay consistent under a panic elsewhere (only +1/-1 happen under the lock).
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot until `deadline`, or until `cancel` is cancelled.
    pub fn acquire(&self, deadline: Instant, cancel: &CancelToken) -> Result<Permit<'_>, ApiError> {
        let mut counts = self.lock();
        if counts.running < self.max {
            counts.running += 1;
            return Ok(Permit { gate: self });
        }
        counts.waiting += 1;
        let outcome = loop {
            if cancel.is_cancelled() {
                break Err(ApiError {
                    error_type: "canceled",
                    message: "query was canceled in query queue".to_string(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(ApiError {
                    error_type: "timeout",
                    message: "query timed out in query queue".to_string(),
                });
            }
            let wait = (deadline - now).min(CANCEL_POLL);
            counts = self
                .freed
                .wait_timeout(counts, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if counts.running < self.max {
                counts.running += 1;
                break Ok(Permit { gate: self });
            }
        };
        counts.waiting = counts.waiting.saturating_sub(1);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_gate_queues_then_times_out_in_the_queue() {
        let gate = QueryGate::new(1);
        let cancel = CancelToken::new();
        let far = Instant::now() + Duration::from_secs(60);
        let first = gate.acquire(far, &cancel).unwrap();
        assert_eq!(
            gate.counts(),
            GateCounts {
                running: 1,
                waiting: 0
            }
        );
        let err = gate
            .acquire(Instant::now() + Duration::from_millis(20), &cancel)
            .unwrap_err();
        assert_eq!(err.error_type, "timeout");
        assert_eq!(err.message, "query timed out in query queue");
        assert_eq!(
            gate.counts(),
            GateCounts {
                running: 1,
                waiting: 0
            }
        );
        drop(first);
        let again = gate.acquire(far, &cancel).unwrap();
        drop(again);
        assert_eq!(gate.counts(), GateCounts::default());
    }

    #[test]
    fn a_queued_query_gets_the_freed_slot_and_a_cancelled_one_leaves() {
        let gate = std::sync::Arc::new(QueryGate::new(1));
        let cancel = CancelToken::new();
        let far = Instant::now() + Duration::from_secs(60);
        let first = gate.acquire(far, &cancel).unwrap();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.acquire(far, &CancelToken::new()).map(drop).is_ok())
        };
        while gate.counts().waiting == 0 {
            std::thread::yield_now();
        }
        drop(first);
        assert!(waiter.join().unwrap());
        let _held = gate.acquire(far, &cancel).unwrap();
        let cancelled = CancelToken::new();
        cancelled.cancel();
        let err = gate.acquire(far, &cancelled).unwrap_err();
        assert_eq!(err.error_type, "canceled");
    }
}
