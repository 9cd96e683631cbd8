//! Waits that end on their deadline.
//!
//! A timed `Atomics.wait` never wakes early but often wakes late: Linux adds its timer slack
//! (50 µs for an ordinary thread) and the scheduler's latency, so a 1 ms sleep measured
//! 1.07 ms at the median here, and more under load. A guest asking for 100 ms should get
//! 100 ms, not 100.4.
//!
//! [`DeadlineWaiter`] learns how late the platform's sleep wakes (a high quantile of recent
//! wakes), sleeps until that much before the deadline, and finishes by looking at the clock
//! (and for news) until the deadline. The finishing stretch is the spread of the lateness,
//! tens of µs, so the thread stays asleep for nearly all of a wait; it never exceeds
//! [`MAX_EARLY_NS`]. Anything that wakes the sleep (a ring notify, a command) ends the wait at
//! once, in either stretch.

use pollscope_protocol::WakeCause;

/// What the waiter needs from the platform.
pub trait WaitPort {
    /// Real monotonic time, in ns.
    fn now(&mut self) -> u64;
    /// Sleeps at most `timeout` ns (`None`: until woken) and says why it returned. Events that
    /// arrived are delivered before it returns.
    fn sleep(&mut self, timeout: Option<u64>) -> WakeCause;
    /// Without sleeping: whether something arrived that ends a wait (delivered, and why), or
    /// `None`. Cheap: it runs in a loop against the clock. A zero-timeout sleep would not do,
    /// as `Atomics.wait(…, 0)` may itself take the timer slack.
    fn look(&mut self) -> Option<WakeCause>;
}

/// The longest stretch finished against the clock, however late the sleeps wake: on a
/// machine so loaded that wakes are later than this, a wait overshoots rather than spins.
pub const MAX_EARLY_NS: u64 = 1_000_000;
/// The first guess, before any wake was measured: above the timer slack, below a loaded p99.
const INITIAL_EARLY_NS: u64 = 150_000;
/// How many recent wakes of one length class the estimate is made from.
const HISTORY: usize = 16;
/// Which of them: the 14th of 16 (about the 85th percentile), so about one sleep in seven
/// wakes later than planned and overshoots by its lateness beyond that quantile, while the
/// others finish on time after a short stretch.
const QUANTILE_RANK: usize = 13;
/// Upper bounds (ns) of the timeout classes whose lateness is learned apart: a sleep wakes
/// later the longer it is (here 70 µs at 1 ms, 170 µs at 100 ms), and a program mixing
/// lengths must not spin for its long sleeps' lateness after its short ones.
const LENGTH_CLASSES: [u64; 3] = [2_000_000, 20_000_000, 200_000_000];

/// How late recent timed sleeps of one length class woke.
#[derive(Debug, Clone)]
struct Lateness {
    /// A ring of the newest [`HISTORY`] measurements (ns).
    recent: [u64; HISTORY],
    /// How many of `recent` are filled.
    filled: usize,
    /// Where the next measurement goes.
    next: usize,
    /// How long before the deadline a sleep of this class is planned to end.
    early: u64,
}

impl Default for Lateness {
    fn default() -> Lateness {
        Lateness {
            recent: [0; HISTORY],
            filled: 0,
            next: 0,
            early: INITIAL_EARLY_NS,
        }
    }
}

impl Lateness {
    fn observe(&mut self, late: u64) {
        self.recent[self.next] = late;
        self.next = (self.next + 1) % HISTORY;
        self.filled = (self.filled + 1).min(HISTORY);
        let mut sorted = self.recent;
        let sorted = &mut sorted[..self.filled];
        sorted.sort_unstable();
        let rank = (self.filled * QUANTILE_RANK / HISTORY).min(self.filled - 1);
        self.early = sorted[rank].min(MAX_EARLY_NS);
    }
}

/// Sleeps until a real deadline and wakes on it (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct DeadlineWaiter {
    /// Per length class of [`LENGTH_CLASSES`] (and one for longer sleeps).
    classes: [Lateness; LENGTH_CLASSES.len() + 1],
}

impl DeadlineWaiter {
    /// Waits until `port.now()` reaches `deadline` (`None`: until woken) or something wakes
    /// the sleep, whichever is first.
    pub fn wait_until(&mut self, port: &mut dyn WaitPort, deadline: Option<u64>) -> WakeCause {
        let Some(deadline) = deadline else {
            return port.sleep(None);
        };
        let now = port.now();
        let class = &mut self.classes[length_class(deadline.saturating_sub(now))];
        let timeout = deadline.saturating_sub(now).saturating_sub(class.early);
        if timeout > 0 {
            match port.sleep(Some(timeout)) {
                WakeCause::Deadline => {
                    let woke = port.now();
                    class.observe(woke.saturating_sub(now + timeout));
                }
                other => return other,
            }
        }
        // Then only looks: a second, shorter sleep would wake as late as the first.
        while port.now() < deadline {
            if let Some(cause) = port.look() {
                return cause;
            }
        }
        WakeCause::Deadline
    }

    /// How long before its deadline a sleep of `length` ns is planned to end (ns).
    pub fn early(&self, length: u64) -> u64 {
        self.classes[length_class(length)].early
    }
}

/// The index in [`DeadlineWaiter::classes`] of a sleep of `length` ns.
fn length_class(length: u64) -> usize {
    LENGTH_CLASSES
        .iter()
        .position(|&bound| length <= bound)
        .unwrap_or(LENGTH_CLASSES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A virtual clock whose timed sleeps wake late by scripted amounts and whose looks cost
    /// `look_ns`; an event can be scheduled at an instant.
    struct FakePort {
        now: u64,
        lateness: Vec<u64>,
        sleeps: usize,
        looks: usize,
        look_ns: u64,
        event_at: Option<u64>,
        slept_ns: u64,
    }

    impl FakePort {
        fn new(lateness: Vec<u64>) -> FakePort {
            FakePort {
                now: 1_000_000_000,
                lateness,
                sleeps: 0,
                looks: 0,
                look_ns: 200,
                event_at: None,
                slept_ns: 0,
            }
        }
    }

    impl WaitPort for FakePort {
        fn now(&mut self) -> u64 {
            self.now
        }

        fn sleep(&mut self, timeout: Option<u64>) -> WakeCause {
            if self.event_at.is_some_and(|at| at <= self.now) {
                self.event_at = None;
                return WakeCause::AlreadyThere;
            }
            match timeout {
                Some(0) => panic!("a zero-timeout sleep: looks are for that"),
                Some(timeout) => {
                    let late = self.lateness[self.sleeps % self.lateness.len()];
                    self.sleeps += 1;
                    let wake = self.now + timeout + late;
                    if let Some(at) = self.event_at.filter(|&at| at < wake) {
                        self.slept_ns += at - self.now;
                        self.now = at;
                        self.event_at = None;
                        return WakeCause::RingNotify;
                    }
                    self.slept_ns += wake - self.now;
                    self.now = wake;
                    WakeCause::Deadline
                }
                None => {
                    let at = self
                        .event_at
                        .take()
                        .expect("a wait without deadline needs an event");
                    self.now = self.now.max(at);
                    WakeCause::RingNotify
                }
            }
        }

        fn look(&mut self) -> Option<WakeCause> {
            self.looks += 1;
            self.now += self.look_ns;
            if self.event_at.is_some_and(|at| at <= self.now) {
                self.event_at = None;
                return Some(WakeCause::AlreadyThere);
            }
            None
        }
    }

    /// Overshoot (ns) of each of `waits` waits of `length` ns.
    fn overshoots(
        waiter: &mut DeadlineWaiter,
        port: &mut FakePort,
        length: u64,
        waits: usize,
    ) -> Vec<u64> {
        (0..waits)
            .map(|_| {
                let deadline = port.now + length;
                assert_eq!(waiter.wait_until(port, Some(deadline)), WakeCause::Deadline);
                port.now - deadline
            })
            .collect()
    }

    fn median(mut values: Vec<u64>) -> u64 {
        values.sort_unstable();
        values[values.len() / 2]
    }

    /// Lateness like Linux's futex timeouts: 50 µs slack plus 10–50 µs of scheduling.
    fn realistic() -> Vec<u64> {
        (0..37).map(|i| 60_000 + (i * 7_919) % 40_000).collect()
    }

    #[test]
    fn waits_end_on_time_once_the_lateness_is_learned() {
        for length in [1_000_000, 10_000_000, 100_000_000] {
            let mut waiter = DeadlineWaiter::default();
            let mut port = FakePort::new(realistic());
            overshoots(&mut waiter, &mut port, length, HISTORY);
            let late = overshoots(&mut waiter, &mut port, length, 200);
            // A plain timed sleep would overshoot by the lateness itself: 60–100 µs.
            assert!(median(late.clone()) <= port.look_ns, "{length}: {late:?}");
            assert!(late.iter().all(|&ns| ns < 40_000), "{length}: {late:?}");
        }
    }

    #[test]
    fn the_finishing_stretch_is_short_and_the_thread_sleeps_the_rest() {
        let mut waiter = DeadlineWaiter::default();
        let mut port = FakePort::new(realistic());
        overshoots(&mut waiter, &mut port, 1_000_000, HISTORY);
        let (slept, looks, start) = (port.slept_ns, port.looks, port.now);
        overshoots(&mut waiter, &mut port, 1_000_000, 100);
        let spun = (port.looks - looks) as u64 * port.look_ns;
        let elapsed = port.now - start;
        assert!(port.slept_ns - slept + spun >= elapsed - 100 * port.look_ns);
        // The stretch is the spread of the lateness (40 µs here), not the lateness.
        assert!(spun * 100 / elapsed <= 4, "spun {spun} of {elapsed} ns");
        assert!(waiter.early(1_000_000) <= 100_000 && waiter.early(1_000_000) >= 60_000);
    }

    #[test]
    fn an_event_ends_the_wait_in_either_stretch() {
        let mut waiter = DeadlineWaiter::default();
        let mut port = FakePort::new(vec![80_000]);
        let start = port.now;
        port.event_at = Some(start + 300_000);
        let cause = waiter.wait_until(&mut port, Some(start + 10_000_000));
        assert_eq!(cause, WakeCause::RingNotify);
        assert_eq!(port.now, start + 300_000, "woken when the event came");

        // In the finishing stretch the looks see it.
        overshoots(&mut waiter, &mut port, 1_000_000, HISTORY);
        // This sleep wakes 40 µs before the deadline, planned for 80: it looks from then on.
        port.lateness = vec![40_000];
        let deadline = port.now + 1_000_000;
        port.event_at = Some(deadline - 5_000);
        assert_eq!(
            waiter.wait_until(&mut port, Some(deadline)),
            WakeCause::AlreadyThere
        );
        assert!(port.now < deadline);
    }

    #[test]
    fn past_and_absent_deadlines() {
        let mut waiter = DeadlineWaiter::default();
        let mut port = FakePort::new(vec![80_000]);
        let now = port.now;
        assert_eq!(waiter.wait_until(&mut port, Some(now)), WakeCause::Deadline);
        assert_eq!(
            waiter.wait_until(&mut port, Some(now - 5)),
            WakeCause::Deadline
        );
        assert_eq!(
            (port.sleeps, port.looks),
            (0, 0),
            "no sleep for a passed deadline"
        );
        port.event_at = Some(now + 7);
        assert_eq!(waiter.wait_until(&mut port, None), WakeCause::RingNotify);
    }

    #[test]
    fn a_wait_shorter_than_the_stretch_only_looks() {
        let mut waiter = DeadlineWaiter::default();
        let mut port = FakePort::new(vec![80_000]);
        let deadline = port.now + 2_000;
        assert_eq!(
            waiter.wait_until(&mut port, Some(deadline)),
            WakeCause::Deadline
        );
        assert_eq!(port.sleeps, 0);
        assert!(port.now >= deadline && port.now < deadline + port.look_ns);
    }

    #[test]
    fn short_and_long_sleeps_learn_their_own_lateness() {
        let mut waiter = DeadlineWaiter::default();
        // Sleeps alternate 1 ms and 100 ms, waking 70 and 170 µs late (one sleep per wait).
        let mut port = FakePort::new(vec![70_000, 170_000]);
        for _ in 0..HISTORY {
            overshoots(&mut waiter, &mut port, 1_000_000, 1);
            overshoots(&mut waiter, &mut port, 100_000_000, 1);
        }
        assert_eq!(waiter.early(1_000_000), 70_000);
        assert_eq!(waiter.early(100_000_000), 170_000);
    }

    #[test]
    fn a_loaded_machine_never_makes_it_spin_longer_than_the_cap() {
        let mut waiter = DeadlineWaiter::default();
        let mut port = FakePort::new(vec![5_000_000]);
        overshoots(&mut waiter, &mut port, 10_000_000, HISTORY);
        assert_eq!(waiter.early(10_000_000), MAX_EARLY_NS);
        // And it learns again when the load goes.
        port.lateness = vec![70_000];
        port.sleeps = 0;
        overshoots(&mut waiter, &mut port, 10_000_000, HISTORY);
        assert_eq!(waiter.early(10_000_000), 70_000);
    }
}
