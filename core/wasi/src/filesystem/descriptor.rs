//! The `descriptor` resource: an open file or directory with its flags, and every
//! `[method]descriptor.*` as plain Rust over the in-memory tree (the ABI glue is `types.rs`
//! and `dirs.rs`); and the `directory-entry-stream` resource `read-directory` hands out.
//!
//! Rights follow the WIT: reading or writing a file needs the `read` / `write` flag
//! (`bad-descriptor` otherwise, as POSIX `EBADF`); anything that creates, renames, deletes or
//! changes metadata through a directory needs `mutate-directory` on every directory
//! descriptor involved. Without it the change fails with `not-permitted` before anything
//! else is looked at, exactly as wasmtime answers for a directory whose `DirPerms` lack
//! `MUTATE` (a read-only `--dir`), so a program sees the same error under both hosts. A
//! directory opened from another inherits its `mutate-directory` (asking for it under a
//! read-only one is no error, the bit is just not given), the way wasmtime's directory
//! permissions carry over, so libc code that opens a subdirectory without asking for it can
//! still create files there.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use super::error::ErrorCode;
use super::memfs::{
    attach, contains, detach, DescriptorType, InodeRef, MemFs, NewTimestamp, Node, Stat, Timestamp,
    MAX_FILE_SIZE,
};
use super::path::{resolve, Located};

/// Most bytes one `descriptor.read` copies; bounds the host buffer whatever length the guest
/// asks for (a short read is always allowed).
pub(crate) const MAX_READ: u64 = 16 << 20;

/// `descriptor-flags` (bit order as in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DescriptorFlags(pub u8);

impl DescriptorFlags {
    pub(crate) const READ: u8 = 1 << 0;
    pub(crate) const WRITE: u8 = 1 << 1;
    // Bits 2..=4 ask for synchronized writes (file-integrity, data-integrity, read-sync):
    // writes to memory are synchronous already, so the bits are kept and reported as given.
    pub(crate) const MUTATE_DIRECTORY: u8 = 1 << 5;
    const ALL: u8 = (1 << 6) - 1;

    /// Lifts the flags, ignoring bits past the last one (as the canonical ABI does).
    pub(crate) fn from_bits(bits: u32) -> DescriptorFlags {
        DescriptorFlags(bits as u8 & Self::ALL)
    }

    pub(crate) fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }

    fn any(self, bits: u8) -> bool {
        self.0 & bits != 0
    }
}

/// `open-flags` (bit order as in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct OpenFlags(pub u8);

impl OpenFlags {
    pub(crate) const CREATE: u8 = 1 << 0;
    pub(crate) const DIRECTORY: u8 = 1 << 1;
    pub(crate) const EXCLUSIVE: u8 = 1 << 2;
    pub(crate) const TRUNCATE: u8 = 1 << 3;
    const ALL: u8 = (1 << 4) - 1;

    /// Lifts the flags, ignoring bits past the last one.
    pub(crate) fn from_bits(bits: u32) -> OpenFlags {
        OpenFlags(bits as u8 & Self::ALL)
    }

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// The table entry behind a `descriptor` handle.
#[derive(Debug, Clone)]
pub(crate) struct Descriptor {
    pub inode: InodeRef,
    pub flags: DescriptorFlags,
    /// For a file: whether it was opened through a directory that may change (not below a
    /// read-only preopen). wasmtime's `FilePerms` without `WRITE`: its size and times cannot
    /// change either (`not-permitted`).
    in_writable_tree: bool,
}

/// A 128-bit metadata hash as (lower, upper).
pub(crate) type MetadataHash = (u64, u64);

/// The table entry behind a `directory-entry-stream`: the entries left, snapshotted when
/// `read-directory` was called (as wasmtime does).
pub(crate) struct DirectoryEntryStream(pub(crate) VecDeque<(DescriptorType, String)>);

impl Descriptor {
    /// A descriptor for `inode` with `flags`.
    pub(crate) fn new(inode: InodeRef, flags: DescriptorFlags) -> Descriptor {
        Descriptor {
            inode,
            flags,
            in_writable_tree: true,
        }
    }

    /// `not-permitted` for a file below a read-only preopen (checked first, as wasmtime).
    fn require_writable_tree(&self) -> Result<(), ErrorCode> {
        if self.in_writable_tree {
            Ok(())
        } else {
            Err(ErrorCode::NotPermitted)
        }
    }

    fn dir(&self) -> Result<&InodeRef, ErrorCode> {
        if self.inode.borrow().is_dir() {
            Ok(&self.inode)
        } else {
            Err(ErrorCode::NotDirectory)
        }
    }

    /// The file behind the descriptor, which must carry `flag`. A directory has no data to
    /// read or write: `bad-descriptor`, as wasmtime answers.
    fn file_with(&self, flag: u8) -> Result<&InodeRef, ErrorCode> {
        if self.inode.borrow().is_dir() || !self.flags.contains(flag) {
            return Err(ErrorCode::BadDescriptor);
        }
        Ok(&self.inode)
    }

    /// A directory descriptor that may change what is in it: `not-directory` for a file (as
    /// wasmtime looks up the directory first), `not-permitted` without `mutate-directory`.
    fn require_mutate(&self) -> Result<(), ErrorCode> {
        self.dir()?;
        if self.flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            Ok(())
        } else {
            Err(ErrorCode::NotPermitted)
        }
    }

    fn resolve(&self, path: &str, follow: bool) -> Result<Located, ErrorCode> {
        resolve(self.dir()?, path, follow)
    }

    /// Resolves the entry `path` names itself, for operations on entries (mkdir, rmdir,
    /// unlink, rename, link and symlink targets): a final symbolic link is never followed,
    /// and a trailing slash is left for the caller to check, as Linux does. Following it would let
    /// `rmdir("link/")` remove the link's target.
    fn resolve_entry(&self, path: &str) -> Result<Located, ErrorCode> {
        let trimmed = path.trim_end_matches('/');
        if trimmed.len() == path.len() || trimmed.is_empty() {
            return self.resolve(path, false);
        }
        let mut located = self.resolve(trimmed, false)?;
        located.trailing_slash = true;
        Ok(located)
    }

    /// `get-flags`.
    pub(crate) fn get_flags(&self) -> DescriptorFlags {
        self.flags
    }

    /// `get-type`.
    pub(crate) fn get_type(&self) -> DescriptorType {
        self.inode.borrow().kind()
    }

    /// `stat`.
    pub(crate) fn stat(&self) -> Stat {
        self.inode.borrow().stat()
    }

    /// `advise`: accepted and ignored on files (memory has no access pattern to tune).
    pub(crate) fn advise(&self) -> Result<(), ErrorCode> {
        if self.inode.borrow().is_dir() {
            return Err(ErrorCode::BadDescriptor);
        }
        Ok(())
    }

    /// `read`: up to `len` bytes at `offset` and whether the end of the file was reached.
    pub(crate) fn read(&self, len: u64, offset: u64) -> Result<(Vec<u8>, bool), ErrorCode> {
        let file = self.file_with(DescriptorFlags::READ)?;
        let result = file.borrow().read(offset, len.min(MAX_READ));
        result
    }

    /// `write`: writes all of `bytes` at `offset`; returns the count.
    pub(crate) fn write(
        &self,
        bytes: &[u8],
        offset: u64,
        now: Timestamp,
    ) -> Result<u64, ErrorCode> {
        let file = self.file_with(DescriptorFlags::WRITE)?;
        let result = file.borrow_mut().write(offset, bytes, now);
        result
    }

    /// Whether a `write` of `len` bytes at `offset` can go ahead, checked before the bytes are
    /// copied out of the guest (up to 4 GiB): the descriptor may write, the file stays within
    /// [`MAX_FILE_SIZE`], and the filesystem has room for what it grows by.
    pub(crate) fn check_write(&self, len: u64, offset: u64) -> Result<(), ErrorCode> {
        let file = self.file_with(DescriptorFlags::WRITE)?;
        if len == 0 {
            return Ok(());
        }
        let end = offset
            .checked_add(len)
            .filter(|end| *end <= MAX_FILE_SIZE)
            .ok_or(ErrorCode::FileTooLarge)?;
        let inode = file.borrow();
        inode
            .usage()
            .room_for(0, end.saturating_sub(inode.stat().size))
    }

    /// The inode a read stream may read from.
    pub(crate) fn readable(&self) -> Result<InodeRef, ErrorCode> {
        self.file_with(DescriptorFlags::READ).cloned()
    }

    /// The inode a write or append stream may write to.
    pub(crate) fn writable(&self) -> Result<InodeRef, ErrorCode> {
        self.file_with(DescriptorFlags::WRITE).cloned()
    }

    /// `set-size`.
    pub(crate) fn set_size(&self, size: u64, now: Timestamp) -> Result<(), ErrorCode> {
        self.require_writable_tree()?;
        let file = self.file_with(DescriptorFlags::WRITE)?;
        let result = file.borrow_mut().set_size(size, now);
        result
    }

    /// `set-times`. Changing a directory's own times is a change made through it, so it needs
    /// `mutate-directory`; a file's owner may set them (POSIX `futimens`) unless the file is
    /// below a read-only preopen.
    pub(crate) fn set_times(
        &self,
        atime: NewTimestamp,
        mtime: NewTimestamp,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        if self.inode.borrow().is_dir() {
            self.require_mutate()?;
        } else {
            self.require_writable_tree()?;
        }
        check_times(atime, mtime)?;
        let result = self.inode.borrow_mut().set_times(atime, mtime, now);
        result
    }

    /// `read-directory`: a snapshot of the entries, sorted by name, without `.` and `..`.
    pub(crate) fn read_directory(&self) -> Result<Vec<(DescriptorType, String)>, ErrorCode> {
        let dir = self.dir()?.borrow();
        Ok(dir
            .dir()?
            .entries
            .iter()
            .map(|(name, child)| (child.borrow().kind(), name.clone()))
            .collect())
    }

    /// `create-directory-at`.
    pub(crate) fn create_directory_at(
        &self,
        fs: &mut MemFs,
        path: &str,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        let located = self.resolve_entry(path)?;
        let name = creatable(&located)?;
        room_for_entry(&located.parent, &name)?;
        let dir = fs.new_dir(now);
        attach(&located.parent, &name, dir, now);
        Ok(())
    }

    /// `stat-at`.
    pub(crate) fn stat_at(&self, follow: bool, path: &str) -> Result<Stat, ErrorCode> {
        let node = self.resolve(path, follow)?.existing()?;
        let stat = node.borrow().stat();
        Ok(stat)
    }

    /// `set-times-at`.
    pub(crate) fn set_times_at(
        &self,
        follow: bool,
        path: &str,
        atime: NewTimestamp,
        mtime: NewTimestamp,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        let node = self.resolve(path, follow)?.existing()?;
        check_times(atime, mtime)?;
        let result = node.borrow_mut().set_times(atime, mtime, now);
        result
    }

    /// `link-at`: a new name `new_path` under `new_dir` for the file at `old_path`.
    pub(crate) fn link_at(
        &self,
        follow: bool,
        old_path: &str,
        new_dir: &Descriptor,
        new_path: &str,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        new_dir.require_mutate()?;
        let old = self.resolve(old_path, follow)?.existing()?;
        let new = new_dir.resolve_entry(new_path)?;
        // POSIX forbids hard links to directories (EPERM): they would make cycles.
        if old.borrow().is_dir() {
            return Err(ErrorCode::NotPermitted);
        }
        let name = creatable(&new)?;
        // Linux: a new link named `x/` would have to be a directory (ENOENT).
        if new.trailing_slash {
            return Err(ErrorCode::NoEntry);
        }
        room_for_entry(&new.parent, &name)?;
        attach(&new.parent, &name, old, now);
        Ok(())
    }

    /// `open-at`.
    pub(crate) fn open_at(
        &self,
        fs: &mut MemFs,
        follow: bool,
        path: &str,
        open: OpenFlags,
        flags: DescriptorFlags,
        now: Timestamp,
    ) -> Result<Descriptor, ErrorCode> {
        self.dir()?;
        if flags.any(DescriptorFlags::WRITE) || open.has(OpenFlags::TRUNCATE | OpenFlags::CREATE) {
            self.require_mutate()?;
        }
        // As wasmtime: O_DIRECTORY cannot create, require exclusivity, or truncate.
        if open.has(OpenFlags::DIRECTORY)
            && open.has(OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::TRUNCATE)
        {
            return Err(ErrorCode::Invalid);
        }
        let located = self.resolve(path, follow)?;
        let inode = match located.node {
            Some(node) => {
                if open.has(OpenFlags::CREATE) && open.has(OpenFlags::EXCLUSIVE) {
                    return Err(ErrorCode::Exist);
                }
                node
            }
            None if !open.has(OpenFlags::CREATE) => return Err(ErrorCode::NoEntry),
            // POSIX: creating `name/` asks for a regular file that is a directory (EISDIR).
            None if located.trailing_slash => return Err(ErrorCode::IsDirectory),
            None => {
                let name = creatable(&located)?;
                room_for_entry(&located.parent, &name)?;
                let file = fs.new_file(now);
                attach(&located.parent, &name, file.clone(), now);
                file
            }
        };
        let kind = inode.borrow().kind();
        match kind {
            // Only reached unfollowed: POSIX O_NOFOLLOW on a link fails with ELOOP.
            DescriptorType::SymbolicLink => Err(ErrorCode::Loop),
            DescriptorType::Directory => {
                // Linux: writing, truncating or O_CREAT on an existing directory is EISDIR.
                if flags.any(DescriptorFlags::WRITE)
                    || open.has(OpenFlags::TRUNCATE | OpenFlags::CREATE)
                {
                    return Err(ErrorCode::IsDirectory);
                }
                let inherited = self.flags.0 & DescriptorFlags::MUTATE_DIRECTORY;
                let asked = flags.0 & !DescriptorFlags::MUTATE_DIRECTORY;
                Ok(Descriptor::new(inode, DescriptorFlags(asked | inherited)))
            }
            DescriptorType::RegularFile => {
                if open.has(OpenFlags::DIRECTORY) {
                    return Err(ErrorCode::NotDirectory);
                }
                if open.has(OpenFlags::TRUNCATE) {
                    inode.borrow_mut().set_size(0, now)?;
                }
                // `mutate-directory` "may only be set on directories".
                let flags = DescriptorFlags(flags.0 & !DescriptorFlags::MUTATE_DIRECTORY);
                Ok(Descriptor {
                    inode,
                    flags,
                    in_writable_tree: self.flags.contains(DescriptorFlags::MUTATE_DIRECTORY),
                })
            }
        }
    }

    /// `readlink-at`.
    pub(crate) fn readlink_at(&self, path: &str) -> Result<String, ErrorCode> {
        let node = self.resolve(path, false)?.existing()?;
        let inode = node.borrow();
        match &inode.node {
            // The WIT: contents naming an absolute path fail with `not-permitted`.
            Node::Symlink(target) if target.starts_with('/') => Err(ErrorCode::NotPermitted),
            Node::Symlink(target) => Ok(target.clone()),
            // POSIX readlink on a non-link: EINVAL.
            _ => Err(ErrorCode::Invalid),
        }
    }

    /// `remove-directory-at`.
    pub(crate) fn remove_directory_at(&self, path: &str, now: Timestamp) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        let located = self.resolve_entry(path)?;
        // `.` and `..` name a directory that is in use as a path base (POSIX EINVAL).
        let name = located.name.clone().ok_or(ErrorCode::Invalid)?;
        let node = located.existing()?;
        {
            let inode = node.borrow();
            if !inode.dir()?.entries.is_empty() {
                return Err(ErrorCode::NotEmpty);
            }
        }
        if let Some(removed) = detach(&located.parent, &name, now) {
            // A removed directory may stay open; nothing can be created in it any more.
            removed.borrow_mut().links = 0;
        }
        Ok(())
    }

    /// `rename-at`: moves `old_path` to `new_path` under `new_dir`, replacing a compatible
    /// target as POSIX `rename` does.
    pub(crate) fn rename_at(
        &self,
        old_path: &str,
        new_dir: &Descriptor,
        new_path: &str,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        new_dir.require_mutate()?;
        let old = self.resolve_entry(old_path)?;
        let new = new_dir.resolve_entry(new_path)?;
        let (Some(old_name), Some(new_name)) = (old.name.clone(), new.name.clone()) else {
            return Err(ErrorCode::Invalid);
        };
        let source = old.existing()?;
        let source_is_dir = source.borrow().is_dir();
        if (old.trailing_slash || new.trailing_slash) && !source_is_dir {
            return Err(ErrorCode::NotDirectory);
        }
        if new.parent.borrow().is_removed_dir() {
            return Err(ErrorCode::NoEntry);
        }
        if let Some(target) = &new.node {
            if Rc::ptr_eq(target, &source) {
                // Two names of one inode: POSIX says do nothing and succeed.
                return Ok(());
            }
            let target = target.borrow();
            match (source_is_dir, target.is_dir()) {
                (true, false) => return Err(ErrorCode::NotDirectory),
                (false, true) => return Err(ErrorCode::IsDirectory),
                (true, true) if !target.dir()?.entries.is_empty() => {
                    return Err(ErrorCode::NotEmpty)
                }
                _ => {}
            }
        }
        if source_is_dir && contains(&source, &new.parent) {
            // A directory cannot move below itself (POSIX EINVAL).
            return Err(ErrorCode::Invalid);
        }
        // The entry count does not grow (one name goes, one comes), but a longer name may not
        // fit. Checked before anything moves.
        let longer = (new_name.len() as u64).saturating_sub(old_name.len() as u64);
        new.parent.borrow().usage().room_for(0, longer)?;
        if let Some(replaced) = detach(&new.parent, &new_name, now) {
            if replaced.borrow().is_dir() {
                replaced.borrow_mut().links = 0;
            }
        }
        if let Some(moved) = detach(&old.parent, &old_name, now) {
            attach(&new.parent, &new_name, moved, now);
        }
        Ok(())
    }

    /// `symlink-at`: a link at `new_path` whose contents are `target`.
    pub(crate) fn symlink_at(
        &self,
        fs: &mut MemFs,
        target: &str,
        new_path: &str,
        now: Timestamp,
    ) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        // The WIT: a target starting with `/` fails with `not-permitted`.
        if target.starts_with('/') {
            return Err(ErrorCode::NotPermitted);
        }
        // Linux refuses empty link contents (ENOENT).
        if target.is_empty() {
            return Err(ErrorCode::NoEntry);
        }
        let located = self.resolve_entry(new_path)?;
        let name = creatable(&located)?;
        if located.trailing_slash {
            return Err(ErrorCode::NoEntry);
        }
        room_for_entry(&located.parent, &name)?;
        let link = fs.new_symlink(target, now)?;
        attach(&located.parent, &name, link, now);
        Ok(())
    }

    /// `unlink-file-at`.
    pub(crate) fn unlink_file_at(&self, path: &str, now: Timestamp) -> Result<(), ErrorCode> {
        self.require_mutate()?;
        let located = self.resolve_entry(path)?;
        let node = located.existing()?;
        let Some(name) = located.name.clone() else {
            return Err(ErrorCode::IsDirectory);
        };
        if node.borrow().is_dir() {
            return Err(ErrorCode::IsDirectory);
        }
        if located.trailing_slash {
            return Err(ErrorCode::NotDirectory);
        }
        detach(&located.parent, &name, now);
        Ok(())
    }

    /// `is-same-object`.
    pub(crate) fn is_same_object(&self, other: &Descriptor) -> bool {
        Rc::ptr_eq(&self.inode, &other.inode)
    }

    /// `metadata-hash`.
    pub(crate) fn metadata_hash(&self) -> MetadataHash {
        hash_inode(&self.inode)
    }

    /// `metadata-hash-at`.
    pub(crate) fn metadata_hash_at(
        &self,
        follow: bool,
        path: &str,
    ) -> Result<MetadataHash, ErrorCode> {
        let node = self.resolve(path, follow)?.existing()?;
        Ok(hash_inode(&node))
    }
}

/// The name a new entry gets, or why it cannot be created there.
fn creatable(located: &Located) -> Result<String, ErrorCode> {
    if located.node.is_some() {
        return Err(ErrorCode::Exist);
    }
    // `.` / `..` always exist, so a missing entry has a name.
    let name = located.name.clone().ok_or(ErrorCode::Exist)?;
    if located.parent.borrow().is_removed_dir() {
        return Err(ErrorCode::NoEntry);
    }
    Ok(name)
}

/// Room in the filesystem for one more entry named `name` in `parent`, or `insufficient-space`
/// (checked after permissions, as POSIX reports `EACCES`/`EROFS` before `ENOSPC`).
fn room_for_entry(parent: &InodeRef, name: &str) -> Result<(), ErrorCode> {
    parent.borrow().usage().room_for(1, name.len() as u64)
}

/// Rejects a nanosecond field past one second (POSIX EINVAL) before anything else, so the
/// error wins over `read-only`.
fn check_times(atime: NewTimestamp, mtime: NewTimestamp) -> Result<(), ErrorCode> {
    for new in [atime, mtime] {
        if matches!(new, NewTimestamp::At(t) if t.nanoseconds >= 1_000_000_000) {
            return Err(ErrorCode::Invalid);
        }
    }
    Ok(())
}

/// The WIT asks for a hash of at least the modification time and size; the inode number
/// and status-change time make a replaced file hash differently too.
fn hash_inode(inode: &InodeRef) -> MetadataHash {
    let inode = inode.borrow();
    let stat = inode.stat();
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        (
            salt,
            inode.ino,
            stat.size,
            stat.mtime,
            stat.ctime,
            stat.kind as u8,
        )
            .hash(&mut hasher);
        hasher.finish()
    };
    (half(0), half(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RW: u8 = DescriptorFlags::READ | DescriptorFlags::WRITE;
    const DIR_RW: u8 = DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY;

    fn t(seconds: u64) -> Timestamp {
        Timestamp {
            seconds,
            nanoseconds: 0,
        }
    }

    fn setup() -> (MemFs, Descriptor) {
        let fs = MemFs::new(t(1));
        let root = fs.root().clone();
        (fs, Descriptor::new(root, DescriptorFlags(DIR_RW)))
    }

    fn create(fs: &mut MemFs, dir: &Descriptor, path: &str) -> Descriptor {
        dir.open_at(
            fs,
            false,
            path,
            OpenFlags(OpenFlags::CREATE),
            DescriptorFlags(RW),
            t(2),
        )
        .unwrap()
    }

    fn open(
        fs: &mut MemFs,
        dir: &Descriptor,
        path: &str,
        open: u8,
        flags: u8,
    ) -> Result<Descriptor, ErrorCode> {
        dir.open_at(
            fs,
            true,
            path,
            OpenFlags(open),
            DescriptorFlags(flags),
            t(3),
        )
    }

    fn names(dir: &Descriptor) -> Vec<String> {
        dir.read_directory()
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    }

    #[test]
    fn create_write_read_stat_and_truncate() {
        let (mut fs, root) = setup();
        let file = create(&mut fs, &root, "a.txt");
        assert_eq!(file.write(b"hello world", 0, t(4)).unwrap(), 11);
        assert_eq!(file.write(b"W", 6, t(5)).unwrap(), 1);
        assert_eq!(file.read(5, 6).unwrap(), (b"World".to_vec(), true));
        assert_eq!(file.read(4, 0).unwrap(), (b"hell".to_vec(), false));
        let stat = root.stat_at(false, "a.txt").unwrap();
        assert_eq!(stat.kind, DescriptorType::RegularFile);
        assert_eq!((stat.size, stat.link_count), (11, 1));
        assert_eq!((stat.atime, stat.mtime), (t(2), t(5)));
        let again = open(&mut fs, &root, "a.txt", OpenFlags::TRUNCATE, RW).unwrap();
        assert_eq!(again.stat().size, 0);
        assert!(again.is_same_object(&file));
        assert!(!again.is_same_object(&root));
    }

    #[test]
    fn open_flag_errors() {
        let (mut fs, root) = setup();
        create(&mut fs, &root, "f");
        root.create_directory_at(&mut fs, "d", t(2)).unwrap();
        let excl = OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
        assert_eq!(
            open(&mut fs, &root, "f", excl, RW).unwrap_err(),
            ErrorCode::Exist
        );
        assert_eq!(
            open(&mut fs, &root, "nope", 0, RW).unwrap_err(),
            ErrorCode::NoEntry
        );
        assert_eq!(
            open(&mut fs, &root, "f", OpenFlags::DIRECTORY, 1).unwrap_err(),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            open(&mut fs, &root, "d", 0, RW).unwrap_err(),
            ErrorCode::IsDirectory
        );
        assert_eq!(
            open(&mut fs, &root, "d", OpenFlags::CREATE, 1).unwrap_err(),
            ErrorCode::IsDirectory
        );
        assert_eq!(
            open(
                &mut fs,
                &root,
                "d",
                OpenFlags::DIRECTORY | OpenFlags::CREATE,
                1
            )
            .unwrap_err(),
            ErrorCode::Invalid
        );
        assert_eq!(
            open(&mut fs, &root, "new/", OpenFlags::CREATE, RW).unwrap_err(),
            ErrorCode::IsDirectory
        );
        let dir = open(&mut fs, &root, "d", OpenFlags::DIRECTORY, 1).unwrap();
        assert_eq!(dir.get_type(), DescriptorType::Directory);
        assert!(
            dir.get_flags().contains(DescriptorFlags::MUTATE_DIRECTORY),
            "inherited from the base"
        );
        let file = open(&mut fs, &root, "f", 0, DescriptorFlags::READ).unwrap();
        assert_eq!(
            file.open_at(&mut fs, false, "x", OpenFlags(0), DescriptorFlags(1), t(3))
                .unwrap_err(),
            ErrorCode::NotDirectory
        );
    }

    #[test]
    fn rights_are_enforced() {
        let (mut fs, root) = setup();
        create(&mut fs, &root, "f").write(b"data", 0, t(2)).unwrap();
        let ro = open(&mut fs, &root, "f", 0, DescriptorFlags::READ).unwrap();
        assert_eq!(
            ro.write(b"x", 0, t(3)).unwrap_err(),
            ErrorCode::BadDescriptor
        );
        assert_eq!(ro.set_size(0, t(3)).unwrap_err(), ErrorCode::BadDescriptor);
        assert!(ro.writable().is_err());
        let wo = open(&mut fs, &root, "f", 0, DescriptorFlags::WRITE).unwrap();
        assert_eq!(wo.read(1, 0).unwrap_err(), ErrorCode::BadDescriptor);
        assert_eq!(root.read(1, 0).unwrap_err(), ErrorCode::BadDescriptor);
        assert_eq!(root.advise().unwrap_err(), ErrorCode::BadDescriptor);

        // A directory without mutate-directory (a read-only preopen): every change fails with
        // not-permitted before anything else is looked at, as wasmtime answers.
        let read_only = Descriptor::new(root.inode.clone(), DescriptorFlags(DescriptorFlags::READ));
        let denied = ErrorCode::NotPermitted;
        assert_eq!(
            read_only.create_directory_at(&mut fs, "x", t(3)),
            Err(denied)
        );
        assert_eq!(
            read_only.create_directory_at(&mut fs, "f", t(3)),
            Err(denied)
        );
        assert_eq!(read_only.unlink_file_at("f", t(3)), Err(denied));
        assert_eq!(read_only.unlink_file_at("zz", t(3)), Err(denied));
        assert_eq!(read_only.remove_directory_at("zz", t(3)), Err(denied));
        assert_eq!(read_only.symlink_at(&mut fs, "f", "l", t(3)), Err(denied));
        assert_eq!(read_only.rename_at("f", &read_only, "g", t(3)), Err(denied));
        assert_eq!(read_only.rename_at("f", &root, "g", t(3)), Err(denied));
        assert_eq!(root.rename_at("f", &read_only, "g", t(3)), Err(denied));
        assert_eq!(read_only.link_at(false, "f", &root, "h", t(3)), Err(denied));
        assert_eq!(open(&mut fs, &read_only, "f", 0, RW).unwrap_err(), denied);
        assert_eq!(
            open(&mut fs, &read_only, "new", OpenFlags::CREATE, 1).unwrap_err(),
            denied
        );
        assert_eq!(
            open(&mut fs, &read_only, "f", OpenFlags::TRUNCATE, 1).unwrap_err(),
            denied
        );
        // A file below it: readable, but its size and times cannot change (wasmtime's
        // read-only FilePerms).
        let below = open(&mut fs, &read_only, "f", 0, 1).unwrap();
        assert_eq!(below.read(4, 0).unwrap().0, b"data");
        assert_eq!(below.set_size(0, t(3)), Err(denied));
        assert_eq!(
            below.set_times(NewTimestamp::Now, NewTimestamp::Now, t(3)),
            Err(denied)
        );
        assert_eq!(
            read_only.set_times(NewTimestamp::Now, NewTimestamp::Now, t(3)),
            Err(denied)
        );
        assert_eq!(
            read_only.set_times_at(false, "f", NewTimestamp::Now, NewTimestamp::Now, t(3)),
            Err(denied)
        );
        // Asking for mutate-directory below a read-only directory is no error: it is not given.
        root.create_directory_at(&mut fs, "sub", t(3)).unwrap();
        let sub = read_only
            .open_at(
                &mut fs,
                false,
                "sub",
                OpenFlags(OpenFlags::DIRECTORY),
                DescriptorFlags(DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY),
                t(3),
            )
            .unwrap();
        assert_eq!(sub.get_flags(), DescriptorFlags(DescriptorFlags::READ));
        assert_eq!(sub.create_directory_at(&mut fs, "x", t(3)), Err(denied));
        root.remove_directory_at("sub", t(3)).unwrap();
        assert!(ro
            .set_times(NewTimestamp::Now, NewTimestamp::Now, t(3))
            .is_ok());
        assert_eq!(names(&root), ["f"], "nothing was created");
    }

    #[test]
    fn mkdir_rmdir_readdir() {
        let (mut fs, root) = setup();
        root.create_directory_at(&mut fs, "d", t(2)).unwrap();
        root.create_directory_at(&mut fs, "d/e/", t(2)).unwrap();
        create(&mut fs, &root, "d/file");
        assert_eq!(
            root.create_directory_at(&mut fs, "d", t(2)).unwrap_err(),
            ErrorCode::Exist
        );
        assert_eq!(
            root.create_directory_at(&mut fs, ".", t(2)).unwrap_err(),
            ErrorCode::Exist
        );
        assert_eq!(
            root.create_directory_at(&mut fs, "x/y", t(2)).unwrap_err(),
            ErrorCode::NoEntry
        );
        let d = open(&mut fs, &root, "d", OpenFlags::DIRECTORY, 1).unwrap();
        let entries = d.read_directory().unwrap();
        assert_eq!(
            entries,
            [
                (DescriptorType::Directory, "e".to_string()),
                (DescriptorType::RegularFile, "file".to_string())
            ]
        );
        assert_eq!(root.stat_at(false, "d").unwrap().link_count, 3);
        assert_eq!(
            root.remove_directory_at("d", t(3)).unwrap_err(),
            ErrorCode::NotEmpty
        );
        assert_eq!(
            root.remove_directory_at("d/file", t(3)).unwrap_err(),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            root.remove_directory_at("d/zz", t(3)).unwrap_err(),
            ErrorCode::NoEntry
        );
        assert_eq!(
            root.remove_directory_at(".", t(3)).unwrap_err(),
            ErrorCode::Invalid
        );
        root.remove_directory_at("d/e", t(3)).unwrap();
        root.unlink_file_at("d/file", t(3)).unwrap();
        root.remove_directory_at("d", t(4)).unwrap();
        assert!(names(&root).is_empty());
        // The removed directory is still open: it is empty and nothing can be made in it.
        assert!(d.read_directory().unwrap().is_empty());
        assert_eq!(d.stat().link_count, 0);
        assert_eq!(
            d.create_directory_at(&mut fs, "x", t(5)).unwrap_err(),
            ErrorCode::NoEntry
        );
        assert_eq!(root.stat().mtime, t(4));
    }

    #[test]
    fn unlink_keeps_open_files_and_rejects_directories() {
        let (mut fs, root) = setup();
        let file = create(&mut fs, &root, "f");
        file.write(b"still here", 0, t(2)).unwrap();
        root.create_directory_at(&mut fs, "d", t(2)).unwrap();
        assert_eq!(
            root.unlink_file_at("d", t(3)).unwrap_err(),
            ErrorCode::IsDirectory
        );
        assert_eq!(
            root.unlink_file_at("f/", t(3)).unwrap_err(),
            ErrorCode::NotDirectory
        );
        root.unlink_file_at("f", t(3)).unwrap();
        assert_eq!(root.stat_at(false, "f").unwrap_err(), ErrorCode::NoEntry);
        assert_eq!(file.read(100, 0).unwrap().0, b"still here");
        assert_eq!(file.stat().link_count, 0);
    }

    #[test]
    fn rename_cases() {
        let (mut fs, root) = setup();
        create(&mut fs, &root, "a").write(b"A", 0, t(2)).unwrap();
        create(&mut fs, &root, "b").write(b"B", 0, t(2)).unwrap();
        root.create_directory_at(&mut fs, "d", t(2)).unwrap();
        root.create_directory_at(&mut fs, "d/sub", t(2)).unwrap();
        root.create_directory_at(&mut fs, "full", t(2)).unwrap();
        create(&mut fs, &root, "full/x");

        root.rename_at("a", &root, "b", t(3)).unwrap();
        assert_eq!(names(&root), ["b", "d", "full"]);
        let b = open(&mut fs, &root, "b", 0, 1).unwrap();
        assert_eq!(b.read(9, 0).unwrap().0, b"A", "the target was replaced");

        assert_eq!(
            root.rename_at("nope", &root, "c", t(3)).unwrap_err(),
            ErrorCode::NoEntry
        );
        assert_eq!(
            root.rename_at("b", &root, "d", t(3)).unwrap_err(),
            ErrorCode::IsDirectory
        );
        assert_eq!(
            root.rename_at("d", &root, "b", t(3)).unwrap_err(),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            root.rename_at("d", &root, "full", t(3)).unwrap_err(),
            ErrorCode::NotEmpty
        );
        assert_eq!(
            root.rename_at("d", &root, "d/sub/x", t(3)).unwrap_err(),
            ErrorCode::Invalid
        );
        assert_eq!(
            root.rename_at("b", &root, "..", t(3)).unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            root.rename_at("b", &root, "c/", t(3)).unwrap_err(),
            ErrorCode::NotDirectory
        );

        // Across directory descriptors, and a directory moving with its contents.
        let full = open(&mut fs, &root, "full", OpenFlags::DIRECTORY, 1).unwrap();
        root.rename_at("b", &full, "moved", t(4)).unwrap();
        root.rename_at("d", &full, "dir", t(4)).unwrap();
        assert_eq!(names(&full), ["dir", "moved", "x"]);
        assert!(root.stat_at(false, "full/dir/sub").is_ok());
        assert_eq!(root.stat_at(false, "full").unwrap().link_count, 3);

        // Hard links to one inode: renaming one onto the other does nothing.
        root.link_at(false, "full/x", &root, "x2", t(5)).unwrap();
        root.rename_at("x2", &full, "x", t(5)).unwrap();
        assert_eq!(root.stat_at(false, "x2").unwrap().link_count, 2);
    }

    #[test]
    fn symlinks_and_hard_links() {
        let (mut fs, root) = setup();
        create(&mut fs, &root, "target")
            .write(b"T", 0, t(2))
            .unwrap();
        root.symlink_at(&mut fs, "target", "link", t(2)).unwrap();
        assert_eq!(root.readlink_at("link").unwrap(), "target");
        assert_eq!(root.readlink_at("target").unwrap_err(), ErrorCode::Invalid);
        assert_eq!(root.readlink_at("none").unwrap_err(), ErrorCode::NoEntry);
        assert_eq!(
            root.symlink_at(&mut fs, "/etc/passwd", "abs", t(2))
                .unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            root.symlink_at(&mut fs, "x", "link", t(2)).unwrap_err(),
            ErrorCode::Exist
        );

        let link_stat = root.stat_at(false, "link").unwrap();
        assert_eq!(
            (link_stat.kind, link_stat.size),
            (DescriptorType::SymbolicLink, 6)
        );
        assert_eq!(
            root.stat_at(true, "link").unwrap().kind,
            DescriptorType::RegularFile
        );
        assert_eq!(
            open(&mut fs, &root, "link", 0, 1)
                .unwrap()
                .read(9, 0)
                .unwrap()
                .0,
            b"T"
        );
        assert_eq!(
            root.open_at(
                &mut fs,
                false,
                "link",
                OpenFlags(0),
                DescriptorFlags(1),
                t(3)
            )
            .unwrap_err(),
            ErrorCode::Loop
        );
        // Creating through a dangling link creates its target.
        root.symlink_at(&mut fs, "made", "dangling", t(2)).unwrap();
        open(&mut fs, &root, "dangling", OpenFlags::CREATE, RW).unwrap();
        assert_eq!(
            root.stat_at(false, "made").unwrap().kind,
            DescriptorType::RegularFile
        );
        // A link leading out of the base is refused when followed.
        root.symlink_at(&mut fs, "../outside", "escape", t(2))
            .unwrap();
        assert_eq!(
            root.stat_at(true, "escape").unwrap_err(),
            ErrorCode::NotPermitted
        );

        root.link_at(false, "target", &root, "hard", t(3)).unwrap();
        assert_eq!(root.stat_at(false, "target").unwrap().link_count, 2);
        root.link_at(true, "link", &root, "hard2", t(3)).unwrap();
        assert_eq!(
            root.stat_at(false, "hard2").unwrap().kind,
            DescriptorType::RegularFile
        );
        root.link_at(false, "link", &root, "linkcopy", t(3))
            .unwrap();
        assert_eq!(
            root.stat_at(false, "linkcopy").unwrap().kind,
            DescriptorType::SymbolicLink
        );
        root.create_directory_at(&mut fs, "d", t(3)).unwrap();
        assert_eq!(
            root.link_at(false, "d", &root, "d2", t(3)).unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            root.link_at(false, "target", &root, "hard", t(3))
                .unwrap_err(),
            ErrorCode::Exist
        );
        root.unlink_file_at("link", t(4)).unwrap();
        assert_eq!(root.stat_at(false, "target").unwrap().link_count, 3);
    }

    #[test]
    fn trailing_slashes_never_act_on_a_link_target() {
        let (mut fs, root) = setup();
        root.create_directory_at(&mut fs, "d", t(2)).unwrap();
        create(&mut fs, &root, "f");
        root.symlink_at(&mut fs, "d", "dl", t(2)).unwrap();
        root.symlink_at(&mut fs, "gone", "dangling", t(2)).unwrap();
        let err = |r: Result<(), ErrorCode>| r.unwrap_err();
        assert_eq!(
            err(root.remove_directory_at("dl/", t(3))),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            err(root.unlink_file_at("dl/", t(3))),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            err(root.unlink_file_at("f/", t(3))),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            err(root.rename_at("dl/", &root, "x", t(3))),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            err(root.create_directory_at(&mut fs, "dangling/", t(3))),
            ErrorCode::Exist
        );
        assert_eq!(
            err(root.symlink_at(&mut fs, "f", "new/", t(3))),
            ErrorCode::NoEntry
        );
        assert_eq!(
            err(root.link_at(false, "f", &root, "new/", t(3))),
            ErrorCode::NoEntry
        );
        assert!(
            root.stat_at(false, "d").is_ok(),
            "the link's target is untouched"
        );
        root.create_directory_at(&mut fs, "e/", t(3)).unwrap();
        root.rename_at("e/", &root, "e2/", t(3)).unwrap();
        root.remove_directory_at("e2/", t(3)).unwrap();
        assert_eq!(names(&root), ["d", "dangling", "dl", "f"]);
    }

    #[test]
    fn times_and_hashes() {
        let (mut fs, root) = setup();
        let file = create(&mut fs, &root, "f");
        let before = file.metadata_hash();
        assert_eq!(root.metadata_hash_at(false, "f").unwrap(), before);
        file.write(b"x", 0, t(9)).unwrap();
        assert_ne!(
            file.metadata_hash(),
            before,
            "a write changes size and mtime"
        );
        assert_ne!(before.0, before.1);
        root.set_times_at(
            false,
            "f",
            NewTimestamp::At(t(50)),
            NewTimestamp::At(t(60)),
            t(10),
        )
        .unwrap();
        let stat = file.stat();
        assert_eq!((stat.atime, stat.mtime, stat.ctime), (t(50), t(60), t(10)));
        let bad = NewTimestamp::At(Timestamp {
            seconds: 0,
            nanoseconds: 2_000_000_000,
        });
        assert_eq!(
            root.set_times_at(false, "f", NewTimestamp::NoChange, bad, t(11))
                .unwrap_err(),
            ErrorCode::Invalid
        );
        assert_eq!(
            root.set_times_at(false, "none", NewTimestamp::Now, NewTimestamp::Now, t(11))
                .unwrap_err(),
            ErrorCode::NoEntry
        );
        assert_eq!(file.stat().ctime, t(10));
    }

    #[test]
    fn flags_lift_ignoring_extra_bits() {
        assert_eq!(
            DescriptorFlags::from_bits(0xffff_ffc1).0,
            DescriptorFlags::READ
        );
        assert_eq!(
            OpenFlags::from_bits(0xf0 | OpenFlags::TRUNCATE as u32).0,
            OpenFlags::TRUNCATE
        );
    }
}
