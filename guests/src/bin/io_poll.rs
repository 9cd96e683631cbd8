//! `io_poll`: one `wasi:io/poll.poll` over several timers and stdin, through the raw bindings.
//!
//! Phase 1 polls, until every timer has fired: a 300 ms timer (index 0), a 50 ms timer (1), an
//! instant already past (2), stdin (3), a 150 ms timer (4) and a zero duration (5). The test
//! writes nothing to stdin yet, so stdin must stay unready. Each ready index is printed as
//! `ready <index> <name>`, ordered by deadline within one `poll` result (a loaded machine may
//! coalesce two timers into one result); a timer reported before its deadline gets ` EARLY`.
//! Anything that breaks the rules (index out of range, repeated, empty result) is printed too.
//!
//! Phase 2 prints `waiting for stdin`, then polls a 30 s timer (index 0) and stdin (index 1):
//! the test writes `ping\n` and closes stdin, which must wake the poll long before the timer.
//! Prints what was read and exits without waiting for the timer.

use wasi::cli::stdin::get_stdin;
use wasi::clocks::monotonic_clock::{self, Instant};
use wasi::io::poll::{poll, Pollable};
use wasi::io::streams::StreamError;

const MS: u64 = 1_000_000;

struct Entry {
    name: &'static str,
    pollable: Pollable,
    /// `None` for stdin.
    deadline: Option<Instant>,
}

fn main() {
    let stdin = get_stdin();
    let now = monotonic_clock::now();
    let timer = |name, deadline| Entry {
        name,
        pollable: monotonic_clock::subscribe_instant(deadline),
        deadline: Some(deadline),
    };
    let mut pending: Vec<(usize, Entry)> = vec![
        timer("timer-300ms", now + 300 * MS),
        timer("timer-50ms", now + 50 * MS),
        timer("timer-past", now - 1),
        Entry {
            name: "stdin",
            pollable: stdin.subscribe(),
            deadline: None,
        },
        timer("timer-150ms", now + 150 * MS),
        Entry {
            name: "timer-zero",
            pollable: monotonic_clock::subscribe_duration(0),
            deadline: Some(now),
        },
    ]
    .into_iter()
    .enumerate()
    .collect();

    println!("phase 1: {} pollables", pending.len());
    while pending.iter().any(|(_, entry)| entry.deadline.is_some()) {
        let list: Vec<&Pollable> = pending.iter().map(|(_, entry)| &entry.pollable).collect();
        let ready = poll(&list);
        let woke = monotonic_clock::now();
        if ready.is_empty() {
            println!("poll returned nothing");
        }
        let mut positions: Vec<usize> = Vec::new();
        for &position in &ready {
            let position = position as usize;
            if position >= pending.len() {
                println!("index {position} out of range");
            } else if positions.contains(&position) {
                println!("index {position} repeated");
            } else if !pending[position].1.pollable.ready() {
                println!("index {position} reported but not ready");
                positions.push(position);
            } else {
                positions.push(position);
            }
        }
        // Deadline order; stdin (no deadline) last.
        positions.sort_by_key(|&position| pending[position].1.deadline.unwrap_or(u64::MAX));
        for &position in &positions {
            let (index, entry) = &pending[position];
            let early = match entry.deadline {
                Some(deadline) if woke < deadline => " EARLY",
                _ => "",
            };
            println!("ready {index} {}{early}", entry.name);
        }
        positions.sort_unstable();
        for position in positions.into_iter().rev() {
            pending.remove(position);
        }
    }
    let stdin_ready = pending
        .iter()
        .any(|(_, entry)| entry.name == "stdin" && entry.pollable.ready());
    println!("phase 1 done, stdin ready: {stdin_ready}");
    drop(pending);

    println!("waiting for stdin");
    let far = monotonic_clock::subscribe_duration(30_000 * MS);
    let readable = stdin.subscribe();
    let mut input = Vec::new();
    loop {
        let ready = poll(&[&far, &readable]);
        if ready.contains(&0) {
            println!("timer-30s fired first");
            break;
        }
        if ready != [1] {
            println!("unexpected ready set {ready:?}");
        }
        match stdin.read(4096) {
            Ok(bytes) => input.extend(bytes),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(err)) => {
                println!("stdin failed: {}", err.to_debug_string());
                break;
            }
        }
    }
    println!("stdin: {:?} then eof", String::from_utf8_lossy(&input));
}
