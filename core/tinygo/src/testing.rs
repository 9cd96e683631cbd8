//! Builders for TinyGo-shaped DWARF, modules and memory images (feature `testing`).
//!
//! [`write_dwarf`] turns a [`DwarfSpec`] into `.debug_*` sections with `gimli::write`;
//! [`tinygo_033_dwarf`] is the shape observed in a real TinyGo 0.33 wasip2 build (Task of 0x30
//! bytes, the run queue as two `DW_OP_piece`s, DWARF 4). [`append_custom_sections`] adds the
//! sections to any module; [`module_with_functions`] builds a small module with named
//! functions in a table and a line table for them. Fixture generators can reuse all of it.

use gimli::write::{
    Address, AttributeValue, DwarfUnit, EndianVec, Expression, LineProgram, LineString, Sections,
    UnitEntryId,
};
use gimli::{Encoding, Format, LineEncoding, LittleEndian};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, ElementSection, Elements, ExportKind, ExportSection,
    Function, FunctionSection, IndirectNameMap, Instruction, MemorySection, MemoryType, NameMap,
    NameSection, RefType, TableSection, TableType, TypeSection,
};

/// A whole DWARF compile unit to write.
#[derive(Debug, Clone)]
pub struct DwarfSpec {
    /// 4 (TinyGo) or 5.
    pub version: u16,
    /// Global variables.
    pub variables: Vec<VariableSpec>,
    /// Named struct types.
    pub structs: Vec<StructSpec>,
    /// Line table rows, by increasing code address.
    pub lines: Vec<LineSpec>,
    /// Length of the code the unit covers (its `DW_AT_high_pc`, the end of the line sequence).
    pub code_len: u64,
}

/// One `DW_TAG_variable`.
#[derive(Debug, Clone)]
pub struct VariableSpec {
    /// Go-qualified name, e.g. `runtime.sleepQueue`.
    pub name: String,
    /// Its location.
    pub location: VarLocation,
}

/// How a variable's `DW_AT_location` is written.
#[derive(Debug, Clone)]
pub enum VarLocation {
    /// No `DW_AT_location` (optimised away).
    None,
    /// `DW_OP_addr a`.
    Address(u32),
    /// `DW_OP_addr a DW_OP_piece n` per (address, size).
    Pieces(Vec<(u32, u32)>),
}

/// A struct type.
#[derive(Debug, Clone)]
pub struct StructSpec {
    /// Its name (`internal/task.Task`); empty for an anonymous nested struct.
    pub name: String,
    /// `DW_AT_byte_size`.
    pub size: u32,
    /// Write it as an anonymous struct behind a typedef of that name.
    pub typedef: bool,
    /// Members in order.
    pub members: Vec<MemberSpec>,
}

/// A struct member.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// Its name.
    pub name: String,
    /// `DW_AT_data_member_location`.
    pub offset: u32,
    /// Its type.
    pub ty: MemberType,
}

/// A member's type.
#[derive(Debug, Clone)]
pub enum MemberType {
    /// A wasm32 pointer (4 bytes).
    Pointer,
    /// A base type of this size (`uintptr` 4, `uint64` 8, `bool` 1).
    Base(u32),
    /// A nested struct, by value.
    Struct(Box<StructSpec>),
}

/// One line table row.
#[derive(Debug, Clone)]
pub struct LineSpec {
    /// Code address (offset in the Code section's payload).
    pub address: u64,
    /// Source file.
    pub file: String,
    /// Line.
    pub line: u64,
}

impl StructSpec {
    /// The offset of a dotted member path (`state.stackState.csp`), from the spec itself:
    /// tests write memory with this and read it back through DWARF.
    pub fn offset_of(&self, path: &str) -> u32 {
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        let member = self
            .members
            .iter()
            .find(|m| m.name == head)
            .unwrap_or_else(|| panic!("no member {head} in {}", self.name));
        match (&member.ty, rest) {
            (_, "") => member.offset,
            (MemberType::Struct(inner), rest) => member.offset + inner.offset_of(rest),
            _ => panic!("{head} is not a struct"),
        }
    }
}

fn member(name: &str, offset: u32, ty: MemberType) -> MemberSpec {
    MemberSpec {
        name: name.into(),
        offset,
        ty,
    }
}

fn structure(name: &str, size: u32, members: Vec<MemberSpec>) -> StructSpec {
    StructSpec {
        name: name.into(),
        size,
        typedef: false,
        members,
    }
}

/// `internal/task.Task` as TinyGo 0.33 lays it out on wasm (0x30 bytes). With `extra`, a
/// 4-byte `FipsIndicator` field is inserted before `state`, moving it and everything after
/// by 8 (a layout no reader may assume).
pub fn task_struct(extra: bool) -> StructSpec {
    let shift = if extra { 8 } else { 0 };
    let stack_state = structure(
        "internal/task.stackState",
        8,
        vec![
            member("asyncifysp", 0, MemberType::Pointer),
            member("csp", 4, MemberType::Pointer),
        ],
    );
    let state = structure(
        "internal/task.state",
        0x14,
        vec![
            member("entry", 0, MemberType::Base(4)),
            member("args", 4, MemberType::Pointer),
            member("stackState", 8, MemberType::Struct(Box::new(stack_state))),
            member("launched", 0x10, MemberType::Base(1)),
        ],
    );
    let mut members = vec![
        member("Next", 0, MemberType::Pointer),
        member("Ptr", 4, MemberType::Pointer),
        member("Data", 8, MemberType::Base(8)),
        member("gcData", 0x10, MemberType::Pointer),
    ];
    if extra {
        members.push(member("FipsIndicator", 0x14, MemberType::Base(1)));
    }
    members.push(member(
        "state",
        0x14 + shift,
        MemberType::Struct(Box::new(state)),
    ));
    members.push(member("DeferFrame", 0x28 + shift, MemberType::Pointer));
    StructSpec {
        name: "internal/task.Task".into(),
        size: 0x30 + shift,
        // TinyGo names its structs through typedefs.
        typedef: true,
        members,
    }
}

/// `internal/task.Queue`, `runtime.timerNode`, `runtime.timer` as observed.
pub fn other_structs() -> Vec<StructSpec> {
    vec![
        structure(
            "internal/task.Queue",
            8,
            vec![
                member("head", 0, MemberType::Pointer),
                member("tail", 4, MemberType::Pointer),
            ],
        ),
        structure(
            "runtime.timerNode",
            0x10,
            vec![
                member("next", 0, MemberType::Pointer),
                member("timer", 4, MemberType::Pointer),
                member("callback", 8, MemberType::Base(8)),
            ],
        ),
        structure(
            "runtime.timer",
            0x20,
            vec![
                member("when", 0, MemberType::Base(8)),
                member("period", 8, MemberType::Base(8)),
                member("f", 0x10, MemberType::Base(8)),
                member("arg", 0x18, MemberType::Base(8)),
            ],
        ),
    ]
}

/// Addresses the scheduler globals get in [`tinygo_033_dwarf`].
pub mod addr {
    /// `runtime.sleepQueue`.
    pub const SLEEP_QUEUE: u32 = 0x1000;
    /// `runtime.sleepQueueBaseTime`.
    pub const BASE_TIME: u32 = 0x1008;
    /// `runtime.runqueue`'s head piece.
    pub const RUN_QUEUE_HEAD: u32 = 0x1010;
    /// `runtime.runqueue`'s tail piece (elsewhere: the pieces are not adjacent).
    pub const RUN_QUEUE_TAIL: u32 = 0x1040;
    /// `runtime.timerQueue`.
    pub const TIMER_QUEUE: u32 = 0x1018;
    /// `internal/task.currentTask`.
    pub const CURRENT_TASK: u32 = 0x101c;
}

/// The five scheduler globals and four struct types as a TinyGo 0.33 build writes them;
/// `sleep_queue_used: false` leaves `runtime.sleepQueue` without a location.
pub fn tinygo_033_dwarf(extra_task_field: bool, sleep_queue_used: bool) -> DwarfSpec {
    let variable = |name: &str, location| VariableSpec {
        name: name.into(),
        location,
    };
    let mut structs = vec![task_struct(extra_task_field)];
    structs.extend(other_structs());
    DwarfSpec {
        version: 4,
        variables: vec![
            variable(
                "runtime.sleepQueue",
                if sleep_queue_used {
                    VarLocation::Address(addr::SLEEP_QUEUE)
                } else {
                    VarLocation::None
                },
            ),
            variable(
                "runtime.sleepQueueBaseTime",
                VarLocation::Address(addr::BASE_TIME),
            ),
            variable(
                "runtime.runqueue",
                VarLocation::Pieces(vec![(addr::RUN_QUEUE_HEAD, 4), (addr::RUN_QUEUE_TAIL, 4)]),
            ),
            variable(
                "runtime.timerQueue",
                VarLocation::Address(addr::TIMER_QUEUE),
            ),
            variable(
                "internal/task.currentTask",
                VarLocation::Address(addr::CURRENT_TASK),
            ),
        ],
        structs,
        lines: Vec::new(),
        code_len: 0,
    }
}

/// Writes `spec` as DWARF sections: (`.debug_info`, bytes), … (empty sections left out).
pub fn write_dwarf(spec: &DwarfSpec) -> Vec<(String, Vec<u8>)> {
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: spec.version,
        address_size: 4,
    };
    let mut dwarf = DwarfUnit::new(encoding);
    let root = dwarf.unit.root();
    let string = |s: &str| AttributeValue::String(s.as_bytes().to_vec());
    {
        let cu = dwarf.unit.get_mut(root);
        cu.set(gimli::DW_AT_name, string("main"));
        cu.set(gimli::DW_AT_language, AttributeValue::Udata(0x16)); // DW_LANG_Go
        cu.set(
            gimli::DW_AT_low_pc,
            AttributeValue::Address(Address::Constant(0)),
        );
        cu.set(gimli::DW_AT_high_pc, AttributeValue::Udata(spec.code_len));
    }
    if !spec.lines.is_empty() {
        let mut program = LineProgram::new(
            encoding,
            LineEncoding::default(),
            LineString::String(b"/src".to_vec()),
            Some(LineString::String(b"/src".to_vec())),
            LineString::String(b"main.go".to_vec()),
            None,
        );
        let dir = program.default_directory();
        program.begin_sequence(Some(Address::Constant(0)));
        for row in &spec.lines {
            let file =
                program.add_file(LineString::String(row.file.as_bytes().to_vec()), dir, None);
            program.row().address_offset = row.address;
            program.row().file = file;
            program.row().line = row.line;
            program.generate_row();
        }
        program.end_sequence(spec.code_len);
        dwarf.unit.line_program = program;
    }
    let pointer = dwarf.unit.add(root, gimli::DW_TAG_pointer_type);
    dwarf
        .unit
        .get_mut(pointer)
        .set(gimli::DW_AT_byte_size, AttributeValue::Udata(4));
    for structure in &spec.structs {
        add_struct(&mut dwarf, root, pointer, structure);
    }
    for variable in &spec.variables {
        let id = dwarf.unit.add(root, gimli::DW_TAG_variable);
        let entry = dwarf.unit.get_mut(id);
        entry.set(gimli::DW_AT_name, string(&variable.name));
        entry.set(gimli::DW_AT_type, AttributeValue::UnitRef(pointer));
        let mut expr = Expression::new();
        match &variable.location {
            VarLocation::None => continue,
            VarLocation::Address(a) => expr.op_addr(Address::Constant(u64::from(*a))),
            VarLocation::Pieces(pieces) => {
                for (a, size) in pieces {
                    expr.op_addr(Address::Constant(u64::from(*a)));
                    expr.op_piece(u64::from(*size));
                }
            }
        }
        entry.set(gimli::DW_AT_location, AttributeValue::Exprloc(expr));
    }
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).expect("writing test DWARF");
    let mut out = Vec::new();
    sections
        .for_each(|id, data| {
            if !data.slice().is_empty() {
                out.push((id.name().to_string(), data.slice().to_vec()));
            }
            Ok::<_, ()>(())
        })
        .expect("collecting test DWARF");
    out
}

fn add_struct(
    dwarf: &mut DwarfUnit,
    root: UnitEntryId,
    pointer: UnitEntryId,
    spec: &StructSpec,
) -> UnitEntryId {
    let id = dwarf.unit.add(root, gimli::DW_TAG_structure_type);
    dwarf.unit.get_mut(id).set(
        gimli::DW_AT_byte_size,
        AttributeValue::Udata(u64::from(spec.size)),
    );
    let named = if spec.typedef {
        let typedef = dwarf.unit.add(root, gimli::DW_TAG_typedef);
        dwarf
            .unit
            .get_mut(typedef)
            .set(gimli::DW_AT_type, AttributeValue::UnitRef(id));
        typedef
    } else {
        id
    };
    if !spec.name.is_empty() {
        dwarf.unit.get_mut(named).set(
            gimli::DW_AT_name,
            AttributeValue::String(spec.name.as_bytes().to_vec()),
        );
    }
    for m in &spec.members {
        let ty = match &m.ty {
            MemberType::Pointer => pointer,
            MemberType::Base(size) => {
                let base = dwarf.unit.add(root, gimli::DW_TAG_base_type);
                dwarf.unit.get_mut(base).set(
                    gimli::DW_AT_byte_size,
                    AttributeValue::Udata(u64::from(*size)),
                );
                base
            }
            MemberType::Struct(inner) => add_struct(dwarf, root, pointer, inner),
        };
        let member = dwarf.unit.add(id, gimli::DW_TAG_member);
        let entry = dwarf.unit.get_mut(member);
        entry.set(
            gimli::DW_AT_name,
            AttributeValue::String(m.name.as_bytes().to_vec()),
        );
        entry.set(gimli::DW_AT_type, AttributeValue::UnitRef(ty));
        entry.set(
            gimli::DW_AT_data_member_location,
            AttributeValue::Udata(u64::from(m.offset)),
        );
    }
    named
}

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

/// A module with one page of memory, `functions` (each `nop nop`) named and placed in table
/// 0 from [`TABLE_BASE`], and `dwarf` (when given) completed with a line row per function at
/// its first instruction. Returns the module and each function's first-instruction module
/// offset.
pub fn module_with_functions(
    functions: &[FunctionSpec],
    dwarf: Option<DwarfSpec>,
) -> (Vec<u8>, Vec<u32>) {
    let mut module = wasm_encoder::Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    for _ in functions {
        funcs.function(0);
    }
    module.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: u64::from(TABLE_BASE) + functions.len() as u64,
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
    dwarf.code_len = u64::from(code_end - info.code_start);
    dwarf.lines = functions
        .iter()
        .zip(&info.first_instruction)
        .map(|(f, first)| LineSpec {
            address: u64::from(first - info.code_start),
            file: SOURCE_FILE.into(),
            line: f.line,
        })
        .collect();
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
/// each body landed, for DWARF written with [`write_units`].
pub fn module_with_bodies(bodies: &[BodySpec], table: &[u32]) -> (Vec<u8>, Vec<BodyLayout>) {
    let mut module = wasm_encoder::Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    for _ in bodies {
        funcs.function(0);
    }
    module.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: u64::from(TABLE_BASE) + table.len() as u64,
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

/// One compile unit of [`write_units`].
#[derive(Debug, Clone, Default)]
pub struct UnitSpec {
    /// `DW_AT_name`.
    pub name: String,
    /// `DW_AT_producer` (TinyGo writes `TinyGo`; clang `clang version …`).
    pub producer: Option<String>,
    /// `DW_AT_language` (TinyGo writes `DW_LANG_C99`, 0x0c, for Go; `DW_LANG_Go` is 0x16).
    pub language: Option<u16>,
    /// `DW_AT_comp_dir`, also the line program's directory 0.
    pub comp_dir: String,
    /// Line sequences, each within one function (or not: overlapping is allowed).
    pub sequences: Vec<SequenceSpec>,
    /// Subprograms, concrete or abstract.
    pub subprograms: Vec<SubprogramSpec>,
}

/// A line-table sequence: rows (address, file path, line) by increasing address, ending at
/// `end`.
#[derive(Debug, Clone)]
pub struct SequenceSpec {
    /// The rows.
    pub rows: Vec<(u64, String, u64)>,
    /// The end-of-sequence address.
    pub end: u64,
}

/// A `DW_TAG_subprogram`.
#[derive(Debug, Clone, Default)]
pub struct SubprogramSpec {
    /// `DW_AT_name` (TinyGo's goroutine wrappers are called `<goroutine wrapper>`).
    pub name: String,
    /// `DW_AT_linkage_name`.
    pub linkage_name: Option<String>,
    /// `DW_AT_low_pc`..`DW_AT_high_pc`; `None` for an abstract instance (`DW_AT_inline`).
    pub code: Option<(u64, u64)>,
    /// `DW_AT_decl_file` (a path) and `DW_AT_decl_line`.
    pub decl: Option<(String, u64)>,
    /// Subroutines inlined into it.
    pub inlined: Vec<InlinedSpec>,
}

/// A `DW_TAG_inlined_subroutine`.
#[derive(Debug, Clone)]
pub struct InlinedSpec {
    /// The name of the abstract subprogram (in any unit) it is an instance of.
    pub origin: String,
    /// Its code range.
    pub code: (u64, u64),
    /// `DW_AT_call_file` and `DW_AT_call_line`.
    pub call: Option<(String, u64)>,
    /// Subroutines inlined into this one.
    pub inlined: Vec<InlinedSpec>,
}

/// Writes `units` as DWARF 4 sections: (`.debug_info`, bytes), … Inlined subroutines refer
/// to their origin across units with `DW_FORM_ref_addr`, as LLVM does for one linked module.
pub fn write_units(units: &[UnitSpec]) -> Vec<(String, Vec<u8>)> {
    use gimli::write::{Dwarf, FileId, Reference, Unit};
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: 4,
        address_size: 4,
    };
    let string = |s: &str| AttributeValue::String(s.as_bytes().to_vec());
    let mut dwarf = Dwarf::new();
    let mut ids = Vec::new();
    let mut files: Vec<Vec<(String, FileId)>> = Vec::new();
    for spec in units {
        let mut paths: Vec<&str> = spec
            .sequences
            .iter()
            .flat_map(|s| s.rows.iter().map(|(_, file, _)| file.as_str()))
            .collect();
        fn decls<'a>(inlined: &'a [InlinedSpec], out: &mut Vec<&'a str>) {
            for i in inlined {
                out.extend(i.call.as_ref().map(|(file, _)| file.as_str()));
                decls(&i.inlined, out);
            }
        }
        for sub in &spec.subprograms {
            paths.extend(sub.decl.as_ref().map(|(file, _)| file.as_str()));
            decls(&sub.inlined, &mut paths);
        }
        let mut program = if paths.is_empty() {
            LineProgram::none()
        } else {
            LineProgram::new(
                encoding,
                LineEncoding::default(),
                LineString::String(spec.comp_dir.as_bytes().to_vec()),
                None,
                LineString::String(spec.name.as_bytes().to_vec()),
                None,
            )
        };
        let mut unit_files = Vec::new();
        for path in paths {
            if unit_files.iter().any(|(p, _)| p == path) {
                continue;
            }
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let dir = if dir.is_empty() {
                program.default_directory()
            } else {
                program.add_directory(LineString::String(dir.as_bytes().to_vec()))
            };
            let id = program.add_file(LineString::String(name.as_bytes().to_vec()), dir, None);
            unit_files.push((path.to_string(), id));
        }
        let file_of = |path: &str| {
            unit_files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, id)| *id)
                .expect("file added above")
        };
        for sequence in &spec.sequences {
            let start = sequence.rows.first().map_or(sequence.end, |r| r.0);
            program.begin_sequence(Some(Address::Constant(start)));
            for (address, file, line) in &sequence.rows {
                let row = program.row();
                row.address_offset = address - start;
                row.file = file_of(file);
                row.line = *line;
                program.generate_row();
            }
            program.end_sequence(sequence.end - start);
        }
        let id = dwarf.units.add(Unit::new(encoding, program));
        let unit = dwarf.units.get_mut(id);
        let root = unit.get_mut(unit.root());
        root.set(gimli::DW_AT_name, string(&spec.name));
        root.set(gimli::DW_AT_comp_dir, string(&spec.comp_dir));
        if let Some(producer) = &spec.producer {
            root.set(gimli::DW_AT_producer, string(producer));
        }
        if let Some(language) = spec.language {
            root.set(
                gimli::DW_AT_language,
                AttributeValue::Language(gimli::DwLang(language)),
            );
        }
        root.set(
            gimli::DW_AT_low_pc,
            AttributeValue::Address(Address::Constant(0)),
        );
        ids.push(id);
        files.push(unit_files);
    }
    // Subprograms first (abstract origins may be anywhere), then what is inlined into them.
    let mut subprograms = Vec::new();
    for ((spec, id), unit_files) in units.iter().zip(&ids).zip(&files) {
        let file_of = |path: &str| {
            unit_files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, id)| *id)
                .expect("file added above")
        };
        let unit = dwarf.units.get_mut(*id);
        let root = unit.root();
        for sub in &spec.subprograms {
            let die = unit.add(root, gimli::DW_TAG_subprogram);
            let entry = unit.get_mut(die);
            entry.set(gimli::DW_AT_name, string(&sub.name));
            if let Some(linkage) = &sub.linkage_name {
                entry.set(gimli::DW_AT_linkage_name, string(linkage));
            }
            if let Some((file, line)) = &sub.decl {
                entry.set(
                    gimli::DW_AT_decl_file,
                    AttributeValue::FileIndex(Some(file_of(file))),
                );
                entry.set(gimli::DW_AT_decl_line, AttributeValue::Udata(*line));
            }
            match sub.code {
                Some((low, high)) => {
                    entry.set(
                        gimli::DW_AT_low_pc,
                        AttributeValue::Address(Address::Constant(low)),
                    );
                    entry.set(gimli::DW_AT_high_pc, AttributeValue::Udata(high - low));
                }
                None => entry.set(gimli::DW_AT_inline, AttributeValue::Udata(1)),
            }
            subprograms.push((sub.name.clone(), *id, die));
        }
    }
    let origin_of = |name: &str| {
        subprograms
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, unit, die)| Reference::Entry(*unit, *die))
            .unwrap_or_else(|| panic!("no subprogram {name} to inline"))
    };
    fn add_inlined(
        unit: &mut Unit,
        parent: UnitEntryId,
        inlined: &[InlinedSpec],
        origin_of: &dyn Fn(&str) -> Reference,
        file_of: &dyn Fn(&str) -> gimli::write::FileId,
    ) {
        for spec in inlined {
            let die = unit.add(parent, gimli::DW_TAG_inlined_subroutine);
            let entry = unit.get_mut(die);
            entry.set(
                gimli::DW_AT_abstract_origin,
                AttributeValue::DebugInfoRef(origin_of(&spec.origin)),
            );
            entry.set(
                gimli::DW_AT_low_pc,
                AttributeValue::Address(Address::Constant(spec.code.0)),
            );
            entry.set(
                gimli::DW_AT_high_pc,
                AttributeValue::Udata(spec.code.1 - spec.code.0),
            );
            if let Some((file, line)) = &spec.call {
                entry.set(
                    gimli::DW_AT_call_file,
                    AttributeValue::FileIndex(Some(file_of(file))),
                );
                entry.set(gimli::DW_AT_call_line, AttributeValue::Udata(*line));
            }
            add_inlined(unit, die, &spec.inlined, origin_of, file_of);
        }
    }
    let mut next = 0;
    for ((spec, id), unit_files) in units.iter().zip(&ids).zip(&files) {
        let file_of = |path: &str| {
            unit_files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, id)| *id)
                .expect("file added above")
        };
        for sub in &spec.subprograms {
            let (_, _, die) = subprograms[next];
            next += 1;
            add_inlined(
                dwarf.units.get_mut(*id),
                die,
                &sub.inlined,
                &origin_of,
                &file_of,
            );
        }
    }
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).expect("writing test DWARF");
    let mut out = Vec::new();
    sections
        .for_each(|id, data| {
            if !data.slice().is_empty() {
                out.push((id.name().to_string(), data.slice().to_vec()));
            }
            Ok::<_, ()>(())
        })
        .expect("collecting test DWARF");
    out
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
