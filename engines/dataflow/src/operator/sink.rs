//! The sink: writes results to the output directory, one line each —
//! `<emit time>\t<identity>\t<value>`.
//!
//! Exactly-once: the batches of results of an epoch (between two barriers) are kept as they
//! came, each with its emit time, and written as lines at the barrier — the pre-commit — to
//! become visible when the checkpoint completes. Nobody can read them before, and a window's
//! burst of results costs its task nothing more when it fires: the sink keeps the batch itself
//! and hands back an emptied one of an earlier epoch, and the lines (a few tens of nanoseconds
//! each) are written when the task takes its checkpoint, not while another task waits behind
//! it for a core. At-least-once: lines are appended to a live file at once.

use super::Operator;
use crate::config::Delivery;
use crate::message::Barrier;
use crate::task::Context;
use flowmark_core::Metrics;
use flowmark_core::{Output, Rec, Time};
use std::io::Write as _;

/// Writes the results of one sink.
pub struct Sink<T> {
    name: &'static str,
    delivery: Delivery,
    /// Exactly-once: the epoch's batches of results, each with its emit time, and emptied
    /// batches of earlier epochs to hand back (their room reused, not allocated again).
    held: Vec<(Time, Vec<Rec<T>>)>,
    spare: Vec<Vec<Rec<T>>>,
    lines: String,
    live: Option<std::io::BufWriter<std::fs::File>>,
}

impl<T: Output> Sink<T> {
    /// The sink `name`.
    pub fn new(name: &'static str, delivery: Delivery) -> Self {
        Sink { name, delivery, held: Vec::new(), spare: Vec::new(), lines: String::new(), live: None }
    }

    /// The epoch's lines, from the batches held (emptied, to be handed back).
    fn held_lines(&mut self) -> Vec<u8> {
        let results: usize = self.held.iter().map(|(_, batch)| batch.len()).sum();
        let mut lines = String::with_capacity(results * 40);
        for (emitted, mut batch) in self.held.drain(..) {
            for r in &batch {
                flowmark_core::output::write_line(emitted, &r.data, &mut lines);
            }
            batch.clear();
            self.spare.push(batch);
        }
        lines.into_bytes()
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

impl<T: Output> Operator<T> for Sink<T> {
    fn data(&mut self, batch: &mut Vec<Rec<T>>, cx: &mut Context) {
        let now = cx.now();
        Metrics::add(&cx.metrics().results_out, batch.len() as u64);
        match self.delivery {
            Delivery::ExactlyOnce => {
                let emptied = self.spare.pop().unwrap_or_default();
                self.held.push((now, std::mem::replace(batch, emptied)));
            }
            Delivery::AtLeastOnce => {
                for r in batch.drain(..) {
                    flowmark_core::output::write_line(now, &r.data, &mut self.lines);
                }
                self.write_live(cx);
            }
        }
    }

    fn watermark(&mut self, _: Time, _: &mut Context) {}

    fn barrier(&mut self, _: Barrier, cx: &mut Context) {
        match self.delivery {
            Delivery::ExactlyOnce => {
                let lines = self.held_lines();
                cx.pre_commit(self.name, lines);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::context;
    use flowmark_core::output::{WindowResult, parse_line};
    use flowmark_core::window::Window;
    use std::time::Duration;

    fn results(keys: &[u32]) -> Vec<Rec<WindowResult<u32, u64>>> {
        let result = |k: u32| WindowResult { key: k, window: Window::new(0, 10), value: u64::from(k) * 2 };
        keys.iter().map(|&k| Rec { time: 9, wm: 0, data: result(k) }).collect()
    }

    /// The lines of pre-commit `n`: emit time and identity.
    fn lines(cx: &Context, n: usize) -> Vec<(Time, String)> {
        let (sink, bytes) = &cx.pre_committed()[n];
        assert_eq!(sink, "out");
        let text = std::str::from_utf8(bytes).expect("lines are text");
        text.lines().map(|l| parse_line(l).map(|(t, r)| (t, r.id)).expect("a result line")).collect()
    }

    #[test]
    fn exactly_once_lines_are_written_at_the_barrier_each_with_its_own_batchs_emit_time() {
        let cx = &mut context();
        let mut sink = Sink::new("out", Delivery::ExactlyOnce);
        let (mut when, mut buffers) = (Vec::new(), Vec::new());
        for keys in [&[1, 2][..], &[3]] {
            let mut batch = results(keys);
            buffers.push(batch.as_ptr());
            let before = cx.now();
            sink.data(&mut batch, cx);
            when.push(before..=cx.now());
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(cx.pre_committed().is_empty(), "nothing is handed over before the barrier");
        sink.barrier(Barrier { id: 1, last: false }, cx);
        let first = lines(cx, 0);
        let ids: Vec<&str> = first.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["1 [0,10)", "2 [0,10)", "3 [0,10)"]);
        // stamped when they came, not at the barrier (2 ms later)
        assert!(when[0].contains(&first[0].0) && when[0].contains(&first[1].0), "{first:?} {when:?}");
        assert!(when[1].contains(&first[2].0), "{first:?} {when:?}");
        // the next epoch has only its own results; the sink takes them and hands back an
        // emptied batch of the last epoch, its room reused
        let mut batch = results(&[4]);
        sink.data(&mut batch, cx);
        assert!(batch.is_empty() && buffers.contains(&batch.as_ptr()));
        sink.barrier(Barrier { id: 2, last: false }, cx);
        let second: Vec<String> = lines(cx, 1).into_iter().map(|(_, id)| id).collect();
        assert_eq!(second, ["4 [0,10)"]);
    }
}
