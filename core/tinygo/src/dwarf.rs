//! Reads global variables' locations and struct layouts from a module's DWARF (gimli).
//!
//! Everything comes from the DIEs: variables by their Go-qualified `DW_AT_name`, struct
//! members by `DW_AT_data_member_location`, through typedefs (TinyGo names a struct with a
//! typedef) and const/volatile qualifiers. DWARF 4 and 5 both read.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::Reader as _;
use gimli::{AttributeValue, DebugInfoOffset, EndianArcSlice, LittleEndian, Operation, Unit};

use crate::layout::{Field, Location, Piece, StructLayout};

pub(crate) type Reader = EndianArcSlice<LittleEndian>;

/// Nested struct members deeper than this are not flattened (a cycle through a by-value
/// struct cannot exist, but corrupt DWARF can say so).
const MAX_NESTING: usize = 8;

/// The DWARF of a module, loaded from its `.debug_*` sections.
pub(crate) fn load(sections: &HashMap<String, Vec<u8>>) -> Option<gimli::Dwarf<Reader>> {
    let arcs: HashMap<&str, Arc<[u8]>> = sections
        .iter()
        .map(|(name, data)| (name.as_str(), Arc::from(data.as_slice())))
        .collect();
    let empty: Arc<[u8]> = Arc::from(&[][..]);
    let section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
        let data = arcs
            .get(id.name())
            .cloned()
            .unwrap_or_else(|| empty.clone());
        Ok(EndianArcSlice::new(data, LittleEndian))
    };
    // The loader above never fails; `None` only if gimli's own setup does.
    gimli::Dwarf::load(section).ok()
}

/// What [`read`] found for the names it was asked about.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub variables: HashMap<String, Location>,
    pub layouts: HashMap<String, StructLayout>,
    /// DWARF that did not parse, described (reading goes on with the next unit).
    pub problems: Vec<String>,
}

#[derive(Debug)]
struct TypeDie {
    tag: gimli::DwTag,
    name: Option<String>,
    byte_size: Option<u32>,
    target: Option<DebugInfoOffset>,
    members: Vec<MemberDie>,
}

#[derive(Debug)]
struct MemberDie {
    name: String,
    offset: u32,
    target: Option<DebugInfoOffset>,
}

/// Finds `variables` and the struct types named `types`.
pub(crate) fn read(dwarf: &gimli::Dwarf<Reader>, variables: &[&str], types: &[&str]) -> Found {
    let mut found = Found::default();
    let mut dies: HashMap<DebugInfoOffset, TypeDie> = HashMap::new();
    let mut units = dwarf.units();
    loop {
        let header = match units.next() {
            Ok(Some(header)) => header,
            Ok(None) => break,
            Err(err) => {
                found.problems.push(format!("DWARF unit list: {err}"));
                break;
            }
        };
        let result = dwarf
            .unit(header)
            .and_then(|unit| read_unit(dwarf, &unit, variables, &mut found.variables, &mut dies));
        if let Err(err) = result {
            found.problems.push(format!("DWARF unit: {err}"));
        }
    }
    for name in types {
        if let Some(layout) = layout(&dies, name) {
            found.layouts.insert(name.to_string(), layout);
        }
    }
    found
}

fn read_unit(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &Unit<Reader>,
    variables: &[&str],
    found: &mut HashMap<String, Location>,
    dies: &mut HashMap<DebugInfoOffset, TypeDie>,
) -> gimli::Result<()> {
    let mut entries = unit.entries();
    // The innermost struct being read, with its depth, so members attach to it.
    let mut parents: Vec<(isize, DebugInfoOffset)> = Vec::new();
    let mut depth = 0isize;
    while let Some((delta, entry)) = entries.next_dfs()? {
        depth += delta;
        while parents.last().is_some_and(|(d, _)| *d >= depth) {
            parents.pop();
        }
        let Some(offset) = entry.offset().to_debug_info_offset(&unit.header) else {
            continue;
        };
        let name = match entry.attr_value(gimli::DW_AT_name)? {
            Some(value) => dwarf
                .attr_string(unit, value)
                .ok()
                .and_then(|s| s.to_string_lossy().ok().map(|s| s.into_owned())),
            None => None,
        };
        let target = match entry.attr_value(gimli::DW_AT_type)? {
            Some(value) => type_ref(unit, value),
            None => None,
        };
        match entry.tag() {
            gimli::DW_TAG_variable => {
                let Some(name) = name else { continue };
                if !variables.contains(&name.as_str()) {
                    continue;
                }
                let location = match entry.attr_value(gimli::DW_AT_location)? {
                    None => Location::OptimisedAway,
                    Some(value) => evaluate(dwarf, unit, value),
                };
                // The first one with an address wins over a declaration without.
                let slot = found.entry(name).or_insert(Location::OptimisedAway);
                if matches!(slot, Location::OptimisedAway | Location::Absent) {
                    *slot = location;
                }
            }
            gimli::DW_TAG_member => {
                let Some(&(_, parent)) = parents.last() else {
                    continue;
                };
                let member_offset = match entry.attr_value(gimli::DW_AT_data_member_location)? {
                    Some(value) => member_offset(unit, value),
                    // A union member, or a struct's only member.
                    None => Some(0),
                };
                if let (Some(name), Some(member_offset), Some(parent)) =
                    (name, member_offset, dies.get_mut(&parent))
                {
                    parent.members.push(MemberDie {
                        name,
                        offset: member_offset,
                        target,
                    });
                }
            }
            tag @ (gimli::DW_TAG_structure_type
            | gimli::DW_TAG_typedef
            | gimli::DW_TAG_pointer_type
            | gimli::DW_TAG_base_type
            | gimli::DW_TAG_const_type
            | gimli::DW_TAG_volatile_type
            | gimli::DW_TAG_array_type
            | gimli::DW_TAG_union_type) => {
                let byte_size = entry
                    .attr_value(gimli::DW_AT_byte_size)?
                    .and_then(|v| v.udata_value())
                    .and_then(|v| u32::try_from(v).ok());
                dies.insert(
                    offset,
                    TypeDie {
                        tag,
                        name,
                        byte_size,
                        target,
                        members: Vec::new(),
                    },
                );
                if tag == gimli::DW_TAG_structure_type {
                    parents.push((depth, offset));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn type_ref(unit: &Unit<Reader>, value: AttributeValue<Reader>) -> Option<DebugInfoOffset> {
    match value {
        AttributeValue::UnitRef(offset) => offset.to_debug_info_offset(&unit.header),
        AttributeValue::DebugInfoRef(offset) => Some(offset),
        _ => None,
    }
}

/// A constant, or the DWARF 2 form `DW_OP_plus_uconst n`.
fn member_offset(unit: &Unit<Reader>, value: AttributeValue<Reader>) -> Option<u32> {
    if let Some(constant) = value.udata_value() {
        return u32::try_from(constant).ok();
    }
    let AttributeValue::Exprloc(expr) = value else {
        return None;
    };
    let mut ops = expr.operations(unit.encoding());
    match ops.next() {
        Ok(Some(Operation::PlusConstant { value })) => u32::try_from(value).ok(),
        _ => None,
    }
}

/// `DW_OP_addr`/`DW_OP_addrx`, optionally split by `DW_OP_piece`s.
fn evaluate(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &Unit<Reader>,
    value: AttributeValue<Reader>,
) -> Location {
    let AttributeValue::Exprloc(expr) = value else {
        return Location::Unsupported("location list".into());
    };
    let mut ops = expr.operations(unit.encoding());
    let mut address: Option<u64> = None;
    let mut pieces = Vec::new();
    let mut next_offset = 0u32;
    loop {
        let op = match ops.next() {
            Ok(Some(op)) => op,
            Ok(None) => break,
            Err(err) => return Location::Unsupported(format!("bad expression: {err}")),
        };
        match op {
            Operation::Address { address: a } => address = Some(a),
            Operation::AddressIndex { index } => match dwarf.address(unit, index) {
                Ok(a) => address = Some(a),
                Err(err) => return Location::Unsupported(format!("DW_OP_addrx: {err}")),
            },
            Operation::Piece {
                size_in_bits,
                bit_offset: None,
            } if size_in_bits % 8 == 0 => {
                let Ok(size) = u32::try_from(size_in_bits / 8) else {
                    return Location::Unsupported("huge piece".into());
                };
                let address = match address.take().map(u32::try_from) {
                    Some(Ok(a)) => Some(a),
                    Some(Err(_)) => return Location::Unsupported("address beyond 4 GiB".into()),
                    None => None,
                };
                pieces.push(Piece {
                    offset: next_offset,
                    size,
                    address,
                });
                next_offset = next_offset.saturating_add(size);
            }
            other => return Location::Unsupported(format!("{other:?}")),
        }
    }
    match (pieces.is_empty(), address) {
        (true, Some(a)) => match u32::try_from(a) {
            Ok(a) => Location::Address(a),
            Err(_) => Location::Unsupported("address beyond 4 GiB".into()),
        },
        (true, None) => Location::OptimisedAway,
        (false, _) => Location::Pieces(pieces),
    }
}

/// Follows typedefs and qualifiers to the type that has the shape.
fn strip(dies: &HashMap<DebugInfoOffset, TypeDie>, mut at: DebugInfoOffset) -> Option<&TypeDie> {
    for _ in 0..16 {
        let die = dies.get(&at)?;
        match die.tag {
            gimli::DW_TAG_typedef | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => {
                at = die.target?
            }
            _ => return Some(die),
        }
    }
    None
}

/// The struct called `name` (itself, or through a typedef of that name), flattened.
fn layout(dies: &HashMap<DebugInfoOffset, TypeDie>, name: &str) -> Option<StructLayout> {
    let mut named: Vec<(&DebugInfoOffset, &TypeDie)> = dies
        .iter()
        .filter(|(_, die)| die.name.as_deref() == Some(name))
        .collect();
    // Deterministic when a name repeats across units.
    named.sort_by_key(|(offset, _)| offset.0);
    let structure = named.into_iter().find_map(|(offset, _)| {
        strip(dies, *offset).filter(|die| die.tag == gimli::DW_TAG_structure_type)
    })?;
    let mut fields = Vec::new();
    flatten(dies, structure, "", 0, 0, &mut fields);
    Some(StructLayout {
        name: name.to_string(),
        size: structure.byte_size,
        fields,
    })
}

fn flatten(
    dies: &HashMap<DebugInfoOffset, TypeDie>,
    structure: &TypeDie,
    prefix: &str,
    base: u32,
    depth: usize,
    out: &mut Vec<Field>,
) {
    for member in &structure.members {
        let path = format!("{prefix}{}", member.name);
        let offset = base.saturating_add(member.offset);
        let ty = member.target.and_then(|t| strip(dies, t));
        out.push(Field {
            path: path.clone(),
            offset,
            size: ty.and_then(|t| t.byte_size).or_else(|| {
                // wasm32 pointers carry no byte size in some producers.
                ty.filter(|t| t.tag == gimli::DW_TAG_pointer_type)
                    .map(|_| 4)
            }),
        });
        if let Some(inner) = ty.filter(|t| t.tag == gimli::DW_TAG_structure_type) {
            if depth < MAX_NESTING {
                flatten(dies, inner, &format!("{path}."), offset, depth + 1, out);
            }
        }
    }
}
