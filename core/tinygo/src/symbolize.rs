//! Function indices, table slots and code offsets to names and Go source lines, and a
//! goroutine's entry to the Go function it runs.
//!
//! Wasm DWARF code addresses are offsets from the Code section's payload, so a module offset
//! is rebased by [`Symbolizer::code_start`] first. Which function holds an address comes from
//! the Code section, never from DWARF; its line comes from the unit that owns that function
//! (see [`crate::debuginfo`] for why the first matching sequence is not enough).
//!
//! A goroutine's `state.entry` is a TinyGo wrapper (`main.worker$gowrapper`, or
//! `runtime.run$1$gowrapper` for main's goroutine) that unpacks the arguments and calls the
//! function of the `go` statement — or has it inlined, once LLVM or wasm-opt is done.
//! [`Symbolizer::entry`] looks through it: the function the wrapper calls (a `call` in its
//! code) or holds inlined (a `DW_TAG_inlined_subroutine` in its DWARF), through runtime hops
//! such as `runtime.run$1` (which calls `main.main`), a few levels at most.

use std::collections::HashMap;

use pollscope_protocol::EntryFunc;
use wasmparser::{BinaryReader, FunctionBody, Operator};

use crate::debuginfo::{DebugInfo, Position};
use crate::language::go_source_path;
use crate::module::{Body, ModuleInfo};

/// Functions and inlined subroutines followed from a goroutine's entry at most.
const MAX_HOPS: usize = 4;
/// Calls read from one function body at most.
const MAX_CALLS: usize = 4096;
/// The closure `runtime.run` starts main's goroutine with (`go func() { …; callMain(); … }()`).
const MAIN_GOROUTINE: &str = "runtime.run$1";
/// What it calls.
const MAIN: &str = "main.main";

/// A Go source position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file as the line table names it (TinyGo: an absolute path), with the standard
    /// library's and TinyGo's own sources shortened to `$GOROOT/src/…` as Go prints them.
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

impl From<Position> for SourceLocation {
    fn from(position: Position) -> SourceLocation {
        SourceLocation {
            file: go_source_path(&position.file),
            line: position.line,
        }
    }
}

/// Names and source lines for one core module (see [`crate::Introspection::symbolizer`]).
pub struct Symbolizer {
    function_names: HashMap<u32, String>,
    table: HashMap<u32, u32>,
    code_start: u32,
    bodies: Vec<Body>,
    imported_funcs: u32,
    debug: Option<DebugInfo>,
    /// Per defined function: the subprogram that describes it (index into
    /// `debug.subprograms`).
    owners: Vec<Option<usize>>,
    /// Each table slot's entry, resolved once at load.
    entries: HashMap<u32, EntryFunc>,
}

impl std::fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer")
            .field("functions", &self.function_names.len())
            .field("table", &self.table.len())
            .field("lines", &self.debug.is_some())
            .finish()
    }
}

/// Where a walk from an entry stands: a function, or a subroutine inlined into one.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Function(u32),
    Inlined { subprogram: usize, index: usize },
}

/// Something a scope calls or holds inlined, at its code address.
#[derive(Debug)]
struct Callee {
    address: u32,
    name: Option<String>,
    scope: Scope,
}

impl Symbolizer {
    pub(crate) fn new(info: &ModuleInfo, debug: Option<DebugInfo>, module: &[u8]) -> Symbolizer {
        let mut symbolizer = Symbolizer {
            function_names: info.function_names.clone(),
            table: info.table.clone(),
            code_start: info.code_start,
            bodies: info.bodies.clone(),
            imported_funcs: info.imported_funcs,
            debug,
            owners: Vec::new(),
            entries: HashMap::new(),
        };
        symbolizer.owners = symbolizer.find_owners();
        let mut slots: Vec<(u32, u32)> = info.table.iter().map(|(s, f)| (*s, *f)).collect();
        slots.sort_unstable();
        for (slot, func) in slots {
            let entry = symbolizer.resolve_entry(slot, func, module);
            symbolizer.entries.insert(slot, entry);
        }
        symbolizer
    }

    /// Module offset of the Code section's payload: DWARF code address 0.
    pub fn code_start(&self) -> u32 {
        self.code_start
    }

    /// Whether DWARF line tables were read.
    pub fn has_lines(&self) -> bool {
        self.debug.is_some()
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
    /// `wasm-function[N]:0xOFFSET`): the row before it in the line table of the unit that
    /// owns its function, within that function. An instruction before the function's first
    /// row (a prologue wasm-opt added) gets that first row.
    pub fn location(&self, module_offset: u32) -> Option<SourceLocation> {
        let defined = self.function_at(module_offset)?;
        let body = self.bodies.get(defined)?;
        let address = module_offset - self.code_start;
        let (low, high) = (body.start - self.code_start, body.end - self.code_start);
        self.line_in(defined, low, high, address).map(Into::into)
    }

    /// Where function `func` is in the source: its declaration (`DW_AT_decl_line`), else its
    /// first line.
    pub fn function_location(&self, func: u32) -> Option<SourceLocation> {
        self.function_position(func).map(Into::into)
    }

    /// A goroutine's entry function from its `state.entry` table index, with the Go function
    /// it runs.
    pub fn entry(&self, table_index: u32) -> EntryFunc {
        self.entries
            .get(&table_index)
            .cloned()
            .unwrap_or(EntryFunc {
                table_index,
                func: None,
                name: None,
                function: None,
                file: None,
                line: None,
            })
    }

    /// The defined function (index from 0) whose code holds `module_offset`.
    /// The function (index) whose body holds module offset `module_offset`.
    pub fn function_containing(&self, module_offset: u32) -> Option<u32> {
        let defined = u32::try_from(self.function_at(module_offset)?).ok()?;
        Some(self.imported_funcs + defined)
    }

    fn function_at(&self, module_offset: u32) -> Option<usize> {
        let at = self.bodies.partition_point(|b| b.end <= module_offset);
        let body = self.bodies.get(at)?;
        (body.start <= module_offset && module_offset < body.end).then_some(at)
    }

    /// Per defined function, the concrete subprogram whose code starts in it and stays in it
    /// (one starting at the body's local declarations preferred). Ranges optimisation broke
    /// — `[0, end)` left by wasm-opt for code it could not map — start in no function.
    fn find_owners(&self) -> Vec<Option<usize>> {
        let mut owners: Vec<Option<usize>> = vec![None; self.bodies.len()];
        let Some(debug) = &self.debug else {
            return owners;
        };
        for (index, subprogram) in debug.subprograms.iter().enumerate() {
            let Some(&(begin, end)) = subprogram.ranges.iter().min() else {
                continue;
            };
            let Some(module_begin) = begin.checked_add(self.code_start) else {
                continue;
            };
            let at = self.bodies.partition_point(|b| b.end <= module_begin);
            let Some(body) = self.bodies.get(at) else {
                continue;
            };
            let inside =
                body.extent <= module_begin && end.saturating_add(self.code_start) <= body.end;
            if !inside {
                continue;
            }
            let exact = module_begin == body.start;
            match owners[at] {
                None => owners[at] = Some(index),
                Some(current) => {
                    let current_exact = debug.subprograms[current]
                        .ranges
                        .iter()
                        .min()
                        .is_some_and(|(b, _)| b.saturating_add(self.code_start) == body.start);
                    if exact && !current_exact {
                        owners[at] = Some(index);
                    }
                }
            }
        }
        owners
    }

    /// The line at `address` inside `[low, high)` of defined function `defined`: from its
    /// owner's unit, else from any unit with rows there.
    fn line_in(&self, defined: usize, low: u32, high: u32, address: u32) -> Option<Position> {
        let debug = self.debug.as_ref()?;
        let owner_unit = self
            .owners
            .get(defined)
            .copied()
            .flatten()
            .map(|s| debug.subprograms[s].unit);
        let units = owner_unit
            .into_iter()
            .chain((0..debug.units.len()).filter(|u| Some(*u) != owner_unit));
        for unit in units {
            if let Some(found) = debug
                .line_at(unit, low, address)
                .or_else(|| debug.first_line(unit, address, high))
            {
                return Some(found);
            }
        }
        None
    }

    fn function_position(&self, func: u32) -> Option<Position> {
        let defined = func.checked_sub(self.imported_funcs)? as usize;
        let debug = self.debug.as_ref()?;
        if let Some(owner) = self.owners.get(defined).copied().flatten() {
            if let Some(decl) = debug.declaration(&debug.subprograms[owner]) {
                return Some(decl.clone());
            }
        }
        let body = self.bodies.get(defined)?;
        let (low, high) = (body.start - self.code_start, body.end - self.code_start);
        self.line_in(defined, low, high, low)
    }

    fn resolve_entry(&self, table_index: u32, func: u32, module: &[u8]) -> EntryFunc {
        let name = self.function_name(func).map(str::to_string);
        let target = self.user_function(func, module);
        let (function, position) = match target {
            Some((name, position)) => (Some(name), position),
            None => (None, None),
        };
        // Without a place for the function, the entry's own (TinyGo gives a wrapper the
        // position of the `go` statement).
        let position = position.or_else(|| self.function_position(func));
        EntryFunc {
            table_index,
            func: Some(func),
            name,
            function,
            file: position.as_ref().map(|p| go_source_path(&p.file)),
            line: position.map(|p| p.line),
        }
    }

    /// The Go function a goroutine entering at `func` runs, and where it is declared.
    fn user_function(&self, func: u32, module: &[u8]) -> Option<(String, Option<Position>)> {
        let entry_name = self.scope_name(Scope::Function(func));
        if let Some(name) = &entry_name {
            if name.ends_with(".gowrapper") {
                // `go f()` of a func value: only the running code knows which function.
                return None;
            }
            if !name.ends_with("$gowrapper") && is_user_code(name) {
                // Not a wrapper: the entry is the function.
                return Some((name.clone(), self.function_position(func)));
            }
        }
        let mut scope = Scope::Function(func);
        let mut runtime_hop: Option<(String, Scope)> = None;
        for _ in 0..MAX_HOPS {
            let name = self.scope_name(scope);
            let wrapped = name.as_deref().and_then(|n| n.strip_suffix("$gowrapper"));
            let callees = self.callees(scope, module);
            let named = |wanted: &str| callees.iter().find(|c| self.callee_is_named(c, wanted));
            let first_user = || {
                callees
                    .iter()
                    .find(|c| c.name.as_deref().is_some_and(is_user_code))
            };
            let chosen = match wrapped {
                // TinyGo names a wrapper after the function it was made for.
                Some(wrapped) => match named(wrapped).or_else(|| named(MAIN)) {
                    Some(found) => Some(found),
                    // Inlined where no DW_TAG_inlined_subroutine says so (wasm-opt's own
                    // inlining), or no DWARF: the name still does, and the function's DIE,
                    // which outlives its code, may still say where it is declared.
                    None if is_user_code(wrapped) => {
                        let position = self
                            .function_index(wrapped)
                            .and_then(|f| self.function_position(f))
                            .or_else(|| self.debug.as_ref()?.declared(wrapped).cloned());
                        return Some((wrapped.to_string(), position));
                    }
                    None => first_user(),
                },
                None => named(MAIN).or_else(first_user),
            };
            let Some(chosen) = chosen else { break };
            let chosen_name = chosen.name.clone().unwrap_or_default();
            if is_user_code(&chosen_name) {
                return Some((chosen_name, self.scope_position(chosen.scope)));
            }
            // A runtime function (`runtime.run$1`): what it runs is further in.
            runtime_hop.get_or_insert((chosen_name, chosen.scope));
            scope = chosen.scope;
        }
        // Main's goroutine runs TinyGo's `runtime.run$1`, which calls `main.main`: with both
        // inlined where nothing says so, main.main's name (or code-less DIE) is still there.
        let wrapped = entry_name
            .as_deref()
            .and_then(|n| n.strip_suffix("$gowrapper"));
        if wrapped == Some(MAIN_GOROUTINE) {
            let position = self
                .function_index(MAIN)
                .and_then(|f| self.function_position(f))
                .or_else(|| self.debug.as_ref()?.declared(MAIN).cloned());
            if position.is_some() || self.function_index(MAIN).is_some() {
                return Some((MAIN.to_string(), position));
            }
        }
        runtime_hop.map(|(name, scope)| (name, self.scope_position(scope)))
    }

    fn scope_name(&self, scope: Scope) -> Option<String> {
        match scope {
            Scope::Function(func) => self.function_name(func).map(str::to_string).or_else(|| {
                let debug = self.debug.as_ref()?;
                let owner = self.owner(func)?;
                debug.name(&debug.subprograms[owner]).map(str::to_string)
            }),
            Scope::Inlined { subprogram, index } => {
                let debug = self.debug.as_ref()?;
                let inlined = debug.subprograms.get(subprogram)?.inlined.get(index)?;
                let origin = debug.subprogram_at(inlined.origin?)?;
                debug.name(origin).map(str::to_string)
            }
        }
    }

    fn callee_is_named(&self, callee: &Callee, wanted: &str) -> bool {
        if callee.name.as_deref() == Some(wanted) {
            return true;
        }
        // DWARF may call it by its linkage name, the name section by its Go name.
        let Some(debug) = &self.debug else {
            return false;
        };
        match callee.scope {
            Scope::Function(func) => self
                .owner(func)
                .is_some_and(|s| debug.is_named(&debug.subprograms[s], wanted)),
            Scope::Inlined { subprogram, index } => debug
                .subprograms
                .get(subprogram)
                .and_then(|s| s.inlined.get(index))
                .and_then(|i| debug.subprogram_at(i.origin?))
                .is_some_and(|origin| debug.is_named(origin, wanted)),
        }
    }

    fn owner(&self, func: u32) -> Option<usize> {
        let defined = func.checked_sub(self.imported_funcs)? as usize;
        self.owners.get(defined).copied().flatten()
    }

    /// Where a scope's function is declared: a called function's own position, an inlined
    /// one's abstract origin's declaration (else its first line where it was inlined).
    fn scope_position(&self, scope: Scope) -> Option<Position> {
        match scope {
            Scope::Function(func) => self.function_position(func),
            Scope::Inlined { subprogram, index } => {
                let debug = self.debug.as_ref()?;
                let owner = debug.subprograms.get(subprogram)?;
                let inlined = owner.inlined.get(index)?;
                if let Some(decl) = inlined
                    .origin
                    .and_then(|o| debug.subprogram_at(o))
                    .and_then(|origin| debug.declaration(origin))
                {
                    return Some(decl.clone());
                }
                let &(low, high) = inlined.ranges.iter().min()?;
                debug.first_line(owner.unit, low, high)
            }
        }
    }

    /// What `scope` calls (direct `call`s in its code) or holds inlined (its inlined
    /// subroutines one level down), by code address.
    fn callees(&self, scope: Scope, module: &[u8]) -> Vec<Callee> {
        let (func, ranges, depth) = match scope {
            Scope::Function(func) => {
                let Some(defined) = func.checked_sub(self.imported_funcs) else {
                    return Vec::new();
                };
                let Some(body) = self.bodies.get(defined as usize) else {
                    return Vec::new();
                };
                let range = (body.start - self.code_start, body.end - self.code_start);
                (func, vec![range], 0)
            }
            Scope::Inlined { subprogram, index } => {
                let Some(debug) = &self.debug else {
                    return Vec::new();
                };
                let Some(inlined) = debug
                    .subprograms
                    .get(subprogram)
                    .and_then(|s| s.inlined.get(index))
                else {
                    return Vec::new();
                };
                let Some(func) = self.function_of_subprogram(subprogram) else {
                    return Vec::new();
                };
                (func, inlined.ranges.clone(), inlined.depth + 1)
            }
        };
        let within = |address: u32| {
            ranges
                .iter()
                .any(|(lo, hi)| *lo <= address && address < *hi)
        };
        let mut callees: Vec<Callee> = self
            .calls(func, module)
            .into_iter()
            .filter(|(address, _)| within(*address))
            .map(|(address, callee)| Callee {
                address,
                name: self.scope_name(Scope::Function(callee)),
                scope: Scope::Function(callee),
            })
            .collect();
        if let (Some(debug), Some(owner)) = (&self.debug, self.owner(func)) {
            for (index, inlined) in debug.subprograms[owner].inlined.iter().enumerate() {
                let Some(&(begin, _)) = inlined.ranges.iter().min() else {
                    continue;
                };
                if inlined.depth != depth || !within(begin) {
                    continue;
                }
                let scope = Scope::Inlined {
                    subprogram: owner,
                    index,
                };
                callees.push(Callee {
                    address: begin,
                    name: self.scope_name(scope),
                    scope,
                });
            }
        }
        callees.sort_by_key(|c| c.address);
        callees
    }

    fn function_of_subprogram(&self, subprogram: usize) -> Option<u32> {
        let defined = self.owners.iter().position(|o| *o == Some(subprogram))?;
        Some(self.imported_funcs + defined as u32)
    }

    /// Direct calls to defined functions in `func`'s body: (code address, callee).
    fn calls(&self, func: u32, module: &[u8]) -> Vec<(u32, u32)> {
        let mut calls = Vec::new();
        let Some(defined) = func.checked_sub(self.imported_funcs) else {
            return calls;
        };
        let Some(body) = self.bodies.get(defined as usize) else {
            return calls;
        };
        let Some(bytes) = module.get(body.start as usize..body.end as usize) else {
            return calls;
        };
        let body_reader = FunctionBody::new(BinaryReader::new(bytes, u64::from(body.start)));
        let Ok(operators) = body_reader.get_operators_reader() else {
            return calls;
        };
        for operator in operators.into_iter_with_offsets() {
            let Ok((operator, offset)) = operator else {
                break;
            };
            if let Operator::Call { function_index } | Operator::ReturnCall { function_index } =
                operator
            {
                if function_index >= self.imported_funcs {
                    calls.push((offset as u32 - self.code_start, function_index));
                }
                if calls.len() >= MAX_CALLS {
                    break;
                }
            }
        }
        calls
    }
}

/// A Go function of the program rather than of TinyGo's runtime: a package-qualified name
/// outside `runtime` and `internal/…` (`main.worker`, `(*main.T).run`, `net/http.Serve`).
fn is_user_code(name: &str) -> bool {
    let bare = name.trim_start_matches(['(', '*']);
    bare.contains('.')
        && !bare.starts_with("runtime.")
        && !bare.starts_with("internal/")
        && !bare.starts_with("tinygo_")
        && !bare.starts_with("asyncify_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_code_is_go_outside_the_runtime() {
        for user in [
            "main.main",
            "main.worker",
            "(*main.T).run",
            "net/http.Serve",
            "time.Sleep",
        ] {
            assert!(is_user_code(user), "{user}");
        }
        for runtime in [
            "runtime.run$1",
            "runtime.deadlock",
            "internal/task.start",
            "(*internal/task.Task).Resume",
            "tinygo_launch",
            "malloc",
            "asyncify_start_unwind",
        ] {
            assert!(!is_user_code(runtime), "{runtime}");
        }
    }
}
