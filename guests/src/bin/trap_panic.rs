//! `trap_panic`: a Rust panic. Prints `before panic` to stdout; std then writes the panic message
//! to stderr and aborts, which on wasm32 is an `unreachable` trap.

fn main() {
    println!("before panic");
    panic!("guest panicked on purpose");
}
