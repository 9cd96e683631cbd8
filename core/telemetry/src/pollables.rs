//! The host's pollables as the protocol shows them, and the changes between two looks.

use pollscope_protocol::{Pollable, PollableChange, PollableKind, RetiredPollables, WaitCall};
use pollscope_wasi::WaitReason;

/// Converts `Host::pollables()` at guest monotonic time `guest_now` (timers are ready once
/// their deadline passed; stream readiness is not in `PollableInfo`, so it is `None`).
pub fn from_host(live: &[pollscope_wasi::PollableInfo], guest_now: u64) -> Vec<Pollable> {
    live.iter()
        .map(|info| {
            let (kind, ready) = match info.kind {
                pollscope_wasi::PollableKind::Timer { deadline } => (
                    PollableKind::Timer { deadline },
                    Some(deadline <= guest_now),
                ),
                pollscope_wasi::PollableKind::StreamRead(stream) => {
                    (PollableKind::StreamRead { stream }, None)
                }
                pollscope_wasi::PollableKind::StreamWrite(stream) => {
                    (PollableKind::StreamWrite { stream }, None)
                }
                pollscope_wasi::PollableKind::Ready => (PollableKind::Ready, Some(true)),
            };
            Pollable {
                handle: info.handle,
                kind,
                created_by: info.created_by.to_string(),
                created_at: info.created_at,
                polled: info.polled,
                blocked: info.blocked,
                ready,
            }
        })
        .collect()
}

/// Converts `Host::retired_pollables()`.
pub fn retired_from_host(retired: &pollscope_wasi::RetiredPollables) -> RetiredPollables {
    RetiredPollables {
        held: retired.held,
        total: retired.total,
        by_creator: retired
            .by_creator
            .iter()
            .map(|&(creator, held)| (creator.to_string(), held))
            .collect(),
    }
}

/// The call a `Platform::wait` reason names.
pub fn wait_call(reason: WaitReason) -> WaitCall {
    match reason {
        WaitReason::PollableBlock => WaitCall::PollableBlock,
        WaitReason::Poll => WaitCall::Poll,
        WaitReason::BlockingRead => WaitCall::BlockingRead,
        WaitReason::BlockingWrite => WaitCall::BlockingWrite,
    }
}

/// The pollables seen at the last look, to report only what changed.
#[derive(Debug, Clone, Default)]
pub struct PollableTracker {
    last: Vec<Pollable>,
}

impl PollableTracker {
    /// Forget the last look: the next one reports every pollable.
    pub fn reset(&mut self) {
        self.last.clear();
    }

    /// Compares `live` (in handle order) with the last look at real time `now`: new or
    /// changed pollables are upserted, missing ones (and a handle reused by a new pollable)
    /// dropped. Linear in the number of live pollables.
    pub fn diff(&mut self, now: u64, live: &[Pollable], out: &mut dyn FnMut(PollableChange)) {
        let mut old = self.last.iter().peekable();
        for new in live {
            while let Some(gone) = old.next_if(|p| p.handle < new.handle) {
                out(PollableChange::Dropped {
                    handle: gone.handle,
                    at: now,
                });
            }
            match old.next_if(|p| p.handle == new.handle) {
                Some(same) if same == new => {}
                Some(other) if other.created_at != new.created_at || other.kind != new.kind => {
                    // The guest dropped the old one and a new one got its handle.
                    out(PollableChange::Dropped {
                        handle: other.handle,
                        at: now,
                    });
                    out(PollableChange::Upsert(new.clone()));
                }
                _ => out(PollableChange::Upsert(new.clone())),
            }
        }
        for gone in old {
            out(PollableChange::Dropped {
                handle: gone.handle,
                at: now,
            });
        }
        self.last.clear();
        self.last.extend_from_slice(live);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(handle: u32, deadline: u64, polled: u64) -> Pollable {
        Pollable {
            handle,
            kind: PollableKind::Timer { deadline },
            created_by: "wasi:clocks/monotonic-clock#subscribe-duration".into(),
            created_at: deadline - 10,
            polled,
            blocked: 0,
            ready: Some(false),
        }
    }

    fn changes(tracker: &mut PollableTracker, live: &[Pollable]) -> Vec<PollableChange> {
        let mut out = Vec::new();
        tracker.diff(7, live, &mut |c| out.push(c));
        out
    }

    #[test]
    fn tracker_reports_new_changed_dropped_and_reused_handles() {
        let mut tracker = PollableTracker::default();
        let first = [timer(1, 100, 0), timer(2, 200, 0), timer(4, 400, 0)];
        assert_eq!(changes(&mut tracker, &first).len(), 3);
        assert!(changes(&mut tracker, &first).is_empty(), "nothing changed");
        let second = [timer(2, 200, 1), timer(4, 450, 0), timer(5, 500, 0)];
        assert_eq!(
            changes(&mut tracker, &second),
            [
                PollableChange::Dropped { handle: 1, at: 7 },
                PollableChange::Upsert(timer(2, 200, 1)),
                PollableChange::Dropped { handle: 4, at: 7 },
                PollableChange::Upsert(timer(4, 450, 0)),
                PollableChange::Upsert(timer(5, 500, 0)),
            ]
        );
        assert_eq!(
            changes(&mut tracker, &[]),
            [2, 4, 5].map(|handle| PollableChange::Dropped { handle, at: 7 })
        );
        tracker.reset();
        assert_eq!(changes(&mut tracker, &first).len(), 3);
    }

    #[test]
    fn host_pollables_convert_with_timer_readiness() {
        let info = |handle, kind| pollscope_wasi::PollableInfo {
            handle,
            kind,
            created_by: "wasi:io/streams#[method]input-stream.subscribe",
            created_at: 5,
            polled: 2,
            blocked: 1,
        };
        let live = [
            info(1, pollscope_wasi::PollableKind::Timer { deadline: 10 }),
            info(2, pollscope_wasi::PollableKind::Timer { deadline: 30 }),
            info(3, pollscope_wasi::PollableKind::StreamRead(9)),
            info(4, pollscope_wasi::PollableKind::StreamWrite(8)),
            info(5, pollscope_wasi::PollableKind::Ready),
        ];
        let ready: Vec<_> = from_host(&live, 20).iter().map(|p| p.ready).collect();
        assert_eq!(ready, [Some(true), Some(false), None, None, Some(true)]);
        assert_eq!(
            from_host(&live, 20)[2].kind,
            PollableKind::StreamRead { stream: 9 }
        );
        let retired = retired_from_host(&pollscope_wasi::RetiredPollables {
            held: 3,
            total: 4,
            by_creator: vec![("c", 3)],
        });
        assert_eq!(retired.by_creator, [("c".to_string(), 3)]);
        assert_eq!(wait_call(WaitReason::Poll), WaitCall::Poll);
    }
}
