//! Just enough of Linux `/proc` to find the processes a `pollscope run` (or the bench harness)
//! started, the CPU time of their threads, and the machine's load. Shared by the end-to-end
//! tests (the worker must not spin while the guest sleeps) and `cargo xtask bench`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Chromium names every dedicated Web Worker's thread "DedicatedWorker thread"; the kernel keeps
/// the first 15 bytes as `comm`.
pub const WORKER_THREAD: &str = "DedicatedWorker";

/// The fields of `/proc/…/stat` after `comm` (which may hold spaces and parentheses).
fn stat_fields(path: &Path) -> Option<Vec<String>> {
    let stat = fs::read_to_string(path).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    Some(after_comm.split_whitespace().map(str::to_string).collect())
}

/// Every live process's parent: `pid -> ppid`.
fn parents() -> BTreeMap<u32, u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let ppid = stat_fields(&Path::new("/proc").join(pid.to_string()).join("stat"))?
                .get(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Every process descended from `root` (children, their children, …), not `root` itself.
pub fn descendants(root: u32) -> BTreeSet<u32> {
    let mut found = family(root);
    found.remove(&root);
    found
}

/// Whether `pid` is still a live process (a zombie waiting to be reaped counts as gone).
pub fn is_alive(pid: u32) -> bool {
    stat_fields(&Path::new("/proc").join(pid.to_string()).join("stat")).is_some_and(|fields| {
        fields
            .first()
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// When `pid` started, in clock ticks after boot (`/proc/PID/stat` field 22): with the pid, it
/// names one process for good, since a reused pid comes with a later start time.
pub fn start_time(pid: u32) -> Option<u64> {
    // Field 22 is the 20th after comm (which is field 2).
    stat_fields(&Path::new("/proc").join(pid.to_string()).join("stat"))?
        .get(19)?
        .parse()
        .ok()
}

/// Every live (not zombie) process in process group `group`.
pub fn group_members(group: u32) -> BTreeSet<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let fields = stat_fields(&Path::new("/proc").join(pid.to_string()).join("stat"))?;
            // State is field 3, the process group field 5.
            let live = fields.first().is_some_and(|s| s != "Z" && s != "X");
            let in_group = fields.get(2)?.parse::<u32>().ok()? == group;
            (live && in_group).then_some(pid)
        })
        .collect()
}

/// `root` and every process descended from it.
pub fn family(root: u32) -> BTreeSet<u32> {
    let parents = parents();
    let mut found = BTreeSet::from([root]);
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (&pid, &ppid) in &parents {
            if ppid == parent && found.insert(pid) {
                frontier.push(pid);
            }
        }
    }
    found
}

/// CPU used so far by one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCpu {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The thread's name (`/proc/PID/task/TID/comm`).
    pub comm: String,
    /// utime + stime from `/proc/PID/task/TID/stat`, in clock ticks.
    pub ticks: u64,
    /// Time on CPU from `/proc/PID/task/TID/schedstat` in ns, when the kernel has it (the same
    /// quantity at a finer grain than ticks).
    pub run_ns: Option<u64>,
}

/// Every thread of the processes `pids`, with its CPU time so far.
pub fn threads(pids: &BTreeSet<u32>) -> Vec<ThreadCpu> {
    let mut out = Vec::new();
    for &pid in pids {
        let Ok(tasks) = fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Ok(comm) = fs::read_to_string(task.path().join("comm")) else {
                continue;
            };
            let Some(fields) = stat_fields(&task.path().join("stat")) else {
                continue;
            };
            // Fields 14 and 15 (utime, stime) are the 12th and 13th after comm.
            let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
            let run_ns = fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok());
            out.push(ThreadCpu {
                pid,
                tid,
                comm: comm.trim_end().to_string(),
                ticks: tick(11).unwrap_or(0) + tick(12).unwrap_or(0),
                run_ns,
            });
        }
    }
    out
}

/// Every Web Worker thread (`comm` starting with [`WORKER_THREAD`]) of `root` and its
/// descendants.
pub fn worker_threads(root: u32) -> Vec<ThreadCpu> {
    threads(&family(root))
        .into_iter()
        .filter(|thread| thread.comm.starts_with(WORKER_THREAD))
        .collect()
}

/// CPU the threads in `after` used since `before`: (ticks, ns on CPU if every thread has it).
/// A thread that is new in `after` counts from zero; one that ended is lost (so sample while the
/// threads of interest live).
pub fn cpu_between(before: &[ThreadCpu], after: &[ThreadCpu]) -> (u64, Option<u64>) {
    let mut ticks = 0;
    let mut run_ns = Some(0u64);
    for thread in after {
        let earlier = before
            .iter()
            .find(|old| (old.pid, old.tid) == (thread.pid, thread.tid));
        ticks += thread.ticks - earlier.map_or(0, |old| old.ticks.min(thread.ticks));
        run_ns = match (run_ns, thread.run_ns, earlier.map(|old| old.run_ns)) {
            (Some(sum), Some(now), Some(Some(then))) => Some(sum + now.saturating_sub(then)),
            (Some(sum), Some(now), None) => Some(sum + now),
            _ => None,
        };
    }
    (ticks, run_ns)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minute load averages).
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tid: u32, ticks: u64, run_ns: Option<u64>) -> ThreadCpu {
        ThreadCpu {
            pid: 1,
            tid,
            comm: WORKER_THREAD.into(),
            ticks,
            run_ns,
        }
    }

    #[test]
    fn cpu_between_counts_new_threads_from_zero_and_drops_ended_ones() {
        let before = [t(1, 10, Some(100)), t(2, 5, Some(50))];
        let after = [t(1, 12, Some(180)), t(3, 1, Some(7))];
        assert_eq!(cpu_between(&before, &after), (3, Some(87)));
        let no_schedstat = [t(1, 12, None)];
        assert_eq!(cpu_between(&before, &no_schedstat), (2, None));
    }

    #[test]
    fn start_time_and_group_of_this_process() {
        let me = std::process::id();
        let start = start_time(me).expect("this process has a start time");
        assert_eq!(start_time(me), Some(start), "it does not change");
        let group = fs::read_to_string("/proc/self/stat").unwrap();
        let group: u32 = group[group.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .nth(2)
            .unwrap()
            .parse()
            .unwrap();
        assert!(group_members(group).contains(&me));
    }

    #[test]
    fn this_process_is_its_own_family() {
        assert!(family(std::process::id()).contains(&std::process::id()));
    }
}
