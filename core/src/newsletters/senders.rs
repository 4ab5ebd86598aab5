//! The newsletter senders alive now. Every worker process records itself here about
//! once a second; `SEND_RATE_PER_SEC` is the rate of all of them together, so each
//! sends at its share: the rate divided by the senders alive. A process that stops
//! cleanly leaves at once; one that was killed stops counting after [`ALIVE_FOR`].

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;

use crate::{Result, sql};

/// A sender not seen for this long counts as gone.
pub const ALIVE_FOR: Duration = Duration::seconds(5);

/// Records `worker` as alive at `now`; returns how many senders are alive (itself
/// included).
pub async fn beat(db: &impl ConnectionTrait, worker: &str, now: DateTime<Utc>) -> Result<u32> {
    sql::execute(
        db,
        "INSERT INTO newsletter_senders (worker, seen_at) VALUES (?, ?) \
         ON CONFLICT (worker) DO UPDATE SET seen_at = excluded.seen_at",
        vec![worker.into(), now.into()],
    )
    .await?;
    // Rows of processes long gone.
    sql::execute(
        db,
        "DELETE FROM newsletter_senders WHERE seen_at < ?",
        vec![(now - Duration::hours(1)).into()],
    )
    .await?;
    let rows = sql::query(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM newsletter_senders WHERE seen_at > ?",
        vec![(now - ALIVE_FOR).into()],
    )
    .await?;
    let alive: i64 = match rows.first() {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u32::try_from(alive.max(1)).unwrap_or(u32::MAX))
}

/// Removes `worker` (a clean stop).
pub async fn leave(db: &impl ConnectionTrait, worker: &str) -> Result<()> {
    sql::execute(
        db,
        "DELETE FROM newsletter_senders WHERE worker = ?",
        vec![worker.into()],
    )
    .await?;
    Ok(())
}

/// One sender's part of `total` messages per second when `alive` senders share it
/// (at least one message per second).
pub fn share(total: u32, alive: u32) -> u32 {
    (total / alive.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_divided_among_the_senders_alive() {
        assert_eq!(share(2000, 1), 2000);
        assert_eq!(share(2000, 2), 1000);
        assert_eq!(share(2000, 3), 666);
        assert_eq!(share(5, 8), 1, "never below one a second");
        assert_eq!(share(100, 0), 100);
    }
}
