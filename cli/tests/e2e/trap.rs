//! `trap_*` guests: a trap ends the run with exit code 134, its message and named frames on
//! stderr, after everything the guest wrote before it.

use crate::harness::{guest, Finished, Invocation};

const TRAP_EXIT: i32 = 134;
const TRAP_LINE: &str = "error: guest trapped: ";

/// The index in stderr's lines of the `error: guest trapped: …` line; fails unless its message
/// names the `unreachable` instruction (V8 says "unreachable", wasmtime "wasm `unreachable`
/// instruction executed").
fn trap_line(run: &Finished) -> usize {
    let stderr = run.stderr();
    let Some(at) = stderr.lines().position(|line| line.starts_with(TRAP_LINE)) else {
        run.fail(&format!("no `{TRAP_LINE}…` line on stderr"));
    };
    let message = &stderr.lines().nth(at).expect("found above")[TRAP_LINE.len()..];
    if !message.to_lowercase().contains("unreachable") {
        run.fail(&format!(
            "the trap message {message:?} does not mention `unreachable`"
        ));
    }
    at
}

#[test]
fn trap_unreachable_reports_message_and_function_name() {
    let run = Invocation::new(guest("trap_unreachable")).run();
    run.assert(TRAP_EXIT, "before trap\n");
    let at = trap_line(&run);
    // Frames follow the message, symbolized from the name section (demangled or not, the
    // function's own name is in it).
    if !run
        .stderr()
        .lines()
        .skip(at + 1)
        .any(|frame| frame.contains("pollscope_trap_here"))
    {
        run.fail("no frame after the trap line names `pollscope_trap_here`");
    }
}

#[test]
fn trap_panic_prints_the_panic_then_the_trap() {
    let run = Invocation::new(guest("trap_panic")).run();
    run.assert(TRAP_EXIT, "before panic\n");
    let at = trap_line(&run);
    // std writes the panic message to stderr before aborting; it must not be lost or reordered.
    let Some(panic_at) = run
        .stderr()
        .lines()
        .position(|line| line.contains("guest panicked on purpose"))
    else {
        run.fail("the panic message is missing from stderr");
    };
    if panic_at > at {
        run.fail("the panic message came after the trap report");
    }
}

/// A result pointer past the end of a memory the guest grew: the host traps, naming the call,
/// the range and the grown memory's size, after the output written from the grown part.
#[test]
fn trap_bad_pointer_names_the_range_in_the_grown_memory() {
    let run = Invocation::new(guest("trap_bad_pointer")).run();
    let stdout = run.stdout();
    let Some(size) = stdout
        .lines()
        .find_map(|line| line.strip_prefix("memory "))
        .and_then(|size| size.parse::<u64>().ok())
    else {
        run.fail("the guest did not print its grown memory's size");
    };
    run.assert(TRAP_EXIT, &format!("grown xxxxxx\nmemory {size}\n"));
    let expected = format!(
        "out-of-bounds memory access: 16 bytes at {:#x} (memory is {size:#x} bytes) \
         (in wasi:clocks/wall-clock#now)",
        size - 8
    );
    if !run
        .stderr()
        .lines()
        .any(|line| line.starts_with(TRAP_LINE) && line.ends_with(&expected))
    {
        run.fail(&format!("no `{TRAP_LINE}…{expected}` line on stderr"));
    }
}
