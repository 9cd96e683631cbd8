//! The `wasi:cli/command@0.2.x` world: every interface the host implements, and how a
//! component's import finds its function (any 0.2.x version).
//!
//! - `wasi:io/error`, `wasi:io/poll`, `wasi:io/streams` (`io/`: glue in `error.rs`, `poll.rs`,
//!   `streams.rs`; state in `pollable.rs`, `stream.rs`)
//! - `wasi:clocks/monotonic-clock`, `wasi:clocks/wall-clock` (`clocks/`)
//! - `wasi:random/random`, `wasi:random/insecure`, `wasi:random/insecure-seed` (`random/`)
//! - `wasi:cli/environment`, `exit`, `stdin`, `stdout`, `stderr`, `terminal-input`,
//!   `terminal-output`, `terminal-stdin`, `terminal-stdout`, `terminal-stderr` (`cli/`: glue in
//!   `environment.rs`, `exit.rs`, `stdio.rs`, `terminal.rs`; state in `console.rs`)
//! - `wasi:filesystem/types`, `wasi:filesystem/preopens` (`filesystem/`: glue in `types.rs`,
//!   `dirs.rs`, `preopens.rs`; state in `state.rs`, `memfs.rs`, `descriptor.rs`, …)
//! - `wasi:sockets/network`, `instance-network`, `udp`, `udp-create-socket`, `tcp`,
//!   `tcp-create-socket`, `ip-name-lookup` (`sockets/`: present, answering `access-denied`)
//!
//! This is the one module that names the interface modules; they name only the vocabulary
//! (`func.rs`), the host (`host.rs`), state modules and helpers of their own package, never
//! another package's glue (`tests/layering.rs` checks).

use crate::func::{HostFunc, InterfaceDef};

/// Every interface of the `wasi:cli/command@0.2.x` world.
const INTERFACES: &[&InterfaceDef] = &[
    &crate::io::error::INTERFACE,
    &crate::io::poll::INTERFACE,
    &crate::io::streams::INTERFACE,
    &crate::clocks::monotonic_clock::INTERFACE,
    &crate::clocks::wall_clock::INTERFACE,
    &crate::random::random::INTERFACE,
    &crate::random::insecure::INTERFACE,
    &crate::random::insecure_seed::INTERFACE,
    &crate::cli::environment::INTERFACE,
    &crate::cli::exit::INTERFACE,
    &crate::cli::stdio::STDIN,
    &crate::cli::stdio::STDOUT,
    &crate::cli::stdio::STDERR,
    &crate::cli::terminal::TERMINAL_INPUT,
    &crate::cli::terminal::TERMINAL_OUTPUT,
    &crate::cli::terminal::TERMINAL_STDIN,
    &crate::cli::terminal::TERMINAL_STDOUT,
    &crate::cli::terminal::TERMINAL_STDERR,
    &crate::filesystem::types::INTERFACE,
    &crate::filesystem::preopens::INTERFACE,
    &crate::sockets::network::NETWORK,
    &crate::sockets::network::INSTANCE_NETWORK,
    &crate::sockets::udp::UDP,
    &crate::sockets::udp::UDP_CREATE_SOCKET,
    &crate::sockets::tcp::TCP,
    &crate::sockets::tcp::TCP_CREATE_SOCKET,
    &crate::sockets::ip_name_lookup::IP_NAME_LOOKUP,
];

/// Why an import cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The interface is not part of the WASI 0.2 command world.
    UnknownInterface(String),
    /// The interface exists, but not in a 0.2.x version.
    UnsupportedVersion(String),
    /// The interface has no function of that name.
    UnknownFunction(String, String),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::UnknownInterface(i) => {
                write!(f, "`{i}` is not an interface of the WASI 0.2 command world")
            }
            ResolveError::UnsupportedVersion(i) => {
                write!(
                    f,
                    "`{i}`: only 0.2.x versions of WASI interfaces are supported"
                )
            }
            ResolveError::UnknownFunction(i, name) => write!(f, "`{i}` has no function `{name}`"),
        }
    }
}

impl std::error::Error for ResolveError {}

/// Splits `wasi:io/poll@0.2.6` into (`wasi:io/poll`, Some(`0.2.6`)).
pub fn split_version(interface: &str) -> (&str, Option<&str>) {
    match interface.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (interface, None),
    }
}

/// Whether `version` is a 0.2.x release (pre-releases of 0.2.x included).
fn is_supported_version(version: Option<&str>) -> bool {
    let Some(version) = version else { return false };
    let mut parts = version.splitn(3, '.');
    matches!((parts.next(), parts.next()), (Some("0"), Some("2")))
        && parts.next().is_some_and(|patch| {
            patch
                .split(['-', '+'])
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Finds the host function for import `name` of `interface` (`wasi:io/poll@0.2.6`, any 0.2.x).
pub fn resolve(interface: &str, name: &str) -> Result<HostFunc, ResolveError> {
    let (base, version) = split_version(interface);
    let def = INTERFACES
        .iter()
        .find(|def| def.name == base)
        .ok_or_else(|| ResolveError::UnknownInterface(interface.to_string()))?;
    if !is_supported_version(version) {
        return Err(ResolveError::UnsupportedVersion(interface.to_string()));
    }
    let func = def
        .funcs
        .iter()
        .find(|func| func.name == name)
        .ok_or_else(|| ResolveError::UnknownFunction(interface.to_string(), name.to_string()))?;
    Ok(HostFunc::new(def, func))
}

/// Every function the host knows, for `pollscope inspect` and coverage tests.
pub fn all_functions() -> impl Iterator<Item = HostFunc> {
    INTERFACES.iter().flat_map(|interface| {
        interface
            .funcs
            .iter()
            .map(move |func| HostFunc::new(interface, func))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::func::Waits;
    use crate::io::stream::{HostOutputStream, OutputStream, StreamError};
    use crate::testing::{call, host_with, FakePlatform};
    use crate::{Event, Host, Platform, VecMemory};

    #[test]
    fn versions() {
        assert!(is_supported_version(Some("0.2.0")));
        assert!(is_supported_version(Some("0.2.6")));
        assert!(is_supported_version(Some("0.2.0-rc-2023-11-10")));
        assert!(!is_supported_version(Some("0.3.0")));
        assert!(!is_supported_version(Some("0.2")));
        assert!(!is_supported_version(None));
    }

    /// An output stream that takes nothing (permit 0, not ready) until the virtual clock
    /// reaches `ready_at`.
    struct SlowSink {
        clock: FakePlatform,
        ready_at: u64,
    }

    impl HostOutputStream for SlowSink {
        fn check_write(&mut self) -> Result<u64, StreamError> {
            Ok(if self.ready() { 4096 } else { 0 })
        }
        fn write(&mut self, _: &mut dyn Platform, _: &[u8]) -> Result<(), StreamError> {
            Ok(())
        }
        fn flush(&mut self, _: &mut dyn Platform) -> Result<(), StreamError> {
            Ok(())
        }
        fn ready(&self) -> bool {
            self.clock.now() >= self.ready_at
        }
    }

    /// A guest's world where every kind of wait is possible until virtual time 1000: stdin
    /// is empty (its bytes arrive then), an output stream takes nothing (until then), a timer
    /// runs (until then), and `poll`'s list at 0x100 names the timer.
    struct World {
        fake: FakePlatform,
        host: Host,
        memory: VecMemory,
        /// stdin, the slow output stream, the timer and a preopened directory.
        handles: [i64; 4],
    }

    fn world() -> World {
        const READY_AT: u64 = 1000;
        let fake = FakePlatform::new();
        let (mut host, mut memory) = host_with(&fake);
        let stdin = call(
            &mut host,
            &mut memory,
            "wasi:cli/stdin@0.2.0",
            "get-stdin",
            &[],
        );
        let sink = host.table.push(OutputStream(Box::new(SlowSink {
            clock: fake.clone(),
            ready_at: READY_AT,
        })));
        let clock = "wasi:clocks/monotonic-clock@0.2.0";
        let timer = call(&mut host, &mut memory, clock, "subscribe-duration", &[1000]);
        let preopens = "wasi:filesystem/preopens@0.2.0";
        call(
            &mut host,
            &mut memory,
            preopens,
            "get-directories",
            &[0x400],
        )
        .unwrap();
        let list = u32::from_le_bytes(memory.bytes[0x400..0x404].try_into().unwrap()) as usize;
        let dir = u32::from_le_bytes(memory.bytes[list..list + 4].try_into().unwrap());
        let timer = timer.unwrap();
        memory.bytes[0x100..0x104].copy_from_slice(&(timer as u32).to_le_bytes());
        fake.script(READY_AT, Event::Stdin(b"data".to_vec()));
        World {
            fake,
            host,
            memory,
            handles: [
                stdin.unwrap(),
                i64::from(sink.unwrap()),
                timer,
                i64::from(dir),
            ],
        }
    }

    /// Every function that can reach `Platform::wait` (each call path to `Host::block_until`),
    /// with arguments that make it wait in [`world`], and what it declares.
    fn waiting_calls(
        [stdin, sink, timer, _]: [i64; 4],
    ) -> [(&'static str, &'static str, Vec<i64>, Waits); 8] {
        let (poll, streams) = ("wasi:io/poll@0.2.0", "wasi:io/streams@0.2.0");
        [
            (
                poll,
                "[method]pollable.block",
                vec![timer],
                Waits::IdlePoint,
            ),
            (poll, "poll", vec![0x100, 1, 0x200], Waits::IdlePoint),
            (
                streams,
                "[method]input-stream.blocking-read",
                vec![stdin, 16, 0x200],
                Waits::MayWait,
            ),
            (
                streams,
                "[method]input-stream.blocking-skip",
                vec![stdin, 16, 0x200],
                Waits::MayWait,
            ),
            (
                streams,
                "[method]output-stream.blocking-write-and-flush",
                vec![sink, 0x300, 4, 0x200],
                Waits::MayWait,
            ),
            (
                streams,
                "[method]output-stream.blocking-flush",
                vec![sink, 0x200],
                Waits::MayWait,
            ),
            (
                streams,
                "[method]output-stream.blocking-write-zeroes-and-flush",
                vec![sink, 4, 0x200],
                Waits::MayWait,
            ),
            (
                streams,
                "[method]output-stream.blocking-splice",
                vec![sink, stdin, 4, 0x200],
                Waits::MayWait,
            ),
        ]
    }

    #[test]
    fn every_function_that_waits_declares_it_and_really_waits() {
        let handles = world().handles;
        let calls = waiting_calls(handles);
        for (interface, name, args, declared) in &calls {
            let func = resolve(interface, name).unwrap();
            assert_eq!(func.waits(), *declared, "{func:?}");
            let mut w = world();
            assert_eq!(w.handles, handles);
            w.host.call(func, args, &mut w.memory).unwrap();
            assert!(!w.fake.waits().is_empty(), "{func:?} did not wait");
        }
        // And nothing else declares that it waits.
        let mut declared: Vec<String> = all_functions()
            .filter(|f| f.waits().may_wait())
            .map(|f| f.name().to_string())
            .collect();
        let mut listed: Vec<String> = calls.iter().map(|c| c.1.to_string()).collect();
        declared.sort();
        listed.sort();
        assert_eq!(declared, listed);
        let idle: Vec<String> = all_functions()
            .filter(|f| f.waits().idle_point())
            .map(|f| f.qualified_name())
            .collect();
        assert_eq!(
            idle,
            ["wasi:io/poll#[method]pollable.block", "wasi:io/poll#poll"]
        );
    }

    /// Every function declared [`Waits::Never`], called in [`world`] (where stdin, an output
    /// stream and a timer would each make a waiting call wait) with handles, pointers and
    /// lengths in every argument position that takes them: none waits. (In debug builds the
    /// host also panics, naming the function, should a `Never` one reach the wait.)
    #[test]
    fn functions_declared_never_do_not_wait_whatever_their_arguments() {
        let handles = world().handles;
        let words = [0, 1, 4, 16, 0x100, 0x200, 0x300];
        let mut calls = 0;
        for func in all_functions().filter(|f| !f.waits().may_wait()) {
            let n = func.params().len();
            let mut vectors: Vec<Vec<i64>> = Vec::new();
            for &v in handles.iter().chain(&words) {
                vectors.push(vec![v; n]);
            }
            if n >= 2 {
                for &first in &handles {
                    for &rest in &words {
                        let mut args = vec![rest; n];
                        args[0] = first;
                        vectors.push(args);
                    }
                    for &second in &handles {
                        let mut args = vec![0x200; n];
                        args[0] = first;
                        args[1] = second;
                        vectors.push(args);
                    }
                }
            }
            for args in vectors {
                let mut w = world();
                let _ = w.host.call(func, &args, &mut w.memory);
                assert!(w.fake.waits().is_empty(), "{func:?} waited with {args:?}");
                calls += 1;
            }
        }
        assert!(calls > 3000, "{calls} calls");
    }
}
