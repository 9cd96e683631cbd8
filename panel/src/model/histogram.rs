//! The overshoot histogram: the host's log₂ buckets ([`WaitTotals::overshoot`]) as labelled
//! bars.
//!
//! [`WaitTotals::overshoot`]: pollscope_protocol::WaitTotals::overshoot

use pollscope_protocol::OVERSHOOT_BUCKETS;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The overshoot range, e.g. `2–4 µs`.
    pub label: String,
    /// Waits in it.
    pub count: u64,
    /// `count` relative to the tallest bar, 0–1.
    pub height: f64,
}

/// The range bucket `index` holds: `<1 µs`, `[2^(i-1), 2^i)` µs, and the last one open-ended.
pub fn bucket_label(index: usize) -> String {
    let micros = |power: usize| human_micros(1u64 << power);
    match index {
        0 => "<1 µs".into(),
        i if i + 1 >= OVERSHOOT_BUCKETS => format!("≥{}", micros(i - 1)),
        i => format!("{}–{}", micros(i - 1), micros(i)),
    }
}

fn human_micros(us: u64) -> String {
    if us >= 1000 {
        format!("{} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

/// Bars for `counts`, trailing empty buckets left out (at least one bar when any count).
pub fn bars(counts: &[u64]) -> Vec<Bar> {
    let tallest = counts.iter().copied().max().unwrap_or(0);
    let last_used = counts.iter().rposition(|&c| c > 0);
    let Some(last_used) = last_used else {
        return Vec::new();
    };
    counts[..=last_used]
        .iter()
        .enumerate()
        .map(|(index, &count)| Bar {
            label: bucket_label(index),
            count,
            height: count as f64 / tallest as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_hosts_log2_buckets() {
        assert_eq!(bucket_label(0), "<1 µs");
        assert_eq!(bucket_label(1), "1 µs–2 µs");
        assert_eq!(bucket_label(11), "1.024 ms–2.048 ms");
        assert_eq!(bucket_label(OVERSHOOT_BUCKETS - 1), "≥65.536 ms");
    }

    #[test]
    fn bars_scale_to_the_tallest_and_drop_the_empty_tail() {
        let mut counts = vec![0; OVERSHOOT_BUCKETS];
        counts[2] = 4;
        counts[5] = 8;
        let bars = bars(&counts);
        assert_eq!(bars.len(), 6);
        assert_eq!((bars[2].count, bars[2].height), (4, 0.5));
        assert_eq!(bars[5].height, 1.0);
        assert!(super::bars(&[0; OVERSHOOT_BUCKETS]).is_empty());
    }
}
