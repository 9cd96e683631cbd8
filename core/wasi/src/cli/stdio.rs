//! `wasi:cli/stdin`, `wasi:cli/stdout`, `wasi:cli/stderr`: streams onto the embedder's console.
//!
//! Stdin is a buffer the host fills from platform events ([`Event::Stdin`](crate::Event));
//! every `get-stdin` handle reads from the same buffer. Stdout and stderr hand bytes to
//! [`Platform::write_output`], which batches them and sends them before every wait.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::io::streams::{
    HostInputStream, HostOutputStream, InputStream, OutputStream, StreamError, BLOCKING_WRITE_LIMIT,
};
use crate::registry::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Platform, Stdio, Trap};

/// Stdin bytes delivered by the embedder and not yet read.
#[derive(Debug, Default)]
pub(crate) struct StdinBuffer {
    data: VecDeque<u8>,
    closed: bool,
}

impl StdinBuffer {
    /// Appends bytes the embedder sent (ignored once stdin is closed).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if !self.closed {
            self.data.extend(bytes);
        }
    }

    /// Bytes waiting to be read.
    #[cfg(test)]
    pub(crate) fn data_len(&self) -> usize {
        self.data.len()
    }

    /// No more bytes will come; reads return `closed` once the buffer is drained.
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }
}

/// An `input-stream` onto the shared stdin buffer.
struct StdinStream(Rc<RefCell<StdinBuffer>>);

impl HostInputStream for StdinStream {
    fn read(&mut self, len: u64) -> Result<Vec<u8>, StreamError> {
        let mut buffer = self.0.borrow_mut();
        if buffer.data.is_empty() && buffer.closed {
            return Err(StreamError::Closed);
        }
        let n = (len.min(buffer.data.len() as u64)) as usize;
        Ok(buffer.data.drain(..n).collect())
    }

    fn ready(&self) -> bool {
        let buffer = self.0.borrow();
        !buffer.data.is_empty() || buffer.closed
    }
}

/// An `output-stream` onto the platform's stdout or stderr.
struct StdioOutput(Stdio);

impl HostOutputStream for StdioOutput {
    fn check_write(&mut self) -> Result<u64, StreamError> {
        // The platform takes every write at once, so the permit never shrinks.
        Ok(BLOCKING_WRITE_LIMIT)
    }

    fn write(&mut self, platform: &mut dyn Platform, bytes: &[u8]) -> Result<(), StreamError> {
        platform.write_output(self.0, bytes);
        Ok(())
    }

    fn flush(&mut self, _: &mut dyn Platform) -> Result<(), StreamError> {
        // The bytes are already the platform's; it sends its batch before every wait and when
        // the guest ends, so a flush per TinyGo print would only defeat the batching.
        Ok(())
    }
}

fn get_stdin(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    let stream = InputStream(Box::new(StdinStream(host.stdin.clone())));
    Ok(i64::from(host.table.push(stream)?))
}

fn get_stdout(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    Ok(i64::from(host.table.push(OutputStream(Box::new(
        StdioOutput(Stdio::Stdout),
    )))?))
}

fn get_stderr(host: &mut Host, _: &mut dyn GuestMemory, _: Args<'_>) -> Result<i64, Trap> {
    Ok(i64::from(host.table.push(OutputStream(Box::new(
        StdioOutput(Stdio::Stderr),
    )))?))
}

/// `wasi:cli/stdin`.
pub(crate) const STDIN: InterfaceDef = InterfaceDef {
    name: "wasi:cli/stdin",
    funcs: &[FuncDef::new("get-stdin", &[], &[I32], get_stdin)],
};

/// `wasi:cli/stdout`.
pub(crate) const STDOUT: InterfaceDef = InterfaceDef {
    name: "wasi:cli/stdout",
    funcs: &[FuncDef::new("get-stdout", &[], &[I32], get_stdout)],
};

/// `wasi:cli/stderr`.
pub(crate) const STDERR: InterfaceDef = InterfaceDef {
    name: "wasi:cli/stderr",
    funcs: &[FuncDef::new("get-stderr", &[], &[I32], get_stderr)],
};

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::testing::{call, host_with, FakePlatform};
    use crate::{Event, Stdio, WaitReason};

    const STREAMS: &str = "wasi:io/streams@0.2.0";

    /// Runs a (blocking-)read of `len` into retptr 0x40; returns Ok(bytes) or Err(case).
    fn read(
        host: &mut crate::Host,
        memory: &mut crate::VecMemory,
        name: &str,
        stdin: i64,
        len: i64,
    ) -> Result<Vec<u8>, u8> {
        call(host, memory, STREAMS, name, &[stdin, len, 0x40]).unwrap();
        let ret = abi::load_record(memory, 0x40, 12, 4, "ret").unwrap();
        match ret.u8(0).unwrap() {
            0 => {
                Ok(abi::lift_bytes(memory, ret.u32(4).unwrap(), ret.u32(8).unwrap(), "b").unwrap())
            }
            _ => Err(ret.u8(4).unwrap()),
        }
    }

    #[test]
    fn blocking_read_resumes_when_stdin_arrives() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdin@0.2.0",
            "get-stdin",
            &[],
        )
        .unwrap();
        fake.script(2_000_000, Event::Stdin(b"hello\nworld".to_vec()));
        fake.script(9_000_000, Event::StdinClosed);
        // Non-blocking read: nothing yet, no wait.
        assert_eq!(
            read(
                &mut host,
                &mut memory,
                "[method]input-stream.read",
                stdin,
                100
            ),
            Ok(vec![])
        );
        assert!(fake.waits().is_empty());
        // Blocking read waits (forever, no timer) until the event at 2 ms.
        let got = read(
            &mut host,
            &mut memory,
            "[method]input-stream.blocking-read",
            stdin,
            6,
        );
        assert_eq!(got, Ok(b"hello\n".to_vec()));
        assert_eq!(fake.now(), 2_000_000);
        let waits = fake.waits();
        assert_eq!(waits.len(), 1);
        assert_eq!(
            (waits[0].deadline, waits[0].reason),
            (None, WaitReason::BlockingRead)
        );
        // A second handle reads the same buffer.
        let again = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdin@0.2.0",
            "get-stdin",
            &[],
        )
        .unwrap();
        assert_ne!(again, stdin);
        assert_eq!(
            read(
                &mut host,
                &mut memory,
                "[method]input-stream.blocking-read",
                again,
                100
            ),
            Ok(b"world".to_vec())
        );
        // Then the close at 9 ms: closed, not an empty read.
        assert_eq!(
            read(
                &mut host,
                &mut memory,
                "[method]input-stream.blocking-read",
                stdin,
                100
            ),
            Err(1)
        );
        assert_eq!(fake.now(), 9_000_000);
        assert_eq!(
            read(
                &mut host,
                &mut memory,
                "[method]input-stream.read",
                stdin,
                100
            ),
            Err(1)
        );
    }

    #[test]
    fn stdout_and_stderr_reach_the_platform_and_flush_before_waits() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let out = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdout@0.2.0",
            "get-stdout",
            &[],
        )
        .unwrap();
        let err = call(
            &mut host,
            &mut memory,
            "wasi:cli/stderr@0.2.0",
            "get-stderr",
            &[],
        )
        .unwrap();
        memory.bytes[0x100..0x105].copy_from_slice(b"hello");
        let bwf = "[method]output-stream.blocking-write-and-flush";
        call(&mut host, &mut memory, STREAMS, bwf, &[out, 0x100, 5, 0x40]).unwrap();
        call(&mut host, &mut memory, STREAMS, bwf, &[err, 0x101, 3, 0x40]).unwrap();
        assert_eq!(memory.bytes[0x40], 0, "ok");
        assert_eq!(fake.stdout(), b"hello");
        assert_eq!(fake.stderr(), b"ell");
        assert_eq!(
            fake.flushes(),
            0,
            "no wait happened, so no flush was needed"
        );
        let p = call(
            &mut host,
            &mut memory,
            "wasi:clocks/monotonic-clock@0.2.0",
            "subscribe-duration",
            &[10],
        )
        .unwrap();
        call(
            &mut host,
            &mut memory,
            "wasi:io/poll@0.2.0",
            "[method]pollable.block",
            &[p],
        )
        .unwrap();
        assert_eq!(fake.flushes(), 1, "output is flushed before the wait");
        assert_eq!(fake.writes(), vec![(Stdio::Stdout, 5), (Stdio::Stderr, 3)]);
    }
}
