//! Child processes that end with this one, and the scratch folders they write into.
//!
//! `pollscope run`, the benchmark harness and the browser tests start a browser with a fresh
//! profile folder in the temporary directory. Nothing of it may outlive the program that started
//! it, however that program ends:
//!
//! - **A normal end, an error, a handled signal** ([`Tied::close`], also on drop): the browser was
//!   started in a process group of its own, so one `killpg` reaches its zygotes, renderers and
//!   utility processes too; every member is waited for, and only then is the folder removed.
//!   Removing it while helpers still ran is what left about one profile in three behind:
//!   Chromium's network service still writes `Default/.org.chromium.Chromium.*` files after the
//!   browser process itself is killed, so the removal met a folder that was not empty.
//! - **SIGKILL, a crash, `panic = "abort"`** (no code of this process runs): the kernel sends
//!   the browser SIGKILL (`PR_SET_PDEATHSIG`, set between fork and exec; its renderers and
//!   helpers notice the browser is gone and exit within a second, measured with `ps`), and a
//!   *guardian*, a few lines of `sh` in a process group of its own whose stdin is a pipe from
//!   this process, reads end of file, kills the group, waits for it and removes the folder. A
//!   normal close tells it `done` first, so it never signals a group that is already gone.
//! - **Anything that killed the guardian too** (a kill of every descendant, a power cut): the
//!   next [`ScratchDir::new`] removes the folders of its kind whose owner is gone. A folder's
//!   name carries the owner's pid and start time, so a reused pid is never taken for the owner,
//!   and the folder of a live owner is never touched.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, not the process, and
//! a test runs on a thread of its own that ends with the test: so tied children are forked by
//! one thread that lives as long as the process (`spawn_tied`).
//!
//! Chromium also keeps its singleton socket in a folder of its own in the temporary directory
//! (`org.chromium.Chromium.XXXXXX`, which it removes only on a graceful exit); the profile's
//! `SingletonSocket` link names it, and it is removed with the profile.
//!
//! Linux only (`prctl`, `/proc`), like the rest of the `pollscope` command.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use crate::procfs;

/// How long the members of a killed process group may take to be gone. SIGKILL ends them at
/// once; this only bounds the wait for their parents (or init) to reap them.
const GROUP_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the guardian runs: `$1` is the process group, `$2` the folder. It ignores the signals a
/// terminal or a test runner sends to a whole group or session: it ends by itself as soon as its
/// owner has gone.
const GUARDIAN: &str = r#"trap '' HUP INT TERM QUIT PIPE
IFS= read -r said
[ "$said" = done ] && exit 0
kill -KILL -"$1" 2>/dev/null
n=0
while kill -0 -"$1" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
sock=$(readlink -- "$2/SingletonSocket" 2>/dev/null)
case $sock in */org.chromium.Chromium.*/SingletonSocket) rm -rf -- "${sock%/SingletonSocket}" ;; esac
rm -rf -- "$2"
"#;

/// A folder `<temp dir>/<prefix>-<pid>-<start time>-<n>` owned by this process, removed when
/// dropped (a [`Tied`] process writing into it is ended first).
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a fresh folder (mode 0700), after removing the folders of the same `prefix` whose
    /// owner is gone.
    pub fn new(prefix: &str) -> io::Result<ScratchDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let tmp = std::path::absolute(std::env::temp_dir())?;
        remove_stale(&tmp, prefix);
        let pid = std::process::id();
        let start = procfs::start_time(pid).unwrap_or(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = tmp.join(format!("{prefix}-{pid}-{start}-{n}"));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(ScratchDir { path }),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        remove_scratch(&self.path);
    }
}

/// Removes the folders `<prefix>-<pid>-…` in `tmp` whose owner is gone: no process `pid`, or one
/// that started at another time than the name says. Names without a start time (written by older
/// versions, or 0 where `/proc` was not readable) count as owned while any process `pid` lives.
/// Only this user's folders are looked at, and none at all when `/proc` cannot tell whether a
/// process lives.
pub fn remove_stale(tmp: &Path, prefix: &str) {
    if procfs::start_time(std::process::id()).is_none() {
        return;
    }
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|name| owner_of(name, prefix)) else {
            continue;
        };
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != me || owner.is_alive() {
            continue;
        }
        remove_scratch(&entry.path());
    }
}

/// The process a scratch folder's name says owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    pid: u32,
    /// `None` for the names older versions wrote (`<prefix>-<pid>-<nanoseconds>`).
    start: Option<u64>,
}

impl Owner {
    fn is_alive(self) -> bool {
        match (procfs::start_time(self.pid), self.start) {
            (None, _) => false,
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
        }
    }
}

/// `<prefix>-<pid>-<start>-<n>` or `<prefix>-<pid>-<nanoseconds>`, all numbers.
fn owner_of(name: &str, prefix: &str) -> Option<Owner> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let numbers: Vec<u64> = rest
        .split('-')
        .map(|part| part.parse().ok())
        .collect::<Option<_>>()?;
    let pid = u32::try_from(*numbers.first()?).ok()?;
    match numbers.len() {
        3 => Some(Owner {
            pid,
            start: Some(numbers[1]).filter(|&start| start != 0),
        }),
        2 => Some(Owner { pid, start: None }),
        _ => None,
    }
}

/// Removes `dir` and the singleton-socket folder Chromium made for it elsewhere. A removal that
/// meets files appearing under it (nothing should write there any more) is tried again a few
/// times.
fn remove_scratch(dir: &Path) {
    if let Ok(socket) = fs::read_link(dir.join("SingletonSocket")) {
        let parent = socket.parent().filter(|parent| {
            socket
                .file_name()
                .is_some_and(|name| name == "SingletonSocket")
                && parent
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("org.chromium.Chromium."))
        });
        if let Some(parent) = parent {
            let _ = fs::remove_dir_all(parent);
        }
    }
    for attempt in 0..5 {
        match fs::remove_dir_all(dir) {
            Err(err) if err.kind() != io::ErrorKind::NotFound && attempt < 4 => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => return,
        }
    }
}

/// Spawns `command` so that it gets SIGKILL when this process ends, however it ends
/// (`PR_SET_PDEATHSIG`), from a thread that lives as long as the process.
pub fn spawn_tied(mut command: Command) -> io::Result<Child> {
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec and only makes the
    // async-signal-safe calls prctl and getppid.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; then no signal would come.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    spawn_on_lasting_thread(command)
}

type SpawnJob = (Command, mpsc::SyncSender<io::Result<Child>>);

/// Runs `command.spawn()` on a thread that is never ended (see the module comment).
fn spawn_on_lasting_thread(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnJob>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (send, jobs) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("pollscope-spawner".into())
            .spawn(move || {
                for (mut command, reply) in jobs {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("starting the thread that spawns tied processes");
        send
    });
    let gone = || io::Error::other("the thread that spawns tied processes is gone");
    let (reply, result) = mpsc::sync_channel(1);
    spawner.send((command, reply)).map_err(|_| gone())?;
    result.recv().map_err(|_| gone())?
}

/// A process (a browser) in a process group of its own, tied to this process's life, with the
/// scratch folder it writes into: see the module comment for every way it ends.
#[derive(Debug)]
pub struct Tied {
    child: Child,
    guardian: Option<Guardian>,
    dir: ScratchDir,
    closed: bool,
}

impl Tied {
    /// Starts `command` as the leader of a new process group, tied to this process, with `dir`
    /// removed after the whole group has ended. Without `sh` there is no guardian (then a
    /// SIGKILL of this process leaves the folder to the next start).
    pub fn spawn(mut command: Command, dir: ScratchDir) -> io::Result<Tied> {
        command.process_group(0);
        let child = spawn_tied(command)?;
        let guardian = Guardian::start(child.id(), dir.path()).ok();
        Ok(Tied {
            child,
            guardian,
            dir,
            closed: false,
        })
    }

    /// The process id (also its process group's id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The scratch folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the process itself has ended.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Kills the whole process group, waits until none of it is left, removes the folder and
    /// dismisses the guardian. Runs once; dropping does it too.
    pub fn close(&mut self) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let group = self.child.id() as libc::pid_t;
        // SAFETY: plain system calls on a process group this process created.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
        let deadline = Instant::now() + GROUP_EXIT_TIMEOUT;
        // A member left (not a zombie waiting to be reaped) could still write into the folder.
        while unsafe { libc::kill(-group, 0) } == 0
            && !procfs::group_members(group as u32).is_empty()
            && Instant::now() < deadline
        {
            unsafe { libc::kill(-group, libc::SIGKILL) };
            std::thread::sleep(Duration::from_millis(10));
        }
        remove_scratch(self.dir.path());
        if let Some(guardian) = self.guardian.take() {
            guardian.dismiss();
        }
    }
}

impl Drop for Tied {
    fn drop(&mut self) {
        self.close();
    }
}

/// The `sh` that cleans up after this process if it dies without doing so itself.
#[derive(Debug)]
struct Guardian {
    child: Child,
    stdin: ChildStdin,
}

impl Guardian {
    fn start(group: u32, dir: &Path) -> io::Result<Guardian> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(GUARDIAN)
            .arg("pollscope-guardian")
            .arg(group.to_string())
            .arg(dir)
            // Its own group: a signal to this process's group (Ctrl-C, `timeout`) spares it.
            .process_group(0)
            .stdin(Stdio::piped())
            // Nothing of ours stays open in it (a caller reading our stdout waits for its end).
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        Ok(Guardian { child, stdin })
    }

    /// Tells the guardian all is cleaned up, and reaps it.
    fn dismiss(mut self) {
        let _ = self.stdin.write_all(b"done\n");
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_from_folder_names() {
        let owner = |name| owner_of(name, "pollscope-profile");
        assert_eq!(
            owner("pollscope-profile-41-9000-3"),
            Some(Owner {
                pid: 41,
                start: Some(9000)
            })
        );
        assert_eq!(
            owner("pollscope-profile-41-0-3"),
            Some(Owner {
                pid: 41,
                start: None
            })
        );
        assert_eq!(
            owner("pollscope-profile-41-1733412345678901234"),
            Some(Owner {
                pid: 41,
                start: None
            })
        );
        for other in [
            "pollscope-profile",
            "pollscope-profile-",
            "pollscope-profile-x-1-2",
            "pollscope-profile-1-2-3-4",
            "pollscope-profiles-1-2-3",
            "pollscope-firefox-1-2-3",
            "pollscope-profile-99999999999-1-2",
        ] {
            assert_eq!(owner(other), None, "{other}");
        }
    }

    #[test]
    fn an_owner_is_alive_only_with_its_start_time() {
        let pid = std::process::id();
        let start = procfs::start_time(pid).unwrap();
        let me = Owner {
            pid,
            start: Some(start),
        };
        assert!(me.is_alive());
        assert!(Owner { pid, start: None }.is_alive());
        assert!(!Owner {
            pid,
            start: Some(start + 1)
        }
        .is_alive());
        let mut done = Command::new("true").spawn().unwrap();
        let gone = done.id();
        done.wait().unwrap();
        assert!(!Owner {
            pid: gone,
            start: None
        }
        .is_alive());
    }
}
