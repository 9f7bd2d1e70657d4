//! Dates in UTC for documents' `created` and the archive template (no time-zone database:
//! the server's names are the same wherever it runs).

/// Seconds since 1970 now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// (year, month, day, hour, minute, second) of `secs` in UTC.
pub(crate) fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    // Howard Hinnant's days-to-civil.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    let t = secs % 86_400;
    (
        y,
        m,
        d,
        (t / 3600) as u32,
        (t / 60 % 60) as u32,
        (t % 60) as u32,
    )
}

/// RFC 3339, e.g. `2026-12-07T19:30:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-12-07`.
pub(crate) fn date(secs: u64) -> String {
    let (y, mo, d, ..) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}")
}

/// `19-30-00` (no colons: they are not allowed in Windows file names).
pub(crate) fn time_of_day(secs: u64) -> String {
    let (.., h, mi, s) = civil(secs);
    format!("{h:02}-{mi:02}-{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2026-12-07 19:30:00 UTC.
        assert_eq!(rfc3339(1_796_671_800), "2026-12-07T19:30:00Z");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(time_of_day(1_796_671_800), "19-30-00");
    }
}
