//! `wasi:cli/stdin`, `wasi:cli/stdout`, `wasi:cli/stderr`: streams onto the embedder's console.
//!
//! Stdin is a buffer (`console.rs`) the host fills from platform events
//! ([`Event::Stdin`](crate::Event)); every `get-stdin` handle reads from the same buffer.
//! Stdout and stderr hand bytes to [`Platform::write_output`](crate::Platform::write_output),
//! which batches them and sends them before every wait.

use crate::cli::console::{StdinStream, StdioOutput};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::io::stream::{InputStream, OutputStream};
use crate::{GuestMemory, Host, Stdio, Trap};

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

    /// The guest's stdin handle.
    fn get_stdin(host: &mut crate::Host, memory: &mut crate::VecMemory) -> i64 {
        call(host, memory, "wasi:cli/stdin@0.2.0", "get-stdin", &[]).unwrap()
    }

    #[test]
    fn blocking_read_resumes_when_stdin_arrives() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = get_stdin(&mut host, &mut memory);
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
        let again = get_stdin(&mut host, &mut memory);
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
    fn reads_cross_and_split_delivered_chunks_in_order() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = get_stdin(&mut host, &mut memory);
        // Chunks as the ring delivers them, one per packet; an empty one changes nothing.
        let all: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for range in [0..300, 300..300, 300..301, 301..700, 700..1000] {
            fake.script(10, Event::Stdin(all[range].to_vec()));
        }
        fake.script(20, Event::StdinClosed);
        let (blocking, plain) = (
            "[method]input-stream.blocking-read",
            "[method]input-stream.read",
        );
        let mut got = Vec::new();
        // Within the first chunk, to its end, across three chunks, then the rest whole.
        for (name, len, want) in [
            (blocking, 100, 0..100),
            (plain, 200, 100..300),
            (plain, 101, 300..401),
            (blocking, 2000, 401..1000),
        ] {
            let bytes = read(&mut host, &mut memory, name, stdin, len).unwrap();
            assert_eq!(bytes, all[want], "{name} of {len}");
            got.extend(bytes);
        }
        assert_eq!(got, all);
        assert_eq!(
            read(&mut host, &mut memory, blocking, stdin, 10),
            Err(1),
            "closed once drained"
        );
    }

    #[test]
    fn skip_and_read_share_the_chunks() {
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = get_stdin(&mut host, &mut memory);
        fake.script(10, Event::Stdin(b"abc".to_vec()));
        fake.script(10, Event::Stdin(b"defg".to_vec()));
        call(
            &mut host,
            &mut memory,
            STREAMS,
            "[method]input-stream.blocking-skip",
            &[stdin, 4, 0x40],
        )
        .unwrap();
        assert_eq!(memory.bytes[0x40], 0, "ok");
        assert_eq!(memory.bytes[0x48], 4, "skipped 4");
        assert_eq!(
            read(
                &mut host,
                &mut memory,
                "[method]input-stream.read",
                stdin,
                10
            ),
            Ok(b"efg".to_vec())
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
