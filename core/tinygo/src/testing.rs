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
