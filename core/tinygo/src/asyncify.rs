//! What every asyncified module has, whatever the optimiser did to the code that uses it:
//! the five functions Binaryen's Asyncify pass generates and exports (`asyncify_start_unwind`,
//! `asyncify_stop_unwind`, `asyncify_start_rewind`, `asyncify_stop_rewind`,
//! `asyncify_get_state`) and the two globals they use, which have no names: the state
//! (0 normal, 1 unwinding, 2 rewinding), the one `asyncify_get_state`'s body reads, and the
//! data pointer (`{current, end}` of the save area), the other one `asyncify_start_unwind`
//! sets.
//!
//! TinyGo's own task-switch functions (`tinygo_launch`, `tinygo_rewind`, `tinygo_unwind`)
//! are not among them: `wasm-opt -Oz` inlines them, so nothing here looks for them.

use std::collections::HashMap;

use wasmparser::{ExternalKind, Operator, Parser, Payload};

use crate::Error;

/// The exported function whose body is `global.get $state`.
pub const GET_STATE: &str = "asyncify_get_state";
/// The exported function that sets the state to 1 and the data pointer.
pub const START_UNWIND: &str = "asyncify_start_unwind";
/// Binaryen's exported API; wasm-opt may fold `stop_unwind` and `stop_rewind` into one body.
pub const API_FUNCTIONS: [&str; 5] = [
    START_UNWIND,
    "asyncify_stop_unwind",
    "asyncify_start_rewind",
    "asyncify_stop_rewind",
    GET_STATE,
];

/// Asyncify's runtime in one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncifyRuntime {
    /// The state global (`__asyncify_state`).
    pub state_global: u32,
    /// The data-pointer global (`__asyncify_data`), when `asyncify_start_unwind` shows it.
    pub data_global: Option<u32>,
    /// Function indices of [`API_FUNCTIONS`] present (an index may appear twice).
    pub api_functions: Vec<u32>,
}

/// Finds asyncify's runtime in `module`: `Ok(Err(reason))` when the module was not
/// asyncified (no `asyncify_get_state`, or one that does not just read a global).
pub fn find(module: &[u8]) -> Result<Result<AsyncifyRuntime, String>, Error> {
    let mut exports: HashMap<String, u32> = HashMap::new();
    let mut imported_funcs = 0u32;
    let mut bodies: HashMap<u32, Vec<Operator<'_>>> = HashMap::new();
    let mut next_body = None;
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(Error::NotCoreModule);
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(
                        import?.ty,
                        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                    ) {
                        imported_funcs += 1;
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.kind == ExternalKind::Func {
                        exports.insert(export.name.to_string(), export.index);
                    }
                }
            }
            Payload::CodeSectionStart { .. } => next_body = Some(imported_funcs),
            Payload::CodeSectionEntry(body) => {
                let index = next_body.unwrap_or(imported_funcs);
                next_body = Some(index + 1);
                let wanted = [GET_STATE, START_UNWIND]
                    .iter()
                    .any(|name| exports.get(*name) == Some(&index));
                if wanted {
                    let ops = body
                        .get_operators_reader()?
                        .into_iter()
                        .collect::<Result<Vec<_>, _>>()?;
                    bodies.insert(index, ops);
                }
            }
            _ => {}
        }
    }
    let Some(get_state) = exports.get(GET_STATE) else {
        return Ok(Err(format!(
            "no {GET_STATE} export: the module was not asyncified (TinyGo's wasip2 builds \
             always are)"
        )));
    };
    let state_global = match bodies.get(get_state).map(Vec::as_slice) {
        Some([Operator::GlobalGet { global_index }, Operator::End]) => *global_index,
        _ => {
            return Ok(Err(format!(
                "{GET_STATE} does not just read a global: not Binaryen's asyncify"
            )))
        }
    };
    let data_global = exports
        .get(START_UNWIND)
        .and_then(|f| bodies.get(f))
        .and_then(|ops| {
            ops.iter().find_map(|op| match op {
                Operator::GlobalSet { global_index } if *global_index != state_global => {
                    Some(*global_index)
                }
                _ => None,
            })
        });
    let api_functions = API_FUNCTIONS
        .iter()
        .filter_map(|name| exports.get(*name).copied())
        .filter(|index| *index >= imported_funcs)
        .collect();
    Ok(Ok(AsyncifyRuntime {
        state_global,
        data_global,
        api_functions,
    }))
}
