//! Back-pressure: how many records the next batch may read, from how fast the last ones were
//! processed — Spark Streaming's PID rate estimator (`PIDRateEstimator`, with its default gains:
//! proportional 1.0, integral 0.2, derivative 0, and a floor of 100 records per second).

use flowmark_core::Time;
use flowmark_core::time::SECOND;

/// A PID controller over the processing rate.
#[derive(Clone, Debug)]
pub struct PidRateEstimator {
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    latest: Option<(Time, f64, f64)>,
}

impl Default for PidRateEstimator {
    fn default() -> Self {
        PidRateEstimator { proportional: 1.0, integral: 0.2, derivative: 0.0, min_rate: 100.0, latest: None }
    }
}

impl PidRateEstimator {
    /// Takes a finished batch into account — it ended at `time`, held `records`, took
    /// `processing` to run after waiting `scheduling` — and returns the rate (records per
    /// second) the next batch should read at.
    pub fn update(
        &mut self,
        time: Time,
        records: u64,
        processing: Time,
        scheduling: Time,
        interval: Time,
    ) -> Option<f64> {
        if records == 0 || processing <= 0 {
            return self.latest.map(|l| l.1);
        }
        let secs = |t: Time| t as f64 / SECOND as f64;
        let processing_rate = records as f64 / secs(processing);
        let rate = match self.latest {
            None => processing_rate,
            Some((last_time, last_rate, last_error)) => {
                let error = last_rate - processing_rate;
                // the backlog the scheduling delay stands for, as a rate over one interval
                let historical = secs(scheduling) * processing_rate / secs(interval);
                let dt = secs(time - last_time).max(1e-9);
                let d_error = (error - last_error) / dt;
                (last_rate
                    - self.proportional * error
                    - self.integral * historical
                    - self.derivative * d_error)
                    .max(self.min_rate)
            }
        };
        let error = self.latest.map_or(0.0, |(_, last_rate, _)| last_rate - processing_rate);
        self.latest = Some((time, rate, error));
        Some(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::MILLISECOND;

    #[test]
    fn converges_down_to_the_processing_rate_under_backlog() {
        let mut pid = PidRateEstimator::default();
        // the engine processes 10 k records per second; batches are 1 s
        let mut rate = pid.update(SECOND, 20_000, 2 * SECOND, 0, SECOND).unwrap();
        assert!((rate - 10_000.0).abs() < 1.0);
        for i in 2..10 {
            let records = rate as u64;
            let processing = (records as f64 / 10_000.0 * SECOND as f64) as Time;
            rate = pid.update(i * SECOND, records, processing, 500 * MILLISECOND, SECOND).unwrap();
        }
        // with half a second of scheduling delay still to work off, it reads below capacity
        assert!((100.0..10_000.0).contains(&rate), "{rate}");
    }

    #[test]
    fn no_records_no_estimate() {
        assert_eq!(PidRateEstimator::default().update(SECOND, 0, SECOND, 0, SECOND), None);
    }
}
