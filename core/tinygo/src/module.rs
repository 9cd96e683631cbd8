//! One pass over a core module for what introspection needs: DWARF sections, function names,
//! the function table's active elements, where each function body lies, exports and the
//! `producers` section.

use std::collections::HashMap;

use wasmparser::{
    ElementItems, ElementKind, ExternalKind, KnownCustom, Name, NameSectionReader, Operator,
    Parser, Payload, TypeRef,
};

use crate::Error;

/// What [`scan`] found.
#[derive(Debug, Default)]
pub(crate) struct ModuleInfo {
    /// `.debug_*` custom sections by name (`.debug_info` …).
    pub debug_sections: HashMap<String, Vec<u8>>,
    /// Function index → name, from the `name` section.
    pub function_names: HashMap<u32, String>,
    /// Table 0's slots set by active element segments with constant offsets.
    pub table: HashMap<u32, u32>,
    /// Module offset where the Code section's payload starts (the base of DWARF code
    /// addresses).
    pub code_start: u32,
    /// Per defined function (index `imported_funcs + i`): module offset of its first
    /// instruction.
    pub first_instruction: Vec<u32>,
    /// Per defined function: where its code lies (module offsets).
    pub bodies: Vec<Body>,
    /// Imported functions (the index of the first defined function).
    pub imported_funcs: u32,
    /// Export names.
    pub exports: Vec<String>,
    /// The `producers` section: (field, name, version), e.g. (`processed-by`, `TinyGo`,
    /// `0.33.0`).
    pub producers: Vec<(String, String, String)>,
}

/// Where one function's code lies, as module offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Body {
    /// Its size LEB: nothing between here and `start` is code of another function.
    pub extent: u32,
    /// Its local declarations (where DWARF's `DW_AT_low_pc` of the function points).
    pub start: u32,
    /// One past its final `end`.
    pub end: u32,
}

/// Reads `module`. Errors only when it is not a parseable core module.
pub(crate) fn scan(module: &[u8]) -> Result<ModuleInfo, Error> {
    let mut info = ModuleInfo::default();
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(Error::NotCoreModule);
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        info.imported_funcs += 1;
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.kind == ExternalKind::Func {
                        info.exports.push(export.name.to_string());
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    let element = element?;
                    let ElementKind::Active {
                        table_index,
                        offset_expr,
                    } = element.kind
                    else {
                        continue;
                    };
                    if table_index.unwrap_or(0) != 0 {
                        continue;
                    }
                    let Some(Operator::I32Const { value }) =
                        offset_expr.get_operators_reader().read().ok()
                    else {
                        continue; // a global-based offset: not resolvable statically
                    };
                    let functions: Vec<u32> = match element.items {
                        ElementItems::Functions(funcs) => {
                            funcs.into_iter().collect::<Result<_, _>>()?
                        }
                        ElementItems::Expressions(_, exprs) => {
                            let mut functions = Vec::new();
                            for expr in exprs {
                                if let Ok(Operator::RefFunc { function_index }) =
                                    expr?.get_operators_reader().read()
                                {
                                    functions.push(function_index);
                                }
                            }
                            functions
                        }
                    };
                    for (i, func) in functions.into_iter().enumerate() {
                        info.table
                            .insert((value as u32).wrapping_add(i as u32), func);
                    }
                }
            }
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => info.code_start = unchecked_range.start as u32,
            Payload::CodeSectionEntry(body) => {
                let reader = body.get_operators_reader()?;
                info.first_instruction
                    .push(reader.original_position() as u32);
                let range = body.range();
                let size_len = leb_len(range.end - range.start);
                info.bodies.push(Body {
                    extent: range.start.saturating_sub(size_len) as u32,
                    start: range.start as u32,
                    end: range.end as u32,
                });
            }
            Payload::CustomSection(section) => {
                let name = section.name();
                if name.starts_with(".debug_") {
                    info.debug_sections
                        .insert(name.to_string(), section.data().to_vec());
                } else if name == "name" {
                    read_names(&mut info, section.data(), section.data_offset());
                } else if let KnownCustom::Producers(reader) = section.as_known() {
                    read_producers(&mut info, reader);
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Bytes of `value` as an unsigned LEB128.
fn leb_len(mut value: u64) -> u64 {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

/// A malformed producers section only loses producers: read what parses.
fn read_producers(info: &mut ModuleInfo, reader: wasmparser::ProducersSectionReader<'_>) {
    for field in reader.into_iter().map_while(Result::ok) {
        for value in field.values.into_iter().map_while(Result::ok) {
            info.producers.push((
                field.name.to_string(),
                value.name.to_string(),
                value.version.to_string(),
            ));
        }
    }
}

/// A malformed name section only loses names: read what parses.
fn read_names(info: &mut ModuleInfo, data: &[u8], offset: u64) {
    let reader = NameSectionReader::new(wasmparser::BinaryReader::new(data, offset));
    for subsection in reader.into_iter().map_while(Result::ok) {
        if let Name::Function(map) = subsection {
            for naming in map.into_iter().map_while(Result::ok) {
                info.function_names
                    .insert(naming.index, naming.name.to_string());
            }
        }
    }
}
