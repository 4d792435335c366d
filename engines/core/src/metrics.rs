//! What the engine measures about itself while it runs, for the harness to read every interval.

use hdrhistogram::Histogram;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters (monotonic, read as differences per interval) and latency histograms (swapped out
/// per interval).
#[derive(Debug)]
pub struct Metrics {
    /// Input events read by the sources.
    pub events_in: AtomicU64,
    /// Results emitted by the sinks.
    pub results_out: AtomicU64,
    /// Records dropped as late (the late side output).
    pub late_events: AtomicU64,
    /// (record, window) pairs dropped as late.
    pub late_windows: AtomicU64,
    /// Backlog of the sources: log time now minus the arrival of the oldest unread event
    /// (zero when caught up), in nanoseconds.
    pub backlog: AtomicI64,
    /// The sources' lowest watermark.
    pub watermark: AtomicI64,
    /// Checkpoints started.
    pub checkpoints_started: AtomicU64,
    /// Checkpoints completed.
    pub checkpoints_completed: AtomicU64,
    /// Duration of the last completed checkpoint, trigger to completion, in nanoseconds.
    pub last_checkpoint_duration: AtomicI64,
    /// Bytes written by the last completed checkpoint.
    pub last_checkpoint_bytes: AtomicU64,
    /// Restarts after task failures (dataflow), or task recomputations (micro-batch).
    pub restarts: AtomicU64,
    /// Micro-batch: speculative copies launched for straggling tasks.
    pub speculated: AtomicU64,
    /// Micro-batch: time from a batch's scheduled start to its actual start, in nanoseconds.
    pub scheduling_delay: Mutex<Histogram<u64>>,
    /// Micro-batch: time a batch took to process, in nanoseconds.
    pub batch_processing_time: Mutex<Histogram<u64>>,
    /// Event-time latency of results (emit − the result's time), in nanoseconds.
    pub event_time_latency: Mutex<Histogram<u64>>,
    /// Processing-time latency of results (emit − latest arrival covered), in nanoseconds.
    pub processing_time_latency: Mutex<Histogram<u64>>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 h at three significant digits
    Histogram::new_with_bounds(1_000, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            events_in: AtomicU64::new(0),
            results_out: AtomicU64::new(0),
            late_events: AtomicU64::new(0),
            late_windows: AtomicU64::new(0),
            backlog: AtomicI64::new(0),
            watermark: AtomicI64::new(i64::MIN),
            checkpoints_started: AtomicU64::new(0),
            checkpoints_completed: AtomicU64::new(0),
            last_checkpoint_duration: AtomicI64::new(0),
            last_checkpoint_bytes: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            speculated: AtomicU64::new(0),
            scheduling_delay: Mutex::new(histogram()),
            batch_processing_time: Mutex::new(histogram()),
            event_time_latency: Mutex::new(histogram()),
            processing_time_latency: Mutex::new(histogram()),
        }
    }
}

impl Metrics {
    /// Adds to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts late records dropped: `events` wholly late, `windows` (record, window) pairs.
    pub fn late(&self, events: u64, windows: u64) {
        if windows > 0 {
            self.late_events.fetch_add(events, Ordering::Relaxed);
            self.late_windows.fetch_add(windows, Ordering::Relaxed);
        }
    }

    /// Records a batch of latencies (nanoseconds) into a histogram.
    pub fn record(h: &Mutex<Histogram<u64>>, values: &[i64]) {
        if values.is_empty() {
            return;
        }
        let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
        for &v in values {
            h.saturating_record(v.max(1) as u64);
        }
    }

    /// Takes a histogram's contents, leaving it empty: one interval's worth.
    pub fn take(h: &Mutex<Histogram<u64>>) -> Histogram<u64> {
        let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
        let out = h.clone();
        h.reset();
        out
    }
}
