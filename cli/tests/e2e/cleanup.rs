//! `pollscope run` leaves nothing behind: no Chromium process after a signal or a SIGKILL of
//! `pollscope`, and no profile folder (nor Chromium's singleton-socket folder) in the temporary
//! directory, after any run (issue #17).
//!
//! Each test gives `pollscope` a temporary directory of its own (`TMPDIR`), so what is left in
//! it, and every process that names it on its command line (Chromium gets the profile as
//! `--user-data-dir`, every one of its processes carries it), belongs to that test's run. Waits
//! are polls for a condition with a generous deadline, never timings.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{guest, Invocation};
use pollscope_test_support::procfs;

/// How long after `pollscope` ended its Chromium and folders may take to be gone: "a few
/// seconds", generously (the guardian of a killed `pollscope` waits for the group to be reaped).
const GONE_WITHIN: Duration = Duration::from_secs(20);

/// A fresh, short temporary directory for one test's `pollscope` (short: Chromium's singleton
/// socket lives under it, and socket paths are limited to 107 bytes). Removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("pse2e-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The names of what is in it.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap_or_else(|err| panic!("{}: {err}", self.0.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Live processes whose command line mentions `dir`, each with its start time (so a pid reused
/// later is not mistaken for it).
fn processes_naming(dir: &Path) -> BTreeSet<(u32, u64)> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if !cmdline.contains(&needle) || !procfs::is_alive(pid) {
                return None;
            }
            Some((pid, procfs::start_time(pid)?))
        })
        .collect()
}

/// Whether the process `pid` that started at `start` still runs.
fn still_running((pid, start): (u32, u64)) -> bool {
    procfs::is_alive(pid) && procfs::start_time(pid) == Some(start)
}

/// Polls until `done` holds, for at most [`GONE_WITHIN`]; whether it held.
fn within_a_few_seconds(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + GONE_WITHIN;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `io_ticker` (it waits on a timer and on stdin, which stays open: it never ends by
/// itself), sends `signal` to `pollscope` once the guest runs, and checks that `pollscope` died
/// of it and that Chromium, its profile and its socket folder are gone a few seconds later.
fn signal_ends_everything(signal: i32, test: &str) {
    let tmp = TempDir::new(test);
    let mut running = Invocation::new(guest("io_ticker"))
        .process_env("TMPDIR", tmp.path())
        .spawn();
    running.wait_for_line("ticker: every 1000 ms; type a line (quit to stop)");

    // What this run started: Chromium's processes (browser, zygotes, renderer with the guest's
    // workers, utilities) and folders. Checked first, so the test cannot pass by looking at
    // nothing.
    let chromium: BTreeSet<(u32, u64)> = processes_naming(tmp.path())
        .into_iter()
        .filter(|&(pid, _)| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.contains("--user-data-dir="))
        })
        .collect();
    let worker_threads = procfs::worker_threads(running.pid()).len();
    let entries = tmp.entries();
    assert!(
        chromium.len() >= 3 && worker_threads >= 1,
        "expected Chromium's browser, zygote and renderer processes naming {} and the guest's \
         workers, found {chromium:?} and {worker_threads} worker threads",
        tmp.path().display()
    );
    assert!(
        entries
            .iter()
            .any(|name| name.starts_with("pollscope-profile-"))
            && entries
                .iter()
                .any(|name| name.starts_with("org.chromium.Chromium.")),
        "expected the profile and Chromium's socket folder in {}, found {entries:?}",
        tmp.path().display()
    );

    running.signal(signal);
    let finished = running.finish();
    if finished.status.signal() != Some(signal) {
        finished.fail(&format!("expected pollscope to die of signal {signal}"));
    }

    let gone = within_a_few_seconds(|| {
        !chromium.iter().any(|&process| still_running(process))
            && processes_naming(tmp.path()).is_empty()
            && tmp.entries().is_empty()
    });
    if !gone {
        let left: Vec<_> = chromium
            .iter()
            .filter(|&&process| still_running(process))
            .collect();
        finished.fail(&format!(
            "{GONE_WITHIN:?} after signal {signal}: Chromium processes still running {left:?}, \
             processes naming the temporary directory {:?}, left in it {:?}",
            processes_naming(tmp.path()),
            tmp.entries()
        ));
    }
}

#[test]
fn sigterm_ends_chromium_and_removes_the_profile() {
    signal_ends_everything(libc::SIGTERM, "term");
}

#[test]
fn sigint_ends_chromium_and_removes_the_profile() {
    signal_ends_everything(libc::SIGINT, "int");
}

#[test]
fn sighup_ends_chromium_and_removes_the_profile() {
    signal_ends_everything(libc::SIGHUP, "hup");
}

/// Nothing of `pollscope` runs after a SIGKILL: the kernel ends the browser
/// (`PR_SET_PDEATHSIG`), the guardian the rest of its process group and the folders.
#[test]
fn sigkill_ends_chromium_and_removes_the_profile() {
    signal_ends_everything(libc::SIGKILL, "kill");
}

/// Runs that exit 0, 1 and with a trap (134): each has removed its profile and Chromium's
/// socket folder by the time `pollscope` exits.
#[test]
fn twenty_runs_leave_no_profile() {
    let tmp = TempDir::new("twenty");
    for i in 0..20 {
        let (invocation, code, stdout) = match i % 3 {
            0 => (Invocation::new(guest("cli_hello")), 0, "args 0\n"),
            1 => (
                Invocation::new(guest("cli_hello")).args(["3"]),
                1,
                "args 1\narg 1: \"3\"\n",
            ),
            _ => (
                Invocation::new(guest("trap_unreachable")),
                134,
                "before trap\n",
            ),
        };
        let run = invocation.process_env("TMPDIR", tmp.path()).run();
        run.assert(code, stdout);
        let left = tmp.entries();
        if !left.is_empty() {
            run.fail(&format!(
                "run {} of 20 left {left:?} in {}",
                i + 1,
                tmp.path().display()
            ));
        }
    }
    assert!(
        processes_naming(tmp.path()).is_empty(),
        "processes still name {}: {:?}",
        tmp.path().display(),
        processes_naming(tmp.path())
    );
}

/// A run removes the profiles that runs which died left behind (here made by hand), and only
/// those: a folder's name carries its owner's pid and start time, and the folder of a live
/// owner stays, while a pid that now belongs to another process (another start time) does not
/// keep a folder.
#[test]
fn a_run_removes_the_profiles_of_dead_runs_only() {
    let tmp = TempDir::new("stale");
    let me = std::process::id();
    let my_start = procfs::start_time(me).expect("this process's start time");
    let mut gone = std::process::Command::new("true").spawn().expect("true");
    let dead = gone.id();
    gone.wait().expect("true ends");

    let dead_owner = format!("pollscope-profile-{dead}-4242-0");
    let reused_pid = format!("pollscope-profile-{me}-{}-0", my_start + 1);
    let old_name_dead = format!("pollscope-profile-{dead}-1733412345678901234");
    let live_owner = format!("pollscope-profile-{me}-{my_start}-77");
    let old_name_live = format!("pollscope-profile-{me}-1733412345678901234");
    let socket_dir = "org.chromium.Chromium.stale1";
    for name in [
        &dead_owner,
        &reused_pid,
        &old_name_dead,
        &live_owner,
        &old_name_live,
    ] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(dir.join("Default")).unwrap();
        std::fs::write(dir.join("Default/Preferences"), "{}").unwrap();
    }
    std::fs::create_dir(tmp.path().join(socket_dir)).unwrap();
    std::fs::write(tmp.path().join(socket_dir).join("SingletonSocket"), "").unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join(socket_dir).join("SingletonSocket"),
        tmp.path().join(&dead_owner).join("SingletonSocket"),
    )
    .unwrap();

    let run = Invocation::new(guest("cli_hello"))
        .process_env("TMPDIR", tmp.path())
        .run();
    run.assert(0, "args 0\n");
    let mut kept = vec![live_owner, old_name_live];
    kept.sort();
    if tmp.entries() != kept {
        run.fail(&format!(
            "expected only the folders of live owners {kept:?} left in {}, found {:?}",
            tmp.path().display(),
            tmp.entries()
        ));
    }
}
