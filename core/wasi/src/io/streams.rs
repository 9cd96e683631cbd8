//! `wasi:io/streams`: every import of `input-stream` and `output-stream`, the blocking ones
//! written once on top of "ready + non-blocking" ([`Host::block_until`] between looks), over
//! the stream state in `io/stream.rs`.

use crate::abi::{self, Lowered};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::host::Step;
use crate::io::pollable::{push_pollable, PollableKind};
use crate::io::stream::{
    HostInputStream, HostOutputStream, InputStream, IoError, OutputStream, StreamError,
    BLOCKING_WRITE_LIMIT, MAX_READ,
};
use crate::{GuestBytes, GuestMemory, Host, Trap, WaitReason};

/// The `stream-error` of a failed operation: `closed`, or `last-operation-failed` with a new
/// `own<error>` handle. Returns (case, error handle).
fn lower_stream_error(host: &mut Host, error: StreamError) -> Result<(u8, u32), Trap> {
    Ok(match error {
        StreamError::LastOperationFailed(message) => (0, host.table.push(IoError(message))?),
        StreamError::Closed => (1, 0),
    })
}

/// Reads up to `len` bytes of `stream` straight into a guest list (one allocation, no host
/// buffer where the stream has its bytes already) and stores `result<list<u8>, stream-error>`
/// at `retptr`: tag @0; ok: ptr @4, len @8; err: case @4, error @8.
fn read_into_guest(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    stream: u32,
    len: u64,
    retptr: u32,
) -> Result<i64, Trap> {
    // Check the return pointer before reading, so a bad one traps having taken nothing.
    abi::check_align(retptr, 4, "retptr")?;
    let mut list = (0, 0);
    let result = input(host, stream)?.read_pieces(len.min(MAX_READ), &mut |pieces| {
        const WHAT: &str = "read result list<u8>";
        let total: usize = pieces.iter().map(|piece| piece.len()).sum();
        let ptr = abi::alloc(memory, 1, total as u64, WHAT)?;
        let mut at = ptr;
        for piece in pieces {
            abi::write(memory, at, piece, WHAT)?;
            at += piece.len() as u32;
        }
        list = (ptr, total as u32);
        Ok(())
    })?;
    let mut ret = Lowered::new(12, 4);
    match result {
        Ok(()) => {
            ret.u8(0, 0).ptr_len(4, list);
        }
        Err(error) => {
            let (case, handle) = lower_stream_error(host, error)?;
            ret.u8(0, 1).u8(4, case).u32(8, handle);
        }
    }
    ret.store(memory, retptr, "retptr")?;
    Ok(0)
}

/// Stores `result<u64, stream-error>` at `retptr`: tag @0; ok: u64 @8; err: case @8, error @12.
fn store_u64_result(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    retptr: u32,
    result: Result<u64, StreamError>,
) -> Result<i64, Trap> {
    abi::check_align(retptr, 8, "retptr")?;
    let mut ret = Lowered::new(16, 8);
    match result {
        Ok(n) => ret.u8(0, 0).u64(8, n),
        Err(error) => {
            let (case, handle) = lower_stream_error(host, error)?;
            ret.u8(0, 1).u8(8, case).u32(12, handle)
        }
    };
    ret.store(memory, retptr, "retptr")?;
    Ok(0)
}

/// Stores `result<_, stream-error>` at `retptr`: tag @0; err: case @4, error @8.
fn store_unit_result(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    retptr: u32,
    result: Result<(), StreamError>,
) -> Result<i64, Trap> {
    abi::check_align(retptr, 4, "retptr")?;
    let mut ret = Lowered::new(12, 4);
    if let Err(error) = result {
        let (case, handle) = lower_stream_error(host, error)?;
        ret.u8(0, 1).u8(4, case).u32(8, handle);
    }
    ret.store(memory, retptr, "retptr")?;
    Ok(0)
}

fn input(host: &mut Host, handle: u32) -> Result<&mut dyn HostInputStream, Trap> {
    Ok(&mut *host.table.get_mut::<InputStream>(handle)?.0)
}

fn output(host: &mut Host, handle: u32) -> Result<&mut dyn HostOutputStream, Trap> {
    Ok(&mut *host.table.get_mut::<OutputStream>(handle)?.0)
}

// --- input-stream

fn do_read(host: &mut Host, stream: u32, len: u64) -> Result<Result<Vec<u8>, StreamError>, Trap> {
    Ok(input(host, stream)?.read(len.min(MAX_READ)))
}

/// Waits until `stream` is ready to read (data or an error).
fn wait_readable(host: &mut Host, stream: u32) -> Result<(), Trap> {
    input(host, stream)?; // type check before any wait
    host.block_until(WaitReason::BlockingRead, |host| {
        Ok(if input(host, stream)?.ready() {
            Step::Done(())
        } else {
            Step::Wait(None)
        })
    })
}

fn read(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (stream, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u64(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    host.pump_events();
    read_into_guest(host, memory, stream, len, retptr)
}

fn blocking_read(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (stream, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u64(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    wait_readable(host, stream)?;
    read_into_guest(host, memory, stream, len, retptr)
}

fn skip(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (stream, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u64(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    host.pump_events();
    let result = do_read(host, stream, len)?.map(|bytes| bytes.len() as u64);
    store_u64_result(host, memory, retptr, result)
}

fn blocking_skip(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (stream, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u64(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    wait_readable(host, stream)?;
    let result = do_read(host, stream, len)?.map(|bytes| bytes.len() as u64);
    store_u64_result(host, memory, retptr, result)
}

fn subscribe_input(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let stream = abi::arg_handle(args, 0)?;
    input(host, stream)?;
    let kind = PollableKind::StreamRead(stream);
    let created_by = "wasi:io/streams#[method]input-stream.subscribe";
    Ok(i64::from(push_pollable(
        host,
        kind,
        Some(stream),
        created_by,
    )?))
}

fn drop_input(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    host.table
        .delete::<InputStream>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

// --- output-stream

/// Checks a write of `len` bytes against the stream's permit: more than the permit traps (the
/// WIT's precondition for `write`; wasmtime traps too, "write beyond capacity"). `Ok(Err(_))`
/// is the stream's own error (closed or failed), which the write reports instead.
fn check_permit(
    host: &mut Host,
    stream: u32,
    len: u64,
    op: &str,
) -> Result<Result<(), StreamError>, Trap> {
    let permit = match output(host, stream)?.check_write() {
        Ok(permit) => permit,
        Err(error) => return Ok(Err(error)),
    };
    if len > permit {
        return Err(Trap::abi(format!(
            "{op}: {len} bytes exceed the {permit}-byte permit check-write gave"
        )));
    }
    Ok(Ok(()))
}

/// Writes `bytes` after checking them against the stream's permit (see [`check_permit`]).
fn do_write(
    host: &mut Host,
    stream: u32,
    bytes: &[u8],
    op: &str,
) -> Result<Result<(), StreamError>, Trap> {
    if let Err(error) = check_permit(host, stream, bytes.len() as u64, op)? {
        return Ok(Err(error));
    }
    let OutputStream(out) = host.table.get_mut::<OutputStream>(stream)?;
    Ok(out.write(&mut *host.platform, bytes))
}

/// [`do_write`] of bytes still in guest memory, which the stream copies straight to where they
/// go (see [`HostOutputStream::write_guest`]).
fn do_write_guest(
    host: &mut Host,
    stream: u32,
    bytes: GuestBytes<'_>,
    op: &str,
) -> Result<Result<(), StreamError>, Trap> {
    if let Err(error) = check_permit(host, stream, bytes.len() as u64, op)? {
        return Ok(Err(error));
    }
    let OutputStream(out) = host.table.get_mut::<OutputStream>(stream)?;
    out.write_guest(&mut *host.platform, bytes)
}

/// Waits for a non-zero write permit (or the stream's error).
fn wait_permit(host: &mut Host, stream: u32) -> Result<Result<u64, StreamError>, Trap> {
    output(host, stream)?;
    host.block_until(WaitReason::BlockingWrite, |host| {
        let out = output(host, stream)?;
        if !out.ready() {
            return Ok(Step::Wait(None));
        }
        Ok(match out.check_write() {
            Ok(0) => Step::Wait(None),
            other => Step::Done(other),
        })
    })
}

/// Flushes, then waits until the flush completed (the stream is ready again).
fn flush_and_wait(host: &mut Host, stream: u32) -> Result<Result<(), StreamError>, Trap> {
    let OutputStream(out) = host.table.get_mut::<OutputStream>(stream)?;
    if let Err(error) = out.flush(&mut *host.platform) {
        return Ok(Err(error));
    }
    host.block_until(WaitReason::BlockingWrite, |host| {
        let out = output(host, stream)?;
        if !out.ready() {
            return Ok(Step::Wait(None));
        }
        Ok(Step::Done(out.check_write().map(|_| ())))
    })
}

/// The blocking write-and-flush loop: write in chunks as permits allow, then flush and wait.
fn write_and_flush(
    host: &mut Host,
    stream: u32,
    mut rest: &[u8],
    op: &str,
) -> Result<Result<(), StreamError>, Trap> {
    if rest.len() as u64 > BLOCKING_WRITE_LIMIT {
        return Err(Trap::abi(format!(
            "{op}: {} bytes exceed the {BLOCKING_WRITE_LIMIT}-byte limit per call",
            rest.len()
        )));
    }
    while !rest.is_empty() {
        let permit = match wait_permit(host, stream)? {
            Ok(permit) => permit,
            Err(error) => return Ok(Err(error)),
        };
        let (chunk, tail) = rest.split_at((permit.min(rest.len() as u64)) as usize);
        if let Err(error) = do_write(host, stream, chunk, op)? {
            return Ok(Err(error));
        }
        rest = tail;
    }
    flush_and_wait(host, stream)
}

fn check_write(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (stream, retptr) = (abi::arg_handle(args, 0)?, abi::arg_u32(args, 1)?);
    let result = output(host, stream)?.check_write();
    store_u64_result(host, memory, retptr, result)
}

fn write(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (stream, ptr, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u32(args, 1)?,
        abi::arg_u32(args, 2)?,
        abi::arg_u32(args, 3)?,
    );
    // The permit first: a list longer than it traps before a byte is copied out of the guest
    // (the list can be up to 4 GiB; the permit is at most a few MiB).
    if let Err(error) = check_permit(host, stream, u64::from(len), "write")? {
        return store_unit_result(host, memory, retptr, Err(error));
    }
    let bytes = GuestBytes::new(memory, ptr, len, "write contents");
    let result = do_write_guest(host, stream, bytes, "write")?;
    store_unit_result(host, memory, retptr, result)
}

fn blocking_write_and_flush(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (stream, ptr, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u32(args, 1)?,
        abi::arg_u32(args, 2)?,
        abi::arg_u32(args, 3)?,
    );
    output(host, stream)?;
    let op = "blocking-write-and-flush";
    if u64::from(len) > BLOCKING_WRITE_LIMIT {
        // Refuse before copying a large list out of the guest.
        return Err(Trap::abi(format!(
            "{op}: {len} bytes exceed the {BLOCKING_WRITE_LIMIT}-byte limit per call"
        )));
    }
    let contents = GuestBytes::new(memory, ptr, len, "blocking-write-and-flush contents");
    // The usual case (stdout, stderr, a file): the stream is ready and its permit takes the
    // whole list, which goes to it in one write straight from guest memory. Otherwise the list
    // is lifted first, as before any wait, so that bytes out of bounds trap before anything
    // is written or waited for.
    let out = output(host, stream)?;
    let whole = len > 0 && out.ready() && out.check_write().is_ok_and(|p| p >= u64::from(len));
    let result = if whole {
        match do_write_guest(host, stream, contents, op)? {
            Ok(()) => flush_and_wait(host, stream)?,
            Err(error) => Err(error),
        }
    } else {
        let bytes = contents.lift()?;
        write_and_flush(host, stream, &bytes, op)?
    };
    store_unit_result(host, memory, retptr, result)
}

fn flush(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (stream, retptr) = (abi::arg_handle(args, 0)?, abi::arg_u32(args, 1)?);
    let OutputStream(out) = host.table.get_mut::<OutputStream>(stream)?;
    let result = out.flush(&mut *host.platform);
    store_unit_result(host, memory, retptr, result)
}

fn blocking_flush(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (stream, retptr) = (abi::arg_handle(args, 0)?, abi::arg_u32(args, 1)?);
    let result = flush_and_wait(host, stream)?;
    store_unit_result(host, memory, retptr, result)
}

fn subscribe_output(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let stream = abi::arg_handle(args, 0)?;
    output(host, stream)?;
    let kind = PollableKind::StreamWrite(stream);
    let created_by = "wasi:io/streams#[method]output-stream.subscribe";
    Ok(i64::from(push_pollable(
        host,
        kind,
        Some(stream),
        created_by,
    )?))
}

fn write_zeroes(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (stream, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u64(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    let permit = match output(host, stream)?.check_write() {
        Ok(permit) => permit,
        Err(error) => return store_unit_result(host, memory, retptr, Err(error)),
    };
    if len > permit {
        return Err(Trap::abi(format!(
            "write-zeroes: {len} bytes exceed the {permit}-byte permit check-write gave"
        )));
    }
    // Written in bounded chunks: a large permit must not become a large host buffer.
    let zeroes = vec![0u8; len.min(MAX_READ) as usize];
    let mut left = len;
    let mut result = Ok(());
    while left > 0 && result.is_ok() {
        let n = left.min(zeroes.len() as u64);
        let OutputStream(out) = host.table.get_mut::<OutputStream>(stream)?;
        result = out.write(&mut *host.platform, &zeroes[..n as usize]);
        left -= n;
    }
    store_unit_result(host, memory, retptr, result)
}

fn blocking_write_zeroes_and_flush(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (stream, len, retptr) = (
        abi::arg_handle(args, 0)?,
        abi::arg_u64(args, 1)?,
        abi::arg_u32(args, 2)?,
    );
    output(host, stream)?;
    let op = "blocking-write-zeroes-and-flush";
    if len > BLOCKING_WRITE_LIMIT {
        return Err(Trap::abi(format!(
            "{op}: {len} bytes exceed the {BLOCKING_WRITE_LIMIT}-byte limit per call"
        )));
    }
    let zeroes = vec![0u8; len as usize];
    let result = write_and_flush(host, stream, &zeroes, op)?;
    store_unit_result(host, memory, retptr, result)
}

/// Moves up to `len` bytes from `src` to `dst` without blocking: as many as the output's
/// permit allows and the input has now.
fn do_splice(
    host: &mut Host,
    dst: u32,
    src: u32,
    len: u64,
) -> Result<Result<u64, StreamError>, Trap> {
    let permit = match output(host, dst)?.check_write() {
        Ok(permit) => permit,
        Err(error) => return Ok(Err(error)),
    };
    let len = len.min(permit);
    if len == 0 {
        return Ok(Ok(0));
    }
    let bytes = match do_read(host, src, len)? {
        Ok(bytes) => bytes,
        Err(error) => return Ok(Err(error)),
    };
    let OutputStream(out) = host.table.get_mut::<OutputStream>(dst)?;
    Ok(out
        .write(&mut *host.platform, &bytes)
        .map(|()| bytes.len() as u64))
}

fn splice_args(args: Args<'_>) -> Result<(u32, u32, u64, u32), Trap> {
    Ok((
        abi::arg_handle(args, 0)?,
        abi::arg_handle(args, 1)?,
        abi::arg_u64(args, 2)?,
        abi::arg_u32(args, 3)?,
    ))
}

fn splice(host: &mut Host, memory: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    let (dst, src, len, retptr) = splice_args(args)?;
    input(host, src)?;
    host.pump_events();
    let result = do_splice(host, dst, src, len)?;
    store_u64_result(host, memory, retptr, result)
}

fn blocking_splice(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let (dst, src, len, retptr) = splice_args(args)?;
    input(host, src)?;
    // Output first: its permit bounds the read, and waiting on it never consumes input.
    if let Err(error) = wait_permit(host, dst)? {
        return store_u64_result(host, memory, retptr, Err(error));
    }
    wait_readable(host, src)?;
    let result = do_splice(host, dst, src, len)?;
    store_u64_result(host, memory, retptr, result)
}

fn drop_output(host: &mut Host, _: &mut dyn GuestMemory, args: Args<'_>) -> Result<i64, Trap> {
    host.table
        .delete::<OutputStream>(abi::arg_handle(args, 0)?)?;
    Ok(0)
}

/// `wasi:io/streams`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:io/streams",
    funcs: &[
        FuncDef::new("[resource-drop]input-stream", &[I32], &[], drop_input),
        FuncDef::new("[resource-drop]output-stream", &[I32], &[], drop_output),
        FuncDef::new("[method]input-stream.read", &[I32, I64, I32], &[], read),
        FuncDef::new(
            "[method]input-stream.blocking-read",
            &[I32, I64, I32],
            &[],
            blocking_read,
        )
        .may_wait(),
        FuncDef::new("[method]input-stream.skip", &[I32, I64, I32], &[], skip),
        FuncDef::new(
            "[method]input-stream.blocking-skip",
            &[I32, I64, I32],
            &[],
            blocking_skip,
        )
        .may_wait(),
        FuncDef::new(
            "[method]input-stream.subscribe",
            &[I32],
            &[I32],
            subscribe_input,
        ),
        FuncDef::new(
            "[method]output-stream.check-write",
            &[I32, I32],
            &[],
            check_write,
        ),
        FuncDef::new(
            "[method]output-stream.write",
            &[I32, I32, I32, I32],
            &[],
            write,
        ),
        FuncDef::new(
            "[method]output-stream.blocking-write-and-flush",
            &[I32, I32, I32, I32],
            &[],
            blocking_write_and_flush,
        )
        .may_wait(),
        FuncDef::new("[method]output-stream.flush", &[I32, I32], &[], flush),
        FuncDef::new(
            "[method]output-stream.blocking-flush",
            &[I32, I32],
            &[],
            blocking_flush,
        )
        .may_wait(),
        FuncDef::new(
            "[method]output-stream.subscribe",
            &[I32],
            &[I32],
            subscribe_output,
        ),
        FuncDef::new(
            "[method]output-stream.write-zeroes",
            &[I32, I64, I32],
            &[],
            write_zeroes,
        ),
        FuncDef::new(
            "[method]output-stream.blocking-write-zeroes-and-flush",
            &[I32, I64, I32],
            &[],
            blocking_write_zeroes_and_flush,
        )
        .may_wait(),
        FuncDef::new(
            "[method]output-stream.splice",
            &[I32, I32, I64, I32],
            &[],
            splice,
        ),
        FuncDef::new(
            "[method]output-stream.blocking-splice",
            &[I32, I32, I64, I32],
            &[],
            blocking_splice,
        )
        .may_wait(),
    ],
};

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::testing::{call, host_with, FakePlatform};
    use crate::Platform;
    use crate::{Event, Stdio, VecMemory};

    const S: &str = "wasi:io/streams@0.2.0";

    /// An output stream with a small permit that records each write, and becomes ready only
    /// once the virtual clock reaches `ready_at`.
    struct Sink {
        permit: u64,
        ready_at: u64,
        clock: FakePlatform,
        writes: Rc<RefCell<Vec<Vec<u8>>>>,
        flushes: Rc<RefCell<usize>>,
        fail: Option<StreamError>,
    }

    impl HostOutputStream for Sink {
        fn check_write(&mut self) -> Result<u64, StreamError> {
            match &self.fail {
                Some(error) => Err(error.clone()),
                None if self.ready() => Ok(self.permit),
                None => Ok(0),
            }
        }
        fn write(&mut self, _: &mut dyn Platform, bytes: &[u8]) -> Result<(), StreamError> {
            self.writes.borrow_mut().push(bytes.to_vec());
            Ok(())
        }
        fn flush(&mut self, _: &mut dyn Platform) -> Result<(), StreamError> {
            *self.flushes.borrow_mut() += 1;
            Ok(())
        }
        fn ready(&self) -> bool {
            self.clock.now() >= self.ready_at || self.fail.is_some()
        }
    }

    type Writes = Rc<RefCell<Vec<Vec<u8>>>>;

    fn sink(
        host: &mut Host,
        fake: &FakePlatform,
        permit: u64,
        ready_at: u64,
    ) -> (i64, Writes, Rc<RefCell<usize>>) {
        let writes = Rc::new(RefCell::new(Vec::new()));
        let flushes = Rc::new(RefCell::new(0));
        let stream = Sink {
            permit,
            ready_at,
            clock: fake.clone(),
            writes: writes.clone(),
            flushes: flushes.clone(),
            fail: None,
        };
        let handle = host.table.push(OutputStream(Box::new(stream))).unwrap();
        (handle.into(), writes, flushes)
    }

    /// Decodes `result<_, stream-error>` at 0x40: Ok(()) or Err((case, error handle)).
    fn unit_result(memory: &VecMemory) -> Result<(), (u8, u32)> {
        let ret = abi::load_record(memory, 0x40, 12, 4, "ret").unwrap();
        match ret.u8(0).unwrap() {
            0 => Ok(()),
            _ => Err((ret.u8(4).unwrap(), ret.u32(8).unwrap())),
        }
    }

    /// Decodes `result<u64, stream-error>` at 0x40.
    fn u64_result(memory: &VecMemory) -> Result<u64, (u8, u32)> {
        let ret = abi::load_record(memory, 0x40, 16, 8, "ret").unwrap();
        match ret.u8(0).unwrap() {
            0 => Ok(ret.u64(8).unwrap()),
            _ => Err((ret.u8(8).unwrap(), ret.u32(12).unwrap())),
        }
    }

    fn get(host: &mut Host, memory: &mut VecMemory, which: &str) -> i64 {
        call(
            host,
            memory,
            &format!("wasi:cli/{which}@0.2.0"),
            &format!("get-{which}"),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn stdout_check_write_and_the_4096_byte_limit() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let out = get(&mut host, &mut memory, "stdout");
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.check-write",
            &[out, 0x40],
        )
        .unwrap();
        assert_eq!(u64_result(&memory), Ok(4096));
        let bwf = "[method]output-stream.blocking-write-and-flush";
        call(&mut host, &mut memory, S, bwf, &[out, 0x1000, 4096, 0x40]).unwrap();
        assert_eq!(unit_result(&memory), Ok(()));
        let err = call(&mut host, &mut memory, S, bwf, &[out, 0x1000, 4097, 0x40]).unwrap_err();
        assert!(
            err.to_string()
                .contains("4097 bytes exceed the 4096-byte limit"),
            "{err}"
        );
        let err = call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.write",
            &[out, 0x1000, 4097, 0x40],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("exceed the 4096-byte permit"),
            "{err}"
        );
        memory.bytes[0x1000..0x1003].copy_from_slice(b"abc");
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.write",
            &[out, 0x1000, 3, 0x40],
        )
        .unwrap();
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.blocking-flush",
            &[out, 0x40],
        )
        .unwrap();
        assert_eq!(unit_result(&memory), Ok(()));
        assert_eq!(
            fake.writes(),
            vec![(Stdio::Stdout, 4096), (Stdio::Stdout, 3)]
        );
        assert_eq!(&fake.stdout()[4096..], b"abc");
    }

    #[test]
    fn writes_past_the_permit_trap_before_the_list_is_copied() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let out = get(&mut host, &mut memory, "stdout");
        let write = "[method]output-stream.write";
        // A 4 GiB list at an address far past the test's 64 KiB memory: copying it would trap
        // out of bounds (or, in a big enough memory, allocate 4 GiB first). The permit answers.
        for len in [4097, i64::from(u32::MAX)] {
            let err =
                call(&mut host, &mut memory, S, write, &[out, 0x1000, len, 0x40]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "write: {len} bytes exceed the 4096-byte permit check-write gave \
                     (in wasi:io/streams#[method]output-stream.write)"
                )
            );
        }
        // Within the permit, the list is lifted as usual: out of bounds still traps as such.
        let err = call(&mut host, &mut memory, S, write, &[out, 0xfff0, 0x20, 0x40]).unwrap_err();
        assert!(err.to_string().contains("out-of-bounds"), "{err}");
        assert!(fake.writes().is_empty());

        // A closed stream reports `closed` for any length, without reading the list.
        let (sink, _, _) = sink(&mut host, &fake, 4, 0);
        host.table.get_mut::<OutputStream>(sink as u32).unwrap().0 = Box::new(Sink {
            permit: 4,
            ready_at: 0,
            clock: fake.clone(),
            writes: Rc::default(),
            flushes: Rc::default(),
            fail: Some(StreamError::Closed),
        });
        let huge = i64::from(u32::MAX);
        call(
            &mut host,
            &mut memory,
            S,
            write,
            &[sink, 0x1000, huge, 0x40],
        )
        .unwrap();
        assert_eq!(unit_result(&memory), Err((1, 0)));
    }

    #[test]
    fn blocking_write_is_chunked_by_the_permit_and_waits_for_readiness() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let (out, writes, flushes) = sink(&mut host, &fake, 4, 1_000);
        // The stream's readiness comes with an event at 1 µs (the shim's ring would wake it).
        fake.script(1_000, Event::Stdin(Vec::new()));
        memory.bytes[0x1000..0x100a].copy_from_slice(b"0123456789");
        let bwf = "[method]output-stream.blocking-write-and-flush";
        call(&mut host, &mut memory, S, bwf, &[out, 0x1000, 10, 0x40]).unwrap();
        assert_eq!(unit_result(&memory), Ok(()));
        assert_eq!(
            *writes.borrow(),
            vec![b"0123".to_vec(), b"4567".to_vec(), b"89".to_vec()]
        );
        assert_eq!(*flushes.borrow(), 1);
        let waits = fake.waits();
        assert_eq!(waits.len(), 1);
        assert_eq!(
            (waits[0].reason, waits[0].woke_at),
            (WaitReason::BlockingWrite, 1_000)
        );
        // write-zeroes respects the same permit; the blocking variant chunks.
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.write-zeroes",
            &[out, 4, 0x40],
        )
        .unwrap();
        assert_eq!(unit_result(&memory), Ok(()));
        assert!(call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.write-zeroes",
            &[out, 5, 0x40]
        )
        .is_err());
        let bwz = "[method]output-stream.blocking-write-zeroes-and-flush";
        call(&mut host, &mut memory, S, bwz, &[out, 6, 0x40]).unwrap();
        assert_eq!(writes.borrow()[3..], [vec![0; 4], vec![0; 4], vec![0; 2]]);
        assert!(call(&mut host, &mut memory, S, bwz, &[out, 4097, 0x40]).is_err());
    }

    #[test]
    fn stream_errors_lower_as_closed_or_an_error_resource() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let (out, _, _) = sink(&mut host, &fake, 4, 0);
        host.table.get_mut::<OutputStream>(out as u32).unwrap().0 = Box::new(Sink {
            permit: 4,
            ready_at: 0,
            clock: fake.clone(),
            writes: Rc::default(),
            flushes: Rc::default(),
            fail: Some(StreamError::LastOperationFailed("disk full".into())),
        });
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.check-write",
            &[out, 0x40],
        )
        .unwrap();
        let Err((0, error)) = u64_result(&memory) else {
            panic!("{:?}", u64_result(&memory))
        };
        call(
            &mut host,
            &mut memory,
            "wasi:io/error@0.2.0",
            "[method]error.to-debug-string",
            &[error.into(), 0x80],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x80, 8, 4, "ret").unwrap();
        let text =
            abi::lift_string(&memory, ret.u32(0).unwrap(), ret.u32(4).unwrap(), "s").unwrap();
        assert_eq!(text, "disk full");
        let bwf = "[method]output-stream.blocking-write-and-flush";
        call(&mut host, &mut memory, S, bwf, &[out, 0x1000, 1, 0x40]).unwrap();
        assert!(
            matches!(unit_result(&memory), Err((0, e)) if e != error),
            "a fresh error each time"
        );

        host.table.get_mut::<OutputStream>(out as u32).unwrap().0 = Box::new(Sink {
            permit: 4,
            ready_at: 0,
            clock: fake.clone(),
            writes: Rc::default(),
            flushes: Rc::default(),
            fail: Some(StreamError::Closed),
        });
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.write",
            &[out, 0x1000, 1, 0x40],
        )
        .unwrap();
        assert_eq!(unit_result(&memory), Err((1, 0)));
    }

    #[test]
    fn splice_and_skip_move_what_is_there() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = get(&mut host, &mut memory, "stdin");
        let out = get(&mut host, &mut memory, "stdout");
        fake.script(500, Event::Stdin(b"abcdefgh".to_vec()));
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.splice",
            &[out, stdin, 100, 0x40],
        )
        .unwrap();
        assert_eq!(
            u64_result(&memory),
            Ok(0),
            "non-blocking: nothing there yet"
        );
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.blocking-splice",
            &[out, stdin, 3, 0x40],
        )
        .unwrap();
        assert_eq!(u64_result(&memory), Ok(3));
        assert_eq!(fake.stdout(), b"abc");
        assert_eq!(fake.now(), 500);
        call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.skip",
            &[stdin, 2, 0x40],
        )
        .unwrap();
        assert_eq!(u64_result(&memory), Ok(2));
        call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.blocking-skip",
            &[stdin, 100, 0x40],
        )
        .unwrap();
        assert_eq!(u64_result(&memory), Ok(3));
        fake.script(900, Event::StdinClosed);
        call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.blocking-skip",
            &[stdin, 100, 0x40],
        )
        .unwrap();
        assert_eq!(u64_result(&memory), Err((1, 0)));
        call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.splice",
            &[out, stdin, 1, 0x40],
        )
        .unwrap();
        assert_eq!(u64_result(&memory), Err((1, 0)));
    }

    #[test]
    fn handles_are_type_checked() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = get(&mut host, &mut memory, "stdin");
        let out = get(&mut host, &mut memory, "stdout");
        let err = call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.read",
            &[out, 1, 0x40],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("handle {out} is a OutputStream, not a InputStream (in wasi:io/streams#[method]input-stream.read)")
        );
        let err = call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.subscribe",
            &[stdin],
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a OutputStream"), "{err}");
        assert!(call(
            &mut host,
            &mut memory,
            S,
            "[resource-drop]output-stream",
            &[stdin]
        )
        .is_err());
        assert!(call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.read",
            &[0, 1, 0x40]
        )
        .is_err());
        // A read with a misaligned retptr traps.
        let err = call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.read",
            &[stdin, 1, 0x42],
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("misaligned retptr"), "{err}");
        // Output pollables of an always-ready stream are ready.
        let p = call(
            &mut host,
            &mut memory,
            S,
            "[method]output-stream.subscribe",
            &[out],
        )
        .unwrap();
        assert_eq!(
            call(
                &mut host,
                &mut memory,
                "wasi:io/poll@0.2.0",
                "[method]pollable.ready",
                &[p]
            )
            .unwrap(),
            1
        );
        assert!(call(
            &mut host,
            &mut memory,
            S,
            "[resource-drop]output-stream",
            &[out]
        )
        .is_err());
    }

    #[test]
    fn huge_read_lengths_are_capped() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = get(&mut host, &mut memory, "stdin");
        fake.script(0, Event::Stdin(vec![7; 10]));
        call(
            &mut host,
            &mut memory,
            S,
            "[method]input-stream.blocking-read",
            &[stdin, -1, 0x40],
        )
        .unwrap();
        let ret = abi::load_record(&memory, 0x40, 12, 4, "ret").unwrap();
        assert_eq!((ret.u8(0).unwrap(), ret.u32(8).unwrap()), (0, 10));
    }
}
