//! `fs_ops`: filesystem operations through paths relative to the current directory.
//!
//! The test gives it two host folders, as `wasmtime run` would: an empty one at `/`
//! (`--dir SCRATCH::/`, where it works) and one at `/data` (`--dir HOST::/data`) holding
//! `input.txt` and `nested/deep.txt`. Prints a deterministic
//! transcript: one line per operation and its result. Directory listings are sorted because
//! readdir order is the host's choice.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

fn main() {
    // Create, write, append, read.
    fs::create_dir("work").unwrap();
    println!("mkdir work: ok");
    let mut file = File::create("work/a.txt").unwrap();
    file.write_all(b"hello, fs\n").unwrap();
    drop(file);
    println!("write work/a.txt: 10 bytes");
    let mut file = OpenOptions::new().append(true).open("work/a.txt").unwrap();
    file.write_all(b"second line\n").unwrap();
    drop(file);
    println!("append work/a.txt: 12 bytes");
    println!(
        "read work/a.txt: {:?}",
        fs::read_to_string("work/a.txt").unwrap()
    );

    // Seek and read inside one open file, then write in the middle.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("work/a.txt")
        .unwrap();
    let mut two = [0; 2];
    file.seek(SeekFrom::Start(7)).unwrap();
    file.read_exact(&mut two).unwrap();
    println!("seek 7, read 2: {:?}", String::from_utf8_lossy(&two));
    let pos = file.seek(SeekFrom::End(-5)).unwrap();
    let mut rest = String::new();
    file.read_to_string(&mut rest).unwrap();
    println!("seek end-5 -> {pos}, read: {rest:?}");
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(b"HELLO").unwrap();
    println!(
        "position after overwrite: {}",
        file.stream_position().unwrap()
    );
    file.set_len(16).unwrap();
    drop(file);
    println!(
        "after overwrite and truncate: {:?}",
        fs::read_to_string("work/a.txt").unwrap()
    );

    // Stat a file and a directory.
    let meta = fs::metadata("work/a.txt").unwrap();
    println!(
        "stat work/a.txt: len={} file={} dir={}",
        meta.len(),
        meta.is_file(),
        meta.is_dir()
    );
    let meta = fs::metadata("work").unwrap();
    println!("stat work: file={} dir={}", meta.is_file(), meta.is_dir());

    // More entries, then list.
    fs::write("work/b.txt", b"bee").unwrap();
    fs::create_dir("work/sub").unwrap();
    fs::write("work/sub/inner.txt", b"inner").unwrap();
    println!("list work: {}", list("work"));

    // Rename, then check both names.
    fs::rename("work/a.txt", "work/c.txt").unwrap();
    println!("rename work/a.txt -> work/c.txt: ok");
    println!(
        "read work/a.txt: {}",
        err_kind(fs::read("work/a.txt").err())
    );
    println!(
        "read work/c.txt: {:?}",
        fs::read_to_string("work/c.txt").unwrap()
    );
    println!("list work: {}", list("work"));

    // Errors the guest must see as the right kind.
    println!(
        "mkdir work again: {}",
        err_kind(fs::create_dir("work").err())
    );
    println!(
        "rmdir work/sub (not empty): {}",
        err_kind(fs::remove_dir("work/sub").err())
    );
    println!(
        "open missing.txt: {}",
        err_kind(File::open("missing.txt").err())
    );

    // Unlink and rmdir everything.
    fs::remove_file("work/sub/inner.txt").unwrap();
    fs::remove_dir("work/sub").unwrap();
    fs::remove_file("work/b.txt").unwrap();
    fs::remove_file("work/c.txt").unwrap();
    println!("list work: {}", list("work"));
    fs::remove_dir("work").unwrap();
    println!(
        "rmdir work: ok, exists now: {}",
        fs::exists("work").unwrap()
    );

    // The folder the test preloaded with --dir.
    println!("list data: {}", list("data"));
    println!(
        "read data/input.txt: {:?}",
        fs::read_to_string("data/input.txt").unwrap()
    );
    println!(
        "read data/nested/deep.txt: {:?}",
        fs::read_to_string("data/nested/deep.txt").unwrap()
    );
    println!("done");
}

/// `name(kind)` for every entry of `dir`, sorted by name.
fn list(dir: &str) -> String {
    let mut entries: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let file_type = entry.file_type().unwrap();
            let kind = if file_type.is_dir() {
                "dir"
            } else if file_type.is_symlink() {
                "link"
            } else {
                "file"
            };
            format!("{}({kind})", entry.file_name().to_string_lossy())
        })
        .collect();
    entries.sort();
    if entries.is_empty() {
        "(empty)".to_string()
    } else {
        entries.join(" ")
    }
}

fn err_kind(err: Option<std::io::Error>) -> String {
    match err {
        Some(err) if err.kind() == ErrorKind::Other => format!("error {err}"),
        // The errno is the host's exact answer (wasi-libc numbering); the kind is std's reading.
        Some(err) => match err.raw_os_error() {
            Some(errno) => format!("error {:?} (errno {errno})", err.kind()),
            None => format!("error {:?}", err.kind()),
        },
        None => "unexpectedly ok".to_string(),
    }
}
