//! Walking below a directory without ever leaving it (issue #12): every step an `openat`
//! on the parent's descriptor with `O_NOFOLLOW`, so a symbolic link on the way, even one put
//! there after the directory was listed, stops the walk instead of leading out. What `--dir`
//! reads (the server handing the page a file) and writes back (`writeback`) goes through here.
//!
//! `libc` directly (already a dependency for the browser's lifetime): the `*at` calls are all
//! this needs, and std has no `openat`.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use pollscope_wasi::is_plain_relative_path;

/// `name` as a C string (`EINVAL` when it holds NUL).
pub(crate) fn c_name(name: &[u8]) -> std::io::Result<CString> {
    CString::new(name).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// A libc call's result, or the OS error it set.
pub(crate) fn check(result: libc::c_int) -> std::io::Result<libc::c_int> {
    if result < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Opens directory `name` below `parent` (or the path itself with `None`), never through a
/// final symbolic link unless `follow` (only the `--dir` root itself, as the user named it).
pub(crate) fn open_dir_at(
    parent: Option<&OwnedFd>,
    name: &[u8],
    follow: bool,
) -> std::io::Result<OwnedFd> {
    let name = c_name(name)?;
    let mut flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let at = parent.map_or(libc::AT_FDCWD, |fd| fd.as_raw_fd());
    // SAFETY: a valid C string and directory descriptor; the result is a fresh descriptor.
    let fd = check(unsafe { libc::openat(at, name.as_ptr(), flags) })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The directory holding `path`'s last name, walked name by name from `root` without
/// following links, and that name.
pub(crate) fn parent_of<'p>(root: &OwnedFd, path: &'p str) -> std::io::Result<(OwnedFd, &'p str)> {
    if !is_plain_relative_path(path) {
        return Err(std::io::Error::other("not a plain relative path"));
    }
    let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
    let mut dir = root.try_clone()?;
    for component in dirs.split('/').filter(|c| !c.is_empty()) {
        dir = match open_dir_at(Some(&dir), component.as_bytes(), false) {
            // Linux says "not a directory" for a link opened with O_NOFOLLOW|O_DIRECTORY.
            Err(_) if is_symlink_at(&dir, component) => {
                return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
            }
            other => other?,
        };
    }
    Ok((dir, name))
}

/// Whether `name` below `dir` is a symbolic link (not followed).
fn is_symlink_at(dir: &OwnedFd, name: &str) -> bool {
    let Ok(c) = c_name(name.as_bytes()) else {
        return false;
    };
    // SAFETY: an all-zero `stat` is a valid value to be overwritten.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, C string and out pointer.
    let found = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut stat,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    found == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// The directory `root` itself, as the user named it (a link there is the user's choice).
pub(crate) fn open_root(root: &Path) -> std::io::Result<OwnedFd> {
    open_dir_at(None, root.as_os_str().as_bytes(), true)
}

/// The regular file at `path` below `root`, for reading: no link on the way or at the end, no
/// FIFO or device (`O_NONBLOCK` for the open, then a regular file or nothing).
pub(crate) fn open_file(root: &Path, path: &str) -> std::io::Result<File> {
    let root = open_root(root)?;
    let (parent, name) = parent_of(&root, path)?;
    let c = c_name(name.as_bytes())?;
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    // SAFETY: valid descriptor and C string.
    let fd = check(unsafe { libc::openat(parent.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}
