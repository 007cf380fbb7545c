//! When a failed delivery is tried again: the Standard Webhooks schedule. Attempt 1 is
//! immediate; after a failure the next attempt waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
//! 20 h and 24 h in turn, each ±10% so endpoints that failed together do not retry together.
//! After the tenth attempt fails the delivery is given up.

use std::time::Duration;

/// Wait after failed attempt `n` (index `n - 1`).
pub const RETRY_DELAYS: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// Attempts a delivery gets before it is given up.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS.len() as u32 + 1;

/// Largest relative deviation from the schedule.
pub const JITTER: f64 = 0.10;

/// The nominal wait after failed attempt `attempt` (from 1); `None` once attempts are exhausted.
pub fn nominal_delay(attempt: u32) -> Option<Duration> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    RETRY_DELAYS.get(index).copied()
}

/// The wait after failed attempt `attempt`, scaled by `factor` (clamped to 1 ± [`JITTER`]).
pub fn delay_with_factor(attempt: u32, factor: f64) -> Option<Duration> {
    let factor = factor.clamp(1.0 - JITTER, 1.0 + JITTER);
    nominal_delay(attempt).map(|d| d.mul_f64(factor))
}

/// The wait after failed attempt `attempt` with random jitter; `None`: give up.
pub fn delay_after(attempt: u32) -> Option<Duration> {
    delay_with_factor(attempt, rand::random_range(1.0 - JITTER..=1.0 + JITTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_five_seconds_to_a_day_then_gives_up() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        let nominal: Vec<_> = (1..=MAX_ATTEMPTS).map(nominal_delay).collect();
        assert_eq!(
            nominal,
            [
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(300)),
                Some(Duration::from_secs(1800)),
                Some(hours(2)),
                Some(hours(5)),
                Some(hours(10)),
                Some(hours(14)),
                Some(hours(20)),
                Some(hours(24)),
                None,
            ]
        );
        assert_eq!(MAX_ATTEMPTS, 10);
        assert_eq!(nominal_delay(0), None);
        assert_eq!(delay_after(10), None);
        assert_eq!(delay_after(u32::MAX), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        assert_eq!(delay_with_factor(1, 0.9), Some(Duration::from_millis(4500)));
        assert_eq!(delay_with_factor(1, 1.1), Some(Duration::from_millis(5500)));
        assert_eq!(delay_with_factor(1, 2.0), Some(Duration::from_millis(5500)), "clamped");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = delay_after(9).unwrap();
            assert!(
                d >= Duration::from_secs(24 * 3600).mul_f64(0.9) && d <= Duration::from_secs(24 * 3600).mul_f64(1.1),
                "{d:?}"
            );
            seen.insert(d);
        }
        assert!(seen.len() > 100, "jitter varies: {} distinct delays", seen.len());
    }
}
