//! `fs_*` guests: the in-memory filesystem through relative paths, and `--dir` preloading.

use crate::data::TempDir;
use crate::harness::{guest, Invocation};

#[test]
fn fs_ops_transcript_with_preloaded_dir() {
    let host = TempDir::new("fs-ops");
    host.write("input.txt", "preloaded line 1\npreloaded line 2\n");
    host.write("nested/deep.txt", "deep");

    let run = Invocation::new(guest("fs_ops"))
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
    // Preloading copies in; the guest's filesystem is in memory and never writes back.
    assert!(
        !host.path().join("work").exists(),
        "the guest's writes reached the host folder"
    );
}
