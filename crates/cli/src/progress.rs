//! The replay progress bar: bytes read, samples per second and ETA on stderr. indicatif hides
//! it when stderr is not a terminal, so scripts and CI logs stay clean.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-based progress bar that also shows the sample rate.
pub struct ReplayProgress {
    bar: ProgressBar,
    started: Instant,
}

impl ReplayProgress {
    /// A bar for `total_bytes` of input.
    pub fn new(total_bytes: u64) -> ReplayProgress {
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        ReplayProgress {
            bar,
            started: Instant::now(),
        }
    }

    /// Reports that `bytes` of the input have been read and `samples` appended so far.
    pub fn update(&self, bytes: u64, samples: u64) {
        self.bar.set_position(bytes);
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_message(format!(
            "{samples} samples, {:.0} samples/s",
            samples as f64 / secs
        ));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
