//! `fs_escape`: a guest that tries to reach outside its `--dir` (mounted at `.`) through the
//! raw `wasi:filesystem` calls, where no libc tidies the path first (issue #12). Each attempt
//! prints the error code wasmtime's sandbox gives (`not-permitted`); the legitimate writes in
//! between print `ok`. The host's own links out of the directory (`host-abs`, `host-rel`) are
//! links in the guest too, and following them is refused the same way. The test checks the
//! host afterwards: the legitimate files are there, nothing appeared outside, the host's
//! links are as they were, and the guest's link out was not made on the host.

use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{Descriptor, DescriptorFlags, ErrorCode, OpenFlags, PathFlags};

fn main() {
    let (dir, _) = get_directories()
        .into_iter()
        .find(|(_, name)| name == ".")
        .expect("a preopen named `.`");
    let write = DescriptorFlags::WRITE;
    let create = OpenFlags::CREATE;
    say(
        "create ../escape.txt",
        open(&dir, PathFlags::empty(), "../escape.txt", create, write),
    );
    say(
        "read /etc/passwd",
        open(
            &dir,
            PathFlags::empty(),
            "/etc/passwd",
            OpenFlags::empty(),
            DescriptorFlags::READ,
        ),
    );
    say(
        "symlink link-out -> ../../outside",
        dir.symlink_at("../../outside", "link-out"),
    );
    say(
        "create through link-out",
        open(
            &dir,
            PathFlags::SYMLINK_FOLLOW,
            "link-out/planted.txt",
            create,
            write,
        ),
    );
    say("mkdir sub", dir.create_directory_at("sub"));
    let sub = dir
        .open_at(
            PathFlags::empty(),
            "sub",
            OpenFlags::DIRECTORY,
            DescriptorFlags::READ,
        )
        .unwrap();
    say(
        "create ../../escape.txt from sub",
        open(&sub, PathFlags::empty(), "../../escape.txt", create, write),
    );
    say(
        "create sub/inside.txt",
        open(&sub, PathFlags::empty(), "inside.txt", create, write),
    );
    let read = DescriptorFlags::READ;
    for link in ["host-abs", "host-rel"] {
        say(
            &format!("read through {link}"),
            open(
                &dir,
                PathFlags::SYMLINK_FOLLOW,
                link,
                OpenFlags::empty(),
                read,
            ),
        );
    }
    for link in ["host-rel", "host-abs"] {
        match dir.readlink_at(link) {
            Ok(target) => println!("readlink {link}: {target:?}"),
            Err(code) => println!("readlink {link}: {}", code.name()),
        }
    }
}

fn open(
    dir: &Descriptor,
    path_flags: PathFlags,
    path: &str,
    open_flags: OpenFlags,
    flags: DescriptorFlags,
) -> Result<(), ErrorCode> {
    dir.open_at(path_flags, path, open_flags, flags).map(drop)
}

fn say(what: &str, result: Result<(), ErrorCode>) {
    match result {
        Ok(()) => println!("{what}: ok"),
        Err(code) => println!("{what}: {}", code.name()),
    }
}
