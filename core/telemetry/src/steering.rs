//! Pause, resume and step: whether the guest may go on, decided at its host calls and waits.

use pollscope_protocol::Control;

/// The pause state the page steers. The shim holds the guest (asleep in `Atomics.wait` with no
/// timeout, recorded as a [`WaitCall::Paused`](pollscope_protocol::WaitCall::Paused) wait)
/// while [`Steering::paused`] is true, at every host call ([`Steering::paused`]) and before
/// every wait ([`Steering::before_wait`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Steering {
    paused: bool,
    /// A step is under way: pause at the next wait.
    stepping: bool,
}

impl Steering {
    /// Applies a pause, resume or step; returns false (and changes nothing) for the other
    /// commands, which the shim routes to the recorder, the time scale or a restart.
    pub fn apply(&mut self, control: Control) -> bool {
        match control {
            Control::Pause => {
                self.paused = true;
                self.stepping = false;
            }
            Control::Resume => {
                self.paused = false;
                self.stepping = false;
            }
            Control::Step => {
                self.paused = false;
                self.stepping = true;
            }
            _ => return false,
        }
        true
    }

    /// Whether the guest must be held now.
    #[inline]
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The guest reached a scheduler event (a task switch the asyncify flight recorder saw):
    /// like a wait, a step under way ends here, so with the recorder on a step runs to the
    /// next task switch or wait. Returns [`Steering::paused`].
    pub fn at_scheduler_event(&mut self) -> bool {
        self.before_wait()
    }

    /// The guest is about to wait: a step under way ends here (the guest pauses before the
    /// wait). Returns [`Steering::paused`]. After a hold the shim performs the wait without
    /// asking again, so a further step runs through it to the wait after.
    pub fn before_wait(&mut self) -> bool {
        if self.stepping {
            self.stepping = false;
            self.paused = true;
        }
        self.paused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_runs_to_the_next_wait_then_pauses() {
        let mut steering = Steering::default();
        assert!(!steering.before_wait());
        assert!(steering.apply(Control::Pause));
        assert!(steering.paused());
        assert!(steering.apply(Control::Step));
        assert!(!steering.paused(), "host calls go on during a step");
        assert!(steering.before_wait(), "the step ends at the wait");
        assert!(steering.apply(Control::Step));
        assert!(!steering.paused());
        assert!(steering.before_wait());
        assert!(steering.apply(Control::Resume));
        assert!(!steering.before_wait() && !steering.paused());
    }

    #[test]
    fn pause_cancels_a_step_and_other_commands_are_not_steering() {
        let mut steering = Steering::default();
        steering.apply(Control::Step);
        steering.apply(Control::Pause);
        steering.apply(Control::Resume);
        assert!(!steering.before_wait());
        assert!(!steering.apply(Control::TimeScale(2.0)));
        assert!(!steering.apply(Control::Restart));
        assert_eq!(steering, Steering::default());
    }
}
