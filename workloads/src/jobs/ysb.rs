//! The Yahoo Streaming Benchmark pipeline (Chintapalli et al., "Benchmarking Streaming
//! Computation Engines: Storm, Flink and Spark Streaming", IPDPSW 2016): ad events are
//! filtered to views, each view's ad is joined to its campaign through a static table (Redis
//! in the original), and views are counted per campaign in 10 s tumbling windows.
//!
//! Events carry the original's fields, with numbers standing for its UUIDs: user, page, ad,
//! ad type (banner, modal, sponsored-search, mail, mobile), event type (view, click, purchase)
//! and IP address. 100 campaigns of 10 ads, as the original.

use crate::error::{self, WorkloadError};
use crate::log::Generator;
use crate::rng::EventRng;
use flowmark_core::time::{SECOND, duration};
use flowmark_core::{Count, Job, KeyedStream, Runtime, Stream, Time, WatermarkStrategy, WindowSpec, Windows};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Parameters of the Yahoo benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YsbSpec {
    /// Campaigns.
    pub campaigns: u32,
    /// Ads per campaign.
    pub ads_per_campaign: u32,
    /// Window length.
    #[serde(with = "duration")]
    pub window: Time,
    /// The watermark's out-of-orderness bound.
    #[serde(with = "duration")]
    pub bound: Time,
    /// How long windows accept late views after firing.
    #[serde(with = "duration")]
    pub lateness: Time,
}

impl Default for YsbSpec {
    fn default() -> Self {
        YsbSpec { campaigns: 100, ads_per_campaign: 10, window: 10 * SECOND, bound: SECOND, lateness: 0 }
    }
}

/// What happened to an ad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// The ad was shown.
    View,
    /// The ad was clicked.
    Click,
    /// Something was bought.
    Purchase,
}

/// One ad event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdEvent {
    /// User (a UUID in the original).
    pub user: u64,
    /// Page (a UUID in the original).
    pub page: u64,
    /// Ad.
    pub ad: u32,
    /// Ad type: one of five.
    pub ad_type: u8,
    /// Event type.
    pub event_type: EventType,
    /// IP address.
    pub ip: u32,
}

/// Draws ad events; the event types are equally likely, as in the original generator.
#[derive(Clone, Debug)]
pub struct AdEvents {
    ads: u32,
}

impl Generator for AdEvents {
    type Event = AdEvent;
    #[inline]
    fn event(&self, _: u64, _: Time, rng: &mut EventRng) -> AdEvent {
        let r = rng.next_u64();
        AdEvent {
            user: rng.next_u64(),
            page: rng.next_u64(),
            ad: rng.below(u64::from(self.ads)) as u32,
            ad_type: (r % 5) as u8,
            event_type: match (r >> 8) % 3 {
                0 => EventType::View,
                1 => EventType::Click,
                _ => EventType::Purchase,
            },
            ip: (r >> 32) as u32,
        }
    }
}

/// The job, with its ad → campaign table.
#[derive(Clone, Debug)]
pub struct Ysb {
    campaign_of: Arc<[u32]>,
    window: Time,
    bound: Time,
    lateness: Time,
}

impl Ysb {
    /// Its windows and its ad → campaign table.
    pub fn parts(&self) -> (WindowSpec, &[u32]) {
        (self.windows(), &self.campaign_of)
    }

    fn windows(&self) -> WindowSpec {
        WindowSpec::new(Windows::tumbling(self.window)).with_lateness(self.lateness)
    }

    /// The job and its generator; the table assigns ads to campaigns by a shuffle from `seed`.
    pub fn new(spec: &YsbSpec, seed: u64) -> Result<(Self, AdEvents), WorkloadError> {
        error::positive("campaigns", f64::from(spec.campaigns))?;
        error::positive("ads_per_campaign", f64::from(spec.ads_per_campaign))?;
        error::positive("window", spec.window as f64)?;
        error::non_negative("bound", spec.bound as f64)?;
        error::non_negative("lateness", spec.lateness as f64)?;
        let ads = spec.campaigns * spec.ads_per_campaign;
        let mut table: Vec<u32> = (0..ads).map(|a| a / spec.ads_per_campaign).collect();
        // Fisher–Yates from the seed
        for i in (1..table.len()).rev() {
            let j = crate::rng::for_event(seed, 3, i as u64).below(i as u64 + 1) as usize;
            table.swap(i, j);
        }
        let ysb = Ysb {
            campaign_of: table.into(),
            window: spec.window,
            bound: spec.bound,
            lateness: spec.lateness,
        };
        Ok((ysb, AdEvents { ads }))
    }
}

impl Job for Ysb {
    type Event = AdEvent;
    fn name(&self) -> &'static str {
        "ysb"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = AdEvent>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::ysb(self, log, end))
    }
    fn windows(&self) -> Option<Windows> {
        Some(Ysb::windows(self).windows)
    }
    fn build<R: Runtime>(&self, input: R::Stream<AdEvent>) {
        let table = self.campaign_of.clone();
        input
            .filter(|e| e.event_type == EventType::View)
            .map(|e| e.ad)
            .map(move |ad| table[ad as usize])
            .key_by(|campaign| *campaign)
            .window(self.windows(), Count)
            .sink("views-per-campaign");
    }
}
