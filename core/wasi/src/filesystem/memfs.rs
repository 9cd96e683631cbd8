//! The in-memory tree behind `wasi:filesystem`: directories, regular files and symbolic links
//! as shared inodes with inode numbers, link counts and timestamps.
//!
//! Inodes are `Rc<RefCell<Inode>>`, so a descriptor or file stream keeps an unlinked file
//! alive, as POSIX does. Directories own their children and nothing points back up, so the
//! tree has no reference cycles; `..` is resolved from the walk's own stack (`path.rs`), which
//! is also what keeps a walk inside its base directory.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::error::ErrorCode;

/// Largest file size. A wasm32 host cannot hold more, and checking it first keeps a write at
/// a huge offset from asking the allocator for it.
pub(crate) const MAX_FILE_SIZE: u64 = 1 << 32;

/// Longest name of one directory entry in bytes (POSIX `NAME_MAX`).
pub(crate) const MAX_NAME_LEN: usize = 255;

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
        let data = self.file_mut()?;
        grow(data, end)?;
        data[offset as usize..end as usize].copy_from_slice(bytes);
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
        let data = self.file_mut()?;
        if size > data.len() as u64 {
            grow(data, size)?;
        } else {
            data.truncate(size as usize);
        }
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

    fn file_mut(&mut self) -> Result<&mut Vec<u8>, ErrorCode> {
        match &mut self.node {
            Node::File(data) => Ok(data),
            Node::Dir(_) => Err(ErrorCode::IsDirectory),
            Node::Symlink(_) => Err(ErrorCode::BadDescriptor),
        }
    }
}

/// Zero-extends `data` to `len` bytes, reporting allocation failure instead of aborting.
fn grow(data: &mut Vec<u8>, len: u64) -> Result<(), ErrorCode> {
    let len = usize::try_from(len).map_err(|_| ErrorCode::FileTooLarge)?;
    if len > data.len() {
        data.try_reserve(len - data.len())
            .map_err(|_| ErrorCode::InsufficientMemory)?;
        data.resize(len, 0);
    }
    Ok(())
}

/// Links `child` into directory `parent` as `name` (which must be free).
pub(crate) fn attach(parent: &InodeRef, name: &str, child: InodeRef, now: Timestamp) {
    {
        let mut child = child.borrow_mut();
        child.links += 1;
        child.touch_changed(now);
    }
    let mut parent = parent.borrow_mut();
    if let Ok(dir) = parent.dir_mut() {
        dir.entries.insert(name.to_string(), child);
    }
    parent.touch_modified(now);
}

/// Unlinks entry `name` from directory `parent` and returns it.
pub(crate) fn detach(parent: &InodeRef, name: &str, now: Timestamp) -> Option<InodeRef> {
    let child = {
        let mut parent = parent.borrow_mut();
        let child = parent.dir_mut().ok()?.entries.remove(name)?;
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
}

impl MemFs {
    /// An empty filesystem whose root was created at `now`.
    pub(crate) fn new(now: Timestamp) -> MemFs {
        let mut fs = MemFs {
            root: Rc::new(RefCell::new(Inode {
                ino: 0,
                links: 0,
                atime: now,
                mtime: now,
                ctime: now,
                node: Node::Dir(Directory::default()),
            })),
            next_ino: 1,
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

    fn new_inode(&mut self, node: Node, now: Timestamp) -> InodeRef {
        Rc::new(RefCell::new(Inode {
            ino: self.alloc_ino(),
            links: 0,
            atime: now,
            mtime: now,
            ctime: now,
            node,
        }))
    }

    /// A new, unlinked, empty regular file.
    pub(crate) fn new_file(&mut self, now: Timestamp) -> InodeRef {
        self.new_inode(Node::File(Vec::new()), now)
    }

    /// A new, unlinked, empty directory.
    pub(crate) fn new_dir(&mut self, now: Timestamp) -> InodeRef {
        self.new_inode(Node::Dir(Directory::default()), now)
    }

    /// A new, unlinked symbolic link to `target`.
    pub(crate) fn new_symlink(&mut self, target: &str, now: Timestamp) -> InodeRef {
        self.new_inode(Node::Symlink(target.to_string()), now)
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
                    let child = self.new_dir(now);
                    attach(&dir, name, child.clone(), now);
                    child
                }
            };
        }
        Ok(dir)
    }

    /// Creates (or replaces the contents of) the file at absolute host-configuration path
    /// `path`, creating missing parent directories.
    pub(crate) fn write_file(
        &mut self,
        path: &str,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<(), String> {
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
                let file = self.new_file(now);
                attach(&dir, name, file.clone(), now);
                file
            }
        };
        let mut inode = file.borrow_mut();
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(format!("`{path}`: larger than {MAX_FILE_SIZE} bytes"));
        }
        match &mut inode.node {
            Node::File(data) => {
                *data = bytes.to_vec();
                Ok(())
            }
            _ => Err(format!("`{path}`: exists and is not a regular file")),
        }
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
