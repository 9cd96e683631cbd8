//! Order statistics over a handful of samples.

/// The samples sorted ascending (NaNs, which no measurement produces, sort last).
fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Smallest sample; NaN when there are none.
pub fn min(samples: &[f64]) -> f64 {
    samples.iter().copied().fold(f64::NAN, f64::min)
}

/// Largest sample; NaN when there are none.
pub fn max(samples: &[f64]) -> f64 {
    samples.iter().copied().fold(f64::NAN, f64::max)
}

/// Median (mean of the middle two for an even count); NaN when there are none.
pub fn median(samples: &[f64]) -> f64 {
    let v = sorted(samples);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile `p` in 0..=100; NaN when there are no samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let v = sorted(samples);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// Percentile `p` of samples that sit on a grid of `step` (a coarsened clock such as
/// `performance.now()`, 5 µs in an isolated page), interpolated within its bin the way grouped
/// data is: each grid value stands for the interval of width `step` around it, filled evenly.
/// Nearest-rank on such samples can only answer grid values; this does not jump a whole step
/// when a few samples move. NaN when there are no samples.
pub fn grouped_percentile(samples: &[f64], step: f64, p: f64) -> f64 {
    let v = sorted(samples);
    if v.is_empty() {
        return f64::NAN;
    }
    let target = p / 100.0 * v.len() as f64;
    let mut below = 0usize;
    let mut i = 0;
    while i < v.len() {
        let bin = (v[i] / step).round();
        let count = v[i..]
            .iter()
            .take_while(|x| (*x / step).round() == bin)
            .count();
        if (below + count) as f64 >= target {
            let lower = (bin - 0.5) * step;
            return lower + (target - below as f64) / count as f64 * step;
        }
        below += count;
        i += count;
    }
    v[v.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistics() {
        let s = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!((min(&s), max(&s), median(&s)), (1.0, 5.0, 3.0));
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), 2.5);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 50.0), 50.0);
        assert_eq!(percentile(&hundred, 99.0), 99.0);
        assert_eq!(percentile(&hundred, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 1.0), 7.0);
        assert!(median(&[]).is_nan() && percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn grouped_percentile_interpolates_within_a_bin() {
        // All in one bin: the median is its centre.
        assert!((grouped_percentile(&[10.0; 4], 5.0, 50.0) - 10.0).abs() < 1e-9);
        // Half at 10, half at 15: the 50 % point is the boundary between their bins.
        let s = [10.0, 10.0, 15.0, 15.0];
        assert!((grouped_percentile(&s, 5.0, 50.0) - 12.5).abs() < 1e-9);
        // One of four at 10, three at 15: 50 % lies a third into the bin of 15.
        let s = [10.0, 15.0, 15.0, 15.0];
        let expected = 12.5 + (2.0 - 1.0) / 3.0 * 5.0;
        assert!((grouped_percentile(&s, 5.0, 50.0) - expected).abs() < 1e-9);
        assert!(grouped_percentile(&[], 5.0, 50.0).is_nan());
    }
}
