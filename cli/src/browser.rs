//! Headless Chromium, started for one page and ended with its profile when done, or when the
//! program that started it ends in any way (see [`crate::lifetime`]).
//!
//! Chromium runs with its sandbox: the page runs an untrusted component, and an engine bug it
//! reaches must land in a renderer confined by namespaces and seccomp-bpf, not in the user's
//! account. Chromium refuses to start as root with its sandbox on ("Running as root without
//! --no-sandbox is not supported"), so for root (CI and these machines) the browser is started
//! in a user namespace of its own, where it is an ordinary user (see [`AS_ROOT`]); its sandbox
//! then nests its namespaces inside that one. Only when the kernel grants no user namespace at
//! all does it run with `--no-sandbox`, and says so on stderr ([`NO_SANDBOX_WARNING`]).

use std::ffi::CStr;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result};

use crate::lifetime::{ScratchDir, Tied};

/// The profile folders' names in the temporary directory: `pollscope-profile-<pid>-<start>-<n>`.
pub const PROFILE_PREFIX: &str = "pollscope-profile";

/// A running headless Chromium: its whole process group and its profile go when it is dropped.
pub struct Browser {
    process: Tied,
}

/// The browser to use: `--browser`, else `chromium` (Debian's) or `chromium-browser` on PATH.
pub fn find(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(found) = std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
    }
    anyhow::bail!(
        "no Chromium found on PATH: install Debian's `chromium` package or pass --browser PATH"
    )
}

impl Browser {
    /// Opens `url` in a fresh headless profile (removing the profiles of earlier runs that died
    /// without cleaning up). Chromium's own output goes to a log file in the profile so it never
    /// mixes with the guest's stdout.
    pub fn open(binary: &PathBuf, url: &str) -> Result<Browser> {
        Browser::open_with(binary, url, &[])
    }

    /// As [`Browser::open`], with more Chromium flags (e.g. `--load-extension=…`,
    /// `--remote-debugging-port=0`).
    pub fn open_with(binary: &PathBuf, url: &str, extra: &[String]) -> Result<Browser> {
        let profile = ScratchDir::new(PROFILE_PREFIX).context("creating a Chromium profile")?;
        let log = std::fs::File::create(log_path(profile.path()))?;
        let mut command = Command::new(binary);
        if !sandbox(&mut command) {
            command.arg("--no-sandbox");
        }
        command
            .args([
                "--headless=new",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                // Page console messages and crashes land in the log (see POLLSCOPE_BROWSER_LOG).
                "--enable-logging=stderr",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let process = Tied::spawn(command, profile)
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Browser { process })
    }

    /// The fresh profile folder (Chromium writes `DevToolsActivePort` there).
    pub fn profile(&self) -> &std::path::Path {
        self.process.dir()
    }

    /// The browser's process id (its renderers and workers are descendants of it, and all of
    /// them are in the process group of that id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the browser process has ended (crashed or was closed).
    pub fn has_exited(&mut self) -> bool {
        self.process.has_exited()
    }

    /// Ends Chromium (every process of it) and removes its profile; dropping does it too.
    pub fn close(&mut self) {
        self.process.close();
    }

    /// The tail of Chromium's own log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(log_path(self.profile())).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// How root starts Chromium: in a new user namespace whose only user, this uid inside, is root
/// outside (and likewise the group). Chromium then sees an ordinary user and keeps its sandbox:
/// its zygote creates nested user, pid and net namespaces for the renderers and applies
/// seccomp-bpf there, as for any user. Files keep their owner (root), so the profile, the
/// temporary directory and the cleanup of [`crate::lifetime`] work as before; the browser
/// process itself keeps root's access to root's files as the file owner (not beyond: no
/// capability survives the exec), which is what a browser has of its user's account anywhere.
///
/// Measured on Debian 12 with Chromium 156 as root: `chromium --headless=new` without
/// `--no-sandbox` exits with "Running as root without --no-sandbox is not supported"; in such a
/// namespace it starts, and `/proc/<pid>/status` of every renderer shows `Seccomp: 2` (a
/// filter) with its own user, pid and net namespaces.
pub const AS_ROOT: RootMapping = RootMapping {
    uid: 1000,
    gid: 1000,
};

/// The user and group a root-started Chromium is inside its user namespace ([`AS_ROOT`]).
#[derive(Debug, Clone, Copy)]
pub struct RootMapping {
    /// The uid inside the namespace that maps to root outside (not 0: Chromium refuses root).
    pub uid: u32,
    /// The gid inside that maps to root's group.
    pub gid: u32,
}

/// Said once on stderr when Chromium has to run without its sandbox: only root, only where the
/// kernel grants no user namespace (e.g. `user.max_user_namespaces = 0`, or a container's
/// seccomp profile refusing `unshare(CLONE_NEWUSER)`).
pub const NO_SANDBOX_WARNING: &str = "warning: running as root where the kernel allows no user \
namespace: Chromium runs WITHOUT its sandbox (--no-sandbox), so a browser bug the component \
reaches runs as root; run pollscope as an ordinary user, or allow user namespaces";

/// Sets `command` up to run Chromium with its sandbox; false when it cannot have one (root
/// without user namespaces, warned once), and the caller must pass `--no-sandbox`.
fn sandbox(command: &mut Command) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return true;
    }
    static USER_NAMESPACES: OnceLock<bool> = OnceLock::new();
    if !*USER_NAMESPACES.get_or_init(user_namespaces_work) {
        static WARNED: OnceLock<()> = OnceLock::new();
        WARNED.get_or_init(|| eprintln!("{NO_SANDBOX_WARNING}"));
        return false;
    }
    let maps = IdMaps::new(AS_ROOT);
    // SAFETY: the closure runs in the child between fork and exec and makes only
    // async-signal-safe calls (unshare, open, write, close) on buffers made before the fork.
    unsafe {
        command.pre_exec(move || maps.enter());
    }
    true
}

/// The writes that make a fresh user namespace map [`AS_ROOT`] onto root, prepared before the
/// fork (the child must not allocate).
#[derive(Debug, Clone)]
struct IdMaps {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl IdMaps {
    fn new(inside: RootMapping) -> IdMaps {
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        IdMaps {
            uid_map: format!("{} {uid} 1\n", inside.uid).into_bytes(),
            gid_map: format!("{} {gid} 1\n", inside.gid).into_bytes(),
        }
    }

    /// Moves the calling (single-threaded, just forked) process into a new user namespace with
    /// these maps. Async-signal-safe.
    fn enter(&self) -> io::Result<()> {
        // SAFETY: plain system calls on this process's own /proc files.
        unsafe {
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                return Err(io::Error::last_os_error());
            }
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", &self.uid_map)?;
            write_proc(c"/proc/self/gid_map", &self.gid_map)?;
        }
        Ok(())
    }
}

/// open + write + close, async-signal-safe.
///
/// # Safety
/// Only system calls; `path` must be a valid C string.
unsafe fn write_proc(path: &CStr, bytes: &[u8]) -> io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
    let error = io::Error::last_os_error();
    libc::close(fd);
    if written != bytes.len() as isize {
        return Err(error);
    }
    Ok(())
}

/// Whether a child can enter a user namespace mapped as [`AS_ROOT`] and create another one
/// inside it (Chromium's sandbox nests its own): tried in a forked child that only does that.
fn user_namespaces_work() -> bool {
    let maps = IdMaps::new(AS_ROOT);
    // SAFETY: the child makes only async-signal-safe calls and leaves with _exit.
    unsafe {
        match libc::fork() {
            -1 => false,
            0 => {
                let ok = maps.enter().is_ok() && libc::unshare(libc::CLONE_NEWUSER) == 0;
                libc::_exit(if ok { 0 } else { 1 })
            }
            child => {
                let mut status = 0;
                while libc::waitpid(child, &mut status, 0) < 0 {
                    if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                        return false;
                    }
                }
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
            }
        }
    }
}

/// Chromium's own output: in the profile, or where `POLLSCOPE_BROWSER_LOG` says (kept after
/// the run, for diagnosing a page that misbehaves).
fn log_path(profile: &std::path::Path) -> PathBuf {
    std::env::var_os("POLLSCOPE_BROWSER_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile.join("chromium.log"))
}
