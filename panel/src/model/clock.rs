//! Three clocks meet in the panel: the panel's own (`performance.now()`, ms), the wasm
//! thread's real clock (ns, another process's origin) and the guest's monotonic clock (ns,
//! scaled by the time scale). Countdowns need "guest now", so the model keeps one anchor per
//! pair and extrapolates from it.

/// Anchors between the clocks, updated as messages arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Clocks {
    /// (wasm-thread real ns, panel ms) when the newest stamped message arrived.
    host: Option<(u64, f64)>,
    /// (wasm-thread real ns, guest monotonic ns) at the same instant.
    guest: Option<(u64, u64)>,
}

impl Clocks {
    /// A message stamped `host_ns` arrived at panel time `panel_ms` (transit is taken as zero,
    /// so estimates lag by the transit time, never run ahead).
    pub fn observe_host(&mut self, host_ns: u64, panel_ms: f64) {
        if self.host.is_none_or(|(seen, _)| host_ns >= seen) {
            self.host = Some((host_ns, panel_ms));
        }
    }

    /// The guest's clock read `guest_ns` at wasm-thread time `host_ns` (exactly).
    pub fn observe_guest(&mut self, host_ns: u64, guest_ns: u64) {
        if self.guest.is_none_or(|(seen, _)| host_ns >= seen) {
            self.guest = Some((host_ns, guest_ns));
        }
    }

    /// The guest's clock read at least `guest_ns` by wasm-thread time `host_ns` (e.g. a pollable
    /// created then): moves the anchor only when the estimate would be behind it.
    pub fn observe_guest_at_least(&mut self, host_ns: u64, guest_ns: u64, scale: f32) {
        match self.guest_at(host_ns, scale) {
            Some(estimate) if estimate >= guest_ns => {}
            _ => self.guest = Some((host_ns, guest_ns)),
        }
    }

    /// The newest wasm-thread time a message was stamped with.
    pub fn latest_host(&self) -> Option<u64> {
        self.host.map(|(host_ns, _)| host_ns)
    }

    /// The wasm thread's real clock now, from the panel's.
    pub fn host_now(&self, panel_ms: f64) -> Option<u64> {
        let (host_ns, at_ms) = self.host?;
        let elapsed_ns = ((panel_ms - at_ms).max(0.0) * 1e6) as u64;
        Some(host_ns.saturating_add(elapsed_ns))
    }

    /// The guest's monotonic clock at wasm-thread time `host_ns`, running at `scale`.
    pub fn guest_at(&self, host_ns: u64, scale: f32) -> Option<u64> {
        let (anchor_host, anchor_guest) = self.guest?;
        let elapsed = host_ns as i128 - anchor_host as i128;
        let scaled = (elapsed as f64 * f64::from(scale)) as i128;
        Some((anchor_guest as i128 + scaled).clamp(0, u64::MAX as i128) as u64)
    }

    /// The guest's monotonic clock now, from the panel's clock.
    pub fn guest_now(&self, panel_ms: f64, scale: f32) -> Option<u64> {
        self.guest_at(self.host_now(panel_ms)?, scale)
    }
}

/// Guest ns from `now` until `deadline`: positive ahead, negative overdue.
pub fn countdown(deadline: u64, now: u64) -> i128 {
    deadline as i128 - now as i128
}

/// The guest's clock at the start of a wait that asked `timeout` real ns for guest `deadline`
/// (the host computes `timeout = (deadline - now) / scale`).
pub fn guest_at_wait_start(deadline: u64, timeout: u64, scale: f32) -> u64 {
    let guest_span = (timeout as f64 * f64::from(scale)) as u64;
    deadline.saturating_sub(guest_span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_now_extrapolates_from_both_anchors_at_the_time_scale() {
        let mut clocks = Clocks::default();
        assert_eq!(clocks.guest_now(0.0, 1.0), None, "nothing known yet");
        clocks.observe_host(5_000_000, 100.0);
        clocks.observe_guest(5_000_000, 1_000_000_000);
        // 2 ms of panel time later, at 1×: 2 ms later on the guest's clock too.
        assert_eq!(clocks.guest_now(102.0, 1.0), Some(1_002_000_000));
        // At 0.5×, half of it.
        assert_eq!(clocks.guest_now(102.0, 0.5), Some(1_001_000_000));
        // A panel clock that reads earlier than the anchor never runs the guest backwards.
        assert_eq!(clocks.guest_now(50.0, 1.0), Some(1_000_000_000));
    }

    #[test]
    fn older_anchors_do_not_replace_newer_ones() {
        let mut clocks = Clocks::default();
        clocks.observe_host(10, 1.0);
        clocks.observe_host(5, 2.0);
        assert_eq!(clocks.host_now(1.0), Some(10));
        clocks.observe_guest(10, 100);
        clocks.observe_guest(5, 7);
        assert_eq!(clocks.guest_at(10, 1.0), Some(100));
    }

    #[test]
    fn a_lower_bound_moves_the_anchor_only_when_the_estimate_is_behind() {
        let mut clocks = Clocks::default();
        clocks.observe_guest_at_least(100, 50, 1.0);
        assert_eq!(clocks.guest_at(100, 1.0), Some(50));
        clocks.observe_guest_at_least(200, 60, 1.0);
        assert_eq!(
            clocks.guest_at(200, 1.0),
            Some(150),
            "estimate 150 ≥ 60 stays"
        );
        clocks.observe_guest_at_least(200, 400, 1.0);
        assert_eq!(clocks.guest_at(200, 1.0), Some(400));
    }

    #[test]
    fn countdowns_are_signed_and_wait_starts_undo_the_scale() {
        assert_eq!(countdown(1_500, 1_000), 500);
        assert_eq!(countdown(1_000, 1_500), -500);
        assert_eq!(guest_at_wait_start(10_000_000, 2_000_000, 1.0), 8_000_000);
        assert_eq!(guest_at_wait_start(10_000_000, 2_000_000, 2.0), 6_000_000);
        assert_eq!(guest_at_wait_start(5, 2_000_000, 1.0), 0, "saturates");
    }
}
