//! Every WASI host function, called the way the shim calls it — `Host::call` with flat core
//! arguments widened to `i64` — with arbitrary argument words against an arbitrary guest
//! memory and a `cabi_realloc` that may misbehave, one call after another on one host (so
//! handles, streams, pollables and files made by earlier calls are there for later ones).
//!
//! The host has a read-only preopen (`data`, every change `not-permitted`) and a write-back
//! one (`.`) beside the scratch root; when the calls end, however they end, the write-back
//! trees it exports must decode (`PreopenExport::decode`), as `pollscope run` decodes them.
//!
//! The host must trap cleanly, never panic: a canonical ABI violation ends the input (the
//! guest is gone after a trap, as after `exit`); a result is a value of the function's core
//! result type (0 when it has none). A guest that waits forever (no deadline, nothing left to
//! deliver) ends the input too; a host that waits more than `MAX_WAITS_PER_CALL` times in
//! one call is reported as busy-looping.
//!
//! Input: `memory u8` (size 0, 256, 4 KiB or 64 KiB), `realloc u8` (bump, hostile block
//! `u32`, none), `len u16` and that many bytes of initial memory, `chunks u8` (up to 3 stdin
//! chunks, each `len u32` and bytes; stdin closes after them), then calls until the input
//! ends: `function u16` (index into `all_functions()`), then one argument per core parameter
//! (see `arg`).
#![no_main]

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Once, OnceLock};

use libfuzzer_sys::fuzz_target;
use pollscope_fuzz::{FuzzMemory, FuzzPlatform, Hang, Input, Realloc};
use pollscope_wasi::{
    all_functions, Event, Host, HostConfig, HostFunc, Preopen, PreopenExport, ValType,
};

fn functions() -> &'static [HostFunc] {
    static ALL: OnceLock<Vec<HostFunc>> = OnceLock::new();
    ALL.get_or_init(|| all_functions().collect())
}

/// `FUZZ_TRACE=1` prints each call and its outcome (to read a reproducer).
fn tracing() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// libFuzzer's panic hook aborts on every panic; a [`Hang`] is caught and is no crash.
fn quiet_hangs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fuzzer = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Hang>() {
                fuzzer(info)
            }
        }));
    });
}

/// One flat argument of core type `ty`, widened to `i64` as the shim's adapter does (an
/// `i32` sign- or zero-extended).
fn arg(input: &mut Input, ty: ValType, memory_len: u32) -> i64 {
    let selector = input.u8();
    match ty {
        ValType::I32 => {
            let value = match selector % 4 {
                // a handle, a small length, a flag or a discriminant
                0 => u32::from(selector >> 2 & 0x1f),
                // somewhere in a 64 KiB memory
                1 => u32::from(input.u16()),
                2 => input.u32(),
                // near the end of memory
                _ => memory_len.wrapping_sub(u32::from(input.u8())),
            };
            if selector & 0x80 != 0 {
                i64::from(value as i32)
            } else {
                i64::from(value)
            }
        }
        // Sizes, offsets, durations. Not up to 4 GiB from a u32: the filesystem holds up to
        // 1 GiB by design, and an input that fills it runs a thousand times slower than the
        // rest without reaching anything new; a u64 still reaches every limit check.
        ValType::I64 => match selector % 3 {
            0 => i64::from(selector >> 2),
            1 => i64::from(input.u16()),
            _ => input.u64() as i64,
        },
        ValType::F32 => i64::from(input.u32()),
        ValType::F64 => input.u64() as i64,
    }
}

fuzz_target!(|data: &[u8]| {
    quiet_hangs();
    let mut input = Input::new(data);
    let size = [0, 256, 4096, 65536][input.u8() as usize % 4];
    let realloc = match input.u8() % 4 {
        0 | 1 => Realloc::Bump,
        2 => Realloc::Hostile(input.u32()),
        _ => Realloc::Missing,
    };
    let mut memory = FuzzMemory {
        bytes: vec![0; size],
        next_free: size as u32 / 2,
        realloc,
    };
    let len = input.u16() as usize;
    let init = input.bytes(len);
    let n = init.len().min(size);
    memory.bytes[..n].copy_from_slice(&init[..n]);
    let script = (0..input.u8() % 4)
        .map(|_| Event::Stdin(input.chunk().to_vec()))
        .collect();
    let platform = FuzzPlatform::new(script, 7);
    let waits = platform.waits.clone();

    let mut config = HostConfig::new("fuzz.wasm");
    config.args.push("--flag".into());
    config.env.push(("HOME".into(), "/home".into()));
    config.dirs.push("/home".into());
    config
        .files
        .push(("/home/data.txt".into(), b"line one\nline two\n".to_vec()));
    config.preopens.push(Preopen {
        name: "data".into(),
        path: "/home".into(),
        writable: false,
        write_back: false,
        symlinks: vec![("up".into(), "..".into())],
    });
    config.preopens.push(Preopen {
        name: ".".into(),
        path: "/out".into(),
        writable: true,
        write_back: true,
        symlinks: vec![("out".into(), "../../escape".into()), ("abs".into(), "/etc".into())],
    });
    let mut host = Host::new(config, Box::new(platform)).expect("the config is valid");
    call_until_the_end(&mut host, &mut input, &mut memory, size, &waits);
    let export = host.export_preopens();
    if let Err(why) = PreopenExport::decode(&export) {
        panic!("the host's own export does not decode: {why}");
    }
});

/// Calls host functions the input picks until it ends, the guest traps or exits, or a wait
/// would last forever.
fn call_until_the_end(
    host: &mut Host,
    input: &mut Input,
    memory: &mut FuzzMemory,
    size: usize,
    waits: &Rc<Cell<u32>>,
) {
    let funcs = functions();
    let mut calls = 0;
    while !input.is_empty() && calls < 64 {
        calls += 1;
        let func = funcs[input.u16() as usize % funcs.len()];
        let args: Vec<i64> = func
            .params()
            .iter()
            .map(|ty| arg(input, *ty, size as u32))
            .collect();
        waits.set(0);
        if tracing() {
            eprintln!("call {func:?}{args:?}");
        }
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| host.call(func, &args, memory)));
        if tracing() {
            eprintln!("  -> {outcome:?}");
        }
        let result = match outcome {
            Ok(result) => result,
            Err(payload) if payload.is::<Hang>() => return,
            Err(payload) => panic::resume_unwind(payload),
        };
        match result {
            // The guest ends here: a trap, or `exit`.
            Err(trap) => {
                assert!(!trap.to_string().is_empty());
                return;
            }
            Ok(value) => match func.results() {
                [] => assert_eq!(value, 0, "{func:?} has no result but returned {value}"),
                [ValType::I32] | [ValType::F32] => assert!(
                    (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&value),
                    "{func:?} returned {value} for a 32-bit result"
                ),
                [_] => {}
                more => panic!("{func:?} has {} core results", more.len()),
            },
        }
        let _ = host.pollables();
        let _ = host.retired_pollables();
        let _ = host.live_handles();
    }
}
