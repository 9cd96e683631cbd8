//! The adapter core module that binds a guest's lowered imports to the host without any
//! JavaScript on the call path.
//!
//! Each export of the adapter has exactly the core type the guest imports. It widens the
//! arguments to `i64`, calls the shim's raw export `pollscope_host_call(func, a0..a16) -> i64`
//! (a wasm→wasm call: no JS, no BigInt boxing), then asks `pollscope_trap_pending()` and
//! executes `unreachable` when the host decided the guest must stop (an ABI violation or
//! `exit`), so a trap unwinds the guest the way the canonical ABI says.

use pollscope_wasi::ValType;
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Instruction, Module, TypeSection, ValType as WasmType,
};

/// The most flat core parameters a lowered import can have: MAX_FLAT_PARAMS plus a retptr.
pub const MAX_ARGS: usize = 17;

/// Import names the adapter expects (the shim's own raw exports).
pub const HOST_MODULE: &str = "pollscope";
/// `pollscope_host_call(func: i32, args: i64 × MAX_ARGS) -> i64`.
pub const HOST_CALL: &str = "pollscope_host_call";
/// `pollscope_trap_pending() -> i32`.
pub const TRAP_PENDING: &str = "pollscope_trap_pending";

/// The core signature of one bound host function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types (zero or one).
    pub results: Vec<ValType>,
}

fn wasm_type(ty: ValType) -> WasmType {
    match ty {
        ValType::I32 => WasmType::I32,
        ValType::I64 => WasmType::I64,
        ValType::F32 => WasmType::F32,
        ValType::F64 => WasmType::F64,
    }
}

/// Why an adapter cannot be built for a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterError(pub String);

/// Encodes the adapter: export `"{i}"` forwards to host function `i` of `signatures`.
pub fn encode(signatures: &[Signature]) -> Result<Vec<u8>, AdapterError> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();

    // Type 0: host_call; type 1: trap_pending.
    let host_call_params: Vec<WasmType> = std::iter::once(WasmType::I32)
        .chain(std::iter::repeat_n(WasmType::I64, MAX_ARGS))
        .collect();
    types.ty().function(host_call_params, [WasmType::I64]);
    types.ty().function([], [WasmType::I32]);
    imports.import(HOST_MODULE, HOST_CALL, EntityType::Function(0));
    imports.import(HOST_MODULE, TRAP_PENDING, EntityType::Function(1));
    const HOST_CALL_FUNC: u32 = 0;
    const TRAP_PENDING_FUNC: u32 = 1;
    const IMPORTED: u32 = 2;

    for (index, signature) in signatures.iter().enumerate() {
        if signature.params.len() > MAX_ARGS || signature.results.len() > 1 {
            return Err(AdapterError(format!(
                "host function {index} has {} params and {} results; the canonical ABI allows at most {MAX_ARGS} and 1",
                signature.params.len(),
                signature.results.len()
            )));
        }
        let type_index = types.len();
        types.ty().function(
            signature.params.iter().copied().map(wasm_type),
            signature.results.iter().copied().map(wasm_type),
        );
        functions.function(type_index);
        let func_index = IMPORTED + index as u32;
        exports.export(&index.to_string(), ExportKind::Func, func_index);

        let mut body = Function::new([]);
        body.instruction(&Instruction::I32Const(index as i32));
        for (local, ty) in signature.params.iter().enumerate() {
            body.instruction(&Instruction::LocalGet(local as u32));
            widen(&mut body, *ty);
        }
        for _ in signature.params.len()..MAX_ARGS {
            body.instruction(&Instruction::I64Const(0));
        }
        body.instruction(&Instruction::Call(HOST_CALL_FUNC));
        body.instruction(&Instruction::Call(TRAP_PENDING_FUNC));
        body.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
        body.instruction(&Instruction::Unreachable);
        body.instruction(&Instruction::End);
        match signature.results.first() {
            None => body.instruction(&Instruction::Drop),
            Some(ValType::I64) => &mut body,
            Some(ValType::I32) => body.instruction(&Instruction::I32WrapI64),
            Some(ValType::F32) => body
                .instruction(&Instruction::I32WrapI64)
                .instruction(&Instruction::F32ReinterpretI32),
            Some(ValType::F64) => body.instruction(&Instruction::F64ReinterpretI64),
        };
        body.instruction(&Instruction::End);
        code.function(&body);
    }

    Ok(module_bytes(&types, &imports, &functions, &exports, &code))
}

/// A module of these sections, in the order the binary format wants them (the shape of the
/// shim's generated modules: the adapter and each memory bridge).
pub(crate) fn module_bytes(
    types: &TypeSection,
    imports: &ImportSection,
    functions: &FunctionSection,
    exports: &ExportSection,
    code: &CodeSection,
) -> Vec<u8> {
    let mut module = Module::new();
    module
        .section(types)
        .section(imports)
        .section(functions)
        .section(exports)
        .section(code);
    module.finish()
}

/// Widens the value on the stack to the `i64` the host call takes (floats as bit patterns).
fn widen(body: &mut Function, ty: ValType) {
    match ty {
        ValType::I32 => body.instruction(&Instruction::I64ExtendI32U),
        ValType::I64 => body,
        ValType::F32 => body
            .instruction(&Instruction::I32ReinterpretF32)
            .instruction(&Instruction::I64ExtendI32U),
        ValType::F64 => body.instruction(&Instruction::I64ReinterpretF64),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(bytes: &[u8]) -> wasmparser::types::Types {
        wasmparser::Validator::new()
            .validate_all(bytes)
            .expect("adapter validates")
    }

    #[test]
    fn every_export_has_the_requested_type() {
        use ValType::*;
        let signatures = vec![
            Signature {
                params: vec![],
                results: vec![I64],
            },
            Signature {
                params: vec![I32],
                results: vec![],
            },
            Signature {
                params: vec![I32, I64, I32],
                results: vec![I32],
            },
            Signature {
                params: vec![F32, F64],
                results: vec![F64],
            },
            Signature {
                params: vec![I32; MAX_ARGS],
                results: vec![F32],
            },
        ];
        let bytes = encode(&signatures).unwrap();
        validate(&bytes);
        let mut exported = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::ExportSection(reader) = payload.unwrap() {
                for export in reader {
                    exported.push(export.unwrap().name.to_string());
                }
            }
        }
        assert_eq!(exported, ["0", "1", "2", "3", "4"]);
    }

    #[test]
    fn too_many_params_is_an_error_not_a_bad_module() {
        let signature = Signature {
            params: vec![ValType::I32; MAX_ARGS + 1],
            results: vec![],
        };
        assert!(encode(&[signature]).is_err());
    }
}
