//! A TinyGo-shaped guest driven through the public API only, exactly as the shim drives the
//! host: resolve each import once, check its signature, then `Host::call` with widened args.
//! The call sequence follows `reference/tinygo.md`: prints through
//! `blocking-write-and-flush` in ≤4096-byte chunks, `time.Sleep` as `subscribe-duration` +
//! `pollable.block` with the pollable never dropped, `os.Stdin.Read` as `blocking-read`, then
//! `exit`.

use pollscope_wasi::testing::FakePlatform;
use pollscope_wasi::{
    resolve, Event, GuestMemory, Host, HostConfig, HostFunc, PollableKind, TrapKind, VecMemory,
    WaitReason,
};

struct Guest {
    host: Host,
    memory: VecMemory,
}

impl Guest {
    fn import(&self, interface: &str, name: &str) -> HostFunc {
        resolve(interface, name).unwrap()
    }

    fn call(
        &mut self,
        interface: &str,
        name: &str,
        args: &[i64],
    ) -> Result<i64, pollscope_wasi::Trap> {
        let func = self.import(interface, name);
        self.host.call(func, args, &mut self.memory)
    }

    fn u32_at(&self, ptr: u32) -> u32 {
        let mut b = [0; 4];
        self.memory.read(ptr, &mut b).unwrap();
        u32::from_le_bytes(b)
    }
}

const STREAMS: &str = "wasi:io/streams@0.2.0";

#[test]
fn print_sleep_read_exit() {
    let fake = FakePlatform::new();
    let host = Host::new(HostConfig::new("hello.wasm"), Box::new(fake.clone())).unwrap();
    let mut g = Guest {
        host,
        memory: VecMemory::new(1 << 20),
    };

    let stdout = g.call("wasi:cli/stdout@0.2.0", "get-stdout", &[]).unwrap();
    // fmt.Println of 10 000 bytes: TinyGo hands it over in ≤4096-byte chunks.
    let text: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    g.memory.write(0x1000, &text).unwrap();
    for chunk_start in (0..text.len()).step_by(4096) {
        let len = (text.len() - chunk_start).min(4096);
        let args = [stdout, 0x1000 + chunk_start as i64, len as i64, 0x100];
        g.call(
            STREAMS,
            "[method]output-stream.blocking-write-and-flush",
            &args,
        )
        .unwrap();
        assert_eq!(g.memory.bytes[0x100], 0, "ok");
    }
    assert_eq!(fake.stdout(), text);

    // Three time.Sleep(100ms): one wait each, deadlines 100 ms apart, pollables leaked.
    for i in 1..=3u64 {
        let p = g
            .call(
                "wasi:clocks/monotonic-clock@0.2.0",
                "subscribe-duration",
                &[100_000_000],
            )
            .unwrap();
        g.call("wasi:io/poll@0.2.0", "[method]pollable.block", &[p])
            .unwrap();
        assert_eq!(fake.now(), i * 100_000_000);
    }
    let leaked = g.host.pollables();
    assert_eq!(leaked.len(), 3);
    assert!(leaked
        .iter()
        .all(|p| matches!(p.kind, PollableKind::Timer { .. }) && p.blocked == 1));

    // os.Stdin.Read: the whole module waits until the page sends a line.
    let stdin = g.call("wasi:cli/stdin@0.2.0", "get-stdin", &[]).unwrap();
    fake.script(400_000_000, Event::Stdin(b"gopher\n".to_vec()));
    g.call(
        STREAMS,
        "[method]input-stream.blocking-read",
        &[stdin, 4096, 0x100],
    )
    .unwrap();
    assert_eq!(g.memory.bytes[0x100], 0, "ok");
    let (ptr, len) = (g.u32_at(0x104), g.u32_at(0x108));
    let mut line = vec![0; len as usize];
    g.memory.read(ptr, &mut line).unwrap();
    assert_eq!(line, b"gopher\n");

    let reasons: Vec<WaitReason> = fake.waits().iter().map(|w| w.reason).collect();
    assert_eq!(
        reasons,
        [
            WaitReason::PollableBlock,
            WaitReason::PollableBlock,
            WaitReason::PollableBlock,
            WaitReason::BlockingRead
        ]
    );
    assert_eq!(fake.flushes(), 4, "output flushed before every wait");

    let exit = g.call("wasi:cli/exit@0.2.0", "exit", &[1]).unwrap_err();
    assert_eq!(exit.kind, TrapKind::Exit(1));
    assert_eq!(exit.import.as_deref(), Some("wasi:cli/exit#exit"));
}

#[test]
fn imports_a_tinygo_program_uses_resolve_with_the_documented_signatures() {
    use pollscope_wasi::ValType::*;
    // From reference/tinygo.md, "Canonical ABI reminders".
    let cases: &[(
        &str,
        &str,
        &[pollscope_wasi::ValType],
        &[pollscope_wasi::ValType],
    )] = &[
        ("wasi:clocks/monotonic-clock@0.2.0", "now", &[], &[I64]),
        (
            "wasi:clocks/monotonic-clock@0.2.0",
            "subscribe-duration",
            &[I64],
            &[I32],
        ),
        ("wasi:io/poll@0.2.0", "[method]pollable.block", &[I32], &[]),
        ("wasi:io/poll@0.2.0", "poll", &[I32, I32, I32], &[]),
        (
            STREAMS,
            "[method]input-stream.blocking-read",
            &[I32, I64, I32],
            &[],
        ),
        (
            STREAMS,
            "[method]output-stream.blocking-write-and-flush",
            &[I32, I32, I32, I32],
            &[],
        ),
        ("wasi:clocks/wall-clock@0.2.0", "now", &[I32], &[]),
        ("wasi:cli/environment@0.2.0", "get-arguments", &[I32], &[]),
        ("wasi:cli/environment@0.2.0", "initial-cwd", &[I32], &[]),
    ];
    for &(interface, name, params, results) in cases {
        let func = resolve(interface, name).unwrap();
        assert_eq!(
            (func.params(), func.results()),
            (params, results),
            "{interface}#{name}"
        );
    }
}
