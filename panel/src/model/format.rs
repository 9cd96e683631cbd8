//! How numbers and states read in the panel.

use pollscope_protocol::{GuestState, PollableKind, WaitCall, WakeCause};

/// A duration in ns, in the unit that keeps it short: `850 ns`, `12.3 µs`, `1.25 ms`, `2.50 s`.
pub fn duration(ns: u64) -> String {
    let ns_f = ns as f64;
    match ns {
        0..=999 => format!("{ns} ns"),
        1_000..=999_999 => format!("{:.1} µs", ns_f / 1e3),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns_f / 1e6),
        _ => format!("{:.2} s", ns_f / 1e9),
    }
}

/// A guest time stamp (guest monotonic ns) as seconds: `t=1.234567 s`.
pub fn guest_time(ns: u64) -> String {
    format!("t={:.6} s", ns as f64 / 1e9)
}

/// A signed countdown: `in 1.25 ms`, `due`, `overdue 3.0 µs`.
pub fn countdown(ns: i128) -> String {
    match ns {
        0 => "due".into(),
        n if n > 0 => format!("in {}", duration(n.min(u64::MAX as i128) as u64)),
        n => format!("overdue {}", duration((-n).min(u64::MAX as i128) as u64)),
    }
}

/// How long ago a timer fired (`ns` ≥ 0 since its deadline): `fired 1.2 s ago`.
pub fn fired_ago(ns: i128) -> String {
    format!(
        "fired {} ago",
        duration(ns.clamp(0, u64::MAX as i128) as u64)
    )
}

/// Bytes: `512 B`, `4.0 KiB`, `1.0 MiB`.
pub fn bytes(n: u64) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// The host function `index` names in the Hello's table.
pub fn host_function(table: &[String], index: u32) -> String {
    table
        .get(index as usize)
        .cloned()
        .unwrap_or_else(|| format!("host function #{index}"))
}

/// The call a wait happened in, as the WASI name a reader knows.
pub fn wait_call(call: WaitCall) -> &'static str {
    match call {
        WaitCall::PollableBlock => "pollable.block",
        WaitCall::Poll => "poll",
        WaitCall::BlockingRead => "blocking read",
        WaitCall::BlockingWrite => "blocking write",
        WaitCall::Paused => "a pause",
    }
}

/// Why a wait ended, in words; also the CSS class that colours it.
pub fn wake(cause: WakeCause) -> &'static str {
    match cause {
        WakeCause::Deadline => "deadline",
        WakeCause::RingNotify => "ring-notify",
        WakeCause::AlreadyThere => "already-there",
        WakeCause::Command => "command",
    }
}

/// A pollable's kind: `timer`, `stdin read (stream 2)`, …
pub fn pollable_kind(kind: &PollableKind) -> String {
    match kind {
        PollableKind::Timer { .. } => "timer".into(),
        PollableKind::StreamRead { stream } => format!("stream read (stream {stream})"),
        PollableKind::StreamWrite { stream } => format!("stream write (stream {stream})"),
        PollableKind::Ready => "ready".into(),
    }
}

/// The guest's state in one line, e.g. `waiting in pollable.block until t=1.500000 s`.
pub fn state(state: &GuestState, host_functions: &[String]) -> String {
    match state {
        GuestState::Running => "running".into(),
        GuestState::Waiting {
            call: WaitCall::Paused,
            ..
        } => "paused (held in a wait)".into(),
        GuestState::Waiting {
            call,
            until: Some(until),
        } => format!(
            "waiting in {} until {}",
            wait_call(*call),
            guest_time(*until)
        ),
        GuestState::Waiting { call, until: None } => {
            format!("waiting in {} for an event", wait_call(*call))
        }
        GuestState::InHostCall { import } => {
            format!(
                "blocked in host call {}",
                host_function(host_functions, *import)
            )
        }
        GuestState::Paused => "paused".into(),
        GuestState::Exited { code } => format!("exited (code {code})"),
        GuestState::Trapped(trap) => format!("trapped: {}", trap.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_protocol::TrapReport;

    #[test]
    fn durations_pick_a_short_unit() {
        assert_eq!(duration(850), "850 ns");
        assert_eq!(duration(12_340), "12.3 µs");
        assert_eq!(duration(1_250_000), "1.25 ms");
        assert_eq!(duration(2_500_000_000), "2.50 s");
        assert_eq!(countdown(1_250_000), "in 1.25 ms");
        assert_eq!(countdown(-3_000), "overdue 3.0 µs");
        assert_eq!(countdown(0), "due");
        assert_eq!(bytes(4096), "4.0 KiB");
    }

    #[test]
    fn states_read_as_sentences() {
        let table = vec!["wasi:io/poll#poll".to_string()];
        let waiting = GuestState::Waiting {
            call: WaitCall::PollableBlock,
            until: Some(1_500_000_000),
        };
        assert_eq!(
            state(&waiting, &table),
            "waiting in pollable.block until t=1.500000 s"
        );
        assert_eq!(
            state(&GuestState::InHostCall { import: 0 }, &table),
            "blocked in host call wasi:io/poll#poll"
        );
        assert_eq!(
            state(&GuestState::InHostCall { import: 7 }, &table),
            "blocked in host call host function #7"
        );
        let held = GuestState::Waiting {
            call: WaitCall::Paused,
            until: None,
        };
        assert!(state(&held, &table).contains("paused"));
        assert_eq!(
            state(&GuestState::Exited { code: 3 }, &table),
            "exited (code 3)"
        );
        let trap = GuestState::Trapped(TrapReport {
            message: "unreachable".into(),
            frames: vec![],
        });
        assert_eq!(state(&trap, &table), "trapped: unreachable");
    }
}
