//! Stream ids on the ring, shared by the event thread (producer) and the wasm thread (consumer).

/// Commands for the wasm thread (pause, resume, step, …).
pub const CONTROL: u16 = 0;
/// The guest's stdin.
pub const STDIN: u16 = 1;
