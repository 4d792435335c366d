//! Progress of a suite: a bar for the suite and one for the current run on a terminal; plain
//! lines otherwise (CI logs, pipes).

use flowmark_core::time::{SECOND, Time};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// The suite's progress display.
pub struct Progress {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
    total: u64,
    done: std::cell::Cell<u64>,
}

impl Progress {
    /// A display for `total` runs of which `done` are already done.
    pub fn new(total: u64, done: u64) -> Progress {
        let bars = std::io::stdout().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let suite = multi.add(ProgressBar::new(total));
            suite.set_style(
                ProgressStyle::with_template(
                    "suite {bar:30.cyan/blue} {pos}/{len} runs, {elapsed} elapsed, ~{eta} left",
                )
                .expect("valid template"),
            );
            suite.set_position(done);
            let run = multi.add(ProgressBar::new(1));
            run.set_style(
                ProgressStyle::with_template("  run {bar:30.green/white} {pos:>3}/{len} s  {msg}")
                    .expect("valid template"),
            );
            (multi, suite, run)
        });
        Progress { bars, total, done: std::cell::Cell::new(done) }
    }

    /// A run starts; its input lasts `end`.
    pub fn start_run(&self, id: &str, end: Time) {
        match &self.bars {
            Some((_, _, run)) => {
                run.reset();
                run.set_length((end / SECOND) as u64);
                run.set_message(id.to_string());
            }
            None => say!("[{}/{}] {id} …", self.done.get() + 1, self.total),
        }
    }

    /// The current run's log time.
    pub fn tick(&self, t: Time) {
        if let Some((_, _, run)) = &self.bars {
            run.set_position((t.max(0) / SECOND) as u64);
        }
    }

    /// What the current run is doing.
    pub fn message(&self, m: &str) {
        if let Some((_, _, run)) = &self.bars {
            run.set_message(m.to_string());
        }
    }

    /// A run ended; `summary` says how.
    pub fn end_run(&self, summary: &str) {
        self.done.set(self.done.get() + 1);
        match &self.bars {
            Some((multi, suite, _)) => {
                let _ = multi.println(summary);
                suite.set_position(self.done.get());
            }
            None => say!("    {summary}"),
        }
    }

    /// A line of text.
    pub fn line(&self, text: &str) {
        match &self.bars {
            Some((multi, _, _)) => {
                let _ = multi.println(text);
            }
            None => say!("{text}"),
        }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        if let Some((multi, suite, run)) = &self.bars {
            run.finish_and_clear();
            suite.finish_and_clear();
            let _ = multi.clear();
        }
    }
}
