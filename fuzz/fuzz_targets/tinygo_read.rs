//! `pollscope_tinygo` over arbitrary modules and arbitrary DWARF: what the wasm thread and
//! `pollscope inspect` do with a component's program module — `Introspection::read` (DWARF
//! variables, struct layouts, name section, element segments, line tables), the summary a
//! Hello carries, symbolizing trap frames and goroutine entries — then a scheduler `walk`
//! over an arbitrary guest memory, and the asyncify flight recorder's rewrite, whose output
//! must validate whenever its input does.
//!
//! Input: `mode u8`, then the guest memory (`base u32`, `len u16`, `len` bytes placed at
//! `base`), then
//! - even mode: the module's bytes (the rest);
//! - odd mode: DWARF sections for the TinyGo-shaped fixture's program module (its own DWARF
//!   removed), each `tag u8` (which section: `DWARF_SECTIONS[tag % 12]`), `len u32`, bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pollscope_fuzz::{push_custom, strip_dwarf, Input, SparseMemory, DWARF_SECTIONS};
use pollscope_tinygo::{instrument, walk, Instrumentation, Introspection};

/// The TinyGo-shaped fixture's program module (`cargo xtask fixtures`), DWARF and all.
const PROGRAM: &[u8] = include_bytes!("../data/tinygo_program.wasm");

fn template() -> &'static [u8] {
    static STRIPPED: OnceLock<Vec<u8>> = OnceLock::new();
    STRIPPED.get_or_init(|| strip_dwarf(PROGRAM))
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.u8();
    let base = input.u32();
    let len = input.u16() as usize;
    let memory = SparseMemory {
        base,
        bytes: input.bytes(len),
    };
    let built;
    let module: &[u8] = if mode.is_multiple_of(2) {
        input.rest()
    } else {
        let mut module = template().to_vec();
        while !input.is_empty() {
            let name = DWARF_SECTIONS[input.u8() as usize % DWARF_SECTIONS.len()];
            push_custom(&mut module, name, input.chunk());
        }
        built = module;
        &built
    };

    let Ok(found) = Introspection::read(module) else {
        return;
    };
    let summary = found.summary();
    assert_eq!(summary.dwarf, found.dwarf);
    for (_, location) in &found.symbols {
        let _ = location.describe();
        let _ = location.address_of(0, 4);
        let _ = location.address_of(u32::MAX, 8);
    }
    let symbolizer = &found.symbolizer;
    let code_start = symbolizer.code_start();
    for func in 0..64 {
        let _ = symbolizer.function_name(func);
        let _ = symbolizer.function_location(func);
        let _ = symbolizer.table_function(func);
        let _ = symbolizer.entry(func);
    }
    for offset in [0, 1, code_start, code_start.wrapping_add(1), u32::MAX]
        .into_iter()
        .chain((0..module.len() as u32).step_by(97))
    {
        let _ = symbolizer.location(offset);
    }
    for name in found.exports.iter().take(16) {
        let _ = symbolizer.function_index(name);
    }
    let snapshot = walk(&found, &memory, 1);
    let message = pollscope_protocol::FromWasm::Scheduler(snapshot);
    let text = pollscope_protocol::encode_json(&message).expect("a snapshot encodes");
    assert_eq!(
        pollscope_protocol::decode_json::<pollscope_protocol::FromWasm>(text.as_bytes()),
        Ok(message),
        "the scheduler snapshot changed through JSON"
    );

    // The rewrite ignores DWARF: only worth its time on modules the input wrote.
    if mode % 2 == 1 {
        return;
    }
    if let Ok(Instrumentation::Instrumented(rewritten)) = instrument(module) {
        let valid = |bytes: &[u8]| wasmparser::Validator::new().validate_all(bytes).is_ok();
        if valid(module) {
            assert!(
                valid(&rewritten.module),
                "the recorder's rewrite of a valid module does not validate"
            );
        }
        let map = &rewritten.functions;
        for new in 0..64 {
            let _ = map.original_index(new);
            let _ = map.original_offset(new, 0);
            let _ = map.original_offset(new, u32::MAX);
        }
    }
});
