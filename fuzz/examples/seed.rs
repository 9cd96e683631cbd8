//! Writes the seed corpora, `fuzz/corpus/<target>/seed-*`, from the repository's fixtures:
//! small real inputs in each target's input format (see the targets' docs), which the
//! fuzzer then mutates. Run from `fuzz/` after `cargo xtask fixtures`:
//!
//! ```sh
//! cargo run --example seed
//! ```
//!
//! Seeds are rewritten, never deleted: what the fuzzer added to the corpus stays.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pollscope_fuzz::{sections, DWARF_SECTIONS};
use pollscope_protocol::*;
use pollscope_ring::{init, layout, total_bytes, AtomicMemory, Config, SharedMemory};

fn main() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = fuzz.parent().expect("fuzz/ is in the repository");
    let mut seeds = Seeds {
        dir: fuzz.join("corpus"),
        written: 0,
    };
    component(&mut seeds, root);
    protocol(&mut seeds);
    tinygo(&mut seeds, root);
    ring(&mut seeds);
    wasi(&mut seeds);
    println!(
        "wrote {} seeds under {}",
        seeds.written,
        seeds.dir.display()
    );
}

struct Seeds {
    dir: PathBuf,
    written: usize,
}

impl Seeds {
    fn write(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.dir.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        self.written += 1;
    }
}

/// The plan tests' WAT components, the CLI's bad-input fixtures and the TinyGo-shaped
/// components (`cargo xtask fixtures`).
fn component(seeds: &mut Seeds, root: &Path) {
    let wat_dir = root.join("core/component/tests/fixtures");
    for entry in std::fs::read_dir(&wat_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wat") {
            let bytes = wat::parse_file(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy();
            seeds.write("component_translate", &format!("{name}.wasm"), &bytes);
        }
    }
    for name in ["core_module", "missing_imports"] {
        let path = root.join(format!("cli/tests/e2e/fixtures/{name}.wasm"));
        seeds.write(
            "component_translate",
            &format!("cli-{name}.wasm"),
            &std::fs::read(path).unwrap(),
        );
    }
    for name in ["tinygo_sleepers", "tinygo_sleepers_nodebug"] {
        let path = root.join(format!("target/fixtures/{name}.wasm"));
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask fixtures`)", path.display()));
        seeds.write("component_translate", &format!("{name}.wasm"), &bytes);
    }
}

/// Every command as ring bytes and as JSON, and one message of every `FromWasm` type.
fn protocol(seeds: &mut Seeds) {
    let controls = [
        Control::Pause,
        Control::Resume,
        Control::Step,
        Control::TimeScale(0.5),
        Control::Subscribe {
            detail: true,
            replay: false,
        },
        Control::Unsubscribe,
        Control::Snapshot,
        Control::Restart,
    ];
    for control in controls {
        seeds.write(
            "protocol_decode",
            &format!("ring-{}", control.name()),
            &control.encode(),
        );
    }
    let to_wasm = [
        ToWasm::Pause,
        ToWasm::Step,
        ToWasm::TimeScale { scale: 0.25 },
        ToWasm::Subscribe {
            detail: true,
            replay: false,
        },
        ToWasm::Stdin {
            data: b"hi\n".to_vec(),
        },
        ToWasm::CloseStdin,
        ToWasm::RecordAsyncify { on: true },
    ];
    for (i, message) in to_wasm.iter().enumerate() {
        let json = encode_json(message).unwrap();
        seeds.write(
            "protocol_decode",
            &format!("to-wasm-{i}.json"),
            json.as_bytes(),
        );
    }
    let pollable = Pollable {
        handle: 3,
        kind: PollableKind::Timer { deadline: 9 },
        created_by: "wasi:clocks/monotonic-clock#subscribe-duration".into(),
        created_at: 1,
        polled: 0,
        blocked: 1,
        ready: Some(false),
    };
    let trap = TrapReport {
        message: "unreachable".into(),
        frames: vec![Frame {
            name: Some("main".into()),
            func: Some(7),
            offset: Some(0x1f),
            file: Some("/src/main.go".into()),
            line: Some(12),
        }],
    };
    let goroutine = Goroutine {
        id: 0x1_0040,
        entry: None,
        wake_at: Some(1_000),
        stack: Some(StackFill {
            asyncifysp: 16,
            csp: 32,
            bottom: Some(8),
        }),
        state: TaskState::Sleeping,
        backtrace: None,
    };
    let from_wasm = [
        FromWasm::Snapshot(Snapshot {
            at: 10,
            uptime: 9,
            state: GuestState::Waiting {
                call: WaitCall::PollableBlock,
                until: Some(20),
            },
            time_scale: 1.0,
            pollables: vec![pollable.clone()],
            retired: RetiredPollables {
                held: 2,
                total: 5,
                by_creator: vec![("x".into(), 2)],
            },
            host_calls: vec![4],
            wait_totals: WaitTotals::default(),
            ring: Some(RingSample::default()),
            dropped: Dropped::default(),
        }),
        FromWasm::Events(EventBatch {
            seq: 1,
            state: Some(GuestState::Trapped(trap.clone())),
            waits: vec![WaitRecord {
                start: 1,
                call: WaitCall::Poll,
                deadline: Some(7),
                timeout: Some(6),
                duration: 5,
                wake: WakeCause::Deadline,
            }],
            host_calls: vec![HostCallRecord {
                import: 0,
                start: 1,
                duration: 2,
            }],
            pollable_changes: vec![
                PollableChange::Upsert(pollable),
                PollableChange::Dropped { handle: 3, at: 4 },
            ],
            ring_samples: vec![RingSample::default()],
            ..EventBatch::default()
        }),
        FromWasm::Output {
            stream: OutputStream::Stderr,
            data: vec![1, 2],
        },
        FromWasm::Exit { code: 3 },
        FromWasm::Trap(trap),
        FromWasm::Scheduler(SchedulerSnapshot {
            at: 5,
            guest_now: Some(4),
            base_time: Some(3),
            current: None,
            sleep_queue: vec![goroutine.clone()],
            run_queue: vec![Goroutine {
                state: TaskState::Runnable,
                wake_at: None,
                ..goroutine
            }],
            timers: Vec::new(),
            problems: vec!["runtime.timerQueue: absent".into()],
        }),
        FromWasm::Asyncify {
            events: vec![AsyncifyEvent {
                at: 1,
                kind: AsyncifyKind::Unwind,
                phase: AsyncifyPhase::Enter,
                ptr: 0x1_0040,
                asyncify_state: Some(1),
                function: None,
            }],
        },
    ];
    for (i, message) in from_wasm.iter().enumerate() {
        let json = encode_json(message).unwrap();
        seeds.write(
            "protocol_decode",
            &format!("from-wasm-{i}.json"),
            json.as_bytes(),
        );
    }
    // The host's own hello for the TinyGo-shaped fixture is added by `component`'s seeds
    // indirectly; one written by hand keeps the tinygo summary's shape in the corpus.
    let hello = FromWasm::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        component: ComponentSummary {
            size: 1234,
            imports: vec!["wasi:io/poll@0.2.0".into()],
            exports: vec!["wasi:cli/run@0.2.0".into()],
            producers: Vec::new(),
            dwarf: true,
            name_section: true,
            asyncify_exports: vec!["asyncify_get_state".into()],
        },
        host_functions: vec!["wasi:io/poll#poll".into()],
        tinygo: Some(TinyGoSummary {
            dwarf: true,
            symbols_found: vec!["runtime.sleepQueue".into()],
            symbols_optimised_away: Vec::new(),
            task_layout: Some(TaskLayoutSummary {
                size: 48,
                fields: vec![("Next".into(), 0)],
            }),
            instrumentable: true,
            ..TinyGoSummary::default()
        }),
    });
    let json = encode_json(&hello).unwrap();
    seeds.write("protocol_decode", "from-wasm-hello.json", json.as_bytes());
}

/// The fixture's program module, raw (with a memory holding a sleeping and a runnable task
/// where its DWARF says the queues are) and as DWARF sections on the stripped template.
fn tinygo(seeds: &mut Seeds, root: &Path) {
    let fuzz = root.join("fuzz");
    let program = std::fs::read(fuzz.join("data/tinygo_program.wasm")).unwrap();
    let found = pollscope_tinygo::Introspection::read(&program).unwrap();
    let address = |name| found.symbol(name).address_of(0, 4);
    let task = found
        .layout(pollscope_tinygo::TASK_TYPE)
        .expect("a Task layout");
    let (next, data) = (task.offset("Next").unwrap(), task.offset("Data").unwrap());
    let globals: Vec<u32> = pollscope_tinygo::SCHEDULER_SYMBOLS
        .iter()
        .filter_map(|name| address(name))
        .collect();
    let base = globals.iter().copied().min().unwrap_or(0) & !7;
    let top = globals.iter().copied().max().unwrap_or(0) + 16;
    let task_at = (top + 15) & !15;
    let size = task.size.unwrap_or(64);
    let mut memory = vec![0u8; (task_at + 2 * size - base) as usize];
    let mut put = |at: u32, value: u32| {
        let at = (at - base) as usize;
        memory[at..at + 4].copy_from_slice(&value.to_le_bytes());
    };
    let second = task_at + size.next_multiple_of(8);
    if let Some(sleep) = address(pollscope_tinygo::SLEEP_QUEUE) {
        put(sleep, task_at);
        put(task_at + next, 0);
        put(task_at + data, 1_000_000);
    }
    if let Some(run) = address(pollscope_tinygo::RUN_QUEUE) {
        put(run, second);
        put(run + 4, second);
    }
    if let Some(current) = address(pollscope_tinygo::CURRENT_TASK) {
        put(current, second);
    }
    let memory = &memory[..memory.len().min(u16::MAX as usize)];
    let head = |mode: u8| {
        let mut out = vec![mode];
        out.extend_from_slice(&base.to_le_bytes());
        out.extend_from_slice(&(memory.len() as u16).to_le_bytes());
        out.extend_from_slice(memory);
        out
    };
    let mut raw = head(0);
    raw.extend_from_slice(&program);
    seeds.write("tinygo_read", "program.wasm", &raw);
    let mut raw = head(0);
    raw.extend_from_slice(
        &std::fs::read(root.join("target/fixtures/work/before-asyncify.wasm")).unwrap(),
    );
    seeds.write("tinygo_read", "before-asyncify.wasm", &raw);

    let mut dwarf = head(1);
    let mut empty = head(1);
    for section in sections(&program).unwrap() {
        if let Some(tag) = DWARF_SECTIONS.iter().position(|name| *name == section.name) {
            dwarf.push(tag as u8);
            dwarf.extend_from_slice(&(section.payload.len() as u32).to_le_bytes());
            dwarf.extend_from_slice(section.payload);
            empty.push(tag as u8);
            empty.extend_from_slice(&0u32.to_le_bytes());
        }
    }
    seeds.write("tinygo_read", "dwarf", &dwarf);
    seeds.write("tinygo_read", "dwarf-empty-sections", &empty);
}

/// Ring programs (see `ring_consume`'s input format).
fn ring(seeds: &mut Seeds) {
    const SEND: u8 = 0;
    const PUSH: u8 = 2;
    const FLUSH: u8 = 3;
    const DRAIN: u8 = 4;
    let message = |op: u8, stream: u8, kind: u8, len: u16| {
        let mut out = vec![op, stream, kind, 0x5a];
        out.extend_from_slice(&len.to_le_bytes());
        out
    };
    // 256-byte ring, MTU 64: small sends, one split across frames, a full ring, drains.
    let mut program = vec![4u8, 63, 0, 0];
    program.extend(message(SEND, 0, 0, 5));
    program.extend(message(SEND, 1, 2, 2));
    program.push(DRAIN);
    program.extend(message(SEND, 0, 0, 200));
    program.extend(message(PUSH, 2, 0, 700));
    program.extend(message(PUSH, 0, 1, 0));
    program.push(FLUSH);
    for _ in 0..6 {
        program.push(DRAIN);
        program.push(FLUSH);
    }
    program.push(DRAIN);
    seeds.write("ring_consume", "fresh", &program);

    // A valid image: a 64-byte ring holding two published packets, given as the whole buffer.
    let capacity = 64;
    let mem = AtomicMemory::new(total_bytes(capacity));
    init(&mem, Config { capacity, mtu: 24 }).unwrap();
    let mut producer = pollscope_ring::Producer::new(&mem).unwrap();
    producer
        .send(0, pollscope_ring::Kind::Control, &[1, 1])
        .unwrap();
    producer
        .send(1, pollscope_ring::Kind::Data, b"stdin bytes")
        .unwrap();
    let mut image = vec![0u8; mem.byte_len()];
    mem.read_bytes(0, &mut image);
    // The header is words; the buffer's bytes are the same little-endian words.
    for word in 0..layout::HEADER_WORDS {
        image[word * 4..word * 4 + 4].copy_from_slice(&mem.load(word).to_le_bytes());
    }
    let mut program = vec![2u8, 23, 0, 2];
    program.extend_from_slice(&(image.len() as u16).to_le_bytes());
    program.extend_from_slice(&image);
    program.extend_from_slice(&[0, 1]); // reassembly limit: 64 KiB
    program.extend([DRAIN, FLUSH, DRAIN]);
    program.extend(message(SEND, 1, 1, 0));
    program.push(DRAIN);
    seeds.write("ring_consume", "image", &program);
}

/// Host-call programs (see `wasi_host_call`'s input format): one call of every function
/// with small arguments, and a few sequences that reach real state.
fn wasi(seeds: &mut Seeds) {
    let funcs: Vec<_> = pollscope_wasi::all_functions().collect();
    let index: HashMap<String, u16> = funcs
        .iter()
        .enumerate()
        .map(|(i, f)| (f.qualified_name(), i as u16))
        .collect();
    let call = |out: &mut Vec<u8>, name: &str, args: &[u64]| {
        let func = index[name];
        out.extend_from_slice(&func.to_le_bytes());
        for (ty, value) in funcs[func as usize].params().iter().zip(args) {
            match ty {
                pollscope_wasi::ValType::I32 if *value < 32 => out.push((*value as u8) << 2),
                pollscope_wasi::ValType::I32 if *value <= 0xffff => {
                    out.push(1);
                    out.extend_from_slice(&(*value as u16).to_le_bytes());
                }
                pollscope_wasi::ValType::I32 | pollscope_wasi::ValType::F32 => {
                    out.push(2);
                    out.extend_from_slice(&(*value as u32).to_le_bytes());
                }
                _ => {
                    out.push(2);
                    out.extend_from_slice(&value.to_le_bytes());
                }
            }
        }
    };
    // 4 KiB memory, bump allocator, "hello\n" at 0x100, a stdin chunk.
    let header = |memory: &[(usize, &[u8])]| {
        let mut image = vec![0u8; 0x200];
        for (at, bytes) in memory {
            image[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        let mut out = vec![2u8, 0];
        out.extend_from_slice(&(image.len() as u16).to_le_bytes());
        out.extend_from_slice(&image);
        out.push(1);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(b"hi!\n");
        out
    };
    for (i, func) in funcs.iter().enumerate() {
        let mut out = header(&[]);
        call(
            &mut out,
            &func.qualified_name(),
            &[1, 0x100, 4, 0x180, 0, 0, 0, 0, 0, 0],
        );
        seeds.write("wasi_host_call", &format!("call-{i:03}"), &out);
    }
    let streams = "wasi:io/streams";
    let mut out = header(&[(0x100, b"hello\n")]);
    call(&mut out, "wasi:cli/stdout#get-stdout", &[]);
    call(
        &mut out,
        &format!("{streams}#[method]output-stream.blocking-write-and-flush"),
        &[1, 0x100, 6, 0x180],
    );
    call(
        &mut out,
        &format!("{streams}#[method]output-stream.check-write"),
        &[1, 0x180],
    );
    call(
        &mut out,
        &format!("{streams}#[method]output-stream.subscribe"),
        &[1],
    );
    call(&mut out, "wasi:io/poll#[method]pollable.block", &[2]);
    call(&mut out, "wasi:io/poll#[resource-drop]pollable", &[2]);
    seeds.write("wasi_host_call", "stdout", &out);

    let mut out = header(&[(0x100, &[1, 0, 0, 0, 2, 0, 0, 0])]);
    call(
        &mut out,
        "wasi:clocks/monotonic-clock#subscribe-duration",
        &[1_000],
    );
    call(&mut out, "wasi:cli/stdin#get-stdin", &[]);
    call(
        &mut out,
        &format!("{streams}#[method]input-stream.subscribe"),
        &[2],
    );
    call(&mut out, "wasi:io/poll#poll", &[0x100, 2, 0x180]);
    call(
        &mut out,
        &format!("{streams}#[method]input-stream.blocking-read"),
        &[2, 16, 0x180],
    );
    call(
        &mut out,
        &format!("{streams}#[method]input-stream.blocking-read"),
        &[2, 16, 0x180],
    );
    seeds.write("wasi_host_call", "poll-stdin", &out);

    let fs = "wasi:filesystem/types#[method]descriptor";
    let mut out = header(&[(0x100, b"home/data.txt")]);
    call(
        &mut out,
        "wasi:filesystem/preopens#get-directories",
        &[0x180],
    );
    call(
        &mut out,
        &format!("{fs}.open-at"),
        &[1, 1, 0x100, 13, 0, 1, 0x180],
    );
    call(&mut out, &format!("{fs}.stat"), &[2, 0x180]);
    call(&mut out, &format!("{fs}.read"), &[2, 16, 0, 0x180]);
    call(&mut out, &format!("{fs}.read-via-stream"), &[2, 0, 0x180]);
    call(
        &mut out,
        &format!("{streams}#[method]input-stream.blocking-read"),
        &[3, 16, 0x180],
    );
    call(&mut out, &format!("{fs}.get-type"), &[2, 0x180]);
    seeds.write("wasi_host_call", "fs-read", &out);

    let mut out = header(&[(0x100, b"home/new.txt"), (0x120, b"hello file")]);
    call(
        &mut out,
        "wasi:filesystem/preopens#get-directories",
        &[0x180],
    );
    call(
        &mut out,
        &format!("{fs}.open-at"),
        &[1, 1, 0x100, 12, 1, 2, 0x180],
    );
    call(&mut out, &format!("{fs}.write"), &[2, 0x120, 10, 0, 0x180]);
    call(&mut out, &format!("{fs}.set-size"), &[2, 4, 0x180]);
    call(&mut out, &format!("{fs}.write-via-stream"), &[2, 2, 0x180]);
    call(
        &mut out,
        &format!("{streams}#[method]output-stream.blocking-write-and-flush"),
        &[3, 0x120, 10, 0x180],
    );
    call(
        &mut out,
        &format!("{fs}.stat-at"),
        &[1, 1, 0x100, 12, 0x180],
    );
    seeds.write("wasi_host_call", "fs-write", &out);

    let mut out = header(&[
        (0x100, b"home/d"),
        (0x110, b"home/data.txt"),
        (0x120, b"home/d/x"),
    ]);
    call(
        &mut out,
        "wasi:filesystem/preopens#get-directories",
        &[0x180],
    );
    call(
        &mut out,
        &format!("{fs}.create-directory-at"),
        &[1, 0x100, 6, 0x180],
    );
    call(
        &mut out,
        &format!("{fs}.rename-at"),
        &[1, 0x110, 13, 1, 0x120, 8, 0x180],
    );
    call(
        &mut out,
        &format!("{fs}.symlink-at"),
        &[1, 0x120, 8, 0x110, 13, 0x180],
    );
    call(
        &mut out,
        &format!("{fs}.readlink-at"),
        &[1, 0x110, 13, 0x180],
    );
    call(&mut out, &format!("{fs}.read-directory"), &[1, 0x180]);
    call(
        &mut out,
        "wasi:filesystem/types#[method]directory-entry-stream.read-directory-entry",
        &[2, 0x180],
    );
    call(
        &mut out,
        "wasi:filesystem/types#[method]directory-entry-stream.read-directory-entry",
        &[2, 0x180],
    );
    call(
        &mut out,
        &format!("{fs}.unlink-file-at"),
        &[1, 0x120, 8, 0x180],
    );
    call(
        &mut out,
        &format!("{fs}.remove-directory-at"),
        &[1, 0x100, 6, 0x180],
    );
    seeds.write("wasi_host_call", "fs-dirs", &out);

    let mut out = header(&[(0x100, b"data.txt")]);
    call(
        &mut out,
        "wasi:filesystem/preopens#get-directories",
        &[0x180],
    );
    call(&mut out, "wasi:cli/environment#get-arguments", &[0x180]);
    call(&mut out, "wasi:cli/environment#get-environment", &[0x180]);
    call(
        &mut out,
        "wasi:random/random#get-random-bytes",
        &[16, 0x180],
    );
    seeds.write("wasi_host_call", "environment", &out);
}
