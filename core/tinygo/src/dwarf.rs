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

/// Members kept per struct DIE; the rest are a problem. TinyGo's structs have a handful (Task
/// has five); this only bounds what crafted DWARF can make the reader hold per struct.
pub(crate) const MAX_STRUCT_MEMBERS: usize = 1024;

/// Fields in one flattened layout. Depth alone does not bound flattening: a struct whose N
/// members have its own type (which no real program has, but DWARF can say) flattens to N⁸
/// fields at [`MAX_NESTING`]; past this many the layout is cut and that is a problem.
pub(crate) const MAX_LAYOUT_FIELDS: usize = 4096;

/// Longest dotted field path (`state.stackState.csp`) kept in a layout, in bytes: names come
/// from the DWARF, and each nesting level repeats its prefix.
pub(crate) const MAX_FIELD_PATH: usize = 1024;

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
        let result = dwarf.unit(header).and_then(|unit| {
            read_unit(
                dwarf,
                &unit,
                variables,
                &mut found.variables,
                &mut dies,
                &mut found.problems,
            )
        });
        if let Err(err) = result {
            found.problems.push(format!("DWARF unit: {err}"));
        }
    }
    for name in types {
        if let Some(layout) = layout(&dies, name, &mut found.problems) {
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
    problems: &mut Vec<String>,
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
                if let (Some(name), Some(member_offset), Some(die)) =
                    (name, member_offset, dies.get_mut(&parent))
                {
                    if die.members.len() == MAX_STRUCT_MEMBERS {
                        problems.push(format!(
                            "DWARF struct at {:#x}: more than {MAX_STRUCT_MEMBERS} members; \
                             the rest are ignored",
                            parent.0
                        ));
                    }
                    if die.members.len() >= MAX_STRUCT_MEMBERS {
                        continue;
                    }
                    die.members.push(MemberDie {
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

/// The struct called `name` (itself, or through a typedef of that name), flattened: at most
/// [`MAX_LAYOUT_FIELDS`] fields, each path at most [`MAX_FIELD_PATH`] bytes (a cut is a
/// problem).
fn layout(
    dies: &HashMap<DebugInfoOffset, TypeDie>,
    name: &str,
    problems: &mut Vec<String>,
) -> Option<StructLayout> {
    let mut named: Vec<(&DebugInfoOffset, &TypeDie)> = dies
        .iter()
        .filter(|(_, die)| die.name.as_deref() == Some(name))
        .collect();
    // Deterministic when a name repeats across units.
    named.sort_by_key(|(offset, _)| offset.0);
    let structure = named.into_iter().find_map(|(offset, _)| {
        strip(dies, *offset).filter(|die| die.tag == gimli::DW_TAG_structure_type)
    })?;
    let mut flat = Flat::default();
    flatten(dies, structure, "", 0, 0, &mut flat);
    if flat.too_many {
        problems.push(format!(
            "layout of {name}: more than {MAX_LAYOUT_FIELDS} fields (members nested in their \
             own struct?); the first {MAX_LAYOUT_FIELDS} are kept"
        ));
    }
    if flat.paths_cut > 0 {
        problems.push(format!(
            "layout of {name}: {} field paths longer than {MAX_FIELD_PATH} bytes left out",
            flat.paths_cut
        ));
    }
    let fields = flat.fields;
    Some(StructLayout {
        name: name.to_string(),
        size: structure.byte_size,
        fields,
    })
}

/// A layout being flattened, and what was cut from it.
#[derive(Default)]
struct Flat {
    fields: Vec<Field>,
    /// [`MAX_LAYOUT_FIELDS`] was reached (flattening stopped there).
    too_many: bool,
    /// Members whose path would pass [`MAX_FIELD_PATH`] (left out, with what nests in them).
    paths_cut: usize,
}

fn flatten(
    dies: &HashMap<DebugInfoOffset, TypeDie>,
    structure: &TypeDie,
    prefix: &str,
    base: u32,
    depth: usize,
    out: &mut Flat,
) {
    for member in &structure.members {
        if out.fields.len() >= MAX_LAYOUT_FIELDS {
            out.too_many = true;
            return;
        }
        if prefix.len().saturating_add(member.name.len()) > MAX_FIELD_PATH {
            out.paths_cut += 1;
            continue;
        }
        let path = format!("{prefix}{}", member.name);
        let offset = base.saturating_add(member.offset);
        let ty = member.target.and_then(|t| strip(dies, t));
        out.fields.push(Field {
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

#[cfg(test)]
mod tests {
    //! Crafted DWARF that no compiler writes, read within the bounds.

    use super::*;
    use crate::testing::{append_custom_sections, module_with_functions, FunctionSpec};
    use crate::{Introspection, TASK_TYPE};
    use gimli::write::{AttributeValue, DwarfUnit, EndianVec, Sections};

    /// One unit holding a struct `name` of `members` members, each of the struct's own type by
    /// value (a cycle no real program has), named `m0`, `m1`, … (or `long` repeated to make
    /// every name `name_len` bytes when given).
    fn self_nested(name: &str, members: usize, name_len: Option<usize>) -> Vec<(String, Vec<u8>)> {
        let encoding = gimli::Encoding {
            format: gimli::Format::Dwarf32,
            version: 4,
            address_size: 4,
        };
        let mut dwarf = DwarfUnit::new(encoding);
        let root = dwarf.unit.root();
        let id = dwarf.unit.add(root, gimli::DW_TAG_structure_type);
        let entry = dwarf.unit.get_mut(id);
        entry.set(gimli::DW_AT_name, AttributeValue::String(name.into()));
        entry.set(gimli::DW_AT_byte_size, AttributeValue::Udata(8));
        for i in 0..members {
            let member = dwarf.unit.add(id, gimli::DW_TAG_member);
            let entry = dwarf.unit.get_mut(member);
            let name = match name_len {
                Some(len) => format!("{i:0len$}"),
                None => format!("m{i}"),
            };
            entry.set(gimli::DW_AT_name, AttributeValue::String(name.into_bytes()));
            entry.set(gimli::DW_AT_type, AttributeValue::UnitRef(id));
            entry.set(gimli::DW_AT_data_member_location, AttributeValue::Udata(0));
        }
        let mut sections = Sections::new(EndianVec::new(gimli::LittleEndian));
        dwarf.write(&mut sections).unwrap();
        let mut out = Vec::new();
        sections
            .for_each(|id, data| {
                if !data.slice().is_empty() {
                    out.push((id.name().to_string(), data.slice().to_vec()));
                }
                Ok::<_, ()>(())
            })
            .unwrap();
        out
    }

    fn read_types(sections: &[(String, Vec<u8>)], types: &[&str]) -> Found {
        let map: HashMap<String, Vec<u8>> = sections.iter().cloned().collect();
        read(&load(&map).expect("loads"), &[], types)
    }

    /// 40 members of the struct's own type flatten to 40⁸ (6.5 × 10¹²) fields at the nesting
    /// limit: the layout stops at MAX_LAYOUT_FIELDS and says so.
    #[test]
    fn a_wide_self_nested_struct_is_cut_at_the_field_limit() {
        let found = read_types(&self_nested(TASK_TYPE, 40, None), &[TASK_TYPE]);
        let layout = &found.layouts[TASK_TYPE];
        assert_eq!(layout.fields.len(), MAX_LAYOUT_FIELDS);
        // Depth first, so the first fields are the deepest chain of m0s.
        assert_eq!(layout.fields[0].path, "m0");
        assert_eq!(layout.fields[8].path, "m0.m0.m0.m0.m0.m0.m0.m0.m0");
        assert!(
            found.problems.iter().any(|p| p
                == &format!(
                    "layout of {TASK_TYPE}: more than {MAX_LAYOUT_FIELDS} fields (members nested \
                     in their own struct?); the first {MAX_LAYOUT_FIELDS} are kept"
                )),
            "{:?}",
            found.problems
        );
    }

    /// More members than MAX_STRUCT_MEMBERS: the first ones are kept, the rest is a problem.
    #[test]
    fn members_past_the_limit_are_ignored() {
        let found = read_types(
            &self_nested("wide", MAX_STRUCT_MEMBERS + 500, None),
            &["wide"],
        );
        let layout = &found.layouts["wide"];
        assert_eq!(layout.fields.len(), MAX_LAYOUT_FIELDS);
        assert!(
            found.problems.iter().any(|p| p.contains(&format!(
                "more than {MAX_STRUCT_MEMBERS} members; the rest are ignored"
            ))),
            "{:?}",
            found.problems
        );
        // Members past the limit never reach the layout.
        let last = format!("m{}", MAX_STRUCT_MEMBERS);
        assert!(layout.fields.iter().all(|f| !f.path.starts_with(&last)));
    }

    /// Names of 400 bytes: the third level would pass MAX_FIELD_PATH, so only two levels stay.
    #[test]
    fn long_field_paths_are_left_out() {
        let found = read_types(&self_nested("long", 2, Some(400)), &["long"]);
        let layout = &found.layouts["long"];
        // 2 top-level members, each with 2 nested: 6 fields, paths of 400 and 801 bytes.
        assert_eq!(layout.fields.len(), 6);
        assert!(layout.fields.iter().all(|f| f.path.len() <= MAX_FIELD_PATH));
        assert!(
            found
                .problems
                .iter()
                .any(|p| p == "layout of long: 8 field paths longer than 1024 bytes left out"),
            "{:?}",
            found.problems
        );
    }

    /// The whole program read (as at load in the worker and in `inspect`): bounded, with the
    /// problem among the introspection's.
    #[test]
    fn introspection_of_a_crafted_task_is_bounded() {
        let (module, _) = module_with_functions(
            &[FunctionSpec {
                name: "main.main".into(),
                line: 1,
            }],
            None,
        );
        let module = append_custom_sections(&module, &self_nested(TASK_TYPE, 40, None));
        let started = std::time::Instant::now();
        let found = Introspection::read(&module).unwrap();
        assert_eq!(
            found.layout(TASK_TYPE).unwrap().fields.len(),
            MAX_LAYOUT_FIELDS
        );
        assert!(
            found
                .problems
                .iter()
                .any(|p| p.contains("more than 4096 fields")),
            "{:?}",
            found.problems
        );
        // Not a timing test: a generous ceiling that the unbounded reader would pass by hours.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        assert_eq!(
            found.summary().task_layout.unwrap().fields.len(),
            MAX_LAYOUT_FIELDS
        );
    }
}
