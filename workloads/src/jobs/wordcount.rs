//! Word count: Zipf-distributed words, counted per word in event-time windows — 1 s tumbling
//! windows, or sliding windows. The "hello world" of stream processing, and the workload of the
//! engines' throughput targets.

use crate::error::WorkloadError;
use crate::log::Generator;
use crate::rng::EventRng;
use crate::zipf::Zipf;
use flowmark_core::time::{SECOND, duration};
use flowmark_core::{Count, Job, KeyedStream, Runtime, Stream, Time, WatermarkStrategy, WindowSpec, Windows};
use serde::{Deserialize, Serialize};

/// Parameters of word count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WordCountSpec {
    /// Distinct words.
    pub vocabulary: u32,
    /// Zipf exponent of word frequencies.
    pub skew: f64,
    /// Window length.
    #[serde(with = "duration")]
    pub window: Time,
    /// Slide, for sliding windows; none for tumbling windows.
    #[serde(with = "opt_duration")]
    pub slide: Option<Time>,
    /// The watermark's out-of-orderness bound.
    #[serde(with = "duration")]
    pub bound: Time,
    /// How long windows accept late words after firing.
    #[serde(with = "duration")]
    pub lateness: Time,
}

impl Default for WordCountSpec {
    fn default() -> Self {
        WordCountSpec {
            vocabulary: 100_000,
            skew: 1.0,
            window: SECOND,
            slide: None,
            bound: SECOND / 2,
            lateness: 0,
        }
    }
}

mod opt_duration {
    use flowmark_core::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => flowmark_core::time::duration::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "flowmark_core::time::duration")] Time);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// Draws words: ranks of a Zipf distribution.
#[derive(Clone, Debug)]
pub struct Words {
    zipf: Zipf,
}

impl Words {
    /// Words from a vocabulary of `vocabulary` with Zipf exponent `skew`.
    pub fn new(vocabulary: u32, skew: f64) -> Result<Self, WorkloadError> {
        Ok(Words { zipf: Zipf::new(vocabulary, skew)? })
    }
}

impl Generator for Words {
    type Event = u32;
    #[inline]
    fn event(&self, _: u64, _: Time, rng: &mut EventRng) -> u32 {
        self.zipf.sample(rng)
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct WordCount {
    windows: WindowSpec,
    bound: Time,
}

impl WordCount {
    /// Its windows.
    pub fn windows(&self) -> WindowSpec {
        self.windows
    }

    /// The job `spec` describes.
    pub fn new(spec: &WordCountSpec) -> Result<Self, WorkloadError> {
        let windows = match spec.slide {
            None => Windows::tumbling(spec.window),
            Some(slide) => Windows::sliding(spec.window, slide),
        };
        let windows = WindowSpec::new(windows).with_lateness(spec.lateness);
        windows.validate().map_err(|e| WorkloadError::Invalid(format!("word count: {e}")))?;
        WatermarkStrategy::bounded(spec.bound)
            .validate()
            .map_err(|e| WorkloadError::Invalid(format!("word count: {e}")))?;
        Ok(WordCount { windows, bound: spec.bound })
    }
}

impl Job for WordCount {
    type Event = u32;
    fn name(&self) -> &'static str {
        match self.windows.windows {
            Windows::Sliding { .. } => "wordcount-sliding",
            _ => "wordcount",
        }
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = u32>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::wordcount(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<u32>) {
        input.key_by(|w| *w).window(self.windows, Count).sink("counts");
    }
    fn windows(&self) -> Option<Windows> {
        Some(self.windows.windows)
    }
}
