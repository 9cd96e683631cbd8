//! `trap_unreachable`: an `unreachable` instruction inside a function with a known name.
//!
//! Prints `before trap` to stdout, then traps in `pollscope_trap_here`, so the host's trap report
//! must show that name among its frames (symbolized from the name section).

fn main() {
    println!("before trap");
    if std::hint::black_box(true) {
        pollscope_trap_here();
    }
    println!("not reached");
}

#[inline(never)]
fn pollscope_trap_here() {
    core::arch::wasm32::unreachable();
}
