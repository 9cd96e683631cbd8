//! What a symbolizer needs from DWARF, read once: every compile unit's language, producer and
//! line rows, and every subprogram with its code ranges, its declaration and the subroutines
//! inlined into it.
//!
//! Lines are kept per unit on purpose. After `wasm-opt` a unit's line sequence can span code
//! of other units' functions (Binaryen rewrites each unit's line table on its own, keeping
//! rows of moved code and dropping column-0 rows such as a function's first), so the sequence
//! "containing" an address, found across all units, may be another function's. A lookup
//! first asks which function holds the address (the Code section says so exactly), then which
//! unit owns that function (its `DW_TAG_subprogram`), and reads only that unit's rows inside
//! that function.

use std::collections::HashMap;

use gimli::{AttributeValue, DebugInfoOffset, DwLang, Unit};

use crate::dwarf::Reader;

/// Rows kept at most, over all units: a real TinyGo program has tens of thousands; corrupt
/// DWARF that claims more is cut short with a problem.
const MAX_ROWS: usize = 4_000_000;
/// Subprograms kept at most.
const MAX_SUBPROGRAMS: usize = 1_000_000;
/// Hops through `DW_AT_abstract_origin` / `DW_AT_specification` for a name or declaration.
const MAX_ORIGIN_HOPS: usize = 8;
/// Rows walked back over line-0 rows.
const MAX_ROW_WALK: usize = 256;

/// A source position as DWARF names it (file path before any shortening).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub file: String,
    pub line: u32,
}

/// One line-table row, with the end of its sequence.
#[derive(Debug, Clone, Copy)]
struct Row {
    address: u32,
    /// End of the sequence the row belongs to: the row covers nothing at or beyond it.
    end: u32,
    file: u32,
    line: u32,
}

/// One compile unit.
#[derive(Debug, Default)]
pub(crate) struct UnitInfo {
    /// `DW_AT_language`.
    pub language: Option<DwLang>,
    /// `DW_AT_producer`.
    pub producer: Option<String>,
    /// File paths by the index the line program and `DW_AT_decl_file` use.
    files: Vec<Option<String>>,
    /// Rows by address.
    rows: Vec<Row>,
}

/// One `DW_TAG_subprogram`, concrete (with code) or abstract.
#[derive(Debug)]
pub(crate) struct Subprogram {
    /// Index into [`DebugInfo::units`].
    pub unit: usize,
    pub name: Option<String>,
    pub linkage_name: Option<String>,
    decl: Option<Position>,
    /// `DW_AT_abstract_origin` or `DW_AT_specification`: where a missing name or
    /// declaration is found.
    origin: Option<DebugInfoOffset>,
    /// Code ranges (DWARF code addresses).
    pub ranges: Vec<(u32, u32)>,
    /// Subroutines inlined into it, in DIE order, at any depth.
    pub inlined: Vec<Inlined>,
}

/// One `DW_TAG_inlined_subroutine`.
#[derive(Debug)]
pub(crate) struct Inlined {
    /// The abstract subprogram it is an instance of.
    pub origin: Option<DebugInfoOffset>,
    /// Code ranges (DWARF code addresses).
    pub ranges: Vec<(u32, u32)>,
    /// How many inlined subroutines enclose it (0: directly in the subprogram).
    pub depth: u32,
}

/// The DWARF of one module, indexed.
#[derive(Debug, Default)]
pub(crate) struct DebugInfo {
    pub units: Vec<UnitInfo>,
    pub subprograms: Vec<Subprogram>,
    by_offset: HashMap<DebugInfoOffset, usize>,
    /// What did not parse, described; what did is kept.
    pub problems: Vec<String>,
}

impl DebugInfo {
    /// Reads every unit of `dwarf`; never fails (problems are collected).
    pub fn read(dwarf: &gimli::Dwarf<Reader>) -> DebugInfo {
        let mut info = DebugInfo::default();
        let mut rows = 0usize;
        let mut headers = dwarf.units();
        loop {
            let header = match headers.next() {
                Ok(Some(header)) => header,
                Ok(None) => break,
                Err(err) => {
                    info.problems.push(format!("DWARF unit list: {err}"));
                    break;
                }
            };
            let unit = match dwarf.unit(header) {
                Ok(unit) => unit,
                Err(err) => {
                    info.problems.push(format!("DWARF unit: {err}"));
                    continue;
                }
            };
            let index = info.units.len();
            let mut unit_info = UnitInfo::default();
            match read_lines(dwarf, &unit, &mut unit_info, &mut rows) {
                Ok(true) => {}
                Ok(false) => info
                    .problems
                    .push(format!("DWARF line tables: stopped after {MAX_ROWS} rows")),
                Err(err) => info.problems.push(format!("DWARF line table: {err}")),
            }
            if let Err(err) = info.read_dies(dwarf, &unit, index, &mut unit_info) {
                info.problems.push(format!("DWARF unit entries: {err}"));
            }
            unit_info.rows.sort_by_key(|row| row.address);
            info.units.push(unit_info);
        }
        info
    }

    fn read_dies(
        &mut self,
        dwarf: &gimli::Dwarf<Reader>,
        unit: &Unit<Reader>,
        index: usize,
        unit_info: &mut UnitInfo,
    ) -> gimli::Result<()> {
        let mut entries = unit.entries();
        let mut depth = 0isize;
        // The enclosing subprograms (depth, index) and inlined subroutines (depth).
        let mut subprograms: Vec<(isize, usize)> = Vec::new();
        let mut inlined_depths: Vec<isize> = Vec::new();
        while let Some((delta, entry)) = entries.next_dfs()? {
            depth += delta;
            while subprograms.last().is_some_and(|(d, _)| *d >= depth) {
                subprograms.pop();
            }
            while inlined_depths.last().is_some_and(|d| *d >= depth) {
                inlined_depths.pop();
            }
            match entry.tag() {
                gimli::DW_TAG_compile_unit | gimli::DW_TAG_partial_unit => {
                    unit_info.language = match entry.attr_value(gimli::DW_AT_language)? {
                        Some(AttributeValue::Language(language)) => Some(language),
                        Some(other) => other
                            .udata_value()
                            .and_then(|v| u16::try_from(v).ok())
                            .map(DwLang),
                        None => None,
                    };
                    unit_info.producer =
                        string(dwarf, unit, entry.attr_value(gimli::DW_AT_producer)?);
                }
                gimli::DW_TAG_subprogram => {
                    if self.subprograms.len() >= MAX_SUBPROGRAMS {
                        continue;
                    }
                    let Some(offset) = entry.offset().to_debug_info_offset(&unit.header) else {
                        continue;
                    };
                    let decl_line = entry
                        .attr_value(gimli::DW_AT_decl_line)?
                        .and_then(|v| v.udata_value())
                        .and_then(|v| u32::try_from(v).ok());
                    let decl_file = entry.attr_value(gimli::DW_AT_decl_file)?;
                    let decl = match (file_index(decl_file), decl_line) {
                        (Some(file), Some(line)) => {
                            unit_info.file(file).map(|file| Position { file, line })
                        }
                        _ => None,
                    };
                    let origin = match entry.attr_value(gimli::DW_AT_abstract_origin)? {
                        Some(value) => reference(unit, value),
                        None => match entry.attr_value(gimli::DW_AT_specification)? {
                            Some(value) => reference(unit, value),
                            None => None,
                        },
                    };
                    let linkage_name = match entry.attr_value(gimli::DW_AT_linkage_name)? {
                        Some(value) => string(dwarf, unit, Some(value)),
                        None => string(
                            dwarf,
                            unit,
                            entry.attr_value(gimli::DW_AT_MIPS_linkage_name)?,
                        ),
                    };
                    let ranges = ranges(dwarf, unit, entry);
                    self.by_offset.insert(offset, self.subprograms.len());
                    subprograms.push((depth, self.subprograms.len()));
                    self.subprograms.push(Subprogram {
                        unit: index,
                        name: string(dwarf, unit, entry.attr_value(gimli::DW_AT_name)?),
                        linkage_name,
                        decl,
                        origin,
                        ranges,
                        inlined: Vec::new(),
                    });
                }
                gimli::DW_TAG_inlined_subroutine => {
                    let Some(&(owner_depth, owner)) = subprograms.last() else {
                        continue;
                    };
                    let origin = match entry.attr_value(gimli::DW_AT_abstract_origin)? {
                        Some(value) => reference(unit, value),
                        None => None,
                    };
                    let ranges = ranges(dwarf, unit, entry);
                    let enclosing = inlined_depths.iter().filter(|d| **d > owner_depth).count();
                    let inlined = Inlined {
                        origin,
                        ranges,
                        depth: enclosing as u32,
                    };
                    inlined_depths.push(depth);
                    if let Some(subprogram) = self.subprograms.get_mut(owner) {
                        subprogram.inlined.push(inlined);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The subprogram whose DIE is at `offset`.
    pub fn subprogram_at(&self, offset: DebugInfoOffset) -> Option<&Subprogram> {
        self.subprograms.get(*self.by_offset.get(&offset)?)
    }

    /// A subprogram's name (`DW_AT_name`, else its linkage name), looked up through its
    /// abstract origin or specification when it has none.
    pub fn name<'a>(&'a self, subprogram: &'a Subprogram) -> Option<&'a str> {
        self.follow(subprogram, |s| {
            s.name.as_deref().or(s.linkage_name.as_deref())
        })
    }

    /// Whether `name` is the subprogram's name or its linkage name (through its origin).
    pub fn is_named(&self, subprogram: &Subprogram, name: &str) -> bool {
        self.follow(subprogram, |s| {
            (s.name.as_deref() == Some(name) || s.linkage_name.as_deref() == Some(name))
                .then_some(())
        })
        .is_some()
    }

    /// A subprogram called `name` (or with that linkage name) that has a declaration: a
    /// function wasm-opt inlined or removed keeps its DIE (with emptied code ranges).
    pub fn declared(&self, name: &str) -> Option<&Position> {
        self.subprograms
            .iter()
            .filter(|s| s.name.as_deref() == Some(name) || s.linkage_name.as_deref() == Some(name))
            .find_map(|s| self.declaration(s))
    }

    /// A subprogram's declaration, through its origin when it has none.
    pub fn declaration<'a>(&'a self, subprogram: &'a Subprogram) -> Option<&'a Position> {
        self.follow(subprogram, |s| s.decl.as_ref())
    }

    fn follow<'a, T>(
        &'a self,
        mut subprogram: &'a Subprogram,
        get: impl Fn(&'a Subprogram) -> Option<T>,
    ) -> Option<T> {
        for _ in 0..MAX_ORIGIN_HOPS {
            if let Some(found) = get(subprogram) {
                return Some(found);
            }
            subprogram = self.subprogram_at(subprogram.origin?)?;
        }
        None
    }

    /// The line at `address` from `unit`'s rows that lie in `[low, address]` and whose
    /// sequence covers `address` (line-0 rows are skipped back over).
    pub fn line_at(&self, unit: usize, low: u32, address: u32) -> Option<Position> {
        let unit = self.units.get(unit)?;
        let rows = unit.rows_in(low, address.checked_add(1)?);
        rows.iter()
            .rev()
            .take(MAX_ROW_WALK)
            .take_while(|row| address < row.end)
            .find(|row| row.line != 0)
            .and_then(|row| unit.position(row))
    }

    /// The first line of `unit` in `[low, high)`.
    pub fn first_line(&self, unit: usize, low: u32, high: u32) -> Option<Position> {
        let unit = self.units.get(unit)?;
        unit.rows_in(low, high)
            .iter()
            .take(MAX_ROW_WALK)
            .find(|row| row.line != 0)
            .and_then(|row| unit.position(row))
    }
}

impl UnitInfo {
    fn file(&self, index: u64) -> Option<String> {
        self.files.get(usize::try_from(index).ok()?)?.clone()
    }

    fn rows_in(&self, low: u32, high: u32) -> &[Row] {
        let from = self.rows.partition_point(|row| row.address < low);
        let to = self.rows.partition_point(|row| row.address < high);
        self.rows.get(from..to.max(from)).unwrap_or(&[])
    }

    fn position(&self, row: &Row) -> Option<Position> {
        Some(Position {
            file: self.file(u64::from(row.file))?,
            line: row.line,
        })
    }
}

fn string(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &Unit<Reader>,
    value: Option<AttributeValue<Reader>>,
) -> Option<String> {
    use gimli::Reader as _;
    let text = dwarf.attr_string(unit, value?).ok()?;
    text.to_string_lossy().ok().map(|s| s.into_owned())
}

fn file_index(value: Option<AttributeValue<Reader>>) -> Option<u64> {
    match value? {
        AttributeValue::FileIndex(index) => Some(index),
        other => other.udata_value(),
    }
}

fn reference(unit: &Unit<Reader>, value: AttributeValue<Reader>) -> Option<DebugInfoOffset> {
    match value {
        AttributeValue::UnitRef(offset) => offset.to_debug_info_offset(&unit.header),
        AttributeValue::DebugInfoRef(offset) => Some(offset),
        _ => None,
    }
}

/// The DIE's code ranges that fit in wasm32 code addresses (empty ones dropped).
fn ranges(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &Unit<Reader>,
    entry: &gimli::DebuggingInformationEntry<'_, '_, Reader>,
) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let Ok(mut ranges) = dwarf.die_ranges(unit, entry) else {
        return out;
    };
    while let Ok(Some(range)) = ranges.next() {
        if let (Ok(begin), Ok(end)) = (u32::try_from(range.begin), u32::try_from(range.end)) {
            if begin < end {
                out.push((begin, end));
            }
        }
        if out.len() > 4096 {
            break;
        }
    }
    out
}

/// The unit's file names and rows; `false` when [`MAX_ROWS`] cut them short.
fn read_lines(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &Unit<Reader>,
    info: &mut UnitInfo,
    total: &mut usize,
) -> gimli::Result<bool> {
    use gimli::Reader as _;
    let Some(program) = unit.line_program.clone() else {
        return Ok(true);
    };
    let header = program.header();
    let comp_dir = match &unit.comp_dir {
        Some(dir) => dir.to_string_lossy()?.into_owned(),
        None => String::new(),
    };
    // DWARF 4 numbers files from 1, DWARF 5 from 0: index the vector as they do.
    let count = header.file_names().len() as u64;
    for index in 0..=count {
        let path = header.file(index).map(|file| {
            let mut path = comp_dir.clone();
            // Directory 0 is the compilation directory itself.
            if file.directory_index() != 0 {
                if let Some(dir) = file.directory(header) {
                    if let Ok(dir) = dwarf.attr_string(unit, dir) {
                        path_push(&mut path, &dir.to_string_lossy().unwrap_or_default());
                    }
                }
            }
            if let Ok(name) = dwarf.attr_string(unit, file.path_name()) {
                path_push(&mut path, &name.to_string_lossy().unwrap_or_default());
            }
            path
        });
        info.files.push(path);
    }
    let mut rows = program.rows();
    let mut sequence: Vec<Row> = Vec::new();
    while let Some((_, row)) = rows.next_row()? {
        if *total >= MAX_ROWS {
            return Ok(false);
        }
        let Ok(address) = u32::try_from(row.address()) else {
            sequence.clear();
            continue;
        };
        if row.end_sequence() {
            for mut done in sequence.drain(..) {
                done.end = address;
                if done.address < address {
                    info.rows.push(done);
                    *total += 1;
                }
            }
            continue;
        }
        let line = row
            .line()
            .map_or(0, |line| u32::try_from(line.get()).unwrap_or(0));
        let file = u32::try_from(row.file_index()).unwrap_or(u32::MAX);
        // Rows at one address: the last one wins, as in every line-table reader.
        if let Some(last) = sequence.last_mut().filter(|last| last.address == address) {
            last.file = file;
            last.line = line;
            continue;
        }
        sequence.push(Row {
            address,
            end: address,
            file,
            line,
        });
    }
    Ok(true)
}

/// Appends `part` to `path` as a directory or file name (an absolute `part` replaces it).
fn path_push(path: &mut String, part: &str) {
    if part.starts_with('/') || part.get(1..3) == Some(":/") || part.starts_with('\\') {
        *path = part.to_string();
    } else if !part.is_empty() {
        if !path.is_empty() && !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(part);
    }
}
