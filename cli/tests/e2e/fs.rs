//! `fs_*` guests: the filesystem through relative paths, and `--dir`s as `wasmtime run`
//! gives them (issue #12): exactly the directories asked for, under the names given, written
//! back to the host when the guest ends, read-only ones refusing every change.

use crate::data::{fnv1a64, noise, TempDir};
use crate::harness::{guest, Invocation};
use pollscope_test_support::dir_listing as listing;

#[test]
fn fs_ops_transcript_with_preloaded_dir() {
    let host = TempDir::new("fs-ops");
    host.write("input.txt", "preloaded line 1\npreloaded line 2\n");
    host.write("nested/deep.txt", "deep");
    let scratch = TempDir::new("fs-ops-scratch");

    let run = Invocation::new(guest("fs_ops"))
        .dir(scratch.path(), "/")
        .dir(host.path(), "/data")
        .run();
    run.assert(
        0,
        concat!(
            "mkdir work: ok\n",
            "write work/a.txt: 10 bytes\n",
            "append work/a.txt: 12 bytes\n",
            "read work/a.txt: \"hello, fs\\nsecond line\\n\"\n",
            "seek 7, read 2: \"fs\"\n",
            "seek end-5 -> 17, read: \"line\\n\"\n",
            "position after overwrite: 5\n",
            "after overwrite and truncate: \"HELLO, fs\\nsecond\"\n",
            "stat work/a.txt: len=16 file=true dir=false\n",
            "stat work: file=false dir=true\n",
            "list work: a.txt(file) b.txt(file) sub(dir)\n",
            "rename work/a.txt -> work/c.txt: ok\n",
            "read work/a.txt: error NotFound (errno 44)\n",
            "read work/c.txt: \"HELLO, fs\\nsecond\"\n",
            "list work: b.txt(file) c.txt(file) sub(dir)\n",
            "mkdir work again: error AlreadyExists (errno 20)\n",
            // errno 55 is wasi-libc's ENOTEMPTY: the host answered `not-empty`; Rust std 1.95
            // does not map it to DirectoryNotEmpty on wasip2.
            "rmdir work/sub (not empty): error Uncategorized (errno 55)\n",
            "open missing.txt: error NotFound (errno 44)\n",
            "list work: (empty)\n",
            "rmdir work: ok, exists now: false\n",
            "list data: input.txt(file) nested(dir)\n",
            "read data/input.txt: \"preloaded line 1\\npreloaded line 2\\n\"\n",
            "read data/nested/deep.txt: \"deep\"\n",
            "done\n",
        ),
    );
    // It removed everything it made, and only read /data: both folders are as before.
    assert_eq!(listing(scratch.path()), Vec::<String>::new());
    assert_eq!(
        listing(host.path()),
        [
            "input.txt = \"preloaded line 1\\npreloaded line 2\\n\"",
            "nested/",
            "nested/deep.txt = \"deep\"",
        ]
    );
}

/// A program written against `wasmtime run --dir`: a writable directory under a relative
/// name (`.`), a second one (`out2`), a read-only one (`/in`). What it reads back through one
/// descriptor, appends, makes, renames (also from one preopen into the other) and deletes is
/// what wasmtime gives, the host folders
/// hold its changes afterwards, and every change under the read-only one fails with
/// `not-permitted` (EPERM, wasi-libc's errno 63) as wasmtime answers, leaving it untouched.
#[test]
fn fs_preopens_writes_back_like_wasmtime() {
    let out = TempDir::new("preopens-out");
    out.write("log.txt", "line 1\n");
    out.write("to-rename.txt", "renamed contents");
    out.write("to-delete.txt", "gone");
    out.write("to-move.txt", "moved across");
    std::fs::create_dir(out.path().join("empty-dir")).unwrap();
    let input = TempDir::new("preopens-in");
    input.write("data.txt", "read only data");
    let out2 = TempDir::new("preopens-out2");

    let run = Invocation::new(guest("fs_preopens"))
        .dir(out.path(), ".")
        .dir(out2.path(), "out2")
        .flag(&format!("--dir-ro={}::/in", input.path().display()))
        .run();
    run.assert(
        0,
        concat!(
            "preopen \".\": read mutate-directory\n",
            "preopen \"out2\": read mutate-directory\n",
            "preopen \"/in\": read\n",
            "rw.txt read back: \"first\"\n",
            "rw.txt from offset 2: \"rst second\"\n",
            "appended.txt: \"a\\nb\\n\"\n",
            "log.txt: \"line 1\\nline 2\\n\"\n",
            "renamed.txt: \"renamed contents\"\n",
            "list .: appended.txt log.txt made/ renamed.txt rw.txt to-move.txt\n",
            "list out2: moved.txt second.txt\n",
            "/in/data.txt: \"read only data\"\n",
            "write /in/new.txt: error PermissionDenied (errno 63)\n",
            "open /in/data.txt for writing: error PermissionDenied (errno 63)\n",
            "mkdir /in/dir: error PermissionDenied (errno 63)\n",
            "remove /in/data.txt: error PermissionDenied (errno 63)\n",
            "rename /in/data.txt: error PermissionDenied (errno 63)\n",
            "set times of /in/data.txt: error PermissionDenied (errno 63)\n",
            "list /in: data.txt\n",
            "done\n",
        ),
    );
    assert_eq!(
        listing(out.path()),
        [
            "appended.txt = \"a\\nb\\n\"",
            "log.txt = \"line 1\\nline 2\\n\"",
            "made/",
            "made/sub/",
            "made/sub/new.txt = \"made by the guest\"",
            "renamed.txt = \"renamed contents\"",
            "rw.txt = \"first second\"",
        ]
    );
    assert_eq!(
        listing(out2.path()),
        [
            "moved.txt = \"moved across\"",
            "second.txt = \"in the second preopen\"",
        ]
    );
    assert_eq!(listing(input.path()), ["data.txt = \"read only data\""]);
    if !run.stderr.is_empty() {
        run.fail("expected nothing on stderr (every change written back)");
    }
}

/// What a guest wrote before it trapped is on the host afterwards, as under wasmtime (whose
/// writes go to disk as they happen), and the exit code is still the trap's.
#[test]
fn fs_write_then_trap_keeps_what_was_written() {
    let out = TempDir::new("trap-out");
    let run = Invocation::new(guest("fs_write_then_trap"))
        .dir(out.path(), ".")
        .run();
    if run.code() != 134 || run.stdout() != "written\n" {
        run.fail("expected \"written\" and exit 134 (a trap)");
    }
    assert_eq!(
        listing(out.path()),
        ["before-trap.txt = \"written before the trap\""]
    );
}

/// A guest ended by a signal (`pollscope run` dies of it) or by `-W timeout` (a trap, 134) is
/// stopped at its next host call, and what it wrote is on the host afterwards, as under
/// wasmtime, which writes through.
#[test]
fn fs_write_then_sleep_keeps_what_was_written_when_stopped() {
    use std::os::unix::process::ExitStatusExt;
    let out = TempDir::new("stopped-out");
    let mut running = Invocation::new(guest("fs_write_then_sleep"))
        .dir(out.path(), ".")
        .spawn();
    running.wait_for_line("written");
    running.signal(libc::SIGTERM);
    let finished = running.finish();
    if finished.status.signal() != Some(libc::SIGTERM) {
        finished.fail("expected pollscope to die of SIGTERM");
    }
    assert_eq!(
        listing(out.path()),
        ["before-stop.txt = \"written before the stop\""]
    );

    let out = TempDir::new("timed-out");
    let run = Invocation::new(guest("fs_write_then_sleep"))
        .flag("-W")
        .flag("timeout=2s")
        .dir(out.path(), ".")
        .run();
    if run.code() != 134 || !run.stderr().contains("timed out after 2s (-W timeout)") {
        run.fail("expected an interrupt trap (134) after 2 s");
    }
    assert_eq!(
        listing(out.path()),
        ["before-stop.txt = \"written before the stop\""]
    );
}

/// A file far larger than any other request to the run's server carries (64 MiB) reaches the
/// host whole through the write-back.
#[test]
fn fs_big_write_is_written_back_whole() {
    let out = TempDir::new("big-out");
    let run = Invocation::new(guest("fs_big_write"))
        .dir(out.path(), ".")
        .run();
    let expected = noise(64 << 20);
    run.assert(
        0,
        &format!(
            "bytes={} fnv1a64={:016x}\n",
            expected.len(),
            fnv1a64(&expected)
        ),
    );
    let written = std::fs::read(out.path().join("big.bin")).unwrap_or_default();
    if written.len() != expected.len() || fnv1a64(&written) != fnv1a64(&expected) {
        run.fail(&format!(
            "big.bin on the host has {} bytes, not the guest's",
            written.len()
        ));
    }
}

/// A guest that tries the raw `wasi:filesystem` calls on ways out of its `--dir` (`..`, an
/// absolute path, a link it makes to `../../outside`, `..` from a subdirectory, the host's own
/// links out, absolute and relative) gets `not-permitted` each time, as from wasmtime's
/// sandbox (reading a relative link's text is fine, an absolute one's is not, as the WIT
/// says); afterwards the host holds its
/// legitimate changes, nothing appeared beside the `--dir`, and its link out was not made on
/// the host (said on stderr: a link there would lead any host program out).
#[test]
fn fs_escape_reaches_nothing_outside_its_dir() {
    let around = TempDir::new("escape-around");
    let secret = around.write("outside/secret.txt", "the host's secret");
    let out = around.path().join("dir");
    std::fs::create_dir(&out).unwrap();
    // Links the host has in the --dir, one absolute and one relative, both leading out.
    std::os::unix::fs::symlink(&secret, out.join("host-abs")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", out.join("host-rel")).unwrap();
    let run = Invocation::new(guest("fs_escape")).dir(&out, ".").run();
    run.assert(
        0,
        concat!(
            "create ../escape.txt: not-permitted\n",
            "read /etc/passwd: not-permitted\n",
            "symlink link-out -> ../../outside: ok\n",
            "create through link-out: not-permitted\n",
            "mkdir sub: ok\n",
            "create ../../escape.txt from sub: not-permitted\n",
            "create sub/inside.txt: ok\n",
            "read through host-abs: not-permitted\n",
            "read through host-rel: not-permitted\n",
            "readlink host-rel: \"../outside/secret.txt\"\n",
            "readlink host-abs: not-permitted\n",
        ),
    );
    assert_eq!(
        listing(around.path()),
        [
            "dir/".to_string(),
            format!("dir/host-abs -> {}", secret.display()),
            "dir/host-rel -> ../outside/secret.txt".to_string(),
            "dir/sub/".to_string(),
            "dir/sub/inside.txt = \"\"".to_string(),
            "outside/".to_string(),
            "outside/secret.txt = \"the host's secret\"".to_string(),
        ]
    );
    if run.stdout().contains("the host's secret") {
        run.fail("a file outside the --dir reached the guest");
    }
    let said = "link-out: not written (a symbolic link to \"../../outside\" would lead out";
    if !run.stderr().contains(said) {
        run.fail(&format!("expected {said:?} on stderr"));
    }
}
