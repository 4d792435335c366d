//! Clickstream sessionization: users' clicks grouped into session windows closed by a gap of
//! inactivity; per session, the number of clicks and of distinct pages. Users are
//! Zipf-distributed, so a few are busy (long sessions) and most are occasional (short ones).

use crate::error::{self, WorkloadError};
use crate::log::Generator;
use crate::rng::EventRng;
use crate::zipf::Zipf;
use flowmark_core::time::{SECOND, duration};
use flowmark_core::{Fold, Job, KeyedStream, Runtime, Stream, Time, WatermarkStrategy, WindowSpec, Windows};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Parameters of sessionization.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsSpec {
    /// Distinct users.
    pub users: u32,
    /// Zipf exponent of user activity.
    pub skew: f64,
    /// Distinct pages.
    pub pages: u32,
    /// The inactivity that closes a session.
    #[serde(with = "duration")]
    pub gap: Time,
    /// The watermark's out-of-orderness bound.
    #[serde(with = "duration")]
    pub bound: Time,
}

impl Default for SessionsSpec {
    fn default() -> Self {
        SessionsSpec { users: 100_000, skew: 0.8, pages: 1000, gap: 2 * SECOND, bound: SECOND / 2 }
    }
}

/// A click.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    /// The user.
    pub user: u32,
    /// The page.
    pub page: u32,
}

/// Draws clicks.
#[derive(Clone, Debug)]
pub struct Clicks {
    users: Zipf,
    pages: u32,
}

impl Generator for Clicks {
    type Event = Click;
    #[inline]
    fn event(&self, _: u64, _: Time, rng: &mut EventRng) -> Click {
        Click { user: self.users.sample(rng), page: rng.below(u64::from(self.pages)) as u32 }
    }
}

/// What a session did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Clicks.
    pub clicks: u64,
    /// Distinct pages, ascending.
    pub pages: Vec<u32>,
}

impl Activity {
    pub(crate) fn add_page(&mut self, page: u32) {
        if let Err(i) = self.pages.binary_search(&page) {
            self.pages.insert(i, page);
        }
    }
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} clicks, {} pages", self.clicks, self.pages.len())
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Sessions {
    gap: Time,
    bound: Time,
}

impl Sessions {
    /// The inactivity that closes a session.
    pub fn gap(&self) -> Time {
        self.gap
    }

    /// The job and its generator.
    pub fn new(spec: &SessionsSpec) -> Result<(Self, Clicks), WorkloadError> {
        error::positive("session gap", spec.gap as f64)?;
        error::positive("pages", f64::from(spec.pages))?;
        error::non_negative("bound", spec.bound as f64)?;
        let clicks = Clicks { users: Zipf::new(spec.users, spec.skew)?, pages: spec.pages };
        Ok((Sessions { gap: spec.gap, bound: spec.bound }, clicks))
    }
}

impl Job for Sessions {
    type Event = Click;
    fn name(&self) -> &'static str {
        "sessions"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Click>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::sessions(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Click>) {
        let activity = Fold::new(
            Activity::default(),
            |a: &mut Activity, c: &Click| {
                a.clicks += 1;
                a.add_page(c.page);
            },
            |a: &mut Activity, other: Activity| {
                a.clicks += other.clicks;
                for p in other.pages {
                    a.add_page(p);
                }
            },
            Activity::clone,
        );
        input
            .key_by(|c| c.user)
            .window(WindowSpec::new(Windows::session(self.gap)), activity)
            .sink("sessions");
    }
}
