//! Rewrites of the program module (wasmparser + wasm-encoder's `reencode`) that make asyncify's
//! runtime report to one host import, built only on what every asyncified TinyGo build has
//! ([`crate::asyncify`]): the state global and the functions that write it. TinyGo's
//! `tinygo_launch` / `tinygo_rewind` / `tinygo_unwind` are not looked for — `wasm-opt -Oz`
//! inlines them into the scheduler and `internal/task.Pause` — and neither is any other name.
//!
//! - [`instrument`], the flight recorder: before every write of the state global the hook
//!   gets (old, new) — 0→1 a goroutine starts unwinding, 1→0 the scheduler has it back, 0→2
//!   a rewind starts, 2→0 the goroutine runs again, 0→0 a goroutine's function returned — and
//!   before every `call_indirect` in the scheduler side of the runtime (functions that write
//!   the state or call asyncify's API: where `tinygo_launch`/`tinygo_rewind` were inlined) it
//!   gets the state and the table index called, which is a launch when it is the current
//!   task's entry and the state is 0.
//! - [`instrument_for_replay`], for parked goroutines' backtraces ([`crate::backtrace`]):
//!   while the state is 2 (rewinding) the hook gets the offset of every call about to be made
//!   and of the state write that ends the rewind; table 0 is exported so the host can call a
//!   goroutine's entry.
//!
//! The hook is `(import "pollscope:tinygo" "asyncify-event" (func (param i32 i32 i32)))`, its
//! arguments decoded by [`decode_hook`]. Adding an import shifts every defined function's
//! index by one: calls, `ref.func`, element segments, exports, the start function and the name
//! section are renumbered, and [`FunctionMap`] maps indices and code offsets of the new module
//! back to the original, so traps still symbolize against the original module's DWARF. DWARF
//! sections are dropped from the output: their code addresses would no longer match.

use std::collections::HashSet;

use wasm_encoder::reencode::{utils, Error as ReencodeError, Reencode};
use wasm_encoder::{BlockType, EntityType, Function, Instruction, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef};

use crate::asyncify::{self, AsyncifyRuntime};
use crate::Error;

/// Module name of the hook import.
pub const HOOK_MODULE: &str = "pollscope:tinygo";
/// Field name of the hook import.
pub const HOOK_NAME: &str = "asyncify-event";
/// The name under which the replay module exports table 0.
pub const REPLAY_TABLE_EXPORT: &str = "pollscope:table";

/// Name the hook gets in the output's name section.
const HOOK_FUNCTION_NAME: &str = "pollscope:tinygo/asyncify-event";

/// The hook's first argument.
const EVENT_STATE_WRITE: i32 = 0;
const EVENT_TASK_CALL: i32 = 1;
const EVENT_REWIND_CALL: i32 = 2;
const EVENT_REWIND_END: i32 = 3;
/// Asyncify's state while rewinding.
const REWINDING: i32 = 2;

/// One call of the hook, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// The state global is about to change from `old` to `new` (recorder).
    StateWrite {
        /// The state before.
        old: u32,
        /// The state written.
        new: u32,
    },
    /// The scheduler side makes an indirect call of `table_index` in state `state`
    /// (recorder).
    TaskCall {
        /// Asyncify's state then.
        state: u32,
        /// The function-table slot called.
        table_index: u32,
    },
    /// A call is about to be made while rewinding; `offset` is its module offset in the
    /// original module (replay).
    RewindCall {
        /// Module offset of the `call` in the original module.
        offset: u32,
    },
    /// The state is about to leave "rewinding": the rewind reached the place the goroutine
    /// paused (replay).
    RewindEnd {
        /// Module offset of the state write in the original module.
        offset: u32,
    },
}

/// The hook's three arguments as an event (`None` for values no rewrite passes).
pub fn decode_hook(event: i32, a: i32, b: i32) -> Option<HookEvent> {
    let (a, b) = (a as u32, b as u32);
    Some(match event {
        EVENT_STATE_WRITE => HookEvent::StateWrite { old: a, new: b },
        EVENT_TASK_CALL => HookEvent::TaskCall {
            state: a,
            table_index: b,
        },
        EVENT_REWIND_CALL => HookEvent::RewindCall { offset: a },
        EVENT_REWIND_END => HookEvent::RewindEnd { offset: a },
        _ => return None,
    })
}

/// What [`instrument`] made of a module.
#[derive(Debug)]
pub enum Instrumentation {
    /// The rewritten module.
    Instrumented(Instrumented),
    /// The module lacks what the rewrite needs (not asyncified); the reason is for the
    /// user.
    NotInstrumentable(String),
}

/// A rewritten module and how to map it back.
#[derive(Debug)]
pub struct Instrumented {
    /// The new module's bytes.
    pub module: Vec<u8>,
    /// Function indices and code offsets, new → original.
    pub functions: FunctionMap,
}

/// Maps the instrumented module's function indices and code offsets to the original's.
#[derive(Debug, Clone)]
pub struct FunctionMap {
    hook: u32,
    /// Per defined function: where its body starts in the new module, and offset points.
    bodies: Vec<BodyMap>,
}

#[derive(Debug, Clone, Default)]
struct BodyMap {
    new_start: u32,
    /// (offset from the new body's start, original module offset, inserted code). Sorted;
    /// one point wherever the distance between the two changes.
    points: Vec<(u32, u32, bool)>,
}

impl FunctionMap {
    /// The hook import's index in the new module.
    pub fn hook(&self) -> u32 {
        self.hook
    }

    /// The new index of original function `original`.
    pub fn new_index(&self, original: u32) -> u32 {
        if original >= self.hook {
            original + 1
        } else {
            original
        }
    }

    /// The original index of new function `new` (`None` for the hook itself).
    pub fn original_index(&self, new: u32) -> Option<u32> {
        match new.cmp(&self.hook) {
            std::cmp::Ordering::Less => Some(new),
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(new - 1),
        }
    }

    /// The original module offset of the instruction at `offset` in new function `new` (a
    /// trap frame `wasm-function[new]:0xoffset`). Inserted hook code maps to the original
    /// instruction it precedes.
    pub fn original_offset(&self, new: u32, offset: u32) -> Option<u32> {
        let defined = new.checked_sub(self.hook + 1)?;
        let body = self.bodies.get(defined as usize)?;
        let relative = offset.checked_sub(body.new_start)?;
        let at = body
            .points
            .partition_point(|p| p.0 <= relative)
            .checked_sub(1)?;
        let (new_relative, original, inserted) = body.points[at];
        Some(if inserted {
            original
        } else {
            original + (relative - new_relative)
        })
    }
}

/// Which rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Recorder,
    Replay,
}

/// The flight recorder's rewrite (see the module docs). `Err` only for bytes that do not
/// parse; a module without asyncify's runtime is [`Instrumentation::NotInstrumentable`].
pub fn instrument(module: &[u8]) -> Result<Instrumentation, Error> {
    rewrite(module, Purpose::Recorder)
}

/// The replay rewrite for backtraces (see the module docs and [`crate::backtrace`]).
pub fn instrument_for_replay(module: &[u8]) -> Result<Instrumentation, Error> {
    rewrite(module, Purpose::Replay)
}

fn rewrite(module: &[u8], purpose: Purpose) -> Result<Instrumentation, Error> {
    let runtime = match asyncify::find(module)? {
        Ok(runtime) => runtime,
        Err(reason) => {
            return Ok(Instrumentation::NotInstrumentable(format!(
                "not instrumentable: {reason}"
            )))
        }
    };
    let scan = prescan(module, &runtime)?;
    if purpose == Purpose::Replay && !scan.has_table {
        return Ok(Instrumentation::NotInstrumentable(
            "not instrumentable: no function table (goroutine entries are table slots)".into(),
        ));
    }
    let mut rewriter = Rewriter {
        purpose,
        hook: scan.imported_funcs,
        hook_type: scan.type_count,
        state_global: runtime.state_global,
        scheduler_side: scan.scheduler_side,
        params: scan.params,
        next_func: scan.imported_funcs,
        imports_done: false,
        exports_done: purpose == Purpose::Recorder,
        bodies: Vec::new(),
    };
    let mut out = wasm_encoder::Module::new();
    match rewriter.parse_core_module(&mut out, Parser::new(0), module) {
        Ok(()) => {}
        Err(ReencodeError::UserError(reason)) => {
            return Ok(Instrumentation::NotInstrumentable(reason))
        }
        Err(ReencodeError::ParseError(err)) => return Err(Error::Malformed(err)),
        Err(other) => return Ok(Instrumentation::NotInstrumentable(other.to_string())),
    }
    let bytes = out.finish();
    // Where each body landed: only known once the module is assembled.
    let mut starts = Vec::new();
    for payload in Parser::new(0).parse_all(&bytes) {
        if let Payload::CodeSectionEntry(body) = payload? {
            starts.push(body.range().start as u32);
        }
    }
    let mut bodies = rewriter.bodies;
    for (body, start) in bodies.iter_mut().zip(starts) {
        body.new_start = start;
    }
    Ok(Instrumentation::Instrumented(Instrumented {
        module: bytes,
        functions: FunctionMap {
            hook: rewriter.hook,
            bodies,
        },
    }))
}

struct Prescan {
    imported_funcs: u32,
    type_count: u32,
    has_table: bool,
    /// Parameter count per function (imported ones included).
    params: Vec<u32>,
    /// Defined functions that write the state global or call asyncify's API, other than
    /// the API itself: where the scheduler launches and rewinds goroutines.
    scheduler_side: HashSet<u32>,
}

fn prescan(module: &[u8], runtime: &AsyncifyRuntime) -> Result<Prescan, Error> {
    let mut param_counts: Vec<u32> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imported_funcs = 0;
    let mut has_table = false;
    let mut scheduler_side = HashSet::new();
    let mut next_body = 0;
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        param_counts.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                            _ => 0,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    match import?.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            func_types.push(ty);
                            imported_funcs += 1;
                        }
                        TypeRef::Table(_) => has_table = true,
                        _ => {}
                    }
                }
                next_body = imported_funcs;
            }
            Payload::TableSection(reader) => has_table |= reader.count() > 0,
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty?);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = next_body;
                next_body += 1;
                if runtime.api_functions.contains(&index) {
                    continue;
                }
                for op in body.get_operators_reader()? {
                    let touches_runtime = match op? {
                        Operator::GlobalSet { global_index } => {
                            global_index == runtime.state_global
                        }
                        Operator::Call { function_index } => {
                            runtime.api_functions.contains(&function_index)
                        }
                        _ => false,
                    };
                    if touches_runtime {
                        scheduler_side.insert(index);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let params = func_types
        .iter()
        .map(|ty| param_counts.get(*ty as usize).copied().unwrap_or(0))
        .collect();
    Ok(Prescan {
        imported_funcs,
        type_count: param_counts.len() as u32,
        has_table,
        params,
        scheduler_side,
    })
}

struct Rewriter {
    purpose: Purpose,
    /// The hook's index = the original count of imported functions.
    hook: u32,
    hook_type: u32,
    state_global: u32,
    scheduler_side: HashSet<u32>,
    params: Vec<u32>,
    /// Original index of the next body.
    next_func: u32,
    imports_done: bool,
    exports_done: bool,
    bodies: Vec<BodyMap>,
}

impl Rewriter {
    fn hook_import(&mut self, imports: &mut wasm_encoder::ImportSection) {
        imports.import(HOOK_MODULE, HOOK_NAME, EntityType::Function(self.hook_type));
        self.imports_done = true;
    }

    fn table_export(&mut self, exports: &mut wasm_encoder::ExportSection) {
        exports.export(REPLAY_TABLE_EXPORT, wasm_encoder::ExportKind::Table, 0);
        self.exports_done = true;
    }

    /// What to insert before `op` (at original module offset `offset`) in function `func`,
    /// whose scratch local is `scratch`; nothing for most instructions.
    fn hook_before(
        &self,
        op: &Operator<'_>,
        func: u32,
        offset: u32,
        scratch: u32,
    ) -> Vec<Instruction<'static>> {
        let state = || Instruction::GlobalGet(self.state_global);
        let call_hook = |event: i32, a: Instruction<'static>, b: Instruction<'static>| {
            vec![
                Instruction::I32Const(event),
                a,
                b,
                Instruction::Call(self.hook),
            ]
        };
        // `if (state == 2) { body }`, leaving the operand stack as it was.
        let while_rewinding = |body: Vec<Instruction<'static>>| {
            let mut code = vec![
                state(),
                Instruction::I32Const(REWINDING),
                Instruction::I32Eq,
                Instruction::If(BlockType::Empty),
            ];
            code.extend(body);
            code.push(Instruction::End);
            code
        };
        // Takes the i32 on top of the stack into `scratch`, runs `body`, puts it back.
        let around_top = |body: Vec<Instruction<'static>>| {
            let mut code = vec![Instruction::LocalSet(scratch)];
            code.extend(body);
            code.push(Instruction::LocalGet(scratch));
            code
        };
        let offset = offset as i32;
        match (self.purpose, op) {
            (Purpose::Recorder, Operator::GlobalSet { global_index })
                if *global_index == self.state_global =>
            {
                around_top(call_hook(
                    EVENT_STATE_WRITE,
                    state(),
                    Instruction::LocalGet(scratch),
                ))
            }
            (Purpose::Recorder, Operator::CallIndirect { .. })
                if self.scheduler_side.contains(&func) =>
            {
                around_top(call_hook(
                    EVENT_TASK_CALL,
                    state(),
                    Instruction::LocalGet(scratch),
                ))
            }
            (Purpose::Replay, Operator::GlobalSet { global_index })
                if *global_index == self.state_global =>
            {
                around_top(while_rewinding(call_hook(
                    EVENT_REWIND_END,
                    Instruction::I32Const(offset),
                    Instruction::LocalGet(scratch),
                )))
            }
            (Purpose::Replay, Operator::Call { .. } | Operator::CallIndirect { .. }) => {
                while_rewinding(call_hook(
                    EVENT_REWIND_CALL,
                    Instruction::I32Const(offset),
                    Instruction::I32Const(0),
                ))
            }
            _ => Vec::new(),
        }
    }
}

type Result2<T> = Result<T, ReencodeError<String>>;

impl Reencode for Rewriter {
    type Error = String;

    fn function_index(&mut self, func: u32) -> Result2<u32> {
        Ok(if func >= self.hook { func + 1 } else { func })
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result2<()> {
        utils::parse_type_section(self, types, section)?;
        types
            .ty()
            .function([ValType::I32, ValType::I32, ValType::I32], []);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result2<()> {
        utils::parse_import_section(self, imports, section)?;
        self.hook_import(imports);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result2<()> {
        utils::parse_export_section(self, exports, section)?;
        if !self.exports_done {
            self.table_export(exports);
        }
        Ok(())
    }

    /// A module without imports gets an import section for the hook alone (and, for the
    /// replay, one without exports an export section for the table).
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<wasm_encoder::SectionId>,
        before: Option<wasm_encoder::SectionId>,
    ) -> Result2<()> {
        let past = |id: wasm_encoder::SectionId| before.is_none_or(|b| b as u8 > id as u8);
        if !self.imports_done && after.is_some() && past(wasm_encoder::SectionId::Import) {
            let mut imports = wasm_encoder::ImportSection::new();
            self.hook_import(&mut imports);
            module.section(&imports);
        }
        if !self.exports_done && after.is_some() && past(wasm_encoder::SectionId::Export) {
            let mut exports = wasm_encoder::ExportSection::new();
            self.table_export(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result2<()> {
        if section.name().starts_with(".debug_") {
            return Ok(()); // code addresses moved: the original module's DWARF is the truth
        }
        utils::parse_custom_section(self, module, section)
    }

    fn parse_custom_name_subsection(
        &mut self,
        names: &mut wasm_encoder::NameSection,
        section: wasmparser::Name<'_>,
    ) -> Result2<()> {
        let wasmparser::Name::Function(map) = section else {
            return utils::parse_custom_name_subsection(self, names, section);
        };
        let mut entries = Vec::new();
        for naming in map {
            let naming = naming?;
            entries.push((self.function_index(naming.index)?, naming.name.to_string()));
        }
        entries.push((self.hook, HOOK_FUNCTION_NAME.to_string()));
        entries.sort_by_key(|(index, _)| *index);
        let mut out = wasm_encoder::NameMap::new();
        for (index, name) in &entries {
            out.append(*index, name);
        }
        names.functions(&out);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result2<()> {
        let index = self.next_func;
        self.next_func += 1;
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            declared = declared.saturating_add(count);
            locals.push((count, self.val_type(ty)?));
        }
        // One new i32 after every existing local, for the value a hook looks at.
        let params = self.params.get(index as usize).copied().unwrap_or(0);
        let scratch = params + declared;
        locals.push((1, ValType::I32));
        let mut f = Function::new(locals);
        let mut body = BodyMap::default();
        let mut reader = func.get_operators_reader()?;
        let mut last_delta: Option<i64> = None;
        while !reader.eof() {
            let orig = reader.original_position() as u32;
            let op = reader.read()?;
            let inserted = self.hook_before(&op, index, orig, scratch);
            if !inserted.is_empty() {
                body.points.push((f.byte_len() as u32, orig, true));
                last_delta = None;
                for instruction in &inserted {
                    f.instruction(instruction);
                }
            }
            let new = f.byte_len() as u32;
            let delta = i64::from(orig) - i64::from(new);
            if last_delta != Some(delta) {
                body.points.push((new, orig, false));
                last_delta = Some(delta);
            }
            f.instruction(&self.instruction(op)?);
        }
        self.bodies.push(body);
        code.function(&f);
        Ok(())
    }
}
