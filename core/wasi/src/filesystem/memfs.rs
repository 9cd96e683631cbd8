//! The in-memory tree behind `wasi:filesystem`: directories, regular files and symbolic links
//! as shared inodes with inode numbers, link counts and timestamps.
//!
//! Inodes are `Rc<RefCell<Inode>>`, so a descriptor or file stream keeps an unlinked file
//! alive, as POSIX does. Directories own their children and nothing points back up, so the
//! tree has no reference cycles; `..` is resolved from the walk's own stack (`path.rs`), which
//! is also what keeps a walk inside its base directory.
//!
//! The tree is bounded: file contents, symbolic link targets and entry names together hold at
//! most [`MAX_FS_BYTES`], and directories at most [`MAX_FS_ENTRIES`] entries. Past either a
//! change fails with `insufficient-space` (POSIX `ENOSPC`, which also covers running out of
//! inodes). Every inode shares one [`Usage`], so a file grows, and a name is added, through any
//! handle on the tree; an inode gives its bytes back when the last handle on it goes. Inodes
//! removed from the tree but still open are bounded by the handle table
//! ([`MAX_HANDLES`](crate::MAX_HANDLES)), and their contents count against the bytes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use super::error::ErrorCode;

/// Largest file size. A wasm32 host cannot hold more, and checking it first keeps a write at
/// a huge offset from asking the allocator for it.
pub(crate) const MAX_FILE_SIZE: u64 = 1 << 32;

/// Longest name of one directory entry in bytes (POSIX `NAME_MAX`).
pub(crate) const MAX_NAME_LEN: usize = 255;

/// Most bytes the in-memory filesystem holds: file contents, symbolic link targets and entry
/// names, counted together. It lives in the host's own wasm32 memory (at most 4 GiB, shared
/// with everything else the host keeps), so a guest that writes without end gets
/// `insufficient-space` instead of taking the worker down when an allocation fails.
pub const MAX_FS_BYTES: u64 = 1 << 30;

/// Most directory entries (names) in the in-memory filesystem, hard links included.
pub const MAX_FS_ENTRIES: u64 = 1 << 18;

/// What the tree holds against its limits; one per filesystem, shared by all its inodes.
#[derive(Debug)]
pub(crate) struct Usage {
    bytes: Cell<u64>,
    entries: Cell<u64>,
    max_bytes: u64,
    max_entries: u64,
}

impl Usage {
    /// Whether `entries` more entries and `bytes` more bytes fit; `insufficient-space` if not.
    pub(crate) fn room_for(&self, entries: u64, bytes: u64) -> Result<(), ErrorCode> {
        let fits =
            |used: u64, more: u64, max: u64| used.checked_add(more).is_some_and(|n| n <= max);
        if fits(self.entries.get(), entries, self.max_entries)
            && fits(self.bytes.get(), bytes, self.max_bytes)
        {
            Ok(())
        } else {
            Err(ErrorCode::InsufficientSpace)
        }
    }

    /// Counts bytes now held (checked with [`Usage::room_for`] first).
    fn charge(&self, entries: u64, bytes: u64) {
        self.entries.set(self.entries.get().saturating_add(entries));
        self.bytes.set(self.bytes.get().saturating_add(bytes));
    }

    /// Gives back what [`Usage::charge`] counted.
    fn release(&self, entries: u64, bytes: u64) {
        self.entries.set(self.entries.get().saturating_sub(entries));
        self.bytes.set(self.bytes.get().saturating_sub(bytes));
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.get()
    }

    /// Entries held now.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> u64 {
        self.entries.get()
    }
}

/// A wall-clock instant, as `wasi:clocks/wall-clock.datetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct Timestamp {
    pub seconds: u64,
    pub nanoseconds: u32,
}

impl From<(u64, u32)> for Timestamp {
    fn from((seconds, nanoseconds): (u64, u32)) -> Timestamp {
        Timestamp {
            seconds,
            nanoseconds,
        }
    }
}

/// What `set-times` does with one timestamp (`new-timestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewTimestamp {
    NoChange,
    Now,
    At(Timestamp),
}

/// `descriptor-type`, limited to the kinds this filesystem has; discriminants are the WIT's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum DescriptorType {
    Directory = 3,
    SymbolicLink = 5,
    RegularFile = 6,
}

/// `descriptor-stat`, with every timestamp present (this filesystem keeps all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub kind: DescriptorType,
    pub link_count: u64,
    pub size: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
}

/// A shared inode.
pub(crate) type InodeRef = Rc<RefCell<Inode>>;

/// One filesystem object.
#[derive(Debug)]
pub(crate) struct Inode {
    pub ino: u64,
    /// Directory entries naming this inode (for directories: 1 while linked, 0 once removed).
    pub links: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub node: Node,
    /// For a file the configuration preloaded: its index in `HostConfig::files`, kept until
    /// the guest changes its contents (so an export can say "unchanged, from there" instead
    /// of carrying the bytes back).
    pub origin: Option<u32>,
    /// The filesystem's usage, which this inode's contents (and a directory's entries) count in.
    usage: Rc<Usage>,
}

impl Drop for Inode {
    fn drop(&mut self) {
        // The last handle on the inode is gone: what it held is free again. (A directory is
        // empty by then unless the whole tree is going.)
        match &self.node {
            Node::File(data) => self.usage.release(0, data.len() as u64),
            Node::Symlink(target) => self.usage.release(0, target.len() as u64),
            Node::Dir(dir) => {
                let names: u64 = dir.entries.keys().map(|name| name.len() as u64).sum();
                self.usage.release(dir.entries.len() as u64, names);
            }
        }
    }
}

/// The contents of an inode.
#[derive(Debug)]
pub(crate) enum Node {
    File(Vec<u8>),
    Dir(Directory),
    Symlink(String),
}

/// A directory's entries, sorted by name so `read-directory` is deterministic.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub entries: BTreeMap<String, InodeRef>,
}

impl Inode {
    /// The object's type.
    pub(crate) fn kind(&self) -> DescriptorType {
        match self.node {
            Node::File(_) => DescriptorType::RegularFile,
            Node::Dir(_) => DescriptorType::Directory,
            Node::Symlink(_) => DescriptorType::SymbolicLink,
        }
    }

    /// The usage of the filesystem this inode is in.
    pub(crate) fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Whether this is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.node, Node::Dir(_))
    }

    /// The directory's entries, or `not-directory`.
    pub(crate) fn dir(&self) -> Result<&Directory, ErrorCode> {
        match &self.node {
            Node::Dir(dir) => Ok(dir),
            _ => Err(ErrorCode::NotDirectory),
        }
    }

    /// The directory's entries for changing, or `not-directory`.
    pub(crate) fn dir_mut(&mut self) -> Result<&mut Directory, ErrorCode> {
        match &mut self.node {
            Node::Dir(dir) => Ok(dir),
            _ => Err(ErrorCode::NotDirectory),
        }
    }

    /// Whether this directory was removed (it may still be open): nothing can be created in it.
    pub(crate) fn is_removed_dir(&self) -> bool {
        self.is_dir() && self.links == 0
    }

    /// `stat`. A directory's link count is POSIX's: its entry, its `.`, and each
    /// subdirectory's `..`.
    pub(crate) fn stat(&self) -> Stat {
        let (link_count, size) = match &self.node {
            Node::File(data) => (self.links, data.len() as u64),
            Node::Symlink(target) => (self.links, target.len() as u64),
            // An in-memory directory has no storage size of its own.
            Node::Dir(dir) if self.links > 0 => {
                let subdirs = dir
                    .entries
                    .values()
                    .filter(|child| child.borrow().is_dir())
                    .count() as u64;
                (2 + subdirs, 0)
            }
            Node::Dir(_) => (0, 0),
        };
        Stat {
            kind: self.kind(),
            link_count,
            size,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
        }
    }

    /// Records a change of contents (mtime) and therefore of status (ctime).
    pub(crate) fn touch_modified(&mut self, now: Timestamp) {
        self.mtime = now;
        self.ctime = now;
    }

    /// Records a change of status only (links, times).
    pub(crate) fn touch_changed(&mut self, now: Timestamp) {
        self.ctime = now;
    }

    /// `pread`: up to `len` bytes at `offset`, and whether the read reached the end of the file.
    pub(crate) fn read(&self, offset: u64, len: u64) -> Result<(Vec<u8>, bool), ErrorCode> {
        let data = self.file()?;
        let size = data.len() as u64;
        let start = offset.min(size);
        let end = start.saturating_add(len).min(size);
        // Both bounds are at most the file's length, which is a usize.
        let bytes = data[start as usize..end as usize].to_vec();
        Ok((bytes, end >= size))
    }

    /// `pwrite`: writes `bytes` at `offset`, filling any gap with zeros. Returns the count.
    pub(crate) fn write(
        &mut self,
        offset: u64,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<u64, ErrorCode> {
        let len = bytes.len() as u64;
        if len == 0 {
            return Ok(0);
        }
        let end = offset
            .checked_add(len)
            .filter(|end| *end <= MAX_FILE_SIZE)
            .ok_or(ErrorCode::FileTooLarge)?;
        let (data, usage) = self.file_and_usage()?;
        grow(data, end, usage)?;
        data[offset as usize..end as usize].copy_from_slice(bytes);
        self.origin = None;
        self.touch_modified(now);
        Ok(len)
    }

    /// Appends `bytes`; returns the offset they were written at.
    pub(crate) fn append(&mut self, bytes: &[u8], now: Timestamp) -> Result<u64, ErrorCode> {
        let offset = self.file()?.len() as u64;
        self.write(offset, bytes, now)?;
        Ok(offset)
    }

    /// `ftruncate`: shrinks or zero-extends the file to `size` bytes.
    pub(crate) fn set_size(&mut self, size: u64, now: Timestamp) -> Result<(), ErrorCode> {
        if size > MAX_FILE_SIZE {
            return Err(ErrorCode::FileTooLarge);
        }
        let (data, usage) = self.file_and_usage()?;
        if size > data.len() as u64 {
            grow(data, size, usage)?;
        } else {
            usage.release(0, data.len() as u64 - size);
            data.truncate(size as usize);
            // A file cut down to a small part of its capacity gives the memory back too.
            if data.capacity() > 2 * data.len() + (64 << 10) {
                data.shrink_to_fit();
            }
        }
        self.origin = None;
        self.touch_modified(now);
        Ok(())
    }

    /// `utimensat`: sets access and modification times; the status-change time becomes `now`.
    pub(crate) fn set_times(
        &mut self,
        atime: NewTimestamp,
        mtime: NewTimestamp,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        let resolve = |new: NewTimestamp, old: Timestamp| match new {
            NewTimestamp::NoChange => Ok(old),
            NewTimestamp::Now => Ok(now),
            // POSIX rejects a nanosecond field past one second with EINVAL.
            NewTimestamp::At(t) if t.nanoseconds >= 1_000_000_000 => Err(ErrorCode::Invalid),
            NewTimestamp::At(t) => Ok(t),
        };
        let (atime, mtime) = (resolve(atime, self.atime)?, resolve(mtime, self.mtime)?);
        self.atime = atime;
        self.mtime = mtime;
        self.ctime = now;
        Ok(())
    }

    fn file(&self) -> Result<&Vec<u8>, ErrorCode> {
        match &self.node {
            Node::File(data) => Ok(data),
            Node::Dir(_) => Err(ErrorCode::IsDirectory),
            Node::Symlink(_) => Err(ErrorCode::BadDescriptor),
        }
    }

    /// The file's contents for changing, with the usage they count in.
    fn file_and_usage(&mut self) -> Result<(&mut Vec<u8>, &Usage), ErrorCode> {
        match &mut self.node {
            Node::File(data) => Ok((data, &self.usage)),
            Node::Dir(_) => Err(ErrorCode::IsDirectory),
            Node::Symlink(_) => Err(ErrorCode::BadDescriptor),
        }
    }
}

/// Zero-extends `data` to `len` bytes: `insufficient-space` past the filesystem's limit, and
/// allocation failure reported (`insufficient-memory`) instead of aborting.
fn grow(data: &mut Vec<u8>, len: u64, usage: &Usage) -> Result<(), ErrorCode> {
    let len = usize::try_from(len).map_err(|_| ErrorCode::FileTooLarge)?;
    if len > data.len() {
        let more = len - data.len();
        usage.room_for(0, more as u64)?;
        data.try_reserve(more)
            .map_err(|_| ErrorCode::InsufficientMemory)?;
        data.resize(len, 0);
        usage.charge(0, more as u64);
    }
    Ok(())
}

/// Links `child` into directory `parent` as `name` (which must be free). The caller checked
/// there is room for one more entry (`Usage::room_for(1, name.len())`).
pub(crate) fn attach(parent: &InodeRef, name: &str, child: InodeRef, now: Timestamp) {
    {
        let mut child = child.borrow_mut();
        child.links += 1;
        child.touch_changed(now);
    }
    let mut parent = parent.borrow_mut();
    let Inode { node, usage, .. } = &mut *parent;
    if let Node::Dir(dir) = node {
        usage.charge(1, name.len() as u64);
        dir.entries.insert(name.to_string(), child);
    }
    parent.touch_modified(now);
}

/// Unlinks entry `name` from directory `parent` and returns it.
pub(crate) fn detach(parent: &InodeRef, name: &str, now: Timestamp) -> Option<InodeRef> {
    let child = {
        let mut parent = parent.borrow_mut();
        let child = parent.dir_mut().ok()?.entries.remove(name)?;
        parent.usage.release(1, name.len() as u64);
        parent.touch_modified(now);
        child
    };
    {
        let mut inode = child.borrow_mut();
        inode.links = inode.links.saturating_sub(1);
        inode.touch_changed(now);
    }
    Some(child)
}

/// Whether `needle` is `dir` or lies anywhere below it (renaming a directory there would
/// make it its own ancestor).
pub(crate) fn contains(dir: &InodeRef, needle: &InodeRef) -> bool {
    if Rc::ptr_eq(dir, needle) {
        return true;
    }
    // An explicit stack: a deep tree must not overflow the host's call stack.
    let mut pending = vec![dir.clone()];
    while let Some(next) = pending.pop() {
        let inode = next.borrow();
        if let Node::Dir(d) = &inode.node {
            for child in d.entries.values() {
                if Rc::ptr_eq(child, needle) {
                    return true;
                }
                if child.borrow().is_dir() {
                    pending.push(child.clone());
                }
            }
        }
    }
    false
}

/// The filesystem: the root directory and the inode number allocator.
#[derive(Debug)]
pub(crate) struct MemFs {
    root: InodeRef,
    next_ino: u64,
    usage: Rc<Usage>,
}

impl MemFs {
    /// An empty filesystem whose root was created at `now`, with the limits [`MAX_FS_BYTES`]
    /// and [`MAX_FS_ENTRIES`].
    pub(crate) fn new(now: Timestamp) -> MemFs {
        MemFs::with_limits(now, MAX_FS_BYTES, MAX_FS_ENTRIES)
    }

    /// An empty filesystem holding at most `max_bytes` and `max_entries` (small ones in tests).
    pub(crate) fn with_limits(now: Timestamp, max_bytes: u64, max_entries: u64) -> MemFs {
        let usage = Rc::new(Usage {
            bytes: Cell::new(0),
            entries: Cell::new(0),
            max_bytes,
            max_entries,
        });
        let mut fs = MemFs {
            root: Rc::new(RefCell::new(Inode {
                ino: 0,
                links: 0,
                atime: now,
                mtime: now,
                ctime: now,
                node: Node::Dir(Directory::default()),
                origin: None,
                usage: usage.clone(),
            })),
            next_ino: 1,
            usage,
        };
        let ino = fs.alloc_ino();
        let mut root = fs.root.borrow_mut();
        root.ino = ino;
        // The root has no parent entry but counts as linked (it is never removed).
        root.links = 1;
        drop(root);
        fs
    }

    /// The root directory (`/` in guest paths of the host configuration).
    pub(crate) fn root(&self) -> &InodeRef {
        &self.root
    }

    fn alloc_ino(&mut self) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        ino
    }

    /// The usage all of this filesystem's inodes share.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> &Usage {
        &self.usage
    }

    /// A new inode holding `node`, whose contents (`charged` bytes) the caller checked room for.
    fn new_inode(&mut self, node: Node, charged: u64, now: Timestamp) -> InodeRef {
        self.usage.charge(0, charged);
        Rc::new(RefCell::new(Inode {
            ino: self.alloc_ino(),
            links: 0,
            atime: now,
            mtime: now,
            ctime: now,
            node,
            origin: None,
            usage: self.usage.clone(),
        }))
    }

    /// A new, unlinked, empty regular file.
    pub(crate) fn new_file(&mut self, now: Timestamp) -> InodeRef {
        self.new_inode(Node::File(Vec::new()), 0, now)
    }

    /// A new, unlinked, empty directory.
    pub(crate) fn new_dir(&mut self, now: Timestamp) -> InodeRef {
        self.new_inode(Node::Dir(Directory::default()), 0, now)
    }

    /// A new, unlinked symbolic link to `target`, or `insufficient-space` when its target
    /// does not fit.
    pub(crate) fn new_symlink(
        &mut self,
        target: &str,
        now: Timestamp,
    ) -> Result<InodeRef, ErrorCode> {
        self.usage.room_for(0, target.len() as u64)?;
        Ok(self.new_inode(Node::Symlink(target.to_string()), target.len() as u64, now))
    }

    /// Creates the directory at absolute host-configuration path `path` and any missing
    /// parents; returns it. Symbolic links are not followed (the configuration makes none).
    pub(crate) fn create_dir_all(
        &mut self,
        path: &str,
        now: Timestamp,
    ) -> Result<InodeRef, String> {
        let mut dir = self.root.clone();
        for name in config_components(path)? {
            let existing = dir
                .borrow()
                .dir()
                .ok()
                .and_then(|d| d.entries.get(name).cloned());
            dir = match existing {
                Some(child) if child.borrow().is_dir() => child,
                Some(_) => return Err(format!("`{path}`: `{name}` exists and is not a directory")),
                None => {
                    self.room_for_entry(path, name)?;
                    let child = self.new_dir(now);
                    attach(&dir, name, child.clone(), now);
                    child
                }
            };
        }
        Ok(dir)
    }

    /// Room for one more configured entry named `name`, or an error naming the limits.
    fn room_for_entry(&self, path: &str, name: &str) -> Result<(), String> {
        self.usage
            .room_for(1, name.len() as u64)
            .map_err(|_| self.full(path))
    }

    fn full(&self, path: &str) -> String {
        format!(
            "`{path}`: the in-memory filesystem is full (at most {} bytes and {} entries)",
            self.usage.max_bytes, self.usage.max_entries
        )
    }

    /// Creates (or replaces the contents of) the file at absolute host-configuration path
    /// `path`, creating missing parent directories.
    pub(crate) fn write_file(
        &mut self,
        path: &str,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<InodeRef, String> {
        let (parent, name) = match path.trim_end_matches('/').rsplit_once('/') {
            Some((parent, name)) if !name.is_empty() => (parent, name),
            _ => return Err(format!("`{path}`: not an absolute file path")),
        };
        config_components(path)?;
        let dir = self.create_dir_all(if parent.is_empty() { "/" } else { parent }, now)?;
        let existing = dir
            .borrow()
            .dir()
            .ok()
            .and_then(|d| d.entries.get(name).cloned());
        let file = match existing {
            Some(file) => file,
            None => {
                self.room_for_entry(path, name)?;
                let file = self.new_file(now);
                attach(&dir, name, file.clone(), now);
                file
            }
        };
        let mut inode = file.borrow_mut();
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(format!("`{path}`: larger than {MAX_FILE_SIZE} bytes"));
        }
        let Inode { node, usage, .. } = &mut *inode;
        match node {
            Node::File(data) => {
                let (old, new) = (data.len() as u64, bytes.len() as u64);
                usage
                    .room_for(0, new.saturating_sub(old))
                    .map_err(|_| self.full(path))?;
                usage.release(0, old);
                usage.charge(0, new);
                *data = bytes.to_vec();
                drop(inode);
                Ok(file)
            }
            _ => Err(format!("`{path}`: exists and is not a regular file")),
        }
    }
}

impl MemFs {
    /// Creates the symbolic link at absolute host-configuration path `path` (missing parent
    /// directories too) with `target`, which is kept as text; fails when something is there.
    pub(crate) fn write_symlink(
        &mut self,
        path: &str,
        target: &str,
        now: Timestamp,
    ) -> Result<(), String> {
        let (parent, name) = match path.trim_end_matches('/').rsplit_once('/') {
            Some((parent, name)) if !name.is_empty() => (parent, name),
            _ => return Err(format!("`{path}`: not an absolute path")),
        };
        config_components(path)?;
        let dir = self.create_dir_all(if parent.is_empty() { "/" } else { parent }, now)?;
        if dir
            .borrow()
            .dir()
            .is_ok_and(|d| d.entries.contains_key(name))
        {
            return Err(format!("`{path}`: exists"));
        }
        self.room_for_entry(path, name)?;
        let link = self.new_symlink(target, now).map_err(|_| self.full(path))?;
        attach(&dir, name, link, now);
        Ok(())
    }
}

/// The names of an absolute configuration path, rejecting what a guest path could not be.
fn config_components(path: &str) -> Result<Vec<&str>, String> {
    let rest = path.strip_prefix('/').ok_or_else(|| {
        format!("`{path}`: guest paths in the host configuration must be absolute")
    })?;
    let mut names = Vec::new();
    for name in rest.split('/').filter(|n| !n.is_empty() && *n != ".") {
        if name == ".." {
            return Err(format!("`{path}`: `..` is not allowed in configured paths"));
        }
        if name.len() > MAX_NAME_LEN || name.contains('\0') {
            return Err(format!("`{path}`: `{name}` is not a valid file name"));
        }
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: u64) -> Timestamp {
        Timestamp {
            seconds,
            nanoseconds: 0,
        }
    }

    fn child(dir: &InodeRef, name: &str) -> Option<InodeRef> {
        dir.borrow().dir().unwrap().entries.get(name).cloned()
    }

    #[test]
    fn write_read_at_offsets_with_zero_fill_and_eof() {
        let mut fs = MemFs::new(t(1));
        let file = fs.new_file(t(1));
        let mut inode = file.borrow_mut();
        assert_eq!(inode.write(4, b"abc", t(2)).unwrap(), 3);
        assert_eq!(inode.read(0, 100).unwrap(), (b"\0\0\0\0abc".to_vec(), true));
        assert_eq!(inode.read(2, 3).unwrap(), (b"\0\0a".to_vec(), false));
        assert_eq!(inode.read(50, 3).unwrap(), (Vec::new(), true));
        assert_eq!(inode.append(b"de", t(3)).unwrap(), 7);
        assert_eq!(inode.read(5, u64::MAX).unwrap(), (b"bcde".to_vec(), true));
        assert_eq!(inode.mtime, t(3));
        assert_eq!(inode.atime, t(1), "reads do not touch atime (noatime)");
    }

    #[test]
    fn huge_offsets_fail_without_allocating() {
        let mut fs = MemFs::new(t(1));
        let file = fs.new_file(t(1));
        let mut inode = file.borrow_mut();
        assert_eq!(
            inode.write(u64::MAX, b"x", t(2)),
            Err(ErrorCode::FileTooLarge)
        );
        assert_eq!(
            inode.write(MAX_FILE_SIZE, b"x", t(2)),
            Err(ErrorCode::FileTooLarge)
        );
        assert_eq!(
            inode.set_size(MAX_FILE_SIZE + 1, t(2)),
            Err(ErrorCode::FileTooLarge)
        );
        assert_eq!(
            inode.write(u64::MAX, b"", t(2)),
            Ok(0),
            "empty writes never extend"
        );
        assert_eq!(inode.stat().size, 0);
    }

    #[test]
    fn file_contents_are_bounded_by_the_filesystem_limit() {
        let fs = MemFs::with_limits(t(1), 100, 10);
        let mut fs = fs;
        let a = fs.new_file(t(1));
        let b = fs.new_file(t(1));
        assert_eq!(a.borrow_mut().write(0, &[1; 60], t(2)), Ok(60));
        // 60 + 41 > 100: refused whole, nothing written.
        assert_eq!(
            b.borrow_mut().write(0, &[2; 41], t(2)),
            Err(ErrorCode::InsufficientSpace)
        );
        assert_eq!(b.borrow().stat().size, 0);
        assert_eq!(b.borrow_mut().write(0, &[2; 40], t(2)), Ok(40));
        assert_eq!(fs.usage().bytes(), 100);
        // Overwriting in place needs no room; growing by one byte does.
        assert_eq!(a.borrow_mut().write(10, &[3; 50], t(3)), Ok(50));
        assert_eq!(
            a.borrow_mut().write(60, b"x", t(3)),
            Err(ErrorCode::InsufficientSpace)
        );
        assert_eq!(
            a.borrow_mut().set_size(61, t(3)),
            Err(ErrorCode::InsufficientSpace)
        );
        // A zero-filled gap counts too: a write at a far offset is refused before allocating.
        assert_eq!(
            a.borrow_mut().write(1 << 31, b"x", t(3)),
            Err(ErrorCode::InsufficientSpace)
        );
        // Truncating gives bytes back; so does the last reference to a file going away.
        a.borrow_mut().set_size(10, t(4)).unwrap();
        assert_eq!(fs.usage().bytes(), 50);
        drop(b);
        assert_eq!(fs.usage().bytes(), 10);
        assert_eq!(a.borrow_mut().append(&[4; 90], t(5)), Ok(10));
        assert_eq!(fs.usage().bytes(), 100);
    }

    #[test]
    fn entries_and_their_names_are_bounded() {
        let mut fs = MemFs::with_limits(t(1), 1000, 3);
        let root = fs.root().clone();
        for name in ["a", "b", "c"] {
            fs.usage().room_for(1, 1).unwrap();
            let file = fs.new_file(t(1));
            attach(&root, name, file, t(1));
        }
        assert_eq!((fs.usage().entries(), fs.usage().bytes()), (3, 3));
        assert_eq!(fs.usage().room_for(1, 1), Err(ErrorCode::InsufficientSpace));
        detach(&root, "b", t(2)).unwrap();
        assert_eq!((fs.usage().entries(), fs.usage().bytes()), (2, 2));
        assert_eq!(fs.usage().room_for(1, 1), Ok(()));
        // A symbolic link's target counts as bytes.
        assert_eq!(
            fs.new_symlink(&"t".repeat(999), t(2)).err(),
            Some(ErrorCode::InsufficientSpace)
        );
        let link = fs.new_symlink(&"t".repeat(998), t(2)).unwrap();
        assert_eq!(fs.usage().bytes(), 1000);
        drop(link);
        assert_eq!(fs.usage().bytes(), 2);
    }

    #[test]
    fn configured_files_past_the_limit_are_named() {
        let mut fs = MemFs::with_limits(t(1), 16, 4);
        fs.write_file("/d/f", &[0; 10], t(1)).unwrap();
        // `d` and `f` (2 bytes of names) + 10 bytes of contents: 4 bytes are left, and `g`
        // with its contents needs 5.
        let err = fs.write_file("/d/g", &[0; 4], t(1)).unwrap_err();
        assert_eq!(
            err,
            "`/d/g`: the in-memory filesystem is full (at most 16 bytes and 4 entries)"
        );
        fs.write_file("/d/f", &[0; 13], t(1)).unwrap();
        let err = fs.create_dir_all("/x/y/z", t(1)).unwrap_err();
        assert!(err.contains("filesystem is full"), "{err}");
    }

    #[test]
    fn set_size_truncates_and_extends() {
        let mut fs = MemFs::new(t(1));
        let file = fs.new_file(t(1));
        let mut inode = file.borrow_mut();
        inode.write(0, b"hello", t(2)).unwrap();
        inode.set_size(2, t(3)).unwrap();
        assert_eq!(inode.read(0, 10).unwrap().0, b"he");
        inode.set_size(4, t(4)).unwrap();
        assert_eq!(inode.read(0, 10).unwrap().0, b"he\0\0");
        assert_eq!(inode.stat().mtime, t(4));
    }

    #[test]
    fn set_times_keeps_unchanged_and_rejects_bad_nanoseconds() {
        let mut fs = MemFs::new(t(1));
        let file = fs.new_file(t(1));
        let mut inode = file.borrow_mut();
        inode
            .set_times(NewTimestamp::At(t(100)), NewTimestamp::NoChange, t(5))
            .unwrap();
        let stat = inode.stat();
        assert_eq!((stat.atime, stat.mtime, stat.ctime), (t(100), t(1), t(5)));
        inode
            .set_times(NewTimestamp::NoChange, NewTimestamp::Now, t(6))
            .unwrap();
        assert_eq!(inode.stat().mtime, t(6));
        let bad = Timestamp {
            seconds: 1,
            nanoseconds: 1_000_000_000,
        };
        assert_eq!(
            inode.set_times(NewTimestamp::At(bad), NewTimestamp::NoChange, t(7)),
            Err(ErrorCode::Invalid)
        );
        assert_eq!(
            inode.stat().atime,
            t(100),
            "a rejected call changes nothing"
        );
    }

    #[test]
    fn link_counts_inode_numbers_and_directory_links() {
        let mut fs = MemFs::new(t(1));
        let root = fs.root().clone();
        let file = fs.new_file(t(1));
        attach(&root, "a", file.clone(), t(2));
        attach(&root, "b", file.clone(), t(2));
        assert_eq!(file.borrow().stat().link_count, 2);
        let dir = fs.new_dir(t(2));
        attach(&root, "d", dir.clone(), t(2));
        assert_eq!(root.borrow().stat().link_count, 3, "2 + one subdirectory");
        assert_eq!(dir.borrow().stat().link_count, 2);
        assert_ne!(file.borrow().ino, dir.borrow().ino);
        assert_ne!(root.borrow().ino, file.borrow().ino);

        let removed = detach(&root, "a", t(3)).unwrap();
        assert!(Rc::ptr_eq(&removed, &file));
        assert_eq!(file.borrow().stat().link_count, 1);
        assert_eq!(file.borrow().ctime, t(3));
        assert_eq!(root.borrow().mtime, t(3));
        assert!(detach(&root, "a", t(3)).is_none());
    }

    #[test]
    fn contains_finds_descendants_only() {
        let mut fs = MemFs::new(t(1));
        let a = fs.create_dir_all("/a/b/c", t(1)).unwrap();
        let root = fs.root().clone();
        let top = child(&root, "a").unwrap();
        assert!(contains(&top, &a));
        assert!(contains(&top, &top));
        assert!(!contains(&a, &top));
    }

    #[test]
    fn configuration_paths_build_the_tree() {
        let mut fs = MemFs::new(t(1));
        fs.write_file("/data/in.txt", b"hi", t(1)).unwrap();
        fs.create_dir_all("/data/out/", t(1)).unwrap();
        fs.write_file("/top", b"", t(1)).unwrap();
        let data = child(fs.root(), "data").unwrap();
        let file = child(&data, "in.txt").unwrap();
        assert_eq!(file.borrow().read(0, 10).unwrap().0, b"hi");
        assert!(child(&data, "out").unwrap().borrow().is_dir());
        assert!(fs.create_dir_all("relative", t(1)).is_err());
        assert!(fs.write_file("/a/../b", b"", t(1)).is_err());
        assert!(fs.create_dir_all("/data/in.txt/x", t(1)).is_err());
        assert!(
            fs.write_file("/data", b"", t(1)).is_err(),
            "a directory is not a file"
        );
        assert!(fs.write_file("/", b"", t(1)).is_err());
    }
}
