//! The sink: writes results to the output directory, one line each —
//! `<emit time>\t<identity>\t<value>`.
//!
//! Exactly-once: the batches of results of an epoch (between two barriers) are kept as they
//! came, each with its emit time, and handed over at the barrier — the pre-commit — to the
//! checkpoint writer, which writes them as lines, to become visible when the checkpoint
//! completes. Nobody can read them before, and a window's burst of results costs its task
//! nothing more when it fires: the sink keeps the batch itself and hands back an emptied one of
//! an earlier epoch (the writer sends them back once written). Nor does the barrier: the lines
//! (tens of nanoseconds each, milliseconds for a window of 50 k keys) are written on the
//! writer's thread, not on the worker's, where they would hold up its source and the watermark
//! every window downstream waits for. At-least-once: lines are appended to a live file at once.

use super::Operator;
use crate::checkpoint::Taken;
use crate::config::Delivery;
use crate::message::Barrier;
use crate::task::Context;
use crossbeam_channel::{Receiver, Sender, unbounded};
use flowmark_core::Metrics;
use flowmark_core::{Output, Rec, Time};
use std::io::Write as _;

/// Writes the results of one sink.
pub struct Sink<T> {
    name: &'static str,
    delivery: Delivery,
    /// Exactly-once: the epoch's batches of results, each with its emit time.
    held: Vec<(Time, Vec<Rec<T>>)>,
    /// Emptied batches of earlier epochs, sent back by the writer (on `send_back`), to hand
    /// back for the next (their room reused, not allocated and faulted in again).
    spare: Receiver<Vec<Rec<T>>>,
    send_back: Sender<Vec<Rec<T>>>,
    lines: String,
    live: Option<std::io::BufWriter<std::fs::File>>,
}

impl<T: Output> Sink<T> {
    /// The sink `name`.
    pub fn new(name: &'static str, delivery: Delivery) -> Self {
        let (send_back, spare) = unbounded();
        Sink { name, delivery, held: Vec::new(), spare, send_back, lines: String::new(), live: None }
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
                let emptied = self.spare.try_recv().unwrap_or_default();
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
                let (held, send_back) = (std::mem::take(&mut self.held), self.send_back.clone());
                cx.pre_commit(self.name, Taken::with(move || held_lines(held, &send_back)));
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

/// The lines of an epoch's batches `held`, each emptied then and sent back to the sink on
/// `send_back` (unless the sink is gone).
fn held_lines<T: Output>(held: Vec<(Time, Vec<Rec<T>>)>, send_back: &Sender<Vec<Rec<T>>>) -> Vec<u8> {
    let results: usize = held.iter().map(|(_, batch)| batch.len()).sum();
    let mut lines = String::with_capacity(results * 40);
    for (emitted, mut batch) in held {
        for r in &batch {
            flowmark_core::output::write_line(emitted, &r.data, &mut lines);
        }
        batch.clear();
        let _ = send_back.send(batch);
    }
    lines.into_bytes()
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

    /// The lines of the one pre-commit made since the last call, written as the checkpoint
    /// writer writes them: emit time and identity.
    fn lines(cx: &mut Context) -> Vec<(Time, String)> {
        let pre_committed = cx.take_pre_committed();
        let [(sink, bytes)] = &pre_committed[..] else { panic!("{} pre-commits", pre_committed.len()) };
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
        assert!(cx.take_pre_committed().is_empty(), "nothing is handed over before the barrier");
        sink.barrier(Barrier { id: 1, last: false }, cx);
        // the lines are the writer's to write: until it has, none of the epoch's batches comes
        // back (a sink that wrote them at the barrier, on the task's thread, would have them)
        let mut batch = results(&[4]);
        sink.data(&mut batch, cx);
        assert!(batch.is_empty() && !buffers.contains(&batch.as_ptr()), "a fresh batch");
        let first = lines(cx);
        let ids: Vec<&str> = first.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["1 [0,10)", "2 [0,10)", "3 [0,10)"]);
        // stamped when they came, not at the barrier (2 ms later)
        assert!(when[0].contains(&first[0].0) && when[0].contains(&first[1].0), "{first:?} {when:?}");
        assert!(when[1].contains(&first[2].0), "{first:?} {when:?}");
        // once written, the sink hands back an emptied batch of the last epoch, its room reused;
        // the next epoch has only its own results
        let mut batch = results(&[5]);
        sink.data(&mut batch, cx);
        assert!(batch.is_empty() && buffers.contains(&batch.as_ptr()));
        sink.barrier(Barrier { id: 2, last: false }, cx);
        let second: Vec<String> = lines(cx).into_iter().map(|(_, id)| id).collect();
        assert_eq!(second, ["4 [0,10)", "5 [0,10)"]);
    }
}
