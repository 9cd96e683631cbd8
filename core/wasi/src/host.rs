//! The host's state for one guest instance and the one blocking loop every waiting import goes
//! through. [`Host::call`], the entry point, is with the function vocabulary (`func.rs`).
//!
//! `Host` holds state only: the handle table and the per-package state, each defined in a
//! state module (`cli/console.rs`, `filesystem/state.rs`, `sockets/state.rs`), never in the
//! glue that implements an interface.

use std::cell::RefCell;
use std::rc::Rc;

use crate::cli::console::StdinBuffer;
use crate::config::HostConfig;
use crate::filesystem::state::FsState;
use crate::sockets::state::SocketsState;
use crate::table::ResourceTable;
use crate::{Event, Platform, Trap, WaitReason};

/// The WASI host for one guest instance.
pub struct Host {
    pub(crate) table: ResourceTable,
    pub(crate) platform: Box<dyn Platform>,
    pub(crate) config: HostConfig,
    /// `wasi:filesystem` state: the in-memory tree and the preopens.
    pub(crate) fs: FsState,
    /// `wasi:sockets` state (there is none: no socket ever exists).
    #[allow(dead_code)] // the field keeps the package's place; nothing reads it
    pub(crate) sockets: SocketsState,
    /// Bytes the embedder sent to stdin and not yet read; shared with every stdin stream.
    pub(crate) stdin: Rc<RefCell<StdinBuffer>>,
    /// `wasi:random/insecure-seed`, drawn once so every call returns the same seed.
    pub(crate) insecure_seed: Option<(u64, u64)>,
    /// The running host function when its definition says it never waits
    /// (`Waits::Never`): [`block_until`](Host::block_until) checks it before every wait.
    #[cfg(debug_assertions)]
    pub(crate) never_waits: Option<&'static str>,
}

/// What one look at a blocking operation found.
pub(crate) enum Step<T> {
    /// The operation completed (or failed) with this value.
    Done(T),
    /// Not yet: wait until this monotonic deadline (forever when `None`) or an event.
    Wait(Option<u64>),
}

impl Host {
    /// A host for a fresh guest instance.
    ///
    /// Fails (without panicking) when the configuration cannot be honoured, e.g. a preloaded
    /// file path the filesystem rejects; the message says which entry and why.
    pub fn new(config: HostConfig, platform: Box<dyn Platform>) -> Result<Host, String> {
        let fs = FsState::new(&config)?;
        let sockets = SocketsState::new(&config)?;
        Ok(Host {
            table: ResourceTable::new(),
            platform,
            config,
            fs,
            sockets,
            stdin: Rc::default(),
            insecure_seed: None,
            #[cfg(debug_assertions)]
            never_waits: None,
        })
    }

    /// The trees of the preopens configured with `write_back`, as the guest leaves them, in
    /// the format [`PreopenExport::decode`](crate::PreopenExport::decode) reads: for an
    /// embedder that writes them back to the host's disk when the guest ends.
    pub fn export_preopens(&self) -> Vec<u8> {
        crate::filesystem::export::encode(&self.fs)
    }

    /// The platform's checkpoint: where a steerable platform holds the guest. [`Host::call`]
    /// takes it before every import; guest-side hooks (the asyncify flight recorder's) take it
    /// outside a host call, and a pause or a step ending there holds the guest as at one.
    pub fn checkpoint(&mut self) {
        let stdin = &self.stdin;
        self.platform.checkpoint(&mut |event| deliver(stdin, event));
    }

    /// Hands every event that has already arrived to the host's state, without waiting.
    pub(crate) fn pump_events(&mut self) {
        let stdin = &self.stdin;
        self.platform
            .poll_events(&mut |event| deliver(stdin, event));
    }

    /// Runs `step` until it is done, waiting in between: the blocking import written once on
    /// top of "ready + non-blocking". Each round is one look and at most one wait, so the
    /// wait's timeout is the nearest deadline `step` names and nothing busy-loops. Output is not
    /// flushed here: [`Platform::wait`] sends batched output itself before it sleeps, so a
    /// sleeping guest never holds data back (a flush here as well made two per wait).
    pub(crate) fn block_until<T>(
        &mut self,
        reason: WaitReason,
        mut step: impl FnMut(&mut Host) -> Result<Step<T>, Trap>,
    ) -> Result<T, Trap> {
        // Events that already arrived are taken only when the first look finds nothing, so a
        // ready stream (stdout on every TinyGo print) costs no trip to the event ring.
        let mut pumped = false;
        loop {
            match step(self)? {
                Step::Done(value) => return Ok(value),
                Step::Wait(_) if !pumped => {
                    self.pump_events();
                    pumped = true;
                }
                Step::Wait(deadline) => {
                    #[cfg(debug_assertions)]
                    if let Some(name) = self.never_waits {
                        panic!(
                            "`{name}` reached Platform::wait, but its definition says it never \
                             waits: declare it `.may_wait()` or `.idle_point()` (func.rs, Waits)"
                        );
                    }
                    let stdin = &self.stdin;
                    self.platform
                        .wait(deadline, reason, &mut |event| deliver(stdin, event));
                    if self.platform.stop_requested() {
                        return Err(Trap::interrupted());
                    }
                }
            }
        }
    }

    /// The platform, for the embedder: flush its output when the guest ends, whether
    /// normally, by trap or by `exit` ([`TrapKind::Exit`](crate::TrapKind::Exit)).
    pub fn platform_mut(&mut self) -> &mut dyn Platform {
        &mut *self.platform
    }

    /// Number of live guest handles. Retired pollables the guest still holds are not
    /// included: [`Host::retired_pollables`] counts those.
    pub fn live_handles(&self) -> usize {
        self.table.len()
    }
}

/// Applies one embedder event to the host's state.
fn deliver(stdin: &RefCell<StdinBuffer>, event: Event) {
    match event {
        Event::Stdin(bytes) => stdin.borrow_mut().push(bytes),
        Event::StdinClosed => stdin.borrow_mut().close(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, host_with, FakePlatform};
    use crate::{resolve, PollableKind};

    #[test]
    fn wrong_argument_count_traps_naming_the_import() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let func = resolve("wasi:io/poll@0.2.0", "poll").unwrap();
        let err = host.call(func, &[0, 0], &mut memory).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wasi:io/poll#poll takes 3 core arguments, got 2"
        );
    }

    #[test]
    fn block_until_waits_once_per_wake_and_output_goes_out_before_each_wait() {
        let fake = FakePlatform::new();
        let (mut host, _) = host_with(&fake);
        for (i, at) in [10, 20, 30].into_iter().enumerate() {
            fake.script(at, Event::Stdin(vec![i as u8]));
        }
        let got = host
            .block_until(WaitReason::BlockingRead, |host| {
                let len = host.stdin.borrow().data_len();
                Ok(if len >= 3 {
                    Step::Done(len)
                } else {
                    Step::Wait(Some(1_000))
                })
            })
            .unwrap();
        assert_eq!(got, 3);
        let woke: Vec<u64> = fake.waits().iter().map(|w| w.woke_at).collect();
        assert_eq!(woke, [10, 20, 30]);
        assert_eq!(
            fake.flushes(),
            3,
            "the platform's wait flushes, once per wait"
        );
        assert_eq!(
            fake.event_polls(),
            1,
            "pending events are taken once, before the first wait"
        );
    }

    #[test]
    fn a_ready_operation_neither_polls_events_nor_waits() {
        let fake = FakePlatform::new();
        let (mut host, _) = host_with(&fake);
        let got = host
            .block_until(WaitReason::BlockingWrite, |_| Ok(Step::Done(7)))
            .unwrap();
        assert_eq!(got, 7);
        assert_eq!(
            (fake.event_polls(), fake.waits().len(), fake.flushes()),
            (0, 0, 0)
        );
    }

    #[test]
    fn pollables_snapshot_lists_leaked_ones_with_counters() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let clock = "wasi:clocks/monotonic-clock@0.2.0";
        for _ in 0..3 {
            let p = call(&mut host, &mut memory, clock, "subscribe-duration", &[100]).unwrap();
            call(
                &mut host,
                &mut memory,
                "wasi:io/poll@0.2.0",
                "[method]pollable.block",
                &[p],
            )
            .unwrap();
        }
        let snapshot = host.pollables();
        assert_eq!(snapshot.len(), 3);
        assert_eq!(snapshot[2].kind, PollableKind::Timer { deadline: 300 });
        assert_eq!(
            (
                snapshot[2].created_at,
                snapshot[2].blocked,
                snapshot[2].polled
            ),
            (200, 1, 0)
        );
        assert!(snapshot
            .iter()
            .all(|p| p.created_by.ends_with("#subscribe-duration")));
    }
}
