//! `wasi:filesystem/types`, the part that takes paths: every `[method]descriptor.*-at`,
//! `read-directory` and the `directory-entry-stream` resource.

use super::descriptor::{DescriptorFlags, DirectoryEntryStream, OpenFlags};
use super::lift::{descriptor, follow, new_timestamp, now, string};
use super::lower::{self, finish, finish_unit, retptr, store_handle, store_hash};
use crate::abi;
use crate::func::Args;
use crate::{GuestMemory, Host, Trap};

pub(super) fn read_directory(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::HANDLE)?;
    let result = match desc.read_directory() {
        Ok(entries) => Ok(host.table.push(DirectoryEntryStream(entries.into()))?),
        Err(code) => Err(code),
    };
    store_handle(memory, ptr, result)
}

pub(super) fn read_directory_entry(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let handle = abi::arg_handle(args, 0)?;
    let ptr = retptr(args, 1, lower::ENTRY)?;
    let next = host
        .table
        .get_mut::<DirectoryEntryStream>(handle)?
        .0
        .pop_front();
    let entry = match next {
        Some((kind, name)) => Some((
            kind,
            abi::lower_string(memory, &name, "directory entry name")?,
        )),
        None => None,
    };
    finish(memory, ptr, lower::ENTRY, Ok(entry), |r, at, entry| {
        if let Some((kind, name)) = entry {
            r.u8(at, 1).u8(at + 4, kind as u8).ptr_len(at + 8, name);
        }
    })
}

pub(super) fn create_directory_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let path = string(memory, args, 1, "path")?;
    let ptr = retptr(args, 3, lower::UNIT)?;
    let now = now(host);
    let result = desc.create_directory_at(&mut host.fs.memfs, &path, now);
    finish_unit(memory, ptr, result)
}

pub(super) fn stat_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let follow = follow(args, 1)?;
    let path = string(memory, args, 2, "path")?;
    let ptr = retptr(args, 4, lower::STAT)?;
    finish(
        memory,
        ptr,
        lower::STAT,
        desc.stat_at(follow, &path),
        lower::stat,
    )
}

pub(super) fn set_times_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let follow = follow(args, 1)?;
    let path = string(memory, args, 2, "path")?;
    let (atime, mtime) = (new_timestamp(args, 4)?, new_timestamp(args, 7)?);
    let ptr = retptr(args, 10, lower::UNIT)?;
    let now = now(host);
    finish_unit(
        memory,
        ptr,
        desc.set_times_at(follow, &path, atime, mtime, now),
    )
}

pub(super) fn link_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let follow = follow(args, 1)?;
    let old_path = string(memory, args, 2, "old path")?;
    let new_dir = descriptor(host, args, 4)?;
    let new_path = string(memory, args, 5, "new path")?;
    let ptr = retptr(args, 7, lower::UNIT)?;
    let now = now(host);
    finish_unit(
        memory,
        ptr,
        desc.link_at(follow, &old_path, &new_dir, &new_path, now),
    )
}

pub(super) fn open_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let follow = follow(args, 1)?;
    let path = string(memory, args, 2, "path")?;
    let open = OpenFlags::from_bits(abi::arg_u32(args, 4)?);
    let flags = DescriptorFlags::from_bits(abi::arg_u32(args, 5)?);
    let ptr = retptr(args, 6, lower::HANDLE)?;
    let now = now(host);
    let result = match desc.open_at(&mut host.fs.memfs, follow, &path, open, flags, now) {
        Ok(opened) => Ok(host.table.push(opened)?),
        Err(code) => Err(code),
    };
    store_handle(memory, ptr, result)
}

pub(super) fn readlink_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let path = string(memory, args, 1, "path")?;
    let ptr = retptr(args, 3, lower::STRING)?;
    let result = match desc.readlink_at(&path) {
        Ok(target) => Ok(abi::lower_string(memory, &target, "readlink-at result")?),
        Err(code) => Err(code),
    };
    finish(memory, ptr, lower::STRING, result, |r, at, target| {
        r.ptr_len(at, target);
    })
}

pub(super) fn remove_directory_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let path = string(memory, args, 1, "path")?;
    let ptr = retptr(args, 3, lower::UNIT)?;
    let now = now(host);
    finish_unit(memory, ptr, desc.remove_directory_at(&path, now))
}

pub(super) fn rename_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let old_path = string(memory, args, 1, "old path")?;
    let new_dir = descriptor(host, args, 3)?;
    let new_path = string(memory, args, 4, "new path")?;
    let ptr = retptr(args, 6, lower::UNIT)?;
    let now = now(host);
    finish_unit(
        memory,
        ptr,
        desc.rename_at(&old_path, &new_dir, &new_path, now),
    )
}

pub(super) fn symlink_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let target = string(memory, args, 1, "old path")?;
    let new_path = string(memory, args, 3, "new path")?;
    let ptr = retptr(args, 5, lower::UNIT)?;
    let now = now(host);
    let result = desc.symlink_at(&mut host.fs.memfs, &target, &new_path, now);
    finish_unit(memory, ptr, result)
}

pub(super) fn unlink_file_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let path = string(memory, args, 1, "path")?;
    let ptr = retptr(args, 3, lower::UNIT)?;
    let now = now(host);
    finish_unit(memory, ptr, desc.unlink_file_at(&path, now))
}

pub(super) fn metadata_hash_at(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let follow = follow(args, 1)?;
    let path = string(memory, args, 2, "path")?;
    let ptr = retptr(args, 4, lower::HASH)?;
    store_hash(memory, ptr, desc.metadata_hash_at(follow, &path))
}

pub(super) fn drop_directory_entry_stream(
    host: &mut Host,
    _: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    host.table
        .delete::<DirectoryEntryStream>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::filesystem::descriptor::DescriptorFlags;
    use crate::filesystem::error::ErrorCode;
    use crate::filesystem::guest::*;
    use crate::filesystem::lower;

    #[test]
    fn error_codes_are_lowered_in_wit_order() {
        let mut g = Guest::new();
        let root = g.root;
        assert_eq!(
            g.open(root, "missing", 0, RW),
            Err(ErrorCode::NoEntry as u8)
        );
        assert_eq!(g.open(root, "missing", 0, RW), Err(20));
        assert_eq!(
            g.stat_at(root, false, "/etc").unwrap_err(),
            31,
            "not-permitted"
        );
        assert_eq!(g.stat_at(root, false, "../x").unwrap_err(), 31);
        assert_eq!(
            g.at("[method]descriptor.create-directory-at", root, "d"),
            Ok(0)
        );
        assert_eq!(
            g.at("[method]descriptor.create-directory-at", root, "d"),
            Err(7),
            "exist"
        );
        g.open(root, "d/f", CREATE, RW).unwrap();
        assert_eq!(
            g.at("[method]descriptor.remove-directory-at", root, "d"),
            Err(25),
            "not-empty"
        );
        assert_eq!(
            g.at("[method]descriptor.unlink-file-at", root, "d"),
            Err(14),
            "is-directory"
        );
        assert_eq!(
            g.at("[method]descriptor.remove-directory-at", root, "d/f"),
            Err(24),
            "not-directory"
        );
        let file = g.open(root, "d/f", 0, DescriptorFlags::READ).unwrap();
        assert_eq!(g.write(file, b"x", 0), Err(3), "bad-descriptor");
        assert_eq!(
            g.at("[method]descriptor.create-directory-at", file, "x"),
            Err(24)
        );
        assert_eq!(
            g.at("[method]descriptor.unlink-file-at", root, "d/f"),
            Ok(0)
        );
        assert_eq!(
            g.at("[method]descriptor.remove-directory-at", root, "d"),
            Ok(0)
        );
        assert_eq!(g.stat_at(root, false, "d").unwrap_err(), 20);
    }

    #[test]
    fn directory_entries_then_none() {
        let mut g = Guest::new();
        let root = g.root;
        g.open(root, "b.txt", CREATE, RW).unwrap();
        g.at("[method]descriptor.create-directory-at", root, "a")
            .unwrap();
        g.call(
            "[method]descriptor.read-directory",
            &[root.into(), RET.into()],
        )
        .unwrap();
        let stream = g.outcome(lower::HANDLE).unwrap();
        let mut seen = Vec::new();
        loop {
            g.call(
                "[method]directory-entry-stream.read-directory-entry",
                &[stream.into(), RET.into()],
            )
            .unwrap();
            let ret = g.ret(20, 4);
            assert_eq!(ret.u8(0).unwrap(), 0);
            if ret.u8(4).unwrap() == 0 {
                break;
            }
            let name = abi::lift_string(&g.memory, ret.u32(12).unwrap(), ret.u32(16).unwrap(), "n")
                .unwrap();
            seen.push((ret.u8(8).unwrap(), name));
        }
        assert_eq!(seen, [(3, "a".to_string()), (6, "b.txt".to_string())]);
        g.call("[resource-drop]directory-entry-stream", &[stream.into()])
            .unwrap();
        let message = g.abi_error(
            "[method]directory-entry-stream.read-directory-entry",
            &[stream.into(), RET.into()],
        );
        assert!(message.starts_with("unknown handle"), "{message}");
        let file = g.open(root, "b.txt", 0, 1).unwrap();
        g.call(
            "[method]descriptor.read-directory",
            &[file.into(), RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::HANDLE), Err(24), "not-directory");
    }

    #[test]
    fn links_renames_times_and_hashes() {
        let mut g = Guest::new();
        let root = g.root;
        let file = g.open(root, "t", CREATE, RW).unwrap();
        g.write(file, b"data", 0).unwrap();
        let [a, al] = g.bytes(b"t");
        let [b, bl] = g.bytes(b"link");
        g.call(
            "[method]descriptor.symlink-at",
            &[root.into(), a, al, b, bl, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::UNIT), Ok(0));
        let [p, l] = g.bytes(b"link");
        g.call(
            "[method]descriptor.readlink-at",
            &[root.into(), p, l, RET.into()],
        )
        .unwrap();
        let ret = g.ret(12, 4);
        assert_eq!(ret.u8(0).unwrap(), 0);
        assert_eq!(
            abi::lift_string(&g.memory, ret.u32(4).unwrap(), ret.u32(8).unwrap(), "s").unwrap(),
            "t"
        );
        assert_eq!(
            g.stat_at(root, false, "link").unwrap().u8(8).unwrap(),
            5,
            "symbolic-link"
        );
        assert_eq!(g.stat_at(root, true, "link").unwrap().u8(8).unwrap(), 6);

        let [o, ol] = g.bytes(b"link");
        let [n, nl] = g.bytes(b"hard");
        g.call(
            "[method]descriptor.link-at",
            &[root.into(), 1, o, ol, root.into(), n, nl, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::UNIT), Ok(0));
        assert_eq!(
            g.stat_at(root, false, "t").unwrap().u64(16).unwrap(),
            2,
            "two links"
        );

        let [o, ol] = g.bytes(b"hard");
        let [n, nl] = g.bytes(b"renamed");
        g.call(
            "[method]descriptor.rename-at",
            &[root.into(), o, ol, root.into(), n, nl, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::UNIT), Ok(0));
        let renamed = g.open(root, "renamed", 0, 1).unwrap();
        assert_eq!(
            g.call(
                "[method]descriptor.is-same-object",
                &[renamed.into(), file.into()]
            ),
            Ok(1)
        );
        assert_eq!(
            g.call(
                "[method]descriptor.is-same-object",
                &[root.into(), file.into()]
            ),
            Ok(0)
        );

        // set-times-at with flattened new-timestamps: atime at 5.000000007, mtime now.
        let [p, l] = g.bytes(b"t");
        g.call(
            "[method]descriptor.set-times-at",
            &[root.into(), 0, p, l, 2, 5, 7, 1, 0, 0, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::UNIT), Ok(0));
        let stat = g.stat_at(root, false, "t").unwrap();
        assert_eq!((stat.u64(40).unwrap(), stat.u32(48).unwrap()), (5, 7));
        assert_eq!(stat.u64(64).unwrap(), 1_700_000_000);
        g.call(
            "[method]descriptor.set-times",
            &[file.into(), 2, 9, 0, 0, 0, 0, RET.into()],
        )
        .unwrap();
        assert_eq!(g.stat_at(root, false, "t").unwrap().u64(40).unwrap(), 9);

        g.call(
            "[method]descriptor.metadata-hash",
            &[file.into(), RET.into()],
        )
        .unwrap();
        let hash = g.ret(24, 8);
        let (lower_half, upper_half) = (hash.u64(8).unwrap(), hash.u64(16).unwrap());
        let [p, l] = g.bytes(b"renamed");
        g.call(
            "[method]descriptor.metadata-hash-at",
            &[root.into(), 0, p, l, RET.into()],
        )
        .unwrap();
        let at = g.ret(24, 8);
        assert_eq!(
            (at.u64(8).unwrap(), at.u64(16).unwrap()),
            (lower_half, upper_half)
        );
        g.write(file, b"more", 4).unwrap();
        g.call(
            "[method]descriptor.metadata-hash",
            &[file.into(), RET.into()],
        )
        .unwrap();
        assert_ne!(g.ret(24, 8).u64(8).unwrap(), lower_half);
    }
}
