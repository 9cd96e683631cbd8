//! `cli_*` guests: arguments, environment, stdout/stderr and exit codes.

use crate::harness::{guest, Invocation};

#[test]
fn cli_hello_gets_args_and_env() {
    let run = Invocation::new(guest("cli_hello"))
        .env("HELLO_A", "1")
        .env("HELLO_B", "with spaces=and equals")
        .env("HELLO_EMPTY", "")
        .env("OTHER", "not printed")
        .args(["0", "two words", "ünïcödé", "--flag=x", ""])
        .run();
    run.assert(
        0,
        concat!(
            "args 5\n",
            "arg 1: \"0\"\n",
            "arg 2: \"two words\"\n",
            "arg 3: \"ünïcödé\"\n",
            "arg 4: \"--flag=x\"\n",
            "arg 5: \"\"\n",
            "env HELLO_A=\"1\"\n",
            "env HELLO_B=\"with spaces=and equals\"\n",
            "env HELLO_EMPTY=\"\"\n",
        ),
    );
    // The guest's stderr, byte for byte, and nothing else (pollscope keeps Chromium's own
    // chatter out of it).
    if run.stderr != b"hello stderr\n" {
        run.fail("expected stderr to be exactly \"hello stderr\\n\"");
    }
}

#[test]
fn cli_hello_without_args_exits_0() {
    let run = Invocation::new(guest("cli_hello")).run();
    run.assert(0, "args 0\n");
    if run.stderr != b"hello stderr\n" {
        run.fail("expected stderr to be exactly \"hello stderr\\n\"");
    }
}

/// `std::process::exit(3)` becomes `wasi:cli/exit.exit(err)`: WASI 0.2 carries no number, and
/// the convention (wasmtime's too) is exit code 1.
#[test]
fn cli_hello_nonzero_status_exits_1() {
    let run = Invocation::new(guest("cli_hello")).args(["3"]).run();
    run.assert(1, "args 1\narg 1: \"3\"\n");
}
