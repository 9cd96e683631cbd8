//! A DWARF writer (`gimli::write`) for compile units described as data: types, global
//! variables, subprograms with the subroutines inlined into them, and line sequences.
//!
//! References are by name: a member's, variable's or pointer's type is the type of that name
//! in any unit, an inlined subroutine's origin the subprogram of that name in any unit. As LLVM
//! writes one linked module, a reference within a unit is a unit offset (`DW_FORM_ref4`) and
//! one across units a `.debug_info` offset (`DW_FORM_ref_addr`); names are `.debug_str`
//! strings (`DW_FORM_strp`). A spec that names something that is not there is a bug in the
//! test or generator: writing it panics, saying what is missing.

use gimli::write::{
    Address, AttributeValue, Dwarf, EndianVec, Expression, FileId, LineProgram, LineString, Range,
    RangeList, Reference, Sections, Unit, UnitEntryId, UnitId,
};
use gimli::{DwAte, Encoding, Format, LineEncoding, LittleEndian};

/// The DWARF version TinyGo (LLVM) writes for wasm.
pub const DWARF_VERSION: u16 = 4;

/// DWARF to write: compile units, in order, in one version.
#[derive(Debug, Clone)]
pub struct DwarfSpec {
    /// 4 (TinyGo) or 5.
    pub version: u16,
    /// The compile units, in `.debug_info` order.
    pub units: Vec<UnitSpec>,
}

impl DwarfSpec {
    /// `units` in [`DWARF_VERSION`].
    pub fn new(units: Vec<UnitSpec>) -> DwarfSpec {
        DwarfSpec {
            version: DWARF_VERSION,
            units,
        }
    }
}

/// One compile unit.
#[derive(Debug, Clone, Default)]
pub struct UnitSpec {
    /// `DW_AT_name` (TinyGo names a unit after its package, e.g. `runtime`).
    pub name: String,
    /// `DW_AT_producer` (TinyGo writes `TinyGo`; clang `clang version …`).
    pub producer: Option<String>,
    /// `DW_AT_language` (TinyGo writes `DW_LANG_C99`, 0x0c, for Go; `DW_LANG_Go` is 0x16).
    pub language: Option<u16>,
    /// `DW_AT_comp_dir`, also the line program's directory 0.
    pub comp_dir: String,
    /// Line sequences, each within one function (or not: overlapping is allowed).
    pub sequences: Vec<SequenceSpec>,
    /// Subprograms, concrete or abstract. The unit's `DW_AT_ranges` lists the concrete ones'
    /// code.
    pub subprograms: Vec<SubprogramSpec>,
    /// Types, referred to by name from any unit.
    pub types: Vec<TypeSpec>,
    /// Global variables.
    pub variables: Vec<VariableSpec>,
}

/// A line-table sequence: rows (address, file path, line) by increasing address, ending at
/// `end`. A path's directory becomes an include directory of the unit's line program.
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
    /// `DW_AT_linkage_name` (TinyGo gives a Go function its symbol; wrappers have none).
    pub linkage_name: Option<String>,
    /// `DW_AT_low_pc`..`DW_AT_high_pc`; `None` for an abstract instance (`DW_AT_inline`).
    pub code: Option<(u64, u64)>,
    /// `DW_AT_decl_file` (a path) and `DW_AT_decl_line`.
    pub decl: Option<(String, u64)>,
    /// `DW_AT_external`.
    pub external: bool,
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

/// A named type.
#[derive(Debug, Clone)]
pub enum TypeSpec {
    /// `DW_TAG_base_type`, e.g. `uintptr` (4 bytes, unsigned).
    Base {
        /// Its name.
        name: String,
        /// `DW_AT_byte_size`.
        size: u32,
        /// `DW_AT_encoding`.
        encoding: DwAte,
    },
    /// A wasm32 `DW_TAG_pointer_type` (4 bytes), e.g. `*internal/task.Task`.
    Pointer {
        /// Its name.
        name: String,
        /// The type it points to; `None` for `unsafe.Pointer`.
        to: Option<String>,
    },
    /// A struct.
    Struct(StructSpec),
    /// `DW_TAG_typedef`, e.g. `runtime.timeUnit` → `int64`.
    Typedef {
        /// Its name.
        name: String,
        /// The type it names.
        to: String,
    },
}

impl TypeSpec {
    /// The name other specs refer to it by.
    pub fn name(&self) -> &str {
        match self {
            TypeSpec::Base { name, .. }
            | TypeSpec::Pointer { name, .. }
            | TypeSpec::Typedef { name, .. } => name,
            TypeSpec::Struct(s) => &s.name,
        }
    }
}

/// A struct type.
#[derive(Debug, Clone)]
pub struct StructSpec {
    /// Its name, e.g. `internal/task.Task`.
    pub name: String,
    /// `DW_AT_byte_size`.
    pub size: u32,
    /// Written as an anonymous struct behind a `DW_TAG_typedef` of that name (a reader must
    /// see through it).
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
    /// The name of its type.
    pub ty: String,
}

impl MemberSpec {
    /// Member `name` at `offset` of type `ty`.
    pub fn new(name: &str, offset: u32, ty: &str) -> MemberSpec {
        MemberSpec {
            name: name.into(),
            offset,
            ty: ty.into(),
        }
    }
}

/// A global `DW_TAG_variable`.
#[derive(Debug, Clone)]
pub struct VariableSpec {
    /// Go-qualified name, e.g. `runtime.sleepQueue`.
    pub name: String,
    /// The name of its type.
    pub ty: String,
    /// `DW_AT_external`.
    pub external: bool,
    /// Its location.
    pub location: VarLocation,
}

/// How a variable's `DW_AT_location` is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarLocation {
    /// No `DW_AT_location` (optimised away).
    None,
    /// `DW_OP_addr a`.
    Address(u32),
    /// `DW_OP_addr a DW_OP_piece n` per (address, size): a global LLVM split.
    Pieces(Vec<(u32, u32)>),
}

/// The offset of a dotted member path (`state.stackState.csp`) inside struct `name`, found in
/// `types` (nested structs by their names): tests write memory with it and read it back
/// through DWARF. `None` when a step is not there.
pub fn member_offset(types: &[TypeSpec], name: &str, path: &str) -> Option<u32> {
    let structure = types.iter().find_map(|t| match t {
        TypeSpec::Struct(s) if s.name == name => Some(s),
        _ => None,
    })?;
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let member = structure.members.iter().find(|m| m.name == head)?;
    if rest.is_empty() {
        return Some(member.offset);
    }
    Some(member.offset + member_offset(types, &member.ty, rest)?)
}

/// `units` as DWARF 4 sections: (`.debug_info`, bytes), … (empty sections left out).
pub fn write_units(units: &[UnitSpec]) -> Vec<(String, Vec<u8>)> {
    write_dwarf(&DwarfSpec::new(units.to_vec()))
}

/// `spec` as DWARF sections: (`.debug_info`, bytes), … (empty sections left out).
pub fn write_dwarf(spec: &DwarfSpec) -> Vec<(String, Vec<u8>)> {
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: spec.version,
        address_size: 4,
    };
    let mut writer = Writer {
        dwarf: Dwarf::new(),
        types: Vec::new(),
        structs: Vec::new(),
        subprograms: Vec::new(),
    };
    let mut units = Vec::new();
    for unit in &spec.units {
        let (id, files) = writer.unit(encoding, unit);
        units.push((id, files));
    }
    // Every type's DIE first, so that any type, variable or member can refer to any other.
    for (unit, (id, _)) in spec.units.iter().zip(&units) {
        for ty in &unit.types {
            writer.declare_type(*id, ty);
        }
    }
    for (unit, (id, _)) in spec.units.iter().zip(&units) {
        for ty in &unit.types {
            writer.define_type(ty);
        }
        for variable in &unit.variables {
            writer.variable(*id, variable);
        }
    }
    // Subprograms next (abstract origins may be in any unit), then what is inlined into them.
    let mut concrete = Vec::new();
    for (unit, (id, files)) in spec.units.iter().zip(&units) {
        for subprogram in &unit.subprograms {
            let die = writer.subprogram(*id, files, subprogram);
            concrete.push((*id, die, subprogram));
        }
    }
    for (id, die, subprogram) in concrete {
        let files = &units.iter().find(|(u, _)| *u == id).expect("its unit").1;
        writer.inlined((id, die), files, &subprogram.inlined);
    }
    for ((id, _), unit) in units.iter().zip(&spec.units) {
        writer.ranges(*id, unit);
    }
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    writer
        .dwarf
        .write(&mut sections)
        .expect("writing test DWARF");
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

/// A DIE somewhere in the DWARF being written.
type Die = (UnitId, UnitEntryId);

/// A unit's line-program files by path.
type Files = Vec<(String, FileId)>;

struct Writer {
    dwarf: Dwarf,
    /// Each type's name and DIE (the typedef's, for a struct behind one).
    types: Vec<(String, Die)>,
    /// Each struct's name and its own DIE.
    structs: Vec<(String, Die)>,
    /// Each subprogram's name and DIE.
    subprograms: Vec<(String, Die)>,
}

impl Writer {
    /// The unit with its root attributes and line program; the files the program knows.
    fn unit(&mut self, encoding: Encoding, spec: &UnitSpec) -> (UnitId, Files) {
        let mut paths: Vec<&str> = spec
            .sequences
            .iter()
            .flat_map(|s| s.rows.iter().map(|(_, file, _)| file.as_str()))
            .collect();
        fn calls<'a>(inlined: &'a [InlinedSpec], out: &mut Vec<&'a str>) {
            for i in inlined {
                out.extend(i.call.as_ref().map(|(file, _)| file.as_str()));
                calls(&i.inlined, out);
            }
        }
        for sub in &spec.subprograms {
            paths.extend(sub.decl.as_ref().map(|(file, _)| file.as_str()));
            calls(&sub.inlined, &mut paths);
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
        let mut files: Files = Vec::new();
        for path in paths {
            if files.iter().any(|(p, _)| p == path) {
                continue;
            }
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let dir = if dir.is_empty() {
                program.default_directory()
            } else {
                program.add_directory(LineString::String(dir.as_bytes().to_vec()))
            };
            let id = program.add_file(LineString::String(name.as_bytes().to_vec()), dir, None);
            files.push((path.to_string(), id));
        }
        for sequence in &spec.sequences {
            let start = sequence.rows.first().map_or(sequence.end, |r| r.0);
            program.begin_sequence(Some(Address::Constant(start)));
            for (address, file, line) in &sequence.rows {
                let row = program.row();
                row.address_offset = address - start;
                row.file = file_of(&files, file);
                row.line = *line;
                program.generate_row();
            }
            program.end_sequence(sequence.end - start);
        }
        let id = self.dwarf.units.add(Unit::new(encoding, program));
        let root = self.root(id);
        self.set_string(root, gimli::DW_AT_name, &spec.name);
        if let Some(producer) = &spec.producer {
            self.set_string(root, gimli::DW_AT_producer, producer);
        }
        if let Some(language) = spec.language {
            self.set(
                root,
                gimli::DW_AT_language,
                AttributeValue::Language(gimli::DwLang(language)),
            );
        }
        self.set_string(root, gimli::DW_AT_comp_dir, &spec.comp_dir);
        self.set(
            root,
            gimli::DW_AT_low_pc,
            AttributeValue::Address(Address::Constant(0)),
        );
        (id, files)
    }

    fn root(&self, unit: UnitId) -> Die {
        (unit, self.dwarf.units.get(unit).root())
    }

    fn add(&mut self, (unit, parent): Die, tag: gimli::DwTag) -> Die {
        (unit, self.dwarf.units.get_mut(unit).add(parent, tag))
    }

    fn set(&mut self, (unit, id): Die, attr: gimli::DwAt, value: AttributeValue) {
        self.dwarf.units.get_mut(unit).get_mut(id).set(attr, value);
    }

    fn set_string(&mut self, die: Die, attr: gimli::DwAt, text: &str) {
        let string = self.dwarf.strings.add(text);
        self.set(die, attr, AttributeValue::StringRef(string));
    }

    /// `attr` (`DW_AT_type`, `DW_AT_abstract_origin`) from `from` to `to`.
    fn set_ref(&mut self, from: Die, attr: gimli::DwAt, to: Die) {
        let value = if from.0 == to.0 {
            AttributeValue::UnitRef(to.1)
        } else {
            AttributeValue::DebugInfoRef(Reference::Entry(to.0, to.1))
        };
        self.set(from, attr, value);
    }

    fn type_die(&self, name: &str) -> Die {
        self.types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, die)| *die)
            .unwrap_or_else(|| panic!("no type {name} in the DWARF spec"))
    }

    /// The DIE of `ty` (and, for a struct behind a typedef, the typedef's), named.
    fn declare_type(&mut self, unit: UnitId, ty: &TypeSpec) {
        let root = self.root(unit);
        let tag = match ty {
            TypeSpec::Base { .. } => gimli::DW_TAG_base_type,
            TypeSpec::Pointer { .. } => gimli::DW_TAG_pointer_type,
            TypeSpec::Struct(_) => gimli::DW_TAG_structure_type,
            TypeSpec::Typedef { .. } => gimli::DW_TAG_typedef,
        };
        let die = self.add(root, tag);
        let named = match ty {
            TypeSpec::Struct(s) if s.typedef => {
                let typedef = self.add(root, gimli::DW_TAG_typedef);
                self.set_ref(typedef, gimli::DW_AT_type, die);
                typedef
            }
            _ => die,
        };
        self.set_string(named, gimli::DW_AT_name, ty.name());
        self.types.push((ty.name().to_string(), named));
        if let TypeSpec::Struct(_) = ty {
            self.structs.push((ty.name().to_string(), die));
        }
    }

    /// Everything else of `ty`: sizes, encodings, targets and members.
    fn define_type(&mut self, ty: &TypeSpec) {
        let named = self.type_die(ty.name());
        match ty {
            TypeSpec::Base { size, encoding, .. } => {
                self.set(
                    named,
                    gimli::DW_AT_byte_size,
                    AttributeValue::Udata((*size).into()),
                );
                self.set(
                    named,
                    gimli::DW_AT_encoding,
                    AttributeValue::Encoding(*encoding),
                );
            }
            TypeSpec::Pointer { to, .. } => {
                self.set(named, gimli::DW_AT_byte_size, AttributeValue::Udata(4));
                if let Some(to) = to {
                    let target = self.type_die(to);
                    self.set_ref(named, gimli::DW_AT_type, target);
                }
            }
            TypeSpec::Typedef { to, .. } => {
                let target = self.type_die(to);
                self.set_ref(named, gimli::DW_AT_type, target);
            }
            TypeSpec::Struct(spec) => {
                let die = self
                    .structs
                    .iter()
                    .find(|(n, _)| *n == spec.name)
                    .map(|(_, die)| *die)
                    .expect("declared above");
                self.set(
                    die,
                    gimli::DW_AT_byte_size,
                    AttributeValue::Udata(spec.size.into()),
                );
                for member in &spec.members {
                    let id = self.add(die, gimli::DW_TAG_member);
                    self.set_string(id, gimli::DW_AT_name, &member.name);
                    let target = self.type_die(&member.ty);
                    self.set_ref(id, gimli::DW_AT_type, target);
                    self.set(
                        id,
                        gimli::DW_AT_data_member_location,
                        AttributeValue::Udata(member.offset.into()),
                    );
                }
            }
        }
    }

    fn variable(&mut self, unit: UnitId, spec: &VariableSpec) {
        let root = self.root(unit);
        let die = self.add(root, gimli::DW_TAG_variable);
        self.set_string(die, gimli::DW_AT_name, &spec.name);
        let ty = self.type_die(&spec.ty);
        self.set_ref(die, gimli::DW_AT_type, ty);
        if spec.external {
            self.set(die, gimli::DW_AT_external, AttributeValue::Flag(true));
        }
        let mut expr = Expression::new();
        match &spec.location {
            VarLocation::None => return,
            VarLocation::Address(a) => expr.op_addr(Address::Constant((*a).into())),
            VarLocation::Pieces(pieces) => {
                for (a, size) in pieces {
                    expr.op_addr(Address::Constant((*a).into()));
                    expr.op_piece((*size).into());
                }
            }
        }
        self.set(die, gimli::DW_AT_location, AttributeValue::Exprloc(expr));
    }

    fn subprogram(&mut self, unit: UnitId, files: &Files, spec: &SubprogramSpec) -> UnitEntryId {
        let root = self.root(unit);
        let die = self.add(root, gimli::DW_TAG_subprogram);
        self.set_string(die, gimli::DW_AT_name, &spec.name);
        if let Some(linkage) = &spec.linkage_name {
            self.set_string(die, gimli::DW_AT_linkage_name, linkage);
        }
        if let Some((file, line)) = &spec.decl {
            let file = file_of(files, file);
            self.set(
                die,
                gimli::DW_AT_decl_file,
                AttributeValue::FileIndex(Some(file)),
            );
            self.set(die, gimli::DW_AT_decl_line, AttributeValue::Udata(*line));
        }
        match spec.code {
            Some((low, high)) => {
                self.set(
                    die,
                    gimli::DW_AT_low_pc,
                    AttributeValue::Address(Address::Constant(low)),
                );
                self.set(die, gimli::DW_AT_high_pc, AttributeValue::Udata(high - low));
            }
            None => self.set(
                die,
                gimli::DW_AT_inline,
                AttributeValue::Inline(gimli::DW_INL_inlined),
            ),
        }
        if spec.external {
            self.set(die, gimli::DW_AT_external, AttributeValue::Flag(true));
        }
        self.subprograms.push((spec.name.clone(), die));
        die.1
    }

    fn inlined(&mut self, parent: Die, files: &Files, inlined: &[InlinedSpec]) {
        for spec in inlined {
            let die = self.add(parent, gimli::DW_TAG_inlined_subroutine);
            let origin = self
                .subprograms
                .iter()
                .find(|(n, _)| *n == spec.origin)
                .map(|(_, die)| *die)
                .unwrap_or_else(|| panic!("no subprogram {} to inline", spec.origin));
            self.set_ref(die, gimli::DW_AT_abstract_origin, origin);
            self.set(
                die,
                gimli::DW_AT_low_pc,
                AttributeValue::Address(Address::Constant(spec.code.0)),
            );
            self.set(
                die,
                gimli::DW_AT_high_pc,
                AttributeValue::Udata(spec.code.1 - spec.code.0),
            );
            if let Some((file, line)) = &spec.call {
                let file = file_of(files, file);
                self.set(
                    die,
                    gimli::DW_AT_call_file,
                    AttributeValue::FileIndex(Some(file)),
                );
                self.set(die, gimli::DW_AT_call_line, AttributeValue::Udata(*line));
            }
            self.inlined(die, files, &spec.inlined);
        }
    }

    /// The unit's `DW_AT_ranges`: its concrete subprograms' code, as LLVM lists a unit's
    /// functions (nothing when it has none).
    fn ranges(&mut self, unit: UnitId, spec: &UnitSpec) {
        let ranges: Vec<Range> = spec
            .subprograms
            .iter()
            .filter_map(|s| s.code)
            .map(|(low, high)| Range::StartLength {
                begin: Address::Constant(low),
                length: high - low,
            })
            .collect();
        if ranges.is_empty() {
            return;
        }
        let unit_ref = self.dwarf.units.get_mut(unit);
        let list = unit_ref.ranges.add(RangeList(ranges));
        let root = unit_ref.root();
        unit_ref
            .get_mut(root)
            .set(gimli::DW_AT_ranges, AttributeValue::RangeListRef(list));
    }
}

fn file_of(files: &Files, path: &str) -> FileId {
    files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, id)| *id)
        .expect("every path is added with its unit")
}
