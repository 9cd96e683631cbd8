//! Function indices, table slots and code offsets to names and Go source lines.
//!
//! Line tables are read with `addr2line` (over gimli): it indexes the line programs once and
//! answers each lookup with a binary search, which is what trap frames and per-goroutine
//! entries need. Wasm DWARF code addresses are offsets from the Code section's payload, so a
//! module offset is rebased by [`Symbolizer::code_start`] first.

use std::collections::HashMap;

use pollscope_protocol::EntryFunc;

use crate::dwarf::Reader;
use crate::module::ModuleInfo;

/// A Go source position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file as the line table names it (TinyGo: an absolute path).
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

/// Names and source lines for one core module (see [`crate::Introspection::symbolizer`]).
pub struct Symbolizer {
    function_names: HashMap<u32, String>,
    table: HashMap<u32, u32>,
    code_start: u32,
    first_instruction: Vec<u32>,
    imported_funcs: u32,
    lines: Option<addr2line::Context<Reader>>,
}

impl std::fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer")
            .field("functions", &self.function_names.len())
            .field("table", &self.table.len())
            .field("lines", &self.lines.is_some())
            .finish()
    }
}

impl Symbolizer {
    pub(crate) fn new(info: &ModuleInfo, dwarf: Option<gimli::Dwarf<Reader>>) -> Symbolizer {
        Symbolizer {
            function_names: info.function_names.clone(),
            table: info.table.clone(),
            code_start: info.code_start,
            first_instruction: info.first_instruction.clone(),
            imported_funcs: info.imported_funcs,
            lines: dwarf.and_then(|dwarf| addr2line::Context::from_dwarf(dwarf).ok()),
        }
    }

    /// Module offset of the Code section's payload: DWARF code address 0.
    pub fn code_start(&self) -> u32 {
        self.code_start
    }

    /// Whether DWARF line tables were read.
    pub fn has_lines(&self) -> bool {
        self.lines.is_some()
    }

    /// The function's name from the name section.
    pub fn function_name(&self, func: u32) -> Option<&str> {
        self.function_names.get(&func).map(String::as_str)
    }

    /// The function called `name` in the name section (lowest index if repeated).
    pub fn function_index(&self, name: &str) -> Option<u32> {
        self.function_names
            .iter()
            .filter(|(_, n)| *n == name)
            .map(|(index, _)| *index)
            .min()
    }

    /// The function in slot `index` of table 0 (from active element segments).
    pub fn table_function(&self, index: u32) -> Option<u32> {
        self.table.get(&index).copied()
    }

    /// The Go file and line of the instruction at `module_offset` (a trap frame's
    /// `wasm-function[N]:0xOFFSET`).
    pub fn location(&self, module_offset: u32) -> Option<SourceLocation> {
        let address = module_offset.checked_sub(self.code_start)?;
        let location = self
            .lines
            .as_ref()?
            .find_location(u64::from(address))
            .ok()??;
        Some(SourceLocation {
            file: location.file?.to_string(),
            line: location.line?,
        })
    }

    /// Where function `func` starts in the source: the line of its first instruction.
    pub fn function_location(&self, func: u32) -> Option<SourceLocation> {
        let defined = func.checked_sub(self.imported_funcs)?;
        self.location(*self.first_instruction.get(defined as usize)?)
    }

    /// A goroutine's entry function from its `state.entry` table index.
    pub fn entry(&self, table_index: u32) -> EntryFunc {
        let func = self.table_function(table_index);
        let location = func.and_then(|f| self.function_location(f));
        EntryFunc {
            table_index,
            func,
            name: func.and_then(|f| self.function_name(f)).map(str::to_string),
            file: location.as_ref().map(|l| l.file.clone()),
            line: location.map(|l| l.line),
        }
    }
}
