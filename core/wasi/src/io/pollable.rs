//! The `pollable` resource: what each one waits for, its readiness, its counters, and how the
//! ones that can no longer change are retired. `io/poll.rs` (the `wasi:io/poll` glue) and the
//! imports that make pollables (`subscribe` on streams and clocks) use it.
//!
//! A pollable is a table entry with a kind; readiness is computed on demand from the kind (a
//! timer's absolute deadline, a stream's `ready`). Only the pollables a call names are looked
//! at, so pollables the guest never drops (TinyGo leaks one per idle sleep) cost no time.
//!
//! They cost no memory either, past a point: a pollable that is ready forever (a timer whose
//! deadline passed, or a `Ready` one) and has no parent is *retired* by a sweep that runs when
//! a pollable is made and the table's live entries have doubled since the last sweep (at least
//! 1024; see [`ResourceTable::sweep_due`]), so the sweep costs O(1) per pollable, amortised.
//! A retired pollable keeps only its handle number (one bit, less once a run of 4096 is all
//! retired) and its creator's count; for the guest it is a ready timer: `ready` says true,
//! `block` returns at once, `poll` reports it, and `[resource-drop]pollable` frees its number.
//! Telemetry lists live pollables with [`Host::pollables`] and counts the retired ones with
//! [`Host::retired_pollables`]. Until its sweep a leaked pollable stays live and listed, so a
//! program that sleeps a few times shows each sleep's pollable.

use crate::io::stream::{InputStream, OutputStream};
use crate::table::{Lookup, ResourceTable, TableError};
use crate::{Host, Trap};

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

/// Pollables the host retired (see the module doc): counts only, however many there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetiredPollables {
    /// Retired pollables the guest still holds: it never dropped them (TinyGo's idle sleeps).
    /// The guest holds `held` plus [`Host::pollables`]`().len()` pollable handles in all.
    pub held: u64,
    /// Pollables retired since the guest started, including ones it dropped afterwards.
    pub total: u64,
    /// `held` per import that made them, e.g.
    /// `("wasi:clocks/monotonic-clock#subscribe-duration", 3_600_000)`.
    pub by_creator: Vec<(&'static str, u64)>,
}

impl Host {
    /// Every live pollable, in handle order. Pollables the guest never dropped are here until
    /// they are retired (see [`Host::retired_pollables`]). Scans the live entries: call it for
    /// a snapshot, not per wait.
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

    /// How many pollables were retired and how many of those the guest still holds. Cheap
    /// (no scan of the handles): telemetry may call it at every snapshot to show the
    /// never-dropped count growing.
    pub fn retired_pollables(&self) -> RetiredPollables {
        let counts = self.table.retired_counts::<Pollable>();
        RetiredPollables {
            held: counts.iter().map(|c| c.held).sum(),
            total: counts.iter().map(|c| c.total).sum(),
            by_creator: counts.iter().map(|c| (c.tag, c.held)).collect(),
        }
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
    let now = host.platform.monotonic_now();
    if host.table.sweep_due() {
        retire_final(&mut host.table, now);
    }
    let pollable = Pollable {
        kind,
        created_by,
        created_at: now,
        polled: 0,
        blocked: 0,
    };
    Ok(match parent {
        Some(parent) => host.table.push_child(pollable, parent)?,
        None => host.table.push(pollable)?,
    })
}

/// Retires every pollable without parent that is ready forever at `now`, under its creator's
/// name; returns how many. Behaviour is unchanged for the guest: the monotonic clock never
/// goes back, so a passed deadline stays passed.
fn retire_final(table: &mut ResourceTable, now: u64) -> usize {
    table.retire_where::<Pollable>(|p| match p.kind {
        PollableKind::Timer { deadline } if deadline <= now => Some(p.created_by),
        PollableKind::Ready => Some(p.created_by),
        _ => None,
    })
}

/// The kind of the pollable with `handle` (an error when it is not a pollable), after `count`
/// updated its counters. A retired pollable is ready forever: `Ready`.
pub(crate) fn touch(
    table: &mut ResourceTable,
    handle: u32,
    count: impl FnOnce(&mut Pollable),
) -> Result<PollableKind, TableError> {
    Ok(match table.get_mut_or_retired::<Pollable>(handle)? {
        Lookup::Live(pollable) => {
            count(pollable);
            pollable.kind
        }
        Lookup::Retired(_) => PollableKind::Ready,
    })
}

/// Whether a pollable of `kind` is ready at `now`; an error when the stream it watches is gone
/// (its parent link keeps that from happening).
pub(crate) fn kind_readiness(
    table: &ResourceTable,
    now: u64,
    kind: PollableKind,
) -> Result<Readiness, TableError> {
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
