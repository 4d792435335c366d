//! The sink: writes results to the output directory, one line each —
//! `<emit time>\t<identity>\t<value>`.
//!
//! Exactly-once: the lines of an epoch (between two barriers) are handed over at the barrier
//! as the pre-commit and become visible when the checkpoint completes. At-least-once: lines are
//! appended to a live file at once.

use super::Operator;
use crate::config::Delivery;
use crate::message::Barrier;
use crate::task::Context;
use flowmark_core::Metrics;
use flowmark_core::{Output, Rec, Time};
use std::io::Write as _;

/// Writes the results of one sink.
pub struct Sink {
    name: &'static str,
    delivery: Delivery,
    lines: String,
    live: Option<std::io::BufWriter<std::fs::File>>,
}

impl Sink {
    /// The sink `name`.
    pub fn new(name: &'static str, delivery: Delivery) -> Self {
        Sink { name, delivery, lines: String::new(), live: None }
    }

    fn write_live(&mut self, cx: &Context) {
        if self.lines.is_empty() {
            return;
        }
        let file = self.live.get_or_insert_with(|| {
            let dir = cx.config().output_dir.join("committed");
            let id = cx.id();
            let path =
                dir.join(format!("{}.live.{}-{}.{}", self.name, id.stage, id.index, std::process::id()));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
            std::io::BufWriter::new(f)
        });
        if let Err(e) = file.write_all(self.lines.as_bytes()).and_then(|_| file.flush()) {
            panic!("cannot write results of sink {}: {e}", self.name);
        }
        self.lines.clear();
    }
}

impl<T: Output> Operator<T> for Sink {
    fn data(&mut self, batch: &mut Vec<Rec<T>>, cx: &mut Context) {
        let now = cx.now();
        Metrics::add(&cx.metrics().results_out, batch.len() as u64);
        for r in batch.drain(..) {
            flowmark_core::output::write_line(now, &r.data, &mut self.lines);
        }
        if self.delivery == Delivery::AtLeastOnce {
            self.write_live(cx);
        }
    }

    fn watermark(&mut self, _: Time, _: &mut Context) {}

    fn barrier(&mut self, _: Barrier, cx: &mut Context) {
        match self.delivery {
            Delivery::ExactlyOnce => cx.pre_commit(self.name, std::mem::take(&mut self.lines).into_bytes()),
            Delivery::AtLeastOnce => self.write_live(cx),
        }
    }

    fn flush(&mut self, _: &mut Context) {}

    fn end(&mut self, cx: &mut Context) {
        if self.delivery == Delivery::AtLeastOnce {
            self.write_live(cx);
        }
    }
}
