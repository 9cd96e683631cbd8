//! The asyncify flight recorder: a rewrite of the program module (wasmparser + wasm-encoder's
//! `reencode`) in which `tinygo_launch`, `tinygo_unwind` and `tinygo_rewind` call one host
//! import on entry and on every exit.
//!
//! The hook is `(import "pollscope:tinygo" "asyncify-event" (func (param i32 i32 i32)))`,
//! called with (kind, phase, the function's pointer argument) — see [`decode_hook`]. Adding
//! an import shifts every defined function's index by one: calls, `ref.func`, element
//! segments, exports, the start function and the name section are renumbered, and
//! [`FunctionMap`] maps indices and code offsets of the new module back to the original, so
//! traps still symbolize against the original module's DWARF. DWARF sections are dropped
//! from the output: their code addresses would no longer match.
//!
//! Each instrumented body becomes `hook(enter); block <original body> end; hook(leave)`, so a
//! branch to the function's outermost label reaches the leave hook too; every `return`
//! stashes its results in new locals around its own leave hook, leaving the operand stack as
//! it was.

use std::collections::HashMap;

use pollscope_protocol::{AsyncifyKind, AsyncifyPhase};
use wasm_encoder::reencode::{utils, Error as ReencodeError, Reencode};
use wasm_encoder::{BlockType, EntityType, Function, Instruction, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef};

use crate::Error;

/// Module name of the hook import.
pub const HOOK_MODULE: &str = "pollscope:tinygo";
/// Field name of the hook import.
pub const HOOK_NAME: &str = "asyncify-event";
/// The functions instrumented, with the kind their events carry (kind number = position).
pub const HOOK_FUNCTIONS: [(&str, AsyncifyKind); 3] = [
    ("tinygo_launch", AsyncifyKind::Launch),
    ("tinygo_unwind", AsyncifyKind::Unwind),
    ("tinygo_rewind", AsyncifyKind::Rewind),
];

/// Name the hook gets in the output's name section.
const HOOK_FUNCTION_NAME: &str = "pollscope:tinygo/asyncify-event";

/// The hook's first two arguments as the event's kind and phase (`None` for values the
/// rewrite never passes).
pub fn decode_hook(kind: i32, phase: i32) -> Option<(AsyncifyKind, AsyncifyPhase)> {
    let kind = HOOK_FUNCTIONS.get(usize::try_from(kind).ok()?)?.1;
    let phase = match phase {
        0 => AsyncifyPhase::Enter,
        1 => AsyncifyPhase::Leave,
        _ => return None,
    };
    Some((kind, phase))
}

/// What [`instrument`] made of a module.
#[derive(Debug)]
pub enum Instrumentation {
    /// The rewritten module.
    Instrumented(Instrumented),
    /// The module lacks what the recorder needs (not TinyGo, not asyncify, no name
    /// section); the reason is for the user.
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

/// One of [`HOOK_FUNCTIONS`] found in the module.
struct Target {
    kind: i32,
    /// Its result types (0 or 1).
    results: Vec<ValType>,
    /// Its parameter count (the pointer is parameter 0).
    params: u32,
}

/// Rewrites `module` (see the module docs). `Err` only for bytes that do not parse; a module
/// without the three functions is [`Instrumentation::NotInstrumentable`].
pub fn instrument(module: &[u8]) -> Result<Instrumentation, Error> {
    let scan = match prescan(module)? {
        Ok(scan) => scan,
        Err(reason) => return Ok(Instrumentation::NotInstrumentable(reason)),
    };
    let mut rewriter = Rewriter {
        hook: scan.imported_funcs,
        hook_type: scan.type_count,
        targets: scan.targets,
        next_func: scan.imported_funcs,
        imports_done: false,
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
    targets: HashMap<u32, Target>,
}

/// Finds the three functions and their signatures; `Ok(Err(reason))` when the module cannot
/// be instrumented.
fn prescan(module: &[u8]) -> Result<Result<Prescan, String>, Error> {
    let mut types: Vec<Option<wasmparser::FuncType>> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imported_funcs = 0;
    let mut names: HashMap<String, u32> = HashMap::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(Error::NotCoreModule)
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f.clone()),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(ty) | TypeRef::FuncExact(ty) = import?.ty {
                        func_types.push(ty);
                        imported_funcs += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty?);
                }
            }
            Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                    for sub in reader.into_iter().map_while(Result::ok) {
                        if let wasmparser::Name::Function(map) = sub {
                            for naming in map.into_iter().map_while(Result::ok) {
                                names.entry(naming.name.to_string()).or_insert(naming.index);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut targets = HashMap::new();
    for (kind, (name, _)) in HOOK_FUNCTIONS.iter().enumerate() {
        let Some(&index) = names.get(*name) else {
            return Ok(Err(format!(
                "not instrumentable: no {name} in the name section (not a TinyGo asyncify \
                 build, or names stripped)"
            )));
        };
        if index < imported_funcs {
            return Ok(Err(format!("not instrumentable: {name} is imported")));
        }
        let ty = func_types
            .get(index as usize)
            .and_then(|t| types.get(*t as usize))
            .and_then(Option::as_ref);
        let Some(ty) = ty else {
            return Ok(Err(format!(
                "not instrumentable: {name} has no function type"
            )));
        };
        if ty.params().first() != Some(&wasmparser::ValType::I32) || ty.results().len() > 1 {
            return Ok(Err(format!(
                "not instrumentable: {name} is not (i32 …) -> (at most one result)"
            )));
        }
        let results = ty
            .results()
            .iter()
            .map(|t| utils::val_type(&mut wasm_encoder::reencode::RoundtripReencoder, *t))
            .collect::<Result<_, _>>()
            .map_err(|_| Error::NotCoreModule)?;
        targets.insert(
            index,
            Target {
                kind: kind as i32,
                results,
                params: ty.params().len() as u32,
            },
        );
    }
    Ok(Ok(Prescan {
        imported_funcs,
        type_count: types.len() as u32,
        targets,
    }))
}

struct Rewriter {
    /// The hook's index = the original count of imported functions.
    hook: u32,
    hook_type: u32,
    targets: HashMap<u32, Target>,
    /// Original index of the next body.
    next_func: u32,
    imports_done: bool,
    bodies: Vec<BodyMap>,
}

impl Rewriter {
    fn hook_import(&mut self, imports: &mut wasm_encoder::ImportSection) {
        imports.import(HOOK_MODULE, HOOK_NAME, EntityType::Function(self.hook_type));
        self.imports_done = true;
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

    /// A module without imports gets an import section for the hook alone.
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<wasm_encoder::SectionId>,
        before: Option<wasm_encoder::SectionId>,
    ) -> Result2<()> {
        let past_imports = before.is_none_or(|id| id as u8 > wasm_encoder::SectionId::Import as u8);
        if !self.imports_done && after.is_some() && past_imports {
            let mut imports = wasm_encoder::ImportSection::new();
            self.hook_import(&mut imports);
            module.section(&imports);
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
        let hook = self.hook;
        let target = self.targets.get(&index).map(|t| {
            // New locals after every existing one: a stash per result, then the pointer
            // argument as it was on entry (the body may reuse parameter 0).
            let stash = t.params + declared;
            Exits {
                kind: t.kind,
                results: t.results.clone(),
                stash,
                pointer: stash + t.results.len() as u32,
                hook,
            }
        });
        if let Some(exits) = &target {
            locals.extend(exits.results.iter().map(|ty| (1, *ty)));
            locals.push((1, ValType::I32));
        }
        let mut f = Function::new(locals);
        let mut body = BodyMap::default();
        let mut reader = func.get_operators_reader()?;
        let mut last_delta: Option<i64> = None;
        if let Some(exits) = &target {
            let orig = reader.original_position() as u32;
            body.points.push((f.byte_len() as u32, orig, true));
            exits.enter(&mut f);
        }
        while !reader.eof() {
            let orig = reader.original_position() as u32;
            let op = reader.read()?;
            let last = reader.eof();
            if let Some(exits) = &target {
                match op {
                    Operator::Return => {
                        body.points.push((f.byte_len() as u32, orig, true));
                        last_delta = None;
                        exits.leave(&mut f);
                    }
                    Operator::ReturnCall { .. }
                    | Operator::ReturnCallIndirect { .. }
                    | Operator::ReturnCallRef { .. } => {
                        return Err(ReencodeError::UserError(
                            "not instrumentable: a TinyGo task-switch function makes a tail call"
                                .into(),
                        ));
                    }
                    _ => {}
                }
            }
            let new = f.byte_len() as u32;
            let delta = i64::from(orig) - i64::from(new);
            if last_delta != Some(delta) {
                body.points.push((new, orig, false));
                last_delta = Some(delta);
            }
            f.instruction(&self.instruction(op)?);
            if let (true, Some(exits)) = (last, &target) {
                // The original `end` closed the wrapping block; now the real exit.
                body.points.push((f.byte_len() as u32, orig, true));
                exits.leave(&mut f);
                f.instruction(&Instruction::End);
            }
        }
        self.bodies.push(body);
        code.function(&f);
        Ok(())
    }
}

/// How one instrumented function reports.
struct Exits {
    kind: i32,
    results: Vec<ValType>,
    /// First stash local for the results.
    stash: u32,
    /// Local holding the pointer argument.
    pointer: u32,
    hook: u32,
}

impl Exits {
    /// Saves the pointer, calls the enter hook and opens the block that wraps the body.
    fn enter(&self, f: &mut Function) {
        f.instruction(&Instruction::LocalGet(0));
        f.instruction(&Instruction::LocalSet(self.pointer));
        self.call(f, 0);
        f.instruction(&Instruction::Block(match self.results.first() {
            None => BlockType::Empty,
            Some(ty) => BlockType::Result(*ty),
        }));
    }

    /// The leave hook, with the function's results (on top of the stack) kept in place.
    fn leave(&self, f: &mut Function) {
        for i in (0..self.results.len() as u32).rev() {
            f.instruction(&Instruction::LocalSet(self.stash + i));
        }
        self.call(f, 1);
        for i in 0..self.results.len() as u32 {
            f.instruction(&Instruction::LocalGet(self.stash + i));
        }
    }

    fn call(&self, f: &mut Function, phase: i32) {
        f.instruction(&Instruction::I32Const(self.kind));
        f.instruction(&Instruction::I32Const(phase));
        f.instruction(&Instruction::LocalGet(self.pointer));
        f.instruction(&Instruction::Call(self.hook));
    }
}
