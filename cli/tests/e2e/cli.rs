//! `cli_*` guests: arguments, environment, stdout/stderr and exit codes.

use crate::data::TempDir;
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

/// `wasmtime run`'s own spelling (issue #12): options before the component, the guest's
/// arguments after it with no `--` (a later `--` is the guest's), `--argv0`, `--env NAME`
/// inheriting pollscope's value (and leaving a name pollscope lacks unset, as wasmtime does),
/// and the `-W`/`-S`/`-O` groups TinyGo and scripts pass, accepted.
#[test]
fn cli_argv_takes_wasmtime_run_flags() {
    let run = Invocation::new(guest("cli_argv"))
        .process_env("ARGV_INHERITED", "from pollscope")
        .flag("--argv0")
        .flag("custom-name")
        .flag("--env")
        .flag("ARGV_INHERITED")
        .flag("--env")
        .flag("ARGV_NOT_IN_POLLSCOPES_ENVIRONMENT")
        .env("ARGV_SET", "given")
        .flag("-W")
        .flag("component-model")
        .flag("--wasm=max-memory-size=1048576")
        .flag("-Sinherit-network")
        .flag("-S")
        .flag("allow-ip-name-lookup,tcp=n")
        .flag("-O")
        .flag("opt-level=2")
        .args(["-test.v", "--", "x y"])
        .run();
    run.assert(
        0,
        concat!(
            "arg 0: \"custom-name\"\n",
            "arg 1: \"-test.v\"\n",
            "arg 2: \"--\"\n",
            "arg 3: \"x y\"\n",
            "env ARGV_INHERITED=\"from pollscope\"\n",
            "env ARGV_SET=\"given\"\n",
        ),
    );
}

/// `-S inherit-env`: the guest gets pollscope's whole environment, and `--env` still wins.
/// Without `--argv0` the program name is the component's file name.
#[test]
fn cli_argv_inherits_the_environment_with_s_inherit_env() {
    let run = Invocation::new(guest("cli_argv"))
        .process_env("ARGV_ALL", "everything")
        .process_env("ARGV_SET", "from pollscope")
        .process_env("PWD", "/somewhere")
        .flag("-S")
        .flag("inherit-env")
        .env("ARGV_SET", "over")
        .run();
    run.assert(
        0,
        concat!(
            "arg 0: \"cli_argv.wasm\"\n",
            "env ARGV_ALL=\"everything\"\n",
            "env ARGV_SET=\"over\"\n",
            "env PWD=\"/somewhere\"\n",
        ),
    );
}

/// Options that cannot be honoured are refused before anything runs (exit 2), naming the
/// option: `--invoke` (only `wasi:cli/run` runs), a `-W` key wasmtime does not have.
#[test]
fn options_pollscope_cannot_honour_are_refused_by_name() {
    for (flags, said) in [
        (&["--invoke", "main"][..], "--invoke main"),
        (
            &["-W", "no-such-option"],
            "-W no-such-option: not a wasmtime wasm option",
        ),
        (&["-S", "p3"], "WASIp3"),
    ] {
        let mut invocation = Invocation::new(guest("cli_argv"));
        for flag in flags {
            invocation = invocation.flag(flag);
        }
        let run = invocation.run();
        if run.code() != 2 || !run.stderr().contains(said) {
            run.fail(&format!("expected exit 2 and {said:?} on stderr"));
        }
    }
}

/// `-W timeout=DUR`: a guest still running then is stopped as wasmtime stops it, a trap
/// (exit 134) saying it timed out. The guest here waits for stdin that never ends.
#[test]
fn w_timeout_stops_a_guest_that_runs_too_long() {
    let mut running = Invocation::new(guest("io_stdin"))
        .flag("-W")
        .flag("timeout=2s")
        .spawn();
    // Stdin stays open: io_stdin prints nothing before end of file, so stdout closes only when
    // pollscope exits, which only the timeout can make it do.
    if let Some(line) = running.next_line(std::time::Duration::from_secs(60)) {
        panic!("io_stdin printed {line:?} before its stdin ended");
    }
    let run = running.finish();
    if run.code() != 134 || !run.stderr().contains("timed out after 2s") {
        run.fail("expected exit 134 and \"timed out after 2s\" on stderr");
    }
}

/// TinyGo runs `tinygo test` and `tinygo run` through its target's `emulator` command. This
/// formats the command of `pollscope tinygo-target` exactly as TinyGo does (split like a shell,
/// `{root}` → TINYGOROOT, `{tmpDir}` → the temporary directory, `{}` → the built component,
/// the test flags appended, run in the package's directory with `pollscope` found on PATH)
/// and checks what a test binary sees: its flags, the package directory as `.` with PWD, a
/// scratch `/tmp`, and its file written back into the package's `testdata`.
#[test]
fn tinygo_target_emulator_runs_a_test_binary_as_tinygo_formats_it() {
    let printed = crate::harness::pollscope()
        .arg("tinygo-target")
        .output()
        .expect("pollscope tinygo-target");
    assert!(printed.status.success());
    let target: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(target["inherits"], serde_json::json!(["wasip2"]));
    let emulator = target["emulator"].as_str().expect("an emulator string");

    let package = TempDir::new("tinygo-package");
    package.write("testdata/input.txt", "golden input");
    let wasm = guest("cli_emulated");
    let parts: Vec<String> = shell_words(emulator)
        .into_iter()
        .map(|part| {
            part.replace("{root}", "/usr/local/lib/tinygo")
                .replace("{tmpDir}", &std::env::temp_dir().to_string_lossy())
                .replace("{}", &wasm.to_string_lossy())
        })
        .collect();
    let (name, args) = parts.split_first().expect("a command");
    assert_eq!(name, "pollscope");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pollscope"))
        .parent()
        .unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut cmd = std::process::Command::new(name);
    cmd.args(args)
        .args(["-test.v", "-test.run=TestSomething"])
        .current_dir(package.path())
        .env("PATH", path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let run = crate::harness::Running::start(cmd).finish();
    run.assert(
        0,
        concat!(
            "args: [\"-test.v\", \"-test.run=TestSomething\"]\n",
            "PWD: Some(\".\")\n",
            "testdata/input.txt: \"golden input\"\n",
            "/tmp scratch: \"temporary\"\n",
            "PASS\n",
        ),
    );
    let output = std::fs::read_to_string(package.path().join("testdata/output.txt"));
    if output.as_deref().ok() != Some("GOLDEN INPUT") {
        run.fail(&format!("testdata/output.txt on the host: {output:?}"));
    }
    if std::env::temp_dir().join("TestSomething001").exists() {
        run.fail("the guest's /tmp reached the host's temporary directory");
    }
}

/// Splits a command line as TinyGo's emulator parser (github.com/google/shlex) does: words
/// separated by blanks, with single quotes, double quotes and backslash escapes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}
