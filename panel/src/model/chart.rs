//! Geometry for the panel's SVG charts (pure: the views only draw what this returns).

use pollscope_protocol::{RingSample, WaitRecord, WakeCause};

/// The ring's occupancy over time as an SVG path in a `width` × `height` box: x spans the
/// samples' time range, y is used / capacity (0 at the bottom). `None` with fewer than two
/// samples.
pub fn occupancy_path(samples: &[RingSample], width: f64, height: f64) -> Option<String> {
    let (first, last) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let span = last.at.saturating_sub(first.at).max(1) as f64;
    let mut path = String::with_capacity(samples.len() * 16);
    for (i, sample) in samples.iter().enumerate() {
        let x = sample.at.saturating_sub(first.at) as f64 / span * width;
        let fill = if sample.capacity == 0 {
            0.0
        } else {
            (f64::from(sample.used) / f64::from(sample.capacity)).min(1.0)
        };
        let y = height - fill * height;
        let verb = if i == 0 { 'M' } else { 'L' };
        path.push_str(&format!("{verb}{x:.1} {y:.1}"));
    }
    Some(path)
}

/// Bytes per second through the ring over the samples' span (`None` without a span).
pub fn throughput(samples: &[RingSample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    let span = last.at.checked_sub(first.at).filter(|&s| s > 0)?;
    let bytes = last.bytes_out.saturating_sub(first.bytes_out);
    Some(bytes as f64 / (span as f64 / 1e9))
}

/// One wait drawn on the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitBar {
    /// Left edge.
    pub x: f64,
    /// Width (at least a hairline, so short waits stay visible).
    pub width: f64,
    /// The asked part's width (the timeout), when there was one.
    pub asked: Option<f64>,
    /// Why it ended (the colour).
    pub wake: WakeCause,
}

/// The waits (oldest first) laid out along their real time span in `width`.
pub fn wait_timeline(waits: &[&WaitRecord], width: f64) -> Vec<WaitBar> {
    let Some(start) = waits.iter().map(|w| w.start).min() else {
        return Vec::new();
    };
    let end = waits
        .iter()
        .map(|w| w.start.saturating_add(w.duration))
        .max()
        .unwrap_or(start);
    let span = end.saturating_sub(start).max(1) as f64;
    let scale = |ns: u64| ns as f64 / span * width;
    waits
        .iter()
        .map(|wait| WaitBar {
            x: scale(wait.start - start),
            width: scale(wait.duration).max(0.5),
            asked: wait.timeout.map(scale),
            wake: wait.wake,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_protocol::WaitCall;

    fn sample(at: u64, used: u32, bytes_out: u64) -> RingSample {
        RingSample {
            at,
            capacity: 100,
            used,
            bytes_out,
            ..RingSample::default()
        }
    }

    #[test]
    fn occupancy_spans_the_box_bottom_up() {
        let samples = [sample(0, 0, 0), sample(10, 50, 0), sample(20, 100, 0)];
        assert_eq!(
            occupancy_path(&samples, 200.0, 40.0).unwrap(),
            "M0.0 40.0L100.0 20.0L200.0 0.0"
        );
        assert_eq!(occupancy_path(&samples[..1], 200.0, 40.0), None);
    }

    #[test]
    fn throughput_is_bytes_read_per_second() {
        let samples = [sample(0, 0, 1_000), sample(500_000_000, 0, 3_000)];
        assert_eq!(throughput(&samples), Some(4_000.0));
        assert_eq!(throughput(&samples[..1]), None);
    }

    #[test]
    fn the_timeline_places_waits_by_start_and_length() {
        let wait = |start, duration, timeout| WaitRecord {
            start,
            call: WaitCall::PollableBlock,
            deadline: None,
            timeout,
            duration,
            wake: WakeCause::Deadline,
        };
        let (a, b) = (wait(100, 100, Some(50)), wait(300, 100, None));
        let bars = wait_timeline(&[&a, &b], 300.0);
        assert_eq!(
            (bars[0].x, bars[0].width, bars[0].asked),
            (0.0, 100.0, Some(50.0))
        );
        assert_eq!((bars[1].x, bars[1].asked), (200.0, None));
        assert!(wait_timeline(&[], 10.0).is_empty());
    }
}
