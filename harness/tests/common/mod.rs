//! What the emission-by-emission tests of both engines share: a job small enough to follow
//! record by record, and a scratch directory.

use flowmark_core::time::MILLISECOND;
use flowmark_core::{Job, KeyedStream, Max, Runtime, Stream, Time, WatermarkStrategy, WindowSpec, Windows};

/// A key and a value.
pub type Ev = (u32, i64);

/// The maximum value per key in 100 ms tumbling windows that accept input for `.0` (allowed
/// lateness) after they fire; the watermark bound is zero.
pub struct MaxPerWindow(pub Time);

impl Job for MaxPerWindow {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "max-per-window"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(0)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        let spec = WindowSpec::new(Windows::tumbling(100 * MILLISECOND)).with_lateness(self.0);
        input.key_by(|e| e.0).window(spec, Max(|e: &Ev| e.1)).sink("max");
    }
}

/// A fresh directory, removed when dropped.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-{name}-")).tempdir().unwrap()
}
