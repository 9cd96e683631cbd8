//! Building the guests and running `pollscope` on them with captured stdio and a time limit.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use pollscope_test_support::repo_root;
use pollscope_test_support::{lifetime, procfs};

/// Longest a whole `pollscope` run may take (Chromium start included) before the test kills it.
/// A hang, not slowness, is what this catches.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// How long stdout/stderr may stay open after `pollscope` exited (only a process it left
/// behind, such as Chromium holding the pipes, keeps them open).
const PIPE_GRACE: Duration = Duration::from_secs(10);

/// `guests/src/bin`, where each guest is one file.
pub fn guests_src() -> PathBuf {
    repo_root().join("guests/src/bin")
}

/// Names of every guest (file stems in `guests/src/bin`), sorted.
pub fn guest_names() -> BTreeSet<String> {
    let dir = guests_src();
    std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            path.file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The built `.wasm` of guest `name`. The first call builds every guest (once per test run;
/// other callers wait for it, and a failed build fails every caller with the same message).
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(build_guests)
        .as_ref()
        .unwrap_or_else(|err| panic!("{err}"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "guest `{name}` was not built: is there a guests/src/bin/{name}.rs?"
    );
    path
}

/// `cargo build --release --target wasm32-wasip2` on the guests' own workspace and target dir
/// (explicitly, so a `CARGO_TARGET_DIR` meant for the host workspace does not move it).
fn build_guests() -> Result<PathBuf, String> {
    let guests = repo_root().join("guests");
    let target_dir = guests.join("target");

    // Without the target, cargo fails with a wall of "can't find crate for `core`"; say it plainly.
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .current_dir(&guests)
        .output()
        .map_err(|err| format!("running {rustc:?} to find the wasm32-wasip2 target: {err}"))?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&libdir.stdout).trim());
    if !libdir.is_dir() {
        return Err(format!(
            "the wasm32-wasip2 Rust target is not installed (no {}); the e2e tests build their \
             guests with it. Install it with `rustup target add wasm32-wasip2` (or `cargo xtask \
             setup`).",
            libdir.display()
        ));
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(guests.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir)
    .current_dir(&guests);
    let output = cmd
        .output()
        .map_err(|err| format!("starting {cmd:?}: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the guests failed ({}): {cmd:?}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join("wasm32-wasip2/release"))
}

/// `pollscope` itself, built by cargo for this test binary.
pub fn pollscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pollscope"))
}

/// One `pollscope run [--env K=V]… [--dir HOST::GUEST]… app.wasm [args…]`.
pub struct Invocation {
    wasm: PathBuf,
    options: Vec<OsString>,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    /// Variables of `pollscope`'s own environment (not the guest's), e.g. `TMPDIR`.
    process_env: Vec<(OsString, OsString)>,
}

impl Invocation {
    pub fn new(wasm: impl Into<PathBuf>) -> Invocation {
        Invocation {
            wasm: wasm.into(),
            options: Vec::new(),
            args: Vec::new(),
            stdin: None,
            process_env: Vec::new(),
        }
    }

    /// Sets `name` in `pollscope`'s own environment (the guest's is `env`).
    pub fn process_env(mut self, name: &str, value: impl Into<OsString>) -> Invocation {
        self.process_env.push((name.into(), value.into()));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Invocation {
        self.options.push("--env".into());
        self.options.push(format!("{name}={value}").into());
        self
    }

    /// Preloads host folder `host` at `guest` in the guest's filesystem.
    pub fn dir(mut self, host: &Path, guest: &str) -> Invocation {
        let mut spec = host.as_os_str().to_owned();
        spec.push("::");
        spec.push(guest);
        self.options.push("--dir".into());
        self.options.push(spec);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Invocation {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// A `pollscope run` flag, e.g. `--ring-stats`.
    pub fn flag(mut self, flag: &str) -> Invocation {
        self.options.push(flag.into());
        self
    }

    /// Bytes written to `pollscope`'s stdin, which is then closed. Without this, stdin is
    /// `/dev/null` (run) or an open pipe the test writes to (spawn).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Invocation {
        self.stdin = Some(bytes.into());
        self
    }

    fn command(&self, stdin: Stdio) -> Command {
        let mut cmd = pollscope();
        // As `wasmtime run`: options, the component, then the guest's arguments.
        cmd.arg("run")
            .args(&self.options)
            .arg(&self.wasm)
            .args(&self.args);
        cmd.envs(self.process_env.iter().map(|(name, value)| (name, value)))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs to completion.
    pub fn run(self) -> Finished {
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut running = Running::start(self.command(stdin));
        if let Some(bytes) = self.stdin {
            let mut pipe = running.stdin.take().expect("stdin is piped");
            // The guest may exit without reading everything; the exit code tells.
            thread::spawn(move || pipe.write_all(&bytes));
        }
        running.finish()
    }

    /// Starts with stdin an open pipe, for tests that talk to the guest while it runs.
    pub fn spawn(self) -> Running {
        assert!(
            self.stdin.is_none(),
            "spawn() gives an open stdin pipe; write to it instead"
        );
        Running::start(self.command(Stdio::piped()))
    }
}

/// A `pollscope` process with its stdout read line by line.
pub struct Running {
    child: Child,
    started: Instant,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    /// Every stdout byte received so far, in order.
    stdout: Vec<u8>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    description: String,
    /// Chromium's log for this run (`POLLSCOPE_BROWSER_LOG`), shown when the run fails.
    browser_log: PathBuf,
}

impl Running {
    /// Runs `cmd` (a `pollscope` command line built by hand, e.g. as TinyGo builds it).
    pub fn start(mut cmd: Command) -> Running {
        let description = format!("{cmd:?}");
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let browser_log = std::env::temp_dir().join(format!(
            "pollscope-e2e-{}-{}-chromium.log",
            std::process::id(),
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        cmd.env("POLLSCOPE_BROWSER_LOG", &browser_log);
        // Tied: if this test binary is killed, `pollscope` goes too (and Chromium with it).
        let mut child =
            lifetime::spawn_tied(cmd).unwrap_or_else(|err| panic!("starting {description}: {err}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let (send, lines) = mpsc::channel();
        thread::spawn(move || loop {
            let mut line = Vec::new();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        let stdin = child.stdin.take();
        Running {
            child,
            started: Instant::now(),
            stdin,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
            description,
            browser_log,
        }
    }

    /// The `pollscope` process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to `pollscope` (only to it, as `kill` would).
    pub fn signal(&self, signal: i32) {
        // SAFETY: a plain system call on our own child, which has not been reaped yet.
        if unsafe { libc::kill(self.pid() as libc::pid_t, signal) } != 0 {
            panic!(
                "sending signal {signal} to {}: {}",
                self.description,
                std::io::Error::last_os_error()
            );
        }
    }

    /// Waits for the next stdout line (without its newline); `None` once stdout is closed.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.stdout.extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                self.fail(&format!("no stdout line within {timeout:?}"))
            }
        }
    }

    /// Reads stdout lines until one equals `want`; fails if stdout closes first.
    pub fn wait_for_line(&mut self, want: &str) {
        loop {
            match self.next_line(RUN_TIMEOUT) {
                Some(line) if line == want => return,
                Some(_) => {}
                None => self.fail(&format!("stdout closed before the line {want:?}")),
            }
        }
    }

    /// A stdout line already received but not yet read, if any.
    pub fn try_line(&mut self) -> Option<String> {
        let line = self.lines.try_recv().ok()?;
        self.stdout.extend_from_slice(&line);
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// Writes to the guest's stdin.
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let pipe = self.stdin.as_mut().expect("stdin is open");
        pipe.write_all(bytes)
            .and_then(|()| pipe.flush())
            .expect("writing to pollscope's stdin");
    }

    /// Closes the guest's stdin (end of file).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Closes stdin and waits for the exit and all output, within [`RUN_TIMEOUT`] of the start.
    pub fn finish(mut self) -> Finished {
        self.close_stdin();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if self.started.elapsed() > RUN_TIMEOUT => {
                    self.kill_tree();
                    self.fail(&format!("still running after {RUN_TIMEOUT:?}; killed"));
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(err) => self.fail(&format!("waiting: {err}")),
            }
        };
        let grace = Instant::now() + PIPE_GRACE;
        loop {
            match self.lines.recv_timeout(grace.saturating_duration_since(Instant::now())) {
                Ok(line) => self.stdout.extend_from_slice(&line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "stdout still open {PIPE_GRACE:?} after pollscope exited ({status}): a process it \
                     started still holds it"
                )),
            }
        }
        let stderr = self.stderr.take().expect("stderr is read once");
        while !stderr.is_finished() {
            if Instant::now() > grace {
                self.fail(&format!(
                    "stderr still open {PIPE_GRACE:?} after pollscope exited ({status}): a process \
                     it started still holds it"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
        let stderr = stderr.join().expect("the stderr reader does not panic");
        Finished {
            description: std::mem::take(&mut self.description),
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }

    /// Kills `pollscope` and everything it started, by process id.
    fn kill_tree(&mut self) {
        let descendants = procfs::descendants(self.pid());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in descendants {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill_tree();
        }
        while let Ok(line) = self.lines.try_recv() {
            self.stdout.extend_from_slice(&line);
        }
        // The page's console lines (its milestones, errors) and Chromium's last words.
        let log = std::fs::read_to_string(&self.browser_log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let console = lines
            .iter()
            .filter(|line| line.contains(":CONSOLE"))
            .copied();
        let last = lines[lines.len().saturating_sub(10)..].iter().copied();
        let tail: Vec<&str> = console.chain(last).rev().collect();
        panic!(
            "{}: {why}\n--- stdout so far ---\n{}\n--- page console and chromium log tail ---\n{}",
            self.description,
            String::from_utf8_lossy(&self.stdout),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.browser_log);
        // A test that panicked midway must not leave a browser behind.
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill_tree();
        }
    }
}

/// A finished `pollscope` run.
pub struct Finished {
    description: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The exit code; a death by signal fails the test.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| self.fail(&format!("no exit code: {}", self.status)))
    }

    /// Asserts the exit code and the exact stdout, showing everything on failure.
    #[track_caller]
    pub fn assert(&self, code: i32, stdout: &str) {
        if self.code() != code || self.stdout != stdout.as_bytes() {
            self.fail(&format!("expected exit code {code} and stdout\n{stdout}"));
        }
    }

    /// Fails the test with `why` and the whole run.
    #[track_caller]
    pub fn fail(&self, why: &str) -> ! {
        panic!(
            "{}\n{why}\n--- exit: {} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.description,
            self.status,
            self.stdout(),
            self.stderr()
        );
    }
}
