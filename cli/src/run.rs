//! `pollscope run`: `wasmtime run`, but inside headless Chromium.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};

use crate::guest::GuestArgs;
use crate::server::{self, Mode, Outcome, Site};
use pollscope::browser::{self, Browser};

/// Exit code for a guest trap (128 + SIGABRT, as native programs and wasmtime report it).
pub const TRAP_EXIT: u8 = 134;
/// Exit code when the component could not be run at all.
pub const LOAD_FAILURE_EXIT: u8 = 2;

/// Chunks of the terminal's stdin buffered ahead of the guest (bounds memory for huge inputs).
const STDIN_CHUNKS_AHEAD: usize = 64;
const STDIN_CHUNK: usize = 64 * 1024;

/// `pollscope run`
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub(crate) guest: GuestArgs,
    /// The Chromium binary (default: `chromium` on PATH).
    #[arg(long)]
    browser: Option<PathBuf>,
    /// Print the stdin ring's counters to stderr when the guest ends.
    #[arg(long)]
    ring_stats: bool,
}

/// Runs the component to its end and returns its exit code.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    crate::assets::require_shim()?;
    let (component, config, settings) = args.guest.load()?;
    // Say what is wrong before starting a browser when the bytes are not a usable component.
    if let Err(problem) = crate::preflight(&component) {
        eprintln!("error: {}: {problem}", args.guest.component().display());
        return Ok(ExitCode::from(LOAD_FAILURE_EXIT));
    }
    let browser_binary = browser::find(args.browser)?;

    let (stdin_tx, stdin_rx) = sync_channel::<Vec<u8>>(STDIN_CHUNKS_AHEAD);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut chunk = vec![0; STDIN_CHUNK];
            match stdin.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    chunk.truncate(n);
                    if stdin_tx.send(chunk).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let stop = Stop::install()?;
    let (outcome_tx, outcome_rx) = sync_channel::<Outcome>(1);
    let site = Arc::new(Site {
        mode: Mode::Run,
        component,
        config,
        stdin: Some(Mutex::new(stdin_rx)),
        outcome: Some(outcome_tx),
        write_back: Mutex::default(),
        fetched: Default::default(),
        stop: Default::default(),
    });
    let url = server::start(Arc::clone(&site), 0)?;
    let mut browser = Browser::open(&browser_binary, &url)?;
    // Why and since when `run` is ending the guest before it ends by itself.
    let mut ending: Option<(Ending, Instant)> = None;
    let outcome = loop {
        // Counted from when the page fetched the component, as wasmtime counts from the start
        // of the run: Chromium's start-up is not the guest's time.
        let ran_for = site.fetched.get().map(Instant::elapsed);
        let cause = stop.received().map(Ending::Signal).or_else(|| {
            let limit = settings.timeout?;
            (ran_for >= Some(limit)).then_some(Ending::Timeout(limit))
        });
        if let (None, Some(cause)) = (&ending, cause) {
            // Ended at its next host call, the guest's writable --dirs still reach the disk
            // (wasmtime's are there already: it writes through).
            site.stop.ask();
            ending = Some((cause, Instant::now()));
        }
        if let Some((cause, since)) = &ending {
            if since.elapsed() >= STOP_GRACE {
                browser.close();
                eprintln!(
                    "pollscope: the guest made no host call within {STOP_GRACE:?} of being \
                     stopped: its --dirs were not written back"
                );
                return Ok(cause.exit());
            }
        }
        match outcome_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(outcome) => break outcome,
            Err(RecvTimeoutError::Timeout) if browser.has_exited() => {
                eprintln!(
                    "error: Chromium exited before the guest finished\n{}",
                    browser.log_tail()
                );
                return Ok(ExitCode::from(LOAD_FAILURE_EXIT));
            }
            Err(_) => continue,
        }
    };
    drop(browser);
    if outcome.error.is_none() {
        write_back(&site);
    }
    // A signal that came while the guest was ending (e.g. SIGTERM, then stdin closed and the
    // guest exited before the loop looked again) still wins: the caller asked for that death.
    if let Some(cause) = stop
        .received()
        .map(Ending::Signal)
        .or(ending.map(|(cause, _)| cause))
    {
        return Ok(cause.exit());
    }
    if args.ring_stats {
        if let Some(ring) = &outcome.ring {
            eprintln!(
                "ring: capacity {} B, high-water {} B, {} packets / {} B in, {} B out, {} stalls",
                ring.capacity,
                ring.high_water,
                ring.packets_in,
                ring.bytes_in,
                ring.bytes_out,
                ring.stalls
            );
        }
    }
    Ok(report(&outcome))
}

/// How long a stopped guest has to reach a host call before Chromium is closed under it (a
/// guest computing without host calls cannot be ended at one).
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Why `run` ended the guest itself.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// SIGINT, SIGTERM or SIGHUP: `pollscope` dies of it.
    Signal(i32),
    /// `-W timeout`: as wasmtime, an interrupt trap.
    Timeout(Duration),
}

impl Ending {
    /// What `pollscope` exits with (saying so first, for a timeout).
    fn exit(self) -> ExitCode {
        match self {
            Ending::Signal(signal) => die_of(signal),
            Ending::Timeout(limit) => {
                eprintln!(
                    "error: guest trapped: interrupted: timed out after {limit:?} (-W timeout)"
                );
                ExitCode::from(TRAP_EXIT)
            }
        }
    }
}

/// Writes the writable `--dir`s back to the host (see `crate::writeback`), saying on stderr
/// what could not be written and when the page sent nothing.
fn write_back(site: &Site) {
    let mounts: Vec<_> = site.config.mounts.iter().filter(|m| m.writable).collect();
    if mounts.is_empty() {
        return;
    }
    let bytes = site.write_back.lock().ok().and_then(|mut slot| slot.take());
    let export = match bytes.map(|bytes| pollscope_wasi::PreopenExport::decode(&bytes)) {
        Some(Ok(export)) => export,
        Some(Err(why)) => {
            eprintln!("pollscope: the --dirs were not written back: the page sent {why}");
            return;
        }
        None => {
            eprintln!("pollscope: the --dirs were not written back: the page sent nothing");
            return;
        }
    };
    let mut targets = Vec::new();
    let mut hosts = Vec::new();
    for mount in mounts {
        match export
            .trees
            .iter()
            .find(|tree| tree.preopen == mount.preopen)
        {
            Some(tree) => {
                targets.push(crate::writeback::Target {
                    root: &mount.host,
                    loaded: &mount.loaded,
                    tree,
                });
                hosts.push(mount.host.display());
            }
            None => eprintln!(
                "pollscope: --dir {}: not written back: no tree for it",
                mount.host.display()
            ),
        }
    }
    let problems = crate::writeback::apply_all(&targets);
    for (host, problems) in hosts.iter().zip(problems) {
        for problem in problems {
            eprintln!("pollscope: --dir {host}: {problem}");
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught so that Chromium is closed (the guest with it) and its
/// profile removed before `pollscope` ends. A second one while closing ends `pollscope` at once
/// (Chromium still goes: see `pollscope::lifetime`).
struct Stop {
    signal: Arc<AtomicUsize>,
}

impl Stop {
    fn install() -> Result<Stop> {
        let signal = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Handlers run in order: the first is a no-op until the second signal.
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&armed))
                .and_then(|_| {
                    signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
                })
                .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&armed)))
                .context("installing signal handlers")?;
        }
        Ok(Stop { signal })
    }

    /// The signal received, if any.
    fn received(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig as i32),
        }
    }
}

/// Ends the process as `signal` would have (the default disposition, re-raised), so a shell or a
/// test runner sees a death by that signal; 128 + the signal number if that does not end it.
fn die_of(signal: i32) -> ExitCode {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    ExitCode::from(128u8.saturating_add(signal as u8))
}

/// Prints how the guest ended and turns it into the process's exit code.
fn report(outcome: &Outcome) -> ExitCode {
    if let Some(error) = &outcome.error {
        eprintln!("error: {error}");
        return ExitCode::from(LOAD_FAILURE_EXIT);
    }
    if let Some(trap) = &outcome.trap {
        eprintln!("error: guest trapped: {}", trap.message);
        for (depth, frame) in trap.frames.iter().enumerate() {
            let name = frame
                .name
                .as_deref()
                .map(|name| rustc_demangle::demangle(name).to_string())
                .unwrap_or_else(|| "<unnamed>".into());
            let place = match (frame.func, frame.offset) {
                (Some(func), Some(offset)) => format!(" (function {func}, offset {offset:#x})"),
                _ => String::new(),
            };
            eprintln!("  {depth:>2}: {name}{place}");
            if let (Some(file), Some(line)) = (&frame.file, frame.line) {
                eprintln!("        at {file}:{line}");
            }
        }
        return ExitCode::from(TRAP_EXIT);
    }
    ExitCode::from(outcome.code.clamp(0, 255) as u8)
}
