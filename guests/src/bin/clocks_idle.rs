//! `clocks_idle`: one long sleep, so a test can watch the wasm worker while the guest waits.
//!
//! Prints `sleeping`, sleeps 3 s (one `subscribe-duration` pollable, blocked on once), then
//! prints `awake`. The host must wait in `Atomics.wait`, so the worker thread uses next to no
//! CPU in between.

fn main() {
    println!("sleeping");
    std::thread::sleep(std::time::Duration::from_secs(3));
    println!("awake");
}
