//! The trees of the preopens an embedder writes back to disk when the guest ends
//! ([`HostConfig`](crate::HostConfig)'s `Preopen::write_back`): encoded here by the host that
//! ran the guest, decoded by the embedder that applies them (`pollscope run` under its
//! `--dir`s). One format, defined once.
//!
//! Each tree lists its entries parents first, with paths relative to the preopen. A file the
//! configuration preloaded and the guest left alone travels as its origin (its index in
//! `HostConfig::files`), wherever the guest moved it; only files with new contents carry
//! bytes. A second name of one file is a hard link to the first name listed.
//!
//! Wire format (little-endian): `PSPX`, version byte, tree count (u32); per tree the preopen's
//! index (u32) and entry count (u32); per entry a tag byte, the path (u32 length, UTF-8), then
//! by tag: directory nothing, unchanged file its origin (u32), new file its length (u64) and
//! bytes, symbolic link its target (string), hard link the earlier path (string).

use std::collections::HashMap;

use super::memfs::{InodeRef, Node};
use super::state::FsState;

const MAGIC: &[u8; 4] = b"PSPX";
const VERSION: u8 = 1;
const TAG_DIR: u8 = 0;
const TAG_UNCHANGED: u8 = 1;
const TAG_BYTES: u8 = 2;
const TAG_SYMLINK: u8 = 3;
const TAG_HARD_LINK: u8 = 4;

/// The trees handed back, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreopenExport {
    /// One per preopen with `write_back`, in configuration order.
    pub trees: Vec<ExportedTree>,
}

/// One preopen's tree as the guest left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedTree {
    /// The preopen's index in `HostConfig::preopens`.
    pub preopen: u32,
    /// Every entry below the preopen, parents before children.
    pub entries: Vec<ExportedEntry>,
}

/// One entry of an exported tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedEntry {
    /// Relative to the preopen: names joined by `/`, none empty, `.` or `..`.
    pub path: String,
    /// What is there.
    pub kind: ExportedKind,
}

/// What an exported entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportedKind {
    /// A directory.
    Dir,
    /// A preloaded file with its contents unchanged: index in `HostConfig::files`.
    Unchanged(u32),
    /// A file with these contents.
    Bytes(Vec<u8>),
    /// A symbolic link with this target.
    Symlink(String),
    /// Another name of the file listed earlier at this path.
    HardLink(String),
}

/// Encodes the trees of every preopen with `write_back` (see the module comment).
pub(crate) fn encode(fs: &FsState) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    let trees: Vec<(usize, &InodeRef)> = fs
        .preopens
        .iter()
        .enumerate()
        .filter(|(_, preopen)| preopen.config.write_back)
        .map(|(index, preopen)| (index, &preopen.dir))
        .collect();
    put_u32(&mut out, trees.len());
    for (index, root) in trees {
        put_u32(&mut out, index);
        let count_at = out.len();
        put_u32(&mut out, 0);
        let count = encode_tree(root, &mut out);
        out[count_at..count_at + 4].copy_from_slice(&(count as u32).to_le_bytes());
    }
    out
}

/// Appends `root`'s entries, parents first; returns how many. An explicit stack: no depth of
/// tree can overflow the host's call stack.
fn encode_tree(root: &InodeRef, out: &mut Vec<u8>) -> usize {
    let mut count = 0;
    // Inode number → the first path it was listed at (a second name is a hard link).
    let mut first_names: HashMap<u64, String> = HashMap::new();
    let mut pending: Vec<(InodeRef, String)> = vec![(root.clone(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let dir = dir.borrow();
        let Node::Dir(entries) = &dir.node else {
            continue;
        };
        // Reversed onto the stack so siblings come out in name order.
        let mut subdirs = Vec::new();
        for (name, child) in &entries.entries {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let inode = child.borrow();
            count += 1;
            match &inode.node {
                Node::Dir(_) => {
                    put_entry(out, TAG_DIR, &path);
                    subdirs.push((child.clone(), path));
                }
                Node::Symlink(target) => {
                    put_entry(out, TAG_SYMLINK, &path);
                    put_str(out, target);
                }
                Node::File(data) => {
                    if let Some(first) = first_names.get(&inode.ino) {
                        put_entry(out, TAG_HARD_LINK, &path);
                        put_str(out, first);
                        continue;
                    }
                    if inode.links > 1 {
                        first_names.insert(inode.ino, path.clone());
                    }
                    match inode.origin {
                        Some(origin) => {
                            put_entry(out, TAG_UNCHANGED, &path);
                            put_u32(out, origin as usize);
                        }
                        None => {
                            put_entry(out, TAG_BYTES, &path);
                            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
                            out.extend_from_slice(data);
                        }
                    }
                }
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    count
}

fn put_u32(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&(value as u32).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_u32(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn put_entry(out: &mut Vec<u8>, tag: u8, path: &str) {
    out.push(tag);
    put_str(out, path);
}

/// Whether `path` is a relative path of plain names: not empty, no empty, `.` or `..`
/// component, no NUL. Nothing else may leave a preopen when applied below its directory.
pub fn is_plain_relative_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|name| !name.is_empty() && name != "." && name != ".." && !name.contains('\0'))
}

impl PreopenExport {
    /// Decodes what [`Host::export_preopens`](crate::Host::export_preopens) encoded. Whatever
    /// the bytes say, this reads within them and fails with what is wrong and where: a path
    /// that is not plain and relative (see [`is_plain_relative_path`]), a hard link to a path
    /// not listed before, a count or length past the end.
    pub fn decode(bytes: &[u8]) -> Result<PreopenExport, String> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(4)? != MAGIC {
            return Err("not a preopen export (no PSPX header)".into());
        }
        let version = reader.take(1)?[0];
        if version != VERSION {
            return Err(format!(
                "preopen export version {version}, expected {VERSION}"
            ));
        }
        let tree_count = reader.u32()?;
        let mut trees = Vec::new();
        for _ in 0..tree_count {
            let preopen = reader.u32()?;
            let entry_count = reader.u32()?;
            let mut entries = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for _ in 0..entry_count {
                let at = reader.at;
                let tag = reader.take(1)?[0];
                let path = reader.string()?;
                if !is_plain_relative_path(&path) {
                    return Err(format!(
                        "entry at byte {at}: path {path:?} is not plain and relative"
                    ));
                }
                let kind = match tag {
                    TAG_DIR => ExportedKind::Dir,
                    TAG_UNCHANGED => ExportedKind::Unchanged(reader.u32()?),
                    TAG_BYTES => {
                        let len = reader.u64()?;
                        let len =
                            usize::try_from(len).map_err(|_| format!("{path}: length {len}"))?;
                        ExportedKind::Bytes(reader.take(len)?.to_vec())
                    }
                    TAG_SYMLINK => ExportedKind::Symlink(reader.string()?),
                    TAG_HARD_LINK => {
                        let first = reader.string()?;
                        if !seen.contains(&first) {
                            return Err(format!(
                                "{path}: hard link to {first:?}, not listed before"
                            ));
                        }
                        ExportedKind::HardLink(first)
                    }
                    other => return Err(format!("entry at byte {at}: unknown tag {other}")),
                };
                seen.insert(path.clone());
                entries.push(ExportedEntry { path, kind });
            }
            trees.push(ExportedTree { preopen, entries });
        }
        if reader.at != bytes.len() {
            return Err(format!(
                "{} bytes after the last tree",
                bytes.len() - reader.at
            ));
        }
        Ok(PreopenExport { trees })
    }
}

/// Reads within a byte slice, failing with the offset when it would read past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {} (wanted {len} more)", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, String> {
        let at = self.at;
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| format!("string at byte {at} is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::memfs::{attach, Timestamp};
    use crate::{HostConfig, Preopen};

    fn exported(config: &HostConfig, change: impl FnOnce(&mut FsState)) -> PreopenExport {
        let mut fs = FsState::new(config).unwrap();
        change(&mut fs);
        PreopenExport::decode(&encode(&fs)).unwrap()
    }

    fn config() -> HostConfig {
        let mut config = HostConfig::new("t");
        config.preopens = vec![
            Preopen::scratch("/"),
            Preopen {
                name: ".".into(),
                path: "/0".into(),
                writable: true,
                write_back: true,
                symlinks: vec![("sub/up".into(), "..".into())],
            },
        ];
        config.dirs.push("/0/sub".into());
        config.files.push(("/0/a.txt".into(), b"A".to_vec()));
        config.files.push(("/0/sub/b.txt".into(), b"B".to_vec()));
        config.files.push(("/scratch.txt".into(), b"S".to_vec()));
        config
    }

    #[test]
    fn untouched_files_travel_as_their_origin_and_only_write_back_preopens_are_exported() {
        let export = exported(&config(), |_| {});
        assert_eq!(export.trees.len(), 1, "the scratch root is not handed back");
        let tree = &export.trees[0];
        assert_eq!(tree.preopen, 1);
        let listed: Vec<(&str, &ExportedKind)> = tree
            .entries
            .iter()
            .map(|e| (e.path.as_str(), &e.kind))
            .collect();
        assert_eq!(
            listed,
            [
                ("a.txt", &ExportedKind::Unchanged(0)),
                ("sub", &ExportedKind::Dir),
                ("sub/b.txt", &ExportedKind::Unchanged(1)),
                ("sub/up", &ExportedKind::Symlink("..".into())),
            ]
        );
    }

    #[test]
    fn changed_files_carry_bytes_and_moves_keep_their_origin() {
        let now = Timestamp::default();
        let export = exported(&config(), |fs| {
            let root = fs.preopens[1].dir.clone();
            let dir = root.borrow();
            let entries = &dir.dir().unwrap().entries;
            entries["a.txt"].borrow_mut().write(1, b"!", now).unwrap();
            let sub = entries["sub"].clone();
            drop(dir);
            // b.txt moves up, and a new file and a second name of a.txt appear.
            let b = crate::filesystem::memfs::detach(&sub, "b.txt", now).unwrap();
            attach(&root, "moved.txt", b, now);
            let a = root.borrow().dir().unwrap().entries["a.txt"].clone();
            attach(&sub, "again.txt", a, now);
            let new = fs.memfs.new_file(now);
            new.borrow_mut().write(0, b"new", now).unwrap();
            attach(&root, "new.txt", new, now);
        });
        let listed: Vec<(&str, &ExportedKind)> = export.trees[0]
            .entries
            .iter()
            .map(|e| (e.path.as_str(), &e.kind))
            .collect();
        assert_eq!(
            listed,
            [
                ("a.txt", &ExportedKind::Bytes(b"A!".to_vec())),
                ("moved.txt", &ExportedKind::Unchanged(1)),
                ("new.txt", &ExportedKind::Bytes(b"new".to_vec())),
                ("sub", &ExportedKind::Dir),
                ("sub/again.txt", &ExportedKind::HardLink("a.txt".into())),
                ("sub/up", &ExportedKind::Symlink("..".into())),
            ]
        );
    }

    #[test]
    fn hostile_or_broken_bytes_are_refused_with_where() {
        let fs = FsState::new(&config()).unwrap();
        let good = encode(&fs);
        for cut in 0..good.len() {
            assert!(PreopenExport::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(PreopenExport::decode(&trailing)
            .unwrap_err()
            .contains("after the last tree"));

        let one_entry = |tag: u8, path: &str, payload: &[u8]| {
            let mut out = b"PSPX\x01".to_vec();
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.push(tag);
            out.extend_from_slice(&(path.len() as u32).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
            out.extend_from_slice(payload);
            out
        };
        for path in [
            "../escape",
            "/etc/passwd",
            "a/../../b",
            "a//b",
            "",
            ".",
            "a/\0",
        ] {
            let err = PreopenExport::decode(&one_entry(TAG_DIR, path, b"")).unwrap_err();
            assert!(err.contains("not plain and relative"), "{path:?}: {err}");
        }
        let err =
            PreopenExport::decode(&one_entry(TAG_HARD_LINK, "b", b"\x01\0\0\0a")).unwrap_err();
        assert!(err.contains("not listed before"), "{err}");
        let huge = u64::MAX.to_le_bytes();
        assert!(PreopenExport::decode(&one_entry(TAG_BYTES, "f", &huge)).is_err());
        let err = PreopenExport::decode(&one_entry(9, "f", b"")).unwrap_err();
        assert!(err.contains("unknown tag 9"), "{err}");
        assert!(PreopenExport::decode(b"XXXX\x01\0\0\0\0").is_err());
    }
}
