//! The registry against the import list of the `wasip2` crate (1.0.4+wasi-0.2.12, whose
//! `src/imports.rs` declares every WASI 0.2 import with its core signature). The table below
//! was transcribed from that file; it is the ground truth for flat core signatures.

use pollscope_wasi::{all_functions, resolve, ResolveError, Support, ValType, ValType::*};

type Sig = (
    &'static str,
    &'static str,
    &'static [ValType],
    &'static [ValType],
);

const WASI_0_2_IMPORTS: &[Sig] = &[
    ("wasi:cli/environment", "get-environment", &[I32], &[]),
    ("wasi:cli/environment", "get-arguments", &[I32], &[]),
    ("wasi:cli/environment", "initial-cwd", &[I32], &[]),
    ("wasi:cli/exit", "exit", &[I32], &[]),
    ("wasi:cli/exit", "exit-with-code", &[I32], &[]),
    ("wasi:cli/stdin", "get-stdin", &[], &[I32]),
    ("wasi:cli/stdout", "get-stdout", &[], &[I32]),
    ("wasi:cli/stderr", "get-stderr", &[], &[I32]),
    (
        "wasi:cli/terminal-input",
        "[resource-drop]terminal-input",
        &[I32],
        &[],
    ),
    (
        "wasi:cli/terminal-output",
        "[resource-drop]terminal-output",
        &[I32],
        &[],
    ),
    ("wasi:cli/terminal-stdin", "get-terminal-stdin", &[I32], &[]),
    (
        "wasi:cli/terminal-stdout",
        "get-terminal-stdout",
        &[I32],
        &[],
    ),
    (
        "wasi:cli/terminal-stderr",
        "get-terminal-stderr",
        &[I32],
        &[],
    ),
    ("wasi:clocks/monotonic-clock", "now", &[], &[I64]),
    ("wasi:clocks/monotonic-clock", "resolution", &[], &[I64]),
    (
        "wasi:clocks/monotonic-clock",
        "subscribe-instant",
        &[I64],
        &[I32],
    ),
    (
        "wasi:clocks/monotonic-clock",
        "subscribe-duration",
        &[I64],
        &[I32],
    ),
    ("wasi:clocks/wall-clock", "now", &[I32], &[]),
    ("wasi:clocks/wall-clock", "resolution", &[I32], &[]),
    (
        "wasi:filesystem/types",
        "[resource-drop]descriptor",
        &[I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[resource-drop]directory-entry-stream",
        &[I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.read-via-stream",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.write-via-stream",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.append-via-stream",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.advise",
        &[I32, I64, I64, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.sync-data",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.get-flags",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.get-type",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.set-size",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.set-times",
        &[I32, I32, I64, I32, I32, I64, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.read",
        &[I32, I64, I64, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.write",
        &[I32, I32, I32, I64, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.read-directory",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.sync",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.create-directory-at",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.stat",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.stat-at",
        &[I32, I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.set-times-at",
        &[I32, I32, I32, I32, I32, I64, I32, I32, I64, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.link-at",
        &[I32, I32, I32, I32, I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.open-at",
        &[I32, I32, I32, I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.readlink-at",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.remove-directory-at",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.rename-at",
        &[I32, I32, I32, I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.symlink-at",
        &[I32, I32, I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.unlink-file-at",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.is-same-object",
        &[I32, I32],
        &[I32],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.metadata-hash",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.metadata-hash-at",
        &[I32, I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "[method]directory-entry-stream.read-directory-entry",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:filesystem/types",
        "filesystem-error-code",
        &[I32, I32],
        &[],
    ),
    ("wasi:filesystem/preopens", "get-directories", &[I32], &[]),
    ("wasi:io/error", "[resource-drop]error", &[I32], &[]),
    (
        "wasi:io/error",
        "[method]error.to-debug-string",
        &[I32, I32],
        &[],
    ),
    ("wasi:io/poll", "[resource-drop]pollable", &[I32], &[]),
    ("wasi:io/poll", "[method]pollable.ready", &[I32], &[I32]),
    ("wasi:io/poll", "[method]pollable.block", &[I32], &[]),
    ("wasi:io/poll", "poll", &[I32, I32, I32], &[]),
    (
        "wasi:io/streams",
        "[resource-drop]input-stream",
        &[I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[resource-drop]output-stream",
        &[I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.read",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.blocking-read",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.skip",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.blocking-skip",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.check-write",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.write",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-write-and-flush",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.flush",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-flush",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.write-zeroes",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-write-zeroes-and-flush",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.splice",
        &[I32, I32, I64, I32],
        &[],
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-splice",
        &[I32, I32, I64, I32],
        &[],
    ),
    ("wasi:random/random", "get-random-bytes", &[I64, I32], &[]),
    ("wasi:random/random", "get-random-u64", &[], &[I64]),
    (
        "wasi:random/insecure",
        "get-insecure-random-bytes",
        &[I64, I32],
        &[],
    ),
    (
        "wasi:random/insecure",
        "get-insecure-random-u64",
        &[],
        &[I64],
    ),
    ("wasi:random/insecure-seed", "insecure-seed", &[I32], &[]),
    (
        "wasi:sockets/network",
        "[resource-drop]network",
        &[I32],
        &[],
    ),
    (
        "wasi:sockets/instance-network",
        "instance-network",
        &[],
        &[I32],
    ),
    ("wasi:sockets/udp", "[resource-drop]udp-socket", &[I32], &[]),
    (
        "wasi:sockets/udp",
        "[resource-drop]incoming-datagram-stream",
        &[I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[resource-drop]outgoing-datagram-stream",
        &[I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.start-bind",
        &[
            I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32,
        ],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.finish-bind",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.stream",
        &[
            I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32,
        ],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.local-address",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.remote-address",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.address-family",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.unicast-hop-limit",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.set-unicast-hop-limit",
        &[I32, I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.receive-buffer-size",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.set-receive-buffer-size",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.send-buffer-size",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.set-send-buffer-size",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]udp-socket.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/udp",
        "[method]incoming-datagram-stream.receive",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]incoming-datagram-stream.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/udp",
        "[method]outgoing-datagram-stream.check-send",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]outgoing-datagram-stream.send",
        &[I32, I32, I32, I32],
        &[],
    ),
    (
        "wasi:sockets/udp",
        "[method]outgoing-datagram-stream.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/udp-create-socket",
        "create-udp-socket",
        &[I32, I32],
        &[],
    ),
    ("wasi:sockets/tcp", "[resource-drop]tcp-socket", &[I32], &[]),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.start-bind",
        &[
            I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32,
        ],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.finish-bind",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.start-connect",
        &[
            I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32,
        ],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.finish-connect",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.start-listen",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.finish-listen",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.accept",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.local-address",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.remote-address",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.is-listening",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.address-family",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-listen-backlog-size",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-enabled",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-enabled",
        &[I32, I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-idle-time",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-idle-time",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-interval",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-interval",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-count",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-count",
        &[I32, I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.hop-limit",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-hop-limit",
        &[I32, I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.receive-buffer-size",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-receive-buffer-size",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.send-buffer-size",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-send-buffer-size",
        &[I32, I64, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/tcp",
        "[method]tcp-socket.shutdown",
        &[I32, I32, I32],
        &[],
    ),
    (
        "wasi:sockets/tcp-create-socket",
        "create-tcp-socket",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/ip-name-lookup",
        "[resource-drop]resolve-address-stream",
        &[I32],
        &[],
    ),
    (
        "wasi:sockets/ip-name-lookup",
        "[method]resolve-address-stream.resolve-next-address",
        &[I32, I32],
        &[],
    ),
    (
        "wasi:sockets/ip-name-lookup",
        "[method]resolve-address-stream.subscribe",
        &[I32],
        &[I32],
    ),
    (
        "wasi:sockets/ip-name-lookup",
        "resolve-addresses",
        &[I32, I32, I32, I32],
        &[],
    ),
];

/// The interfaces this crate's io/clocks/random/cli modules implement.
fn is_core_interface(interface: &str) -> bool {
    ["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/"]
        .iter()
        .any(|prefix| interface.starts_with(prefix))
}

#[test]
fn io_clocks_random_cli_are_complete_with_exact_signatures() {
    let mut checked = 0;
    for &(interface, name, params, results) in WASI_0_2_IMPORTS {
        if !is_core_interface(interface) {
            continue;
        }
        for version in ["0.2.0", "0.2.12"] {
            let func = resolve(&format!("{interface}@{version}"), name)
                .unwrap_or_else(|e| panic!("{interface}#{name}: {e}"));
            assert_eq!(func.params(), params, "{interface}#{name} params");
            assert_eq!(func.results(), results, "{interface}#{name} results");
            assert_eq!(func.support(), Support::Implemented, "{interface}#{name}");
        }
        checked += 1;
    }
    assert_eq!(
        checked, 47,
        "the table lists 47 io/clocks/random/cli imports"
    );
}

#[test]
fn every_registered_function_is_a_real_wasi_import_with_its_signature() {
    // Holds for filesystem and sockets too, however far along they are.
    for func in all_functions() {
        let known = WASI_0_2_IMPORTS
            .iter()
            .find(|(interface, name, _, _)| *interface == func.interface() && *name == func.name())
            .unwrap_or_else(|| panic!("{func:?} is not a WASI 0.2 import"));
        assert_eq!(
            (func.params(), func.results()),
            (known.2, known.3),
            "{func:?}"
        );
    }
}

#[test]
fn every_command_world_interface_resolves() {
    for &(interface, name, _, _) in WASI_0_2_IMPORTS {
        match resolve(&format!("{interface}@0.2.0"), name) {
            Ok(_) | Err(ResolveError::UnknownFunction(..)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(matches!(
        resolve("wasi:io/poll@0.3.0", "poll"),
        Err(ResolveError::UnsupportedVersion(_))
    ));
    assert!(matches!(
        resolve("wasi:http/types@0.2.0", "x"),
        Err(ResolveError::UnknownInterface(_))
    ));
}
