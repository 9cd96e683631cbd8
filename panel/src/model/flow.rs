//! The Asyncify teaching view's flow: how a Go `time.Sleep` becomes an `Atomics.wait` and
//! back, and which step the guest is at, judged from real events only.

use pollscope_protocol::{AsyncifyEvent, AsyncifyKind, GuestState, WaitCall, WaitRecord};

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStep {
    /// The goroutine calls `time.Sleep`: TinyGo's scheduler queues it and asyncify unwinds it.
    Sleep,
    /// With nothing runnable, the scheduler asks WASI for a timer: `subscribe-duration`.
    SubscribeDuration,
    /// It blocks on that pollable: `[method]pollable.block` (or `poll`).
    PollableBlock,
    /// The host parks the wasm thread in `Atomics.wait` until the deadline or a notify.
    AtomicsWait,
    /// The wait ends: deadline reached, ring notified, or a command arrived.
    Wake,
    /// The scheduler resumes the goroutine: asyncify rewinds its stack.
    Rewind,
}

impl FlowStep {
    /// Every step, in order.
    pub const ALL: [FlowStep; 6] = [
        FlowStep::Sleep,
        FlowStep::SubscribeDuration,
        FlowStep::PollableBlock,
        FlowStep::AtomicsWait,
        FlowStep::Wake,
        FlowStep::Rewind,
    ];

    /// The step's title.
    pub fn title(self) -> &'static str {
        match self {
            FlowStep::Sleep => "time.Sleep",
            FlowStep::SubscribeDuration => "subscribe-duration",
            FlowStep::PollableBlock => "pollable.block",
            FlowStep::AtomicsWait => "Atomics.wait",
            FlowStep::Wake => "wake",
            FlowStep::Rewind => "rewind",
        }
    }

    /// What happens in it.
    pub fn explanation(self) -> &'static str {
        match self {
            FlowStep::Sleep => "the goroutine sleeps; TinyGo puts it in the sleep queue and asyncify unwinds its stack into the scheduler",
            FlowStep::SubscribeDuration => "nothing is runnable, so the scheduler asks WASI for a timer pollable until the first wake time",
            FlowStep::PollableBlock => "the scheduler blocks on that pollable: a host call into the shim",
            FlowStep::AtomicsWait => "the shim parks the wasm thread in Atomics.wait with the deadline as its timeout",
            FlowStep::Wake => "the wait ends: the deadline passed, the event ring was notified, or a command arrived",
            FlowStep::Rewind => "the scheduler picks the goroutine again and asyncify rewinds its stack: Sleep returns",
        }
    }
}

/// The step the guest is at now: from its state while it is in a host call or wait, else from
/// whichever came last, an asyncify event or the end of a wait. `None` before anything is known.
pub fn current_step(
    state: Option<&GuestState>,
    host_functions: &[String],
    last_wait: Option<&WaitRecord>,
    last_switch: Option<&AsyncifyEvent>,
) -> Option<FlowStep> {
    match state {
        Some(GuestState::Waiting { call, .. }) if *call != WaitCall::Paused => {
            return Some(FlowStep::AtomicsWait)
        }
        Some(GuestState::InHostCall { import }) => {
            let name = host_functions
                .get(*import as usize)
                .map_or("", String::as_str);
            if name.contains("subscribe-duration") || name.contains("subscribe-instant") {
                return Some(FlowStep::SubscribeDuration);
            }
            if name.contains("block") || name.ends_with("#poll") {
                return Some(FlowStep::PollableBlock);
            }
        }
        _ => {}
    }
    let wait_end = last_wait.map(|w| w.start.saturating_add(w.duration));
    // A goroutine whose function returned is no step of a sleep: the wait decides.
    let switch_step = |switch: &AsyncifyEvent| match switch.kind {
        AsyncifyKind::Unwind => Some(FlowStep::Sleep),
        AsyncifyKind::Rewind | AsyncifyKind::Launch => Some(FlowStep::Rewind),
        AsyncifyKind::Exit => None,
    };
    let last_switch = last_switch.filter(|switch| switch_step(switch).is_some());
    match (last_switch, wait_end) {
        (Some(switch), Some(end)) if switch.at >= end => switch_step(switch),
        (Some(switch), None) => switch_step(switch),
        (_, Some(_)) => Some(FlowStep::Wake),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_protocol::{AsyncifyPhase, WakeCause};

    fn wait(start: u64, duration: u64) -> WaitRecord {
        WaitRecord {
            start,
            call: WaitCall::PollableBlock,
            deadline: None,
            timeout: None,
            duration,
            wake: WakeCause::Deadline,
        }
    }

    fn switch(at: u64, kind: AsyncifyKind) -> AsyncifyEvent {
        AsyncifyEvent {
            at,
            kind,
            phase: AsyncifyPhase::Enter,
            ptr: 0,
            asyncify_state: None,
            function: None,
        }
    }

    #[test]
    fn a_wait_in_progress_is_the_atomics_wait_step() {
        let waiting = GuestState::Waiting {
            call: WaitCall::PollableBlock,
            until: Some(5),
        };
        assert_eq!(
            current_step(Some(&waiting), &[], None, None),
            Some(FlowStep::AtomicsWait)
        );
    }

    #[test]
    fn host_calls_are_named_by_the_hello_table() {
        let table = vec![
            "wasi:clocks/monotonic-clock#subscribe-duration".to_string(),
            "wasi:io/poll#[method]pollable.block".to_string(),
        ];
        let call = |import| GuestState::InHostCall { import };
        assert_eq!(
            current_step(Some(&call(0)), &table, None, None),
            Some(FlowStep::SubscribeDuration)
        );
        assert_eq!(
            current_step(Some(&call(1)), &table, None, None),
            Some(FlowStep::PollableBlock)
        );
    }

    #[test]
    fn otherwise_the_newest_event_decides() {
        let running = GuestState::Running;
        let ended = wait(100, 50);
        assert_eq!(
            current_step(Some(&running), &[], Some(&ended), None),
            Some(FlowStep::Wake)
        );
        let rewind = switch(200, AsyncifyKind::Rewind);
        assert_eq!(
            current_step(Some(&running), &[], Some(&ended), Some(&rewind)),
            Some(FlowStep::Rewind)
        );
        let unwind = switch(120, AsyncifyKind::Unwind);
        assert_eq!(
            current_step(Some(&running), &[], Some(&ended), Some(&unwind)),
            Some(FlowStep::Wake),
            "the wait ended after that unwind"
        );
        assert_eq!(
            current_step(None, &[], None, Some(&unwind)),
            Some(FlowStep::Sleep)
        );
        assert_eq!(current_step(None, &[], None, None), None);
    }
}
