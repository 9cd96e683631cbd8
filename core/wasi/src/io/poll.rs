//! `wasi:io/poll`: pollables, `pollable.ready`, `pollable.block` and `poll`.
//!
//! A pollable is a table entry with a kind; readiness is computed on demand from the kind (a
//! timer's absolute deadline, a stream's `ready`). Only the pollables a call names are looked
//! at, so pollables the guest never drops (TinyGo leaks one per idle sleep) cost nothing.

use crate::abi::{self, Lowered};
use crate::host::Step;
use crate::io::streams::{InputStream, OutputStream};
use crate::registry::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::table::ResourceTable;
use crate::{GuestMemory, Host, Trap, WaitReason};

/// What a pollable waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollableKind {
    /// Ready once the monotonic clock reaches `deadline` (absolute ns, fixed at subscribe).
    Timer {
        /// Absolute monotonic deadline in nanoseconds.
        deadline: u64,
    },
    /// Ready when the input stream with this handle can be read without blocking.
    StreamRead(u32),
    /// Ready when the output stream with this handle accepts a write or flush finished.
    StreamWrite(u32),
    /// Always ready (e.g. a resource that never blocks).
    Ready,
}

/// The table entry behind a `pollable` handle, with the counters telemetry shows.
#[derive(Debug, Clone)]
pub(crate) struct Pollable {
    /// What it waits for.
    pub(crate) kind: PollableKind,
    /// The import that made it, e.g. `wasi:clocks/monotonic-clock#subscribe-duration`.
    pub(crate) created_by: &'static str,
    /// Monotonic time at creation.
    pub(crate) created_at: u64,
    /// How many `poll` calls named it plus `ready` calls on it.
    pub(crate) polled: u64,
    /// How many `block` calls were made on it.
    pub(crate) blocked: u64,
}

/// A live pollable as telemetry shows it (see [`Host::pollables`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollableInfo {
    /// The guest's handle.
    pub handle: u32,
    /// What it waits for.
    pub kind: PollableKind,
    /// The import that made it, e.g. `wasi:clocks/monotonic-clock#subscribe-duration`.
    pub created_by: &'static str,
    /// Monotonic time at creation, in ns.
    pub created_at: u64,
    /// How many `poll` calls named it plus `ready` calls on it.
    pub polled: u64,
    /// How many `block` calls were made on it.
    pub blocked: u64,
}

impl Host {
    /// Every live pollable, in handle order. Pollables the guest never dropped are here too
    /// (TinyGo leaks one per idle sleep). Scans the table: call it for a snapshot, not per wait.
    pub fn pollables(&self) -> Vec<PollableInfo> {
        self.table
            .iter::<Pollable>()
            .map(|(handle, p)| PollableInfo {
                handle,
                kind: p.kind,
                created_by: p.created_by,
                created_at: p.created_at,
                polled: p.polled,
                blocked: p.blocked,
            })
            .collect()
    }
}

/// Readiness of one pollable right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Ready now.
    Ready,
    /// Not yet; ready at the latest at this deadline (`None`: only an event can make it so).
    Pending(Option<u64>),
}

/// Makes a pollable and returns its handle. `parent` (a stream) cannot be dropped while the
/// pollable lives, as `subscribe` requires.
pub(crate) fn push_pollable(
    host: &mut Host,
    kind: PollableKind,
    parent: Option<u32>,
    created_by: &'static str,
) -> Result<u32, Trap> {
    let pollable = Pollable {
        kind,
        created_by,
        created_at: host.platform.monotonic_now(),
        polled: 0,
        blocked: 0,
    };
    match parent {
        Some(parent) => host.table.push_child(pollable, parent),
        None => host.table.push(pollable),
    }
}

/// Readiness of the pollable with `handle` (traps when it is not a pollable).
pub(crate) fn readiness(host: &Host, handle: u32) -> Result<Readiness, Trap> {
    let kind = host.table.get::<Pollable>(handle)?.kind;
    kind_readiness(&host.table, host.platform.monotonic_now(), kind)
}

fn kind_readiness(table: &ResourceTable, now: u64, kind: PollableKind) -> Result<Readiness, Trap> {
    let ready = match kind {
        PollableKind::Timer { deadline } if deadline <= now => true,
        PollableKind::Timer { deadline } => return Ok(Readiness::Pending(Some(deadline))),
        PollableKind::StreamRead(stream) => table.get::<InputStream>(stream)?.0.ready(),
        PollableKind::StreamWrite(stream) => table.get::<OutputStream>(stream)?.0.ready(),
        PollableKind::Ready => true,
    };
    Ok(if ready {
        Readiness::Ready
    } else {
        Readiness::Pending(None)
    })
}

fn ready(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let handle = abi::arg_handle(args, 0)?;
    host.table.get_mut::<Pollable>(handle)?.polled += 1;
    // Let stdin that already arrived count, without waiting.
    host.pump_events();
    Ok(i64::from(readiness(host, handle)? == Readiness::Ready))
}

fn block(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let handle = abi::arg_handle(args, 0)?;
    host.table.get_mut::<Pollable>(handle)?.blocked += 1;
    host.block_until(WaitReason::PollableBlock, |host| {
        Ok(match readiness(host, handle)? {
            Readiness::Ready => Step::Done(()),
            Readiness::Pending(deadline) => Step::Wait(deadline),
        })
    })?;
    Ok(0)
}

fn poll(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (ptr, len, retptr) = (
        abi::arg_u32(args, 0)?,
        abi::arg_u32(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    if len == 0 {
        // The spec: "If the list contains no pollables, this function traps."
        return Err(Trap::abi("poll: the list of pollables is empty"));
    }
    // A bad return pointer traps now, not after a long wait.
    abi::check_align(retptr, 4, "poll retptr")?;
    let handles = abi::lift_u32s(memory, ptr, len, "poll: list<borrow<pollable>>")?;
    // Resolve every handle once: a bad one traps before any waiting, and the loop below reads
    // only the kinds, never the table's other entries.
    let mut kinds = Vec::with_capacity(handles.len());
    for &handle in &handles {
        let pollable = host.table.get_mut::<Pollable>(handle)?;
        pollable.polled += 1;
        kinds.push(pollable.kind);
    }
    let ready = host.block_until(WaitReason::Poll, |host| {
        let now = host.platform.monotonic_now();
        let mut ready = Vec::new();
        let mut nearest: Option<u64> = None;
        for (index, &kind) in kinds.iter().enumerate() {
            match kind_readiness(&host.table, now, kind)? {
                Readiness::Ready => ready.push(index as u32),
                Readiness::Pending(Some(deadline)) => {
                    nearest = Some(nearest.map_or(deadline, |n| n.min(deadline)))
                }
                Readiness::Pending(None) => {}
            }
        }
        Ok(if ready.is_empty() {
            Step::Wait(nearest)
        } else {
            Step::Done(ready)
        })
    })?;
    let list = abi::lower_u32s(memory, &ready, "poll result list<u32>")?;
    Lowered::new(8, 4)
        .ptr_len(0, list)
        .store(memory, retptr, "poll retptr")?;
    Ok(0)
}

fn drop_pollable(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    host.table.delete::<Pollable>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

/// `wasi:io/poll`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:io/poll",
    funcs: &[
        FuncDef::new("[resource-drop]pollable", &[I32], &[], drop_pollable),
        FuncDef::new("[method]pollable.ready", &[I32], &[I32], ready),
        FuncDef::new("[method]pollable.block", &[I32], &[], block),
        FuncDef::new("poll", &[I32, I32, I32], &[], poll),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, host_with, FakePlatform};
    use crate::{Event, TrapKind, VecMemory};

    const POLL: &str = "wasi:io/poll@0.2.0";
    const CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.0";

    fn timer(host: &mut Host, memory: &mut VecMemory, after_ns: u64) -> i64 {
        call(
            host,
            memory,
            CLOCK,
            "subscribe-duration",
            &[after_ns as i64],
        )
        .unwrap()
    }

    /// Writes `handles` at 0x100 and polls them; returns the ready indices.
    fn poll_list(
        host: &mut Host,
        memory: &mut VecMemory,
        handles: &[i64],
    ) -> Result<Vec<u32>, Trap> {
        for (i, h) in handles.iter().enumerate() {
            memory.bytes[0x100 + i * 4..0x104 + i * 4].copy_from_slice(&(*h as u32).to_le_bytes());
        }
        call(
            host,
            memory,
            POLL,
            "poll",
            &[0x100, handles.len() as i64, 0x80],
        )?;
        let ret = abi::load_record(memory, 0x80, 8, 4, "ret").unwrap();
        Ok(abi::lift_u32s(memory, ret.u32(0).unwrap(), ret.u32(4).unwrap(), "r").unwrap())
    }

    #[test]
    fn block_waits_once_until_the_deadline() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        fake.advance(1_000);
        let p = timer(&mut host, &mut memory, 250_000);
        call(&mut host, &mut memory, POLL, "[method]pollable.ready", &[p])
            .map(|r| assert_eq!(r, 0))
            .unwrap();
        call(&mut host, &mut memory, POLL, "[method]pollable.block", &[p]).unwrap();
        assert_eq!(fake.now(), 251_000);
        let waits = fake.waits();
        assert_eq!(waits.len(), 1, "one wait, no busy loop: {waits:?}");
        assert_eq!(waits[0].deadline, Some(251_000));
        assert_eq!(waits[0].reason, WaitReason::PollableBlock);
        assert_eq!(
            call(&mut host, &mut memory, POLL, "[method]pollable.ready", &[p]).unwrap(),
            1
        );
        let entry = host.table.get::<Pollable>(p as u32).unwrap();
        assert_eq!((entry.polled, entry.blocked), (2, 1));
        assert_eq!(
            entry.created_by,
            "wasi:clocks/monotonic-clock#subscribe-duration"
        );
    }

    #[test]
    fn zero_and_past_deadlines_are_ready_without_waiting() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        fake.advance(5_000);
        let zero = timer(&mut host, &mut memory, 0);
        let past = call(&mut host, &mut memory, CLOCK, "subscribe-instant", &[10]).unwrap();
        call(
            &mut host,
            &mut memory,
            POLL,
            "[method]pollable.block",
            &[zero],
        )
        .unwrap();
        call(
            &mut host,
            &mut memory,
            POLL,
            "[method]pollable.block",
            &[past],
        )
        .unwrap();
        assert_eq!(
            poll_list(&mut host, &mut memory, &[past, zero]).unwrap(),
            vec![0, 1]
        );
        assert!(fake.waits().is_empty());
    }

    #[test]
    fn saturating_duration_never_wraps_into_the_past() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        fake.advance(10);
        let p = timer(&mut host, &mut memory, u64::MAX);
        assert_eq!(
            call(&mut host, &mut memory, POLL, "[method]pollable.ready", &[p]).unwrap(),
            0
        );
        let Pollable { kind, .. } = host.table.get::<Pollable>(p as u32).unwrap().clone();
        assert_eq!(kind, PollableKind::Timer { deadline: u64::MAX });
    }

    #[test]
    fn poll_timers_and_stdin_reports_every_ready_index() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdin@0.2.0",
            "get-stdin",
            &[],
        )
        .unwrap();
        let read = call(
            &mut host,
            &mut memory,
            "wasi:io/streams@0.2.0",
            "[method]input-stream.subscribe",
            &[stdin],
        )
        .unwrap();
        let t300 = timer(&mut host, &mut memory, 300);
        let t100 = timer(&mut host, &mut memory, 100);
        let t200 = timer(&mut host, &mut memory, 200);
        fake.script(150, Event::Stdin(b"hi".to_vec()));

        // First wake: the 100 ns timer, nothing else.
        assert_eq!(
            poll_list(&mut host, &mut memory, &[t300, read, t100, t200]).unwrap(),
            vec![2]
        );
        assert_eq!(fake.now(), 100);
        // Stdin arrives at 150, before the 200 ns timer.
        assert_eq!(
            poll_list(&mut host, &mut memory, &[t300, read, t200]).unwrap(),
            vec![1]
        );
        assert_eq!(fake.now(), 150);
        // Stdin stays ready while unread, so now both ready ones are reported.
        fake.advance(200);
        assert_eq!(
            poll_list(&mut host, &mut memory, &[t300, read, t200, t100]).unwrap(),
            vec![0, 1, 2, 3]
        );
        let deadlines: Vec<_> = fake.waits().iter().map(|w| w.deadline).collect();
        assert_eq!(deadlines, vec![Some(100), Some(200)]);
        assert!(fake.waits().iter().all(|w| w.reason == WaitReason::Poll));
        // The stream cannot be dropped while its pollable lives.
        let err = call(
            &mut host,
            &mut memory,
            "wasi:io/streams@0.2.0",
            "[resource-drop]input-stream",
            &[stdin],
        )
        .unwrap_err();
        assert!(
            matches!(err.kind, TrapKind::Abi(ref m) if m.contains("cannot drop")),
            "{err}"
        );
        call(
            &mut host,
            &mut memory,
            POLL,
            "[resource-drop]pollable",
            &[read],
        )
        .unwrap();
        call(
            &mut host,
            &mut memory,
            "wasi:io/streams@0.2.0",
            "[resource-drop]input-stream",
            &[stdin],
        )
        .unwrap();
    }

    #[test]
    fn poll_traps_on_empty_list_and_bad_handles() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let err = call(&mut host, &mut memory, POLL, "poll", &[0x100, 0, 0x80]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "poll: the list of pollables is empty (in wasi:io/poll#poll)"
        );
        let err = poll_list(&mut host, &mut memory, &[7]).unwrap_err();
        assert_eq!(err.to_string(), "unknown handle 7 (in wasi:io/poll#poll)");
        let stdout = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdout@0.2.0",
            "get-stdout",
            &[],
        )
        .unwrap();
        let err = poll_list(&mut host, &mut memory, &[stdout]).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a OutputStream, not a Pollable"),
            "{err}"
        );
        let p = timer(&mut host, &mut memory, 1);
        let err = call(&mut host, &mut memory, POLL, "poll", &[0x101, 1, 0x80]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("misaligned poll: list<borrow<pollable>>"),
            "{err}"
        );
        memory.bytes[0x100..0x104].copy_from_slice(&(p as u32).to_le_bytes());
        let err = call(&mut host, &mut memory, POLL, "poll", &[0x100, 1, 0x82]).unwrap_err();
        assert!(
            err.to_string().starts_with("misaligned poll retptr"),
            "{err}"
        );
        assert!(fake.waits().is_empty(), "bad input traps before waiting");
        call(
            &mut host,
            &mut memory,
            POLL,
            "[resource-drop]pollable",
            &[p],
        )
        .unwrap();
        assert!(call(
            &mut host,
            &mut memory,
            POLL,
            "[resource-drop]pollable",
            &[p]
        )
        .is_err());
    }

    #[test]
    fn leaked_pollables_are_not_looked_at() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        for _ in 0..1000 {
            let p = timer(&mut host, &mut memory, 10);
            call(&mut host, &mut memory, POLL, "[method]pollable.block", &[p]).unwrap();
        }
        // 1000 sleeps, 1000 waits: each block looked at its own pollable only.
        assert_eq!(fake.waits().len(), 1000);
        assert_eq!(host.live_handles(), 1000);
    }
}
