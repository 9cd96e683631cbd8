//! Just enough of Linux `/proc` to find the processes `pollscope` started and the CPU time of
//! their threads.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Chromium names every dedicated Web Worker's thread "DedicatedWorker thread"; the kernel keeps
/// the first 15 bytes as `comm`. (Checked with Chromium 156: a page whose worker spins shows one
/// busy thread with this `comm` in its renderer process.)
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
            // Field 4 (ppid) is the second after comm.
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
    let parents = parents();
    let mut found = BTreeSet::new();
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

/// Whether `pid` is still a live process (a zombie waiting to be reaped counts as gone).
pub fn is_alive(pid: u32) -> bool {
    stat_fields(&Path::new("/proc").join(pid.to_string()).join("stat")).is_some_and(|fields| {
        fields
            .first()
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// One thread of a process.
#[derive(Debug)]
pub struct ThreadSample {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
}

/// Every thread of every process in `pids`, with its CPU time so far.
pub fn threads(pids: &BTreeSet<u32>) -> Vec<ThreadSample> {
    let mut samples = Vec::new();
    for &pid in pids {
        let Ok(tasks) = fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|name| name.parse().ok()) else {
                continue;
            };
            let Ok(comm) = fs::read_to_string(task.path().join("comm")) else {
                continue;
            };
            // Fields 14 and 15 (utime, stime) are the 12th and 13th after comm.
            let Some(fields) = stat_fields(&task.path().join("stat")) else {
                continue;
            };
            let tick = |i: usize| {
                fields
                    .get(i)
                    .and_then(|field| field.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            samples.push(ThreadSample {
                pid,
                tid,
                comm: comm.trim_end().to_string(),
                cpu_ticks: tick(11) + tick(12),
            });
        }
    }
    samples
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
