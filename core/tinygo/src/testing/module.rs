//! Small core modules to read (named functions in a table, bodies of `nop`s and `call`s,
//! with where each instruction landed), custom sections added to a finished module as wasm-ld
//! places them, and memory images for queue walks.

use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, ElementSection, Elements, ExportKind, ExportSection,
    Function, FunctionSection, IndirectNameMap, Instruction, MemorySection, MemoryType, NameMap,
    NameSection, RefType, TableSection, TableType, TypeSection,
};

use super::dwarf::{write_dwarf, DwarfSpec, SequenceSpec};

/// `module` with `sections` appended as custom sections (after the Code section, so code
/// offsets do not move).
pub fn append_custom_sections(module: &[u8], sections: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = module.to_vec();
    for (name, data) in sections {
        let section = CustomSection {
            name: name.as_str().into(),
            data: data.as_slice().into(),
        };
        out.push(wasm_encoder::SectionId::Custom as u8);
        wasm_encoder::Encode::encode(&section, &mut out);
    }
    out
}

/// `module` with `sections` (name, contents) added as custom sections just before the name
/// section, where wasm-ld puts `.debug_*`, or at the end when there is none. Code offsets do
/// not move: everything inserted comes after the Code section. Fails on bytes that are not a
/// module's sections.
pub fn insert_before_name(
    module: &[u8],
    sections: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    const HEADER: usize = 8;
    if module.len() < HEADER || &module[..4] != b"\0asm" {
        return Err("not a wasm module".into());
    }
    let encoded = append_custom_sections(&[], sections);
    let mut at = HEADER;
    while at < module.len() {
        let start = at;
        let id = module[at];
        let (size, size_len) = read_leb(&module[at + 1..])?;
        let payload = at + 1 + size_len;
        let end = payload + size as usize;
        if end > module.len() {
            return Err(format!(
                "section at byte {start} runs past the end of the module"
            ));
        }
        if id == 0 {
            let (name_len, name_len_len) = read_leb(&module[payload..end])?;
            let name_start = payload + name_len_len;
            if module.get(name_start..name_start + name_len as usize) == Some(b"name") {
                return Ok([&module[..start], &encoded, &module[start..]].concat());
            }
        }
        at = end;
    }
    Ok([module, &encoded].concat())
}

/// An unsigned LEB128 u32 and its length in bytes.
fn read_leb(bytes: &[u8]) -> Result<(u32, usize), String> {
    let mut value = 0u32;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("bad LEB128 in a section header".into())
}

/// A function of [`module_with_functions`]: its name and the source line of its body.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Name-section name, e.g. `main.worker$gowrapper`.
    pub name: String,
    /// Source line of its first instruction.
    pub line: u64,
}

/// Table slots start here in [`module_with_functions`] (slot `TABLE_BASE + i` holds function
/// `i`), so a reader that ignores element offsets is caught.
pub const TABLE_BASE: u32 = 3;

/// The file every function of [`module_with_functions`] is in.
pub const SOURCE_FILE: &str = "/src/main.go";

/// The sections both builders begin with: `functions` functions of type `[] -> []`, a funcref
/// table with room for `table_len` slots from [`TABLE_BASE`], and one page of memory.
fn module_start(functions: usize, table_len: usize) -> wasm_encoder::Module {
    let mut module = wasm_encoder::Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    for _ in 0..functions {
        funcs.function(0);
    }
    module.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: u64::from(TABLE_BASE) + table_len as u64,
        maximum: None,
        shared: false,
    });
    module.section(&tables);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    module
}

/// A module with one page of memory, `functions` (each `nop nop`) named and placed in table
/// 0 from [`TABLE_BASE`], and `dwarf` (when given; it must have a unit) completed with a line
/// sequence in its first unit: a row per function at its first instruction, in
/// [`SOURCE_FILE`], to the end of the code. Returns the module and each function's
/// first-instruction module offset.
pub fn module_with_functions(
    functions: &[FunctionSpec],
    dwarf: Option<DwarfSpec>,
) -> (Vec<u8>, Vec<u32>) {
    let mut module = module_start(functions.len(), functions.len());
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    module.section(&exports);
    let mut elements = ElementSection::new();
    let indices: Vec<u32> = (0..functions.len() as u32).collect();
    elements.active(
        Some(0),
        &ConstExpr::i32_const(TABLE_BASE as i32),
        Elements::Functions(indices.into()),
    );
    module.section(&elements);
    let mut code = CodeSection::new();
    for _ in functions {
        let mut f = Function::new([]);
        f.instruction(&Instruction::Nop);
        f.instruction(&Instruction::Nop);
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    module.section(&code);
    let mut names = NameSection::new();
    let mut map = NameMap::new();
    for (i, f) in functions.iter().enumerate() {
        map.append(i as u32, &f.name);
    }
    names.functions(&map);
    names.locals(&IndirectNameMap::new());
    module.section(&names);
    let bytes = module.finish();

    let info = crate::module::scan(&bytes).expect("test module parses");
    let Some(mut dwarf) = dwarf else {
        return (bytes, info.first_instruction);
    };
    let code_end = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::CodeSectionStart {
                unchecked_range, ..
            }) => Some(unchecked_range.end as u32),
            _ => None,
        })
        .expect("code section");
    let rows = functions
        .iter()
        .zip(&info.first_instruction)
        .map(|(f, first)| {
            (
                u64::from(first - info.code_start),
                SOURCE_FILE.to_string(),
                f.line,
            )
        })
        .collect();
    dwarf
        .units
        .first_mut()
        .expect("DWARF with a unit for the line table")
        .sequences
        .push(SequenceSpec {
            rows,
            end: u64::from(code_end - info.code_start),
        });
    (
        append_custom_sections(&bytes, &write_dwarf(&dwarf)),
        info.first_instruction,
    )
}

/// A little-endian linear memory image for walking.
#[derive(Debug, Clone)]
pub struct MemoryImage(pub Vec<u8>);

impl MemoryImage {
    /// `size` zero bytes.
    pub fn new(size: usize) -> MemoryImage {
        MemoryImage(vec![0; size])
    }

    /// Stores a u32 at `address`.
    pub fn put_u32(&mut self, address: u32, value: u32) {
        let at = address as usize;
        self.0[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Stores a u64 at `address`.
    pub fn put_u64(&mut self, address: u32, value: u64) {
        let at = address as usize;
        self.0[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
}

/// One instruction of a [`BodySpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `nop`.
    Nop,
    /// `call` of the defined function with this index (the builder imports nothing).
    Call(u32),
}

/// A function of [`module_with_bodies`]: its name-section name and its instructions.
#[derive(Debug, Clone)]
pub struct BodySpec {
    /// Name-section name; empty for none.
    pub name: String,
    /// The body, before its final `end`.
    pub ops: Vec<Op>,
}

impl BodySpec {
    /// A body named `name` of `ops`.
    pub fn new(name: &str, ops: &[Op]) -> BodySpec {
        BodySpec {
            name: name.into(),
            ops: ops.to_vec(),
        }
    }
}

/// Where [`module_with_bodies`] put a function, as DWARF code addresses (offsets from the
/// Code section's payload) unless said otherwise.
#[derive(Debug, Clone)]
pub struct BodyLayout {
    /// The body's local declarations: what a subprogram's `DW_AT_low_pc` names.
    pub start: u64,
    /// Each op's address, in order.
    pub ops: Vec<u64>,
    /// One past the body's final `end`.
    pub end: u64,
    /// Module offset of the first instruction (a trap frame's offset there).
    pub module_first: u32,
}

/// A module with one page of memory and `bodies` (type `[] -> []`), named, the ones listed in
/// `table` placed in table 0 from [`TABLE_BASE`] in that order. Returns the module and where
/// each body landed, for DWARF written with [`write_units`](super::write_units).
pub fn module_with_bodies(bodies: &[BodySpec], table: &[u32]) -> (Vec<u8>, Vec<BodyLayout>) {
    let mut module = module_start(bodies.len(), table.len());
    let mut elements = ElementSection::new();
    elements.active(
        Some(0),
        &ConstExpr::i32_const(TABLE_BASE as i32),
        Elements::Functions(table.to_vec().into()),
    );
    module.section(&elements);
    let mut code = CodeSection::new();
    for body in bodies {
        let mut f = Function::new([]);
        for op in &body.ops {
            match op {
                Op::Nop => f.instruction(&Instruction::Nop),
                Op::Call(index) => f.instruction(&Instruction::Call(*index)),
            };
        }
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    module.section(&code);
    let mut names = NameSection::new();
    let mut map = NameMap::new();
    for (i, body) in bodies.iter().enumerate() {
        if !body.name.is_empty() {
            map.append(i as u32, &body.name);
        }
    }
    names.functions(&map);
    module.section(&names);
    let bytes = module.finish();

    let mut layouts = Vec::new();
    let mut code_start = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.expect("test module parses") {
            wasmparser::Payload::CodeSectionStart {
                unchecked_range, ..
            } => code_start = unchecked_range.start,
            wasmparser::Payload::CodeSectionEntry(body) => {
                let range = body.range();
                let mut ops = Vec::new();
                let mut reader = body.get_operators_reader().expect("operators");
                let module_first = reader.original_position() as u32;
                while !reader.eof() {
                    let at = reader.original_position() - code_start;
                    if !matches!(
                        reader.read().expect("an operator"),
                        wasmparser::Operator::End
                    ) {
                        ops.push(at);
                    }
                }
                layouts.push(BodyLayout {
                    start: range.start - code_start,
                    ops,
                    end: range.end - code_start,
                    module_first,
                });
            }
            _ => {}
        }
    }
    (bytes, layouts)
}

/// `module` with a `producers` custom section of `fields` (field, [(name, version)]).
pub fn with_producers(module: &[u8], fields: &[(&str, &[(&str, &str)])]) -> Vec<u8> {
    let mut section = wasm_encoder::ProducersSection::new();
    for (field, values) in fields {
        let mut producers = wasm_encoder::ProducersField::new();
        for (name, version) in values.iter() {
            producers.value(name, version);
        }
        section.field(field, &producers);
    }
    let mut out = module.to_vec();
    out.push(wasm_encoder::SectionId::Custom as u8);
    wasm_encoder::Encode::encode(&section, &mut out);
    out
}
