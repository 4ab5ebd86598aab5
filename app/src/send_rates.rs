//! Newsletters' sending rates, measured from their sent counts each time progress is
//! read (the page refreshes it every few seconds), so that the rate and the time left
//! never need a count over the ledger.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// The rate is measured over about this long.
const WINDOW: Duration = Duration::from_secs(10);

/// When a newsletter's sent count was read, and what it was.
type Readings = VecDeque<(Instant, i64)>;

#[derive(Clone, Default)]
pub struct SendRates {
    readings: Arc<Mutex<HashMap<i64, Readings>>>,
}

impl SendRates {
    /// Notes that `newsletter` has sent `sent` messages by now; returns its messages
    /// per second over the last readings (`None` until two readings a second apart).
    pub fn observe(&self, newsletter: i64, sent: i64) -> Option<f64> {
        self.observe_at(newsletter, sent, Instant::now())
    }

    fn observe_at(&self, newsletter: i64, sent: i64, now: Instant) -> Option<f64> {
        let mut readings = self
            .readings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Newsletters nobody has looked at for a while.
        readings.retain(|_, r| {
            r.back()
                .is_some_and(|(at, _)| now.duration_since(*at) < WINDOW)
        });
        let mine = readings.entry(newsletter).or_default();
        while mine.len() > 1
            && mine
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > WINDOW)
        {
            mine.pop_front();
        }
        mine.push_back((now, sent));
        let (first_at, first_sent) = *mine.front()?;
        let span = now.duration_since(first_at).as_secs_f64();
        (span >= 1.0).then(|| (sent - first_sent).max(0) as f64 / span)
    }

    /// Forgets a newsletter that is no longer being sent.
    pub fn forget(&self, newsletter: i64) {
        if let Ok(mut readings) = self.readings.lock() {
            readings.remove(&newsletter);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_comes_from_readings_over_the_last_seconds() {
        let rates = SendRates::default();
        let t = Instant::now();
        assert_eq!(rates.observe_at(7, 0, t), None, "one reading is no rate");
        assert_eq!(
            rates.observe_at(7, 100, t + Duration::from_millis(500)),
            None
        );
        assert_eq!(
            rates.observe_at(7, 200, t + Duration::from_secs(2)),
            Some(100.0)
        );
        assert_eq!(
            rates.observe_at(7, 900, t + Duration::from_secs(9)),
            Some(100.0)
        );
        // Readings older than the window no longer count: 1,300 − 900 over 4 s.
        let late = t + Duration::from_secs(13);
        assert_eq!(rates.observe_at(7, 1_300, late), Some(100.0));
        // Nobody looked for longer than the window: the rate starts afresh.
        assert_eq!(
            rates.observe_at(7, 2_000, late + Duration::from_secs(11)),
            None
        );
        // Each newsletter has its own.
        assert_eq!(rates.observe_at(8, 5, late + Duration::from_secs(11)), None);
    }
}
