//! The guest's clocks under a time scale: real time in, guest time out, and guest deadlines
//! back to real timeouts.
//!
//! Guest monotonic time is piecewise linear in real monotonic time: at each scale change the
//! current guest time becomes the new anchor, so it never jumps or goes backwards. Guest wall
//! time is guest monotonic time plus a fixed offset (the real wall time at the start), so the
//! two guest clocks always agree on how much time passed, and sleeps (deadlines on the guest
//! monotonic clock) last `1 / scale` as long in real time.

use pollscope_protocol::{MAX_TIME_SCALE, MIN_TIME_SCALE};

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Maps real monotonic time to the guest's clocks at an adjustable rate.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeScale {
    scale: f32,
    /// Real monotonic ns at the last scale change.
    real_anchor: u64,
    /// Guest monotonic ns at the last scale change.
    guest_anchor: u64,
    /// Guest wall ns since the epoch minus guest monotonic ns.
    wall_offset: i128,
}

impl TimeScale {
    /// Scale 1 from now: the guest's monotonic clock reads as the real one, its wall clock as
    /// `real_wall` (seconds, nanoseconds since the epoch) at `real_now`.
    pub fn new(real_now: u64, real_wall: (u64, u32)) -> TimeScale {
        let wall = i128::from(real_wall.0) * NANOS_PER_SECOND + i128::from(real_wall.1);
        TimeScale {
            scale: 1.0,
            real_anchor: real_now,
            guest_anchor: real_now,
            wall_offset: wall - i128::from(real_now),
        }
    }

    /// The scale in force.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Changes the rate from `real_now` on. A scale outside
    /// [`MIN_TIME_SCALE`]`..=`[`MAX_TIME_SCALE`] is clamped into it; NaN is ignored. Returns
    /// the scale now in force.
    pub fn set_scale(&mut self, real_now: u64, scale: f32) -> f32 {
        if scale.is_nan() {
            return self.scale;
        }
        self.guest_anchor = self.guest_monotonic(real_now);
        self.real_anchor = real_now.max(self.real_anchor);
        self.scale = scale.clamp(MIN_TIME_SCALE, MAX_TIME_SCALE);
        self.scale
    }

    /// The guest's monotonic clock at real monotonic time `real_now` (ns). Never decreases as
    /// `real_now` grows, across scale changes included.
    pub fn guest_monotonic(&self, real_now: u64) -> u64 {
        let elapsed = real_now.saturating_sub(self.real_anchor);
        let scaled = if self.scale == 1.0 {
            elapsed
        } else {
            // f64 holds real ns exactly up to 104 days; past that the error is sub-ns per ns.
            (elapsed as f64 * f64::from(self.scale)) as u64
        };
        self.guest_anchor.saturating_add(scaled)
    }

    /// The guest's wall clock at real monotonic time `real_now`, as (seconds, nanoseconds)
    /// since the epoch (0 before the epoch).
    pub fn guest_wall(&self, real_now: u64) -> (u64, u32) {
        let ns = (i128::from(self.guest_monotonic(real_now)) + self.wall_offset).max(0);
        let seconds = u64::try_from(ns / NANOS_PER_SECOND).unwrap_or(u64::MAX);
        (seconds, (ns % NANOS_PER_SECOND) as u32)
    }

    /// The shortest real wait (ns) from `real_now` after which the guest's monotonic clock has
    /// reached `guest_deadline`: a guest sleep never ends early. 0 when the deadline has passed.
    pub fn real_timeout(&self, real_now: u64, guest_deadline: u64) -> u64 {
        let remaining = guest_deadline.saturating_sub(self.guest_monotonic(real_now));
        if remaining == 0 {
            return 0;
        }
        let mut timeout = if self.scale == 1.0 {
            remaining
        } else {
            (remaining as f64 / f64::from(self.scale)).ceil() as u64
        };
        if remaining > 1 << 52 {
            // Over 52 days of guest time: ns do not matter, and f64 no longer holds them.
            return timeout;
        }
        // Float rounding and the floor in `guest_monotonic` leave the estimate a few ns off
        // (at most 1 / MIN_TIME_SCALE): settle it exactly. Never early, and no later than needed.
        let reached =
            |timeout: u64| self.guest_monotonic(real_now.saturating_add(timeout)) >= guest_deadline;
        while timeout < u64::MAX && !reached(timeout) {
            timeout += 1;
        }
        while timeout > 0 && reached(timeout - 1) {
            timeout -= 1;
        }
        timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_one_is_the_real_clock() {
        let clock = TimeScale::new(5_000, (1_700_000_000, 500));
        assert_eq!(clock.guest_monotonic(7_000), 7_000);
        assert_eq!(clock.guest_wall(5_000), (1_700_000_000, 500));
        assert_eq!(clock.guest_wall(1_000_005_000), (1_700_000_001, 500));
        assert_eq!(clock.real_timeout(7_000, 10_000), 3_000);
        assert_eq!(clock.real_timeout(7_000, 6_000), 0);
    }

    #[test]
    fn half_speed_halves_guest_time_and_doubles_sleeps() {
        let mut clock = TimeScale::new(0, (100, 0));
        clock.set_scale(1_000, 0.5);
        assert_eq!(clock.guest_monotonic(1_000), 1_000);
        assert_eq!(clock.guest_monotonic(3_000), 2_000);
        // One guest second after real 1 µs (guest wall 100 s + 1 µs) takes two real seconds.
        assert_eq!(clock.guest_wall(2_000_001_000), (101, 1_000));
        // A 1 µs guest sleep takes 2 µs of real time.
        assert_eq!(clock.real_timeout(3_000, 3_000), 2_000);
        clock.set_scale(3_000, 10.0);
        assert_eq!(clock.guest_monotonic(3_100), 3_000);
        assert_eq!(clock.real_timeout(3_000, 3_000), 100);
    }

    #[test]
    fn guest_time_is_continuous_and_monotonic_across_scale_changes() {
        let mut clock = TimeScale::new(0, (0, 0));
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut real = 0u64;
        let mut last_mono = 0;
        let mut last_wall = (0, 0);
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            real += seed % 10_000_000;
            if seed.is_multiple_of(7) {
                let before = clock.guest_monotonic(real);
                let scale = 0.1 + (seed % 1000) as f32 / 1000.0 * 9.9;
                clock.set_scale(real, scale);
                assert_eq!(clock.guest_monotonic(real), before, "no jump at a change");
            }
            let mono = clock.guest_monotonic(real);
            let wall = clock.guest_wall(real);
            assert!(mono >= last_mono && wall >= last_wall);
            (last_mono, last_wall) = (mono, wall);
            // Sleeps computed now end on time, never before.
            let deadline = mono + seed % 50_000_000;
            let timeout = clock.real_timeout(real, deadline);
            assert!(clock.guest_monotonic(real + timeout) >= deadline);
            assert!(timeout == 0 || clock.guest_monotonic(real + timeout - 1) < deadline);
        }
    }

    #[test]
    fn bad_scales_are_clamped_or_ignored() {
        let mut clock = TimeScale::new(0, (0, 0));
        assert_eq!(clock.set_scale(0, 100.0), MAX_TIME_SCALE);
        assert_eq!(clock.set_scale(0, 0.0), MIN_TIME_SCALE);
        assert_eq!(clock.set_scale(0, f32::NAN), MIN_TIME_SCALE);
        assert_eq!(clock.set_scale(0, f32::NEG_INFINITY), MIN_TIME_SCALE);
        // Real time going backwards (a misbehaving platform) does not move the guest back.
        clock.set_scale(1_000, 1.0);
        assert_eq!(clock.guest_monotonic(10), clock.guest_monotonic(1_000));
        // "Sleep forever" deadlines answer at once, without overflow.
        clock.set_scale(1_000, 0.1);
        assert!(clock.real_timeout(1_000, u64::MAX) > u64::MAX / 2);
    }
}
