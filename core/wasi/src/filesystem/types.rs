//! `wasi:filesystem/types`: lifts each import's flat arguments (`lift.rs`), runs the
//! descriptor operation and lowers its `result<…, error-code>` (`lower.rs`). This file has the
//! descriptor's own data and metadata, its streams, `filesystem-error-code` and the interface
//! table; `dirs.rs` has everything that takes a path, and directory listing.
//!
//! Arguments are lifted first, as the canonical ABI does before the callee runs: a bad
//! handle, string or discriminant traps before anything changes.

use super::descriptor::Descriptor;
use super::dirs;
use super::error::ErrorCode;
use super::lift::{descriptor, new_timestamp, now};
use super::lower::{self, finish, finish_unit, retptr, store_handle, store_hash, Shape};
use super::streams::{FileReader, FileWriter};
use crate::abi;
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::io::stream::{InputStream, IoError, OutputStream};
use crate::{GuestMemory, Host, Trap};

// ---------------------------------------------------------------------------------------------
// Streams

fn read_via_stream(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let offset = abi::arg_u64(args, 1)?;
    let ptr = retptr(args, 2, lower::HANDLE)?;
    let result = match desc.readable() {
        Ok(inode) => Ok(host
            .table
            .push(InputStream(Box::new(FileReader::new(inode, offset))))?),
        Err(code) => Err(code),
    };
    store_handle(memory, ptr, result)
}

fn write_via_stream(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let offset = abi::arg_u64(args, 1)?;
    let ptr = retptr(args, 2, lower::HANDLE)?;
    let result = match desc.writable() {
        Ok(inode) => Ok(host
            .table
            .push(OutputStream(Box::new(FileWriter::at(inode, offset))))?),
        Err(code) => Err(code),
    };
    store_handle(memory, ptr, result)
}

fn append_via_stream(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::HANDLE)?;
    let result = match desc.writable() {
        Ok(inode) => Ok(host
            .table
            .push(OutputStream(Box::new(FileWriter::append(inode))))?),
        Err(code) => Err(code),
    };
    store_handle(memory, ptr, result)
}

// ---------------------------------------------------------------------------------------------
// Descriptor metadata and data

fn advise(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    // offset and length (1, 2) are advisory only.
    abi::arg_case(args, 3, 6, "advice")?;
    let ptr = retptr(args, 4, lower::UNIT)?;
    finish_unit(memory, ptr, desc.advise())
}

/// `sync` and `sync-data`: the tree is the storage, so there is nothing to flush.
fn sync(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::UNIT)?;
    finish_unit(memory, ptr, Ok(()))
}

fn get_flags(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::BYTE)?;
    finish(
        memory,
        ptr,
        lower::BYTE,
        Ok(desc.get_flags()),
        |r, at, flags| {
            r.u8(at, flags.0);
        },
    )
}

fn get_type(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::BYTE)?;
    finish(
        memory,
        ptr,
        lower::BYTE,
        Ok(desc.get_type()),
        |r, at, kind| {
            r.u8(at, kind as u8);
        },
    )
}

fn set_size(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let size = abi::arg_u64(args, 1)?;
    let ptr = retptr(args, 2, lower::UNIT)?;
    let now = now(host);
    finish_unit(memory, ptr, desc.set_size(size, now))
}

fn set_times(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let (atime, mtime) = (new_timestamp(args, 1)?, new_timestamp(args, 4)?);
    let ptr = retptr(args, 7, lower::UNIT)?;
    let now = now(host);
    finish_unit(memory, ptr, desc.set_times(atime, mtime, now))
}

fn read(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let (len, offset) = (abi::arg_u64(args, 1)?, abi::arg_u64(args, 2)?);
    let ptr = retptr(args, 3, lower::READ)?;
    let result = match desc.read(len, offset) {
        Ok((bytes, eof)) => Ok((
            abi::lower_bytes(memory, &bytes, "read result list<u8>")?,
            eof,
        )),
        Err(code) => Err(code),
    };
    finish(memory, ptr, lower::READ, result, |r, at, (list, eof)| {
        r.ptr_len(at, list).u8(at + 8, eof as u8);
    })
}

fn write(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let (data, len) = (abi::arg_u32(args, 1)?, abi::arg_u32(args, 2)?);
    let offset = abi::arg_u64(args, 3)?;
    let ptr = retptr(args, 4, lower::FILESIZE)?;
    let store = |memory: &mut dyn GuestMemory, result| {
        finish(memory, ptr, lower::FILESIZE, result, |r, at, n: u64| {
            r.u64(at, n);
        })
    };
    // A write that cannot succeed (read-only, too large, no room) fails before its buffer is
    // copied out of the guest.
    if let Err(code) = desc.check_write(u64::from(len), offset) {
        return store(memory, Err(code));
    }
    let bytes = abi::lift_bytes(memory, data, len, "write buffer")?;
    let now = now(host);
    store(memory, desc.write(&bytes, offset, now))
}

fn stat(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::STAT)?;
    finish(memory, ptr, lower::STAT, Ok(desc.stat()), lower::stat)
}

fn is_same_object(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (a, b) = (descriptor(host, args, 0)?, descriptor(host, args, 1)?);
    Ok(i64::from(a.is_same_object(&b)))
}

fn metadata_hash(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let desc = descriptor(host, args, 0)?;
    let ptr = retptr(args, 1, lower::HASH)?;
    store_hash(memory, ptr, Ok(desc.metadata_hash()))
}

// ---------------------------------------------------------------------------------------------
// Errors and drops

/// `filesystem-error-code`: the code a file stream's failure carries; `none` for errors from
/// anything else (stdio, sockets).
fn filesystem_error_code(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let error = host.table.get::<IoError>(abi::arg_handle(args, 0)?)?;
    let code = ErrorCode::from_stream_message(&error.0);
    const OPTION: Shape = Shape {
        size: 2,
        align: 1,
        payload: 1,
    };
    let ptr = retptr(args, 1, OPTION)?;
    let mut record = abi::Lowered::new(OPTION.size, OPTION.align);
    if let Some(code) = code {
        record.u8(0, 1).u8(OPTION.payload, code as u8);
    }
    record.store(memory, ptr, "retptr")?;
    Ok(0)
}

fn drop_descriptor(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    host.table.delete::<Descriptor>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

/// `wasi:filesystem/types`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:filesystem/types",
    funcs: &[
        FuncDef::new("[resource-drop]descriptor", &[I32], &[], drop_descriptor),
        FuncDef::new(
            "[resource-drop]directory-entry-stream",
            &[I32],
            &[],
            dirs::drop_directory_entry_stream,
        ),
        FuncDef::new(
            "[method]descriptor.read-via-stream",
            &[I32, I64, I32],
            &[],
            read_via_stream,
        ),
        FuncDef::new(
            "[method]descriptor.write-via-stream",
            &[I32, I64, I32],
            &[],
            write_via_stream,
        ),
        FuncDef::new(
            "[method]descriptor.append-via-stream",
            &[I32, I32],
            &[],
            append_via_stream,
        ),
        FuncDef::new(
            "[method]descriptor.advise",
            &[I32, I64, I64, I32, I32],
            &[],
            advise,
        ),
        FuncDef::new("[method]descriptor.sync-data", &[I32, I32], &[], sync),
        FuncDef::new("[method]descriptor.get-flags", &[I32, I32], &[], get_flags),
        FuncDef::new("[method]descriptor.get-type", &[I32, I32], &[], get_type),
        FuncDef::new(
            "[method]descriptor.set-size",
            &[I32, I64, I32],
            &[],
            set_size,
        ),
        FuncDef::new(
            "[method]descriptor.set-times",
            &[I32, I32, I64, I32, I32, I64, I32, I32],
            &[],
            set_times,
        ),
        FuncDef::new("[method]descriptor.read", &[I32, I64, I64, I32], &[], read),
        FuncDef::new(
            "[method]descriptor.write",
            &[I32, I32, I32, I64, I32],
            &[],
            write,
        ),
        FuncDef::new(
            "[method]descriptor.read-directory",
            &[I32, I32],
            &[],
            dirs::read_directory,
        ),
        FuncDef::new("[method]descriptor.sync", &[I32, I32], &[], sync),
        FuncDef::new(
            "[method]descriptor.create-directory-at",
            &[I32, I32, I32, I32],
            &[],
            dirs::create_directory_at,
        ),
        FuncDef::new("[method]descriptor.stat", &[I32, I32], &[], stat),
        FuncDef::new(
            "[method]descriptor.stat-at",
            &[I32, I32, I32, I32, I32],
            &[],
            dirs::stat_at,
        ),
        FuncDef::new(
            "[method]descriptor.set-times-at",
            &[I32, I32, I32, I32, I32, I64, I32, I32, I64, I32, I32],
            &[],
            dirs::set_times_at,
        ),
        FuncDef::new(
            "[method]descriptor.link-at",
            &[I32, I32, I32, I32, I32, I32, I32, I32],
            &[],
            dirs::link_at,
        ),
        FuncDef::new(
            "[method]descriptor.open-at",
            &[I32, I32, I32, I32, I32, I32, I32],
            &[],
            dirs::open_at,
        ),
        FuncDef::new(
            "[method]descriptor.readlink-at",
            &[I32, I32, I32, I32],
            &[],
            dirs::readlink_at,
        ),
        FuncDef::new(
            "[method]descriptor.remove-directory-at",
            &[I32, I32, I32, I32],
            &[],
            dirs::remove_directory_at,
        ),
        FuncDef::new(
            "[method]descriptor.rename-at",
            &[I32, I32, I32, I32, I32, I32, I32],
            &[],
            dirs::rename_at,
        ),
        FuncDef::new(
            "[method]descriptor.symlink-at",
            &[I32, I32, I32, I32, I32, I32],
            &[],
            dirs::symlink_at,
        ),
        FuncDef::new(
            "[method]descriptor.unlink-file-at",
            &[I32, I32, I32, I32],
            &[],
            dirs::unlink_file_at,
        ),
        FuncDef::new(
            "[method]descriptor.is-same-object",
            &[I32, I32],
            &[I32],
            is_same_object,
        ),
        FuncDef::new(
            "[method]descriptor.metadata-hash",
            &[I32, I32],
            &[],
            metadata_hash,
        ),
        FuncDef::new(
            "[method]descriptor.metadata-hash-at",
            &[I32, I32, I32, I32, I32],
            &[],
            dirs::metadata_hash_at,
        ),
        FuncDef::new(
            "[method]directory-entry-stream.read-directory-entry",
            &[I32, I32],
            &[],
            dirs::read_directory_entry,
        ),
        FuncDef::new(
            "filesystem-error-code",
            &[I32, I32],
            &[],
            filesystem_error_code,
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::descriptor::DescriptorFlags;
    use crate::filesystem::guest::*;
    use crate::filesystem::memfs::MAX_FILE_SIZE;

    #[test]
    fn open_write_read_and_stat_through_the_abi() {
        let mut g = Guest::new();
        let root = g.root;
        let file = g.open(root, "hello.txt", CREATE, RW).unwrap();
        assert_ne!(file, root);
        g.fake.advance(3_000_000_000);
        assert_eq!(g.write(file, b"hi there", 0), Ok(8));
        assert_eq!(g.read(file, 100, 3), Ok((b"there".to_vec(), true)));
        assert_eq!(g.read(file, 2, 0), Ok((b"hi".to_vec(), false)));

        g.call("[method]descriptor.stat", &[file.into(), RET.into()])
            .unwrap();
        let stat = g.ret(104, 8);
        assert_eq!(stat.u8(0).unwrap(), 0);
        assert_eq!(stat.u8(8).unwrap(), 6, "regular-file");
        assert_eq!((stat.u64(16).unwrap(), stat.u64(24).unwrap()), (1, 8));
        assert_eq!(stat.u8(56).unwrap(), 1, "mtime present");
        assert_eq!(
            stat.u64(64).unwrap(),
            1_700_000_003,
            "mtime is the write's wall time"
        );

        g.call("[method]descriptor.get-type", &[file.into(), RET.into()])
            .unwrap();
        assert_eq!(g.outcome(lower::BYTE), Ok(0));
        assert_eq!(g.ret(2, 1).u8(1).unwrap(), 6);
        g.call("[method]descriptor.get-flags", &[file.into(), RET.into()])
            .unwrap();
        assert_eq!(g.ret(2, 1).u8(1).unwrap(), RW);
        g.call("[method]descriptor.set-size", &[file.into(), 2, RET.into()])
            .unwrap();
        assert_eq!(g.outcome(lower::UNIT), Ok(0));
        assert_eq!(
            g.stat_at(root, false, "hello.txt")
                .unwrap()
                .u64(24)
                .unwrap(),
            2
        );
        for name in ["[method]descriptor.sync", "[method]descriptor.sync-data"] {
            g.call(name, &[file.into(), RET.into()]).unwrap();
            assert_eq!(g.outcome(lower::UNIT), Ok(0));
        }
        g.call(
            "[method]descriptor.advise",
            &[file.into(), 0, 10, 1, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::UNIT), Ok(0));
    }

    #[test]
    fn writes_that_cannot_fit_fail_before_the_buffer_is_copied() {
        let mut g = Guest::new();
        let root = g.root;
        let file = g.open(root, "big", CREATE, RW).unwrap();
        let write = |g: &mut Guest, file: u32, ptr: i64, len: i64| {
            g.call(
                "[method]descriptor.write",
                &[file.into(), ptr, len, 0, RET.into()],
            )
            .map(|_| {
                let ret = g.ret(16, 8);
                (ret.u8(0).unwrap(), ret.u8(8).unwrap())
            })
        };
        // 2 GiB from an address past the test's 64 KiB memory: past MAX_FS_BYTES, so the
        // answer is `insufficient-space` and the buffer is never read (it would trap).
        let space = ErrorCode::InsufficientSpace as u8;
        assert_eq!(write(&mut g, file, 0x8000, 1 << 31), Ok((1, space)));
        // A read-only descriptor says so first, whatever the length.
        let ro = g.open(root, "big", 0, DescriptorFlags::READ).unwrap();
        let bad = ErrorCode::BadDescriptor as u8;
        assert_eq!(write(&mut g, ro, 0x8000, 1 << 31), Ok((1, bad)));
        // A write that fits is read as usual: out of bounds traps.
        let err = write(&mut g, file, 0xfff0, 0x20).unwrap_err();
        assert!(err.to_string().contains("out-of-bounds"), "{err}");
    }

    #[test]
    fn file_streams_work_with_wasi_io() {
        let mut g = Guest::new();
        let root = g.root;
        let file = g.open(root, "log", CREATE, RW).unwrap();
        g.call(
            "[method]descriptor.write-via-stream",
            &[file.into(), 0, RET.into()],
        )
        .unwrap();
        let out = g.outcome(lower::HANDLE).unwrap();
        let [p, l] = g.bytes(b"first ");
        g.stream_call(
            "[method]output-stream.blocking-write-and-flush",
            &[out.into(), p, l, RET.into()],
        )
        .unwrap();
        assert_eq!(g.ret(12, 4).u8(0).unwrap(), 0);
        g.call(
            "[method]descriptor.append-via-stream",
            &[file.into(), RET.into()],
        )
        .unwrap();
        let append = g.outcome(lower::HANDLE).unwrap();
        let [p, l] = g.bytes(b"second");
        g.stream_call(
            "[method]output-stream.blocking-write-and-flush",
            &[append.into(), p, l, RET.into()],
        )
        .unwrap();

        g.call(
            "[method]descriptor.read-via-stream",
            &[file.into(), 6, RET.into()],
        )
        .unwrap();
        let input = g.outcome(lower::HANDLE).unwrap();
        g.stream_call(
            "[method]input-stream.blocking-read",
            &[input.into(), 100, RET.into()],
        )
        .unwrap();
        let ret = g.ret(12, 4);
        assert_eq!(ret.u8(0).unwrap(), 0);
        let got =
            abi::lift_bytes(&g.memory, ret.u32(4).unwrap(), ret.u32(8).unwrap(), "r").unwrap();
        assert_eq!(got, b"second");
        g.stream_call(
            "[method]input-stream.blocking-read",
            &[input.into(), 100, RET.into()],
        )
        .unwrap();
        let ret = g.ret(12, 4);
        assert_eq!(
            (ret.u8(0).unwrap(), ret.u8(4).unwrap()),
            (1, 1),
            "closed at the end"
        );

        // A read-only descriptor gives no write stream, and a directory no read stream.
        let ro = g.open(root, "log", 0, DescriptorFlags::READ).unwrap();
        g.call(
            "[method]descriptor.write-via-stream",
            &[ro.into(), 0, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::HANDLE), Err(3));
        g.call(
            "[method]descriptor.read-via-stream",
            &[root.into(), 0, RET.into()],
        )
        .unwrap();
        assert_eq!(g.outcome(lower::HANDLE), Err(3));
        // Streams outlive their descriptor (they share the file, not the handle).
        g.call("[resource-drop]descriptor", &[file.into()]).unwrap();
        g.stream_call("[resource-drop]output-stream", &[out.into()])
            .unwrap();
    }

    #[test]
    fn filesystem_error_code_only_for_filesystem_failures() {
        let mut g = Guest::new();
        let root = g.root;
        let file = g.open(root, "big", CREATE, RW).unwrap();
        g.call(
            "[method]descriptor.write-via-stream",
            &[file.into(), MAX_FILE_SIZE as i64, RET.into()],
        )
        .unwrap();
        let out = g.outcome(lower::HANDLE).unwrap();
        let [p, l] = g.bytes(b"x");
        g.stream_call(
            "[method]output-stream.write",
            &[out.into(), p, l, RET.into()],
        )
        .unwrap();
        let ret = g.ret(12, 4);
        assert_eq!(
            (ret.u8(0).unwrap(), ret.u8(4).unwrap()),
            (1, 0),
            "last-operation-failed"
        );
        let error = ret.u32(8).unwrap();
        g.call("filesystem-error-code", &[error.into(), RET.into()])
            .unwrap();
        assert_eq!(
            (g.ret(2, 1).u8(0).unwrap(), g.ret(2, 1).u8(1).unwrap()),
            (1, 8),
            "file-too-large"
        );

        let foreign = g.host.table.push(IoError("stdout closed".into())).unwrap();
        g.call("filesystem-error-code", &[foreign.into(), RET.into()])
            .unwrap();
        assert_eq!(g.ret(2, 1).u8(0).unwrap(), 0, "none");
        let message = g.abi_error("filesystem-error-code", &[file.into(), RET.into()]);
        assert!(message.contains("not a IoError"), "{message}");
    }

    #[test]
    fn bad_guest_input_traps_without_side_effects() {
        let mut g = Guest::new();
        let root = g.root;
        let message = g.abi_error("[method]descriptor.stat", &[99, RET.into()]);
        assert_eq!(message, "unknown handle 99");
        g.call(
            "[method]descriptor.read-directory",
            &[root.into(), RET.into()],
        )
        .unwrap();
        let stream = g.outcome(lower::HANDLE).unwrap();
        let message = g.abi_error("[method]descriptor.stat", &[stream.into(), RET.into()]);
        assert!(message.contains("not a Descriptor"), "{message}");

        let [p, l] = g.bytes(&[b'a', 0xff]);
        let message = g.abi_error(
            "[method]descriptor.create-directory-at",
            &[root.into(), p, l, RET.into()],
        );
        assert!(message.contains("invalid utf-8"), "{message}");
        let [p, l] = g.bytes(b"newfile");
        let args = [root.into(), 0, p, l, CREATE.into(), RW.into(), 0x42];
        let message = g.abi_error("[method]descriptor.open-at", &args);
        assert!(message.contains("misaligned"), "{message}");
        let created = g.stat_at(root, false, "newfile");
        assert_eq!(created.unwrap_err(), 20, "nothing was created");

        let message = g.abi_error(
            "[method]descriptor.set-times",
            &[root.into(), 3, 0, 0, 0, 0, 0, RET.into()],
        );
        assert!(message.contains("new-timestamp"), "{message}");
        let file = g.open(root, "f", CREATE, RW).unwrap();
        let message = g.abi_error(
            "[method]descriptor.advise",
            &[file.into(), 0, 0, 6, RET.into()],
        );
        assert!(message.contains("advice"), "{message}");
        let [p, _] = g.bytes(b"x");
        let message = g.abi_error(
            "[method]descriptor.write",
            &[file.into(), p, 1 << 20, 0, RET.into()],
        );
        assert!(message.contains("out-of-bounds"), "{message}");

        g.call("[resource-drop]descriptor", &[file.into()]).unwrap();
        let message = g.abi_error("[method]descriptor.get-flags", &[file.into(), RET.into()]);
        assert!(message.starts_with("unknown handle"), "{message}");
        let message = g.abi_error("[resource-drop]descriptor", &[file.into()]);
        assert!(message.starts_with("unknown handle"), "{message}");
    }
}
