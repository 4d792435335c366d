//! Fan-out: every message goes to two chains (a job reading two views of one stream).

use super::Operator;
use crate::message::Barrier;
use crate::task::Context;
use crossbeam_channel::Select;
use flowmark_core::{Rec, Time};

/// Sends everything to both operators.
pub struct Tee<T> {
    first: Box<dyn Operator<T>>,
    second: Box<dyn Operator<T>>,
    copy: Vec<Rec<T>>,
}

impl<T> Tee<T> {
    /// A fan-out to `first` and `second`.
    pub fn new(first: Box<dyn Operator<T>>, second: Box<dyn Operator<T>>) -> Self {
        Tee { first, second, copy: Vec::new() }
    }
}

impl<T: Clone + Send> Operator<T> for Tee<T> {
    fn data(&mut self, batch: &mut Vec<Rec<T>>, cx: &mut Context) {
        self.copy.extend_from_slice(batch);
        self.first.data(&mut self.copy, cx);
        self.second.data(batch, cx);
    }
    fn watermark(&mut self, wm: Time, cx: &mut Context) {
        self.first.watermark(wm, cx);
        self.second.watermark(wm, cx);
    }
    fn barrier(&mut self, barrier: Barrier, cx: &mut Context) {
        self.first.barrier(barrier, cx);
        self.second.barrier(barrier, cx);
    }
    fn flush(&mut self, cx: &mut Context) {
        self.first.flush(cx);
        self.second.flush(cx);
    }
    fn end(&mut self, cx: &mut Context) {
        self.first.end(cx);
        self.second.end(cx);
    }
    fn blocked(&mut self, cx: &mut Context) -> bool {
        // both are offered their waiting output, whatever the first says
        self.first.blocked(cx) | self.second.blocked(cx)
    }
    fn watch<'a>(&'a self, select: &mut Select<'a>) {
        self.first.watch(select);
        self.second.watch(select);
    }
}
