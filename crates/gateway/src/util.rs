//! Ids and times.

use std::time::{SystemTime, UNIX_EPOCH};

/// `prefix_` and 24 lowercase hex digits from the operating system's random
/// source (`pol_…`, `int_…`, `aud_…`).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    // The operating system's source does not fail on Linux once booted; if
    // it ever did, an id must still never repeat: fall back to the clock.
    if getrandom::fill(&mut bytes).is_err() {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&t.to_le_bytes()[..12]);
    }
    let mut out = String::with_capacity(prefix.len() + 25);
    out.push_str(prefix);
    out.push('_');
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Seconds since the epoch, with a fraction.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_prefixed_hex_and_distinct() {
        let a = super::new_id("pol");
        let b = super::new_id("pol");
        assert_ne!(a, b);
        assert_eq!(a.len(), 28);
        assert!(a.starts_with("pol_") && a[4..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
