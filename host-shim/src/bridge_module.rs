//! The module of a memory bridge (see `memory_bridge`, which instantiates it in the browser).
//!
//! It imports `m.other` (memory 0, the guest's) and `m.shim` (memory 1, the shim's own) and
//! exports, in [`EXPORTS`]' order: `read(other_at, shim_at, len)` and
//! `write(shim_at, other_at, len)` (`memory.copy` between the two) and `pages()` (the guest
//! memory's size).

use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Instruction, MemoryType, TypeSection, ValType,
};

/// The bridge's exports, in function-index order.
pub const EXPORTS: [&str; 3] = ["read", "write", "pages"];

/// The bridge module for a guest memory that is `shared` (a threaded guest's) or not.
pub fn encode(shared: bool) -> Vec<u8> {
    use Instruction as I;
    use ValType::I32;
    let mut types = TypeSection::new();
    // 0: copy, 1: pages.
    types.ty().function([I32; 3], []);
    types.ty().function([], [I32]);
    let memory = |shared: bool| MemoryType {
        minimum: 0,
        // A shared memory must declare a maximum: the most a wasm32 memory can have.
        maximum: shared.then_some(1 << 16),
        memory64: false,
        shared,
        page_size_log2: None,
    };
    let mut imports = ImportSection::new();
    imports.import("m", "other", EntityType::Memory(memory(shared)));
    imports.import("m", "shim", EntityType::Memory(memory(false)));
    let copy = |dst_mem, src_mem| {
        [
            I::LocalGet(1),
            I::LocalGet(0),
            I::LocalGet(2),
            I::MemoryCopy { dst_mem, src_mem },
        ]
        .to_vec()
    };
    let bodies: [(u32, Vec<Instruction>); 3] = [
        // read(other_at, shim_at, len): dst shim_at (local 1), src other_at (local 0).
        (0, copy(1, 0)),
        // write(shim_at, other_at, len): dst other_at (local 1), src shim_at (local 0).
        (0, copy(0, 1)),
        (1, vec![I::MemorySize(0)]),
    ];
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for (index, (ty, body)) in bodies.iter().enumerate() {
        functions.function(*ty);
        exports.export(EXPORTS[index], ExportKind::Func, index as u32);
        let mut function = Function::new([]);
        for instruction in body {
            function.instruction(instruction);
        }
        function.instruction(&I::End);
        code.function(&function);
    }
    crate::adapter::module_bytes(&types, &imports, &functions, &exports, &code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bridge_is_valid_and_exports_what_the_shim_calls() {
        for shared in [false, true] {
            let bytes = encode(shared);
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(&bytes)
                .unwrap_or_else(|err| panic!("shared={shared}: {err}"));
            let names: Vec<String> = wasmparser::Parser::new(0)
                .parse_all(&bytes)
                .filter_map(|payload| match payload.unwrap() {
                    wasmparser::Payload::ExportSection(exports) => Some(
                        exports
                            .into_iter()
                            .map(|export| export.unwrap().name.to_string())
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(names, EXPORTS, "shared={shared}");
        }
    }
}
