//! `fs_preopens`: what a program written against `wasmtime run --dir` does with its
//! directories, each printed as one transcript line (issue #12).
//!
//! The test gives it a writable `--dir OUT::.` (relative guest path) holding `log.txt`,
//! `to-rename.txt`, `to-delete.txt`, `to-move.txt` and `empty-dir/`, a read-only `--dir-ro IN::/in` holding
//! `data.txt`, and a second writable `--dir OUT2::out2`. It lists its preopens with their
//! flags, reads and writes one file through one descriptor, appends (`O_APPEND`) to a new
//! file and to a preloaded one, makes, renames and deletes under `.`, writes under `out2`,
//! moves a file from `.` into `out2` (a rename across preopens), and tries every kind of
//! change under `/in` (each refused: wasmtime's `not-permitted`, which
//! wasi-libc reports as `EPERM`, errno 63). The host directories afterwards are the test's.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::DescriptorFlags;

fn main() {
    for (descriptor, name) in get_directories() {
        let flags = descriptor.get_flags().expect("a preopen has flags");
        let mut said = Vec::new();
        if flags.contains(DescriptorFlags::READ) {
            said.push("read");
        }
        if flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            said.push("mutate-directory");
        }
        println!("preopen {name:?}: {}", said.join(" "));
    }

    // Read and write through one descriptor: what was just written is read back.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open("rw.txt")
        .unwrap();
    file.write_all(b"first").unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    println!("rw.txt read back: {text:?}");
    file.write_all(b" second").unwrap();
    file.seek(SeekFrom::Start(2)).unwrap();
    text.clear();
    file.read_to_string(&mut text).unwrap();
    println!("rw.txt from offset 2: {text:?}");
    drop(file);

    // O_APPEND: every write lands at the end, whatever the position says.
    for line in ["a\n", "b\n"] {
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open("appended.txt")
            .unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.write_all(line.as_bytes()).unwrap();
    }
    println!(
        "appended.txt: {:?}",
        fs::read_to_string("appended.txt").unwrap()
    );
    let mut log = OpenOptions::new().append(true).open("log.txt").unwrap();
    log.write_all(b"line 2\n").unwrap();
    drop(log);
    println!("log.txt: {:?}", fs::read_to_string("log.txt").unwrap());

    // Make, rename, delete under `.`.
    fs::create_dir_all("made/sub").unwrap();
    fs::write("made/sub/new.txt", "made by the guest").unwrap();
    fs::rename("to-rename.txt", "renamed.txt").unwrap();
    fs::remove_file("to-delete.txt").unwrap();
    fs::remove_dir("empty-dir").unwrap();
    println!(
        "renamed.txt: {:?}",
        fs::read_to_string("renamed.txt").unwrap()
    );
    println!("list .: {}", list("."));

    // A second writable preopen, and a rename from one preopen into the other.
    fs::write("out2/second.txt", "in the second preopen").unwrap();
    fs::rename("to-move.txt", "out2/moved.txt").unwrap();
    println!("list out2: {}", list("out2"));

    // The read-only preopen: reading works, every change is refused.
    println!(
        "/in/data.txt: {:?}",
        fs::read_to_string("/in/data.txt").unwrap()
    );
    println!(
        "write /in/new.txt: {}",
        outcome(fs::write("/in/new.txt", "x"))
    );
    println!(
        "open /in/data.txt for writing: {}",
        outcome(
            OpenOptions::new()
                .write(true)
                .open("/in/data.txt")
                .map(drop)
        )
    );
    println!("mkdir /in/dir: {}", outcome(fs::create_dir("/in/dir")));
    println!(
        "remove /in/data.txt: {}",
        outcome(fs::remove_file("/in/data.txt"))
    );
    println!(
        "rename /in/data.txt: {}",
        outcome(fs::rename("/in/data.txt", "/in/moved.txt"))
    );
    let data = fs::File::open("/in/data.txt").unwrap();
    println!(
        "set times of /in/data.txt: {}",
        outcome(data.set_modified(std::time::UNIX_EPOCH))
    );
    println!("list /in: {}", list("/in"));
    println!("done");
}

/// `ok`, or the error's kind and raw errno (wasi-libc's numbering).
fn outcome(result: std::io::Result<()>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(err) => format!(
            "error {:?} (errno {})",
            err.kind(),
            err.raw_os_error().unwrap_or(-1)
        ),
    }
}

/// Sorted entry names, `/` after directories.
fn list(dir: &str) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect();
    names.sort();
    names.join(" ")
}
