//! First pass: walk every payload once, in lockstep with wasmparser's validator, and keep
//! each component definition's declarations (see [`super::ir`]), each core module's facts,
//! and the root's imports and exports. Types only the validator computes (the core type of a
//! lowered function, an imported instance's exports) are read from it as each section passes.

use std::collections::HashMap;

use wasmparser::component_types::{ComponentAnyTypeId, ComponentEntityType, ResourceId};
use wasmparser::types::TypesRef;
#[cfg(feature = "validate-function-bodies")]
use wasmparser::FuncValidatorAllocations;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentExternName, ComponentExternalKind, ComponentType,
    Encoding, Parser, Payload, ValidPayload, Validator, WasmFeatures,
};

use super::ir::{Decl, DeclKind, Def, Options};
use super::module;
use crate::error::Error;
use crate::limits::{MAX_COMPONENT_SIZE, MAX_NESTING_DEPTH};
use crate::plan::{ImportedInstance, Module, ProducersField, StringEncoding};
use crate::summary::ComponentExport;

/// Everything the first pass learns.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// Core modules in byte order.
    pub modules: Vec<Module>,
    /// Component definitions; `defs[0]` is the root.
    pub defs: Vec<Def>,
    /// The root's instance imports.
    pub imports: Vec<ImportedInstance>,
    /// (import, export name) of every resource type an imported instance exports → the
    /// (import, name) that defines it. `wasi:cli/stdin` re-exports `wasi:io/streams`'
    /// `input-stream`, and its drop must go to `wasi:io/streams`.
    pub resource_homes: HashMap<(String, String), (String, String)>,
    /// The root's exports.
    pub exports: Vec<ComponentExport>,
    /// The root's producers section.
    pub producers: Vec<ProducersField>,
}

/// What is being parsed at a nesting level.
enum Frame {
    Component { def: usize },
    Module { index: usize },
}

/// Runs the first pass over a whole component.
pub(super) fn parse(bytes: &[u8]) -> Result<Parsed, Error> {
    if bytes.get(..4) != Some(b"\0asm".as_slice()) {
        return Err(Error::not_wasm());
    }
    if bytes.len() > MAX_COMPONENT_SIZE {
        return Err(Error::limit(
            0,
            "bytes in the component",
            MAX_COMPONENT_SIZE,
        ));
    }
    // Everything the binary format can say is accepted here, so that a component using a
    // feature the shim lacks gets "unsupported: …" from us rather than "feature not enabled".
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    #[cfg(feature = "validate-function-bodies")]
    let mut allocs = FuncValidatorAllocations::default();
    let mut pass = Pass {
        parsed: Parsed::default(),
        stack: Vec::new(),
        resource_ids: HashMap::new(),
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let Payload::Version {
            encoding: Encoding::Module,
            ..
        } = payload
        {
            if pass.stack.is_empty() {
                return Err(Error::core_module());
            }
        }
        // A canon section's lowered functions get the core function indices that follow
        // the ones existing before it.
        let core_funcs_before = match payload {
            Payload::ComponentCanonicalSection(_) => {
                validator.types(0).map_or(0, |t| t.function_count())
            }
            _ => 0,
        };
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            #[cfg(feature = "validate-function-bodies")]
            {
                let mut func = func.into_validator(std::mem::take(&mut allocs));
                func.validate(&body)?;
                allocs = func.into_allocations();
            }
            #[cfg(not(feature = "validate-function-bodies"))]
            let _ = (func, body);
            continue;
        }
        pass.payload(&validator, payload, core_funcs_before)?;
    }
    Ok(pass.parsed)
}

struct Pass {
    parsed: Parsed,
    stack: Vec<Frame>,
    /// Resource identities seen in root imports, to find each one's defining interface.
    resource_ids: HashMap<ResourceId, (String, String)>,
}

impl Pass {
    fn payload(
        &mut self,
        validator: &Validator,
        payload: Payload<'_>,
        core_funcs_before: u32,
    ) -> Result<(), Error> {
        match payload {
            Payload::Version { range, .. } => {
                // Nested modules and components got their frame at their section.
                if self.stack.is_empty() {
                    self.parsed.defs.push(Def::default());
                    self.stack.push(Frame::Component { def: 0 });
                }
                let _ = range;
            }
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let offset = unchecked_range.start as usize;
                self.check_depth(offset)?;
                let index = self.parsed.modules.len();
                // The component is at most MAX_COMPONENT_SIZE (< 4 GiB) bytes long.
                let range = unchecked_range.start as u32..unchecked_range.end as u32;
                self.parsed.modules.push(Module {
                    range,
                    imports: Vec::new(),
                    exports: Vec::new(),
                    name_section: false,
                    dwarf: Vec::new(),
                    producers: Vec::new(),
                });
                self.decl(offset, DeclKind::Module(index as u32))?;
                self.stack.push(Frame::Module { index });
            }
            Payload::ComponentSection {
                unchecked_range, ..
            } => {
                let offset = unchecked_range.start as usize;
                self.check_depth(offset)?;
                let def = self.parsed.defs.len();
                self.parsed.defs.push(Def::default());
                self.decl(offset, DeclKind::Component(def as u32))?;
                self.stack.push(Frame::Component { def });
            }
            Payload::End(_) => {
                self.stack.pop();
            }
            Payload::ImportSection(section) => {
                let (module, types) = self.module(validator)?;
                module::imports(module, &types, section)?;
            }
            Payload::ExportSection(section) => {
                let (module, types) = self.module(validator)?;
                module::exports(module, &types, section)?;
            }
            Payload::CustomSection(section) => match self.stack.last() {
                Some(Frame::Module { index }) => {
                    if let Some(module) = self.parsed.modules.get_mut(*index) {
                        module::custom(module, &section);
                    }
                }
                Some(Frame::Component { def: 0 }) => {
                    if let wasmparser::KnownCustom::Producers(reader) = section.as_known() {
                        // Informational only; see `module::custom`.
                        self.parsed.producers = module::producers(reader).unwrap_or_default();
                    }
                }
                _ => {}
            },
            Payload::InstanceSection(section) => {
                for item in section.into_iter_with_offsets() {
                    let (offset, instance) = item?;
                    let kind = match instance {
                        wasmparser::Instance::Instantiate { module_index, args } => {
                            DeclKind::CoreInstantiate {
                                module: module_index,
                                args: args
                                    .iter()
                                    .map(|arg| (arg.name.to_string(), arg.index))
                                    .collect(),
                            }
                        }
                        wasmparser::Instance::FromExports(exports) => DeclKind::CoreFromExports(
                            exports
                                .iter()
                                .map(|e| (e.name.to_string(), e.kind, e.index))
                                .collect(),
                        ),
                    };
                    self.decl(offset as usize, kind)?;
                }
            }
            Payload::ComponentInstanceSection(section) => {
                for item in section.into_iter_with_offsets() {
                    let (offset, instance) = item?;
                    let offset = offset as usize;
                    let kind = match instance {
                        wasmparser::ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => DeclKind::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .map(|arg| (arg.name.to_string(), arg.kind, arg.index))
                                .collect(),
                        },
                        wasmparser::ComponentInstance::FromExports(exports) => {
                            let mut items = Vec::with_capacity(exports.len());
                            for e in exports.iter() {
                                items.push((extern_name(&e.name, offset)?, e.kind, e.index));
                            }
                            DeclKind::FromExports(items)
                        }
                    };
                    self.decl(offset, kind)?;
                }
            }
            Payload::ComponentAliasSection(section) => {
                for item in section.into_iter_with_offsets() {
                    let (offset, alias) = item?;
                    let kind = match alias {
                        wasmparser::ComponentAlias::InstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => DeclKind::AliasExport {
                            kind,
                            instance: instance_index,
                            name: name.to_string(),
                        },
                        wasmparser::ComponentAlias::CoreInstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => DeclKind::AliasCoreExport {
                            kind,
                            instance: instance_index,
                            name: name.to_string(),
                        },
                        wasmparser::ComponentAlias::Outer { kind, count, index } => {
                            DeclKind::AliasOuter { kind, count, index }
                        }
                    };
                    self.decl(offset as usize, kind)?;
                }
            }
            Payload::ComponentTypeSection(section) => {
                for item in section.into_iter_with_offsets() {
                    let (offset, ty) = item?;
                    if let ComponentType::Resource { .. } = ty {
                        return Err(Error::unsupported(
                            offset as usize,
                            "the component defines its own resource type: the shim only \
                             supports resources of imported WASI interfaces",
                        ));
                    }
                    self.decl(offset as usize, DeclKind::Type)?;
                }
            }
            Payload::ComponentCanonicalSection(section) => {
                let types = self.component_types(validator)?;
                let mut next_core = core_funcs_before;
                let mut decls = Vec::new();
                for item in section.into_iter_with_offsets() {
                    let (offset, canon) = item?;
                    let offset = offset as usize;
                    let mut core_sig = || {
                        let index = next_core;
                        next_core += 1;
                        (index < types.function_count())
                            .then(|| module::func_type(&types, types.core_function_at(index)))
                            .flatten()
                            .ok_or_else(|| Error::internal(offset, "lowered function has no type"))
                    };
                    let kind = match canon {
                        CanonicalFunction::Lift {
                            core_func_index,
                            options,
                            ..
                        } => DeclKind::Lift {
                            core_func: core_func_index,
                            options: canon_options(&options, offset)?,
                        },
                        CanonicalFunction::Lower {
                            func_index,
                            options,
                        } => DeclKind::Lower {
                            func: func_index,
                            options: canon_options(&options, offset)?,
                            sig: core_sig()?,
                        },
                        CanonicalFunction::ResourceDrop { resource } => DeclKind::ResourceDrop {
                            resource,
                            sig: core_sig()?,
                        },
                        other => return Err(unsupported_canon(&other, offset)),
                    };
                    decls.push(Decl { offset, kind });
                }
                for decl in decls {
                    self.decl(decl.offset, decl.kind)?;
                }
            }
            Payload::ComponentStartSection { range, .. } => {
                return Err(Error::unsupported(
                    range.start as usize,
                    "component start functions are not supported (the shim only calls \
                     `wasi:cli/run`)",
                ));
            }
            Payload::ComponentImportSection(section) => {
                let root = self.is_root();
                for item in section.into_iter_with_offsets() {
                    let (offset, import) = item?;
                    let offset = offset as usize;
                    let name = extern_name(&import.name, offset)?;
                    let kind = import.ty.kind();
                    if root {
                        match kind {
                            ComponentExternalKind::Instance => {
                                let types = self.component_types(validator)?;
                                self.root_instance_import(&types, &import.name, &name, offset)?;
                            }
                            ComponentExternalKind::Type => {}
                            other => {
                                return Err(Error::unsupported(
                                    offset,
                                    format!(
                                        "`{name}` is a {} import: the shim only provides \
                                         interfaces (instance imports)",
                                        other.desc()
                                    ),
                                ))
                            }
                        }
                    }
                    self.decl(offset, DeclKind::Import { name, kind })?;
                }
            }
            Payload::ComponentExportSection(section) => {
                let root = self.is_root();
                for item in section.into_iter_with_offsets() {
                    let (offset, export) = item?;
                    let offset = offset as usize;
                    let name = extern_name(&export.name, offset)?;
                    if root {
                        self.parsed.exports.push(ComponentExport {
                            name: name.clone(),
                            kind: export.kind.into(),
                        });
                    }
                    self.decl(
                        offset,
                        DeclKind::Export {
                            name,
                            kind: export.kind,
                            index: export.index,
                        },
                    )?;
                }
            }
            // Core types are never looked up by index here, and the remaining module
            // sections carry nothing the plan needs.
            _ => {}
        }
        Ok(())
    }

    fn check_depth(&self, offset: usize) -> Result<(), Error> {
        if self.stack.len() >= MAX_NESTING_DEPTH {
            return Err(Error::limit(
                offset,
                "levels of nested components and modules",
                MAX_NESTING_DEPTH,
            ));
        }
        Ok(())
    }

    fn is_root(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Component { def: 0 })) && self.stack.len() == 1
    }

    /// Appends a declaration to the component being parsed.
    fn decl(&mut self, offset: usize, kind: DeclKind) -> Result<(), Error> {
        let def = match self.stack.last() {
            Some(Frame::Component { def }) => *def,
            _ => {
                return Err(Error::internal(
                    offset,
                    "component section outside a component",
                ))
            }
        };
        match self.parsed.defs.get_mut(def) {
            Some(def) => def.decls.push(Decl { offset, kind }),
            None => return Err(Error::internal(offset, "unknown component definition")),
        }
        Ok(())
    }

    /// The module being parsed, with the validator's types for it.
    fn module<'v>(
        &mut self,
        validator: &'v Validator,
    ) -> Result<(&mut Module, TypesRef<'v>), Error> {
        let module = match self.stack.last() {
            Some(Frame::Module { index }) => self.parsed.modules.get_mut(*index),
            _ => None,
        };
        match (module, validator.types(0)) {
            (Some(module), Some(types)) => Ok((module, types)),
            _ => Err(Error::internal(0, "module section outside a module")),
        }
    }

    fn component_types<'v>(&self, validator: &'v Validator) -> Result<TypesRef<'v>, Error> {
        validator
            .types(0)
            .ok_or_else(|| Error::internal(0, "component section outside a component"))
    }

    /// Records an instance import of the root component: its functions and resources.
    fn root_instance_import(
        &mut self,
        types: &TypesRef<'_>,
        import: &ComponentExternName<'_>,
        name: &str,
        offset: usize,
    ) -> Result<(), Error> {
        let Some(ComponentEntityType::Instance(id)) = types
            .component_item_for_import(import.name)
            .map(|item| item.ty)
        else {
            return Err(Error::internal(
                offset,
                "instance import without instance type",
            ));
        };
        let Some(instance) = types.get(id) else {
            return Err(Error::internal(offset, "instance import with unknown type"));
        };
        let mut funcs = Vec::new();
        let mut resources = Vec::new();
        for (export, item) in &instance.exports {
            match item.ty {
                ComponentEntityType::Func(_) => funcs.push(export.clone()),
                ComponentEntityType::Type {
                    created: ComponentAnyTypeId::Resource(resource),
                    ..
                } => {
                    // The first import to mention a resource defines it (later ones can
                    // only refer to it through an outer alias of an earlier import).
                    let here = (name.to_string(), export.clone());
                    let home = self
                        .resource_ids
                        .entry(resource.resource())
                        .or_insert_with(|| here.clone())
                        .clone();
                    if home == here {
                        resources.push(export.clone());
                    }
                    self.parsed.resource_homes.insert(here, home);
                }
                _ => {}
            }
        }
        self.parsed.imports.push(ImportedInstance {
            name: name.to_string(),
            funcs,
            resources,
        });
        Ok(())
    }
}

/// The name an import or export is known by. `implements` labels would let two imports share
/// one interface, which the host (keyed by interface name) cannot tell apart.
fn extern_name(name: &ComponentExternName<'_>, offset: usize) -> Result<String, Error> {
    if let Some(implements) = name.implements {
        return Err(Error::unsupported(
            offset,
            format!(
                "`{}` is a labelled import of `{implements}` (`implements`): the shim provides \
                 each interface once, under its own name",
                name.name
            ),
        ));
    }
    Ok(name.full_name().into_owned())
}

fn canon_options(options: &[CanonicalOption], offset: usize) -> Result<Options, Error> {
    let mut out = Options::default();
    for option in options {
        match *option {
            CanonicalOption::UTF8 => out.string_encoding = StringEncoding::Utf8,
            CanonicalOption::UTF16 => out.string_encoding = StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => out.string_encoding = StringEncoding::CompactUtf16,
            CanonicalOption::Memory(index) => out.memory = Some(index),
            CanonicalOption::Realloc(index) => out.realloc = Some(index),
            CanonicalOption::PostReturn(index) => out.post_return = Some(index),
            CanonicalOption::Async | CanonicalOption::Callback(_) => {
                return Err(Error::unsupported(
                    offset,
                    "async canon option (component-model async): the shim supports only \
                     synchronous WASI 0.2 calls",
                ))
            }
            CanonicalOption::CoreType(_) | CanonicalOption::Gc => {
                return Err(Error::unsupported(
                    offset,
                    "GC canon options (`core-type`, `gc`): the shim lowers into linear memory only",
                ))
            }
        }
    }
    Ok(out)
}

#[cold]
fn unsupported_canon(canon: &CanonicalFunction, offset: usize) -> Error {
    let what = match canon {
        CanonicalFunction::ResourceNew { .. } | CanonicalFunction::ResourceRep { .. } => {
            "resources defined by the component (`canon resource.new`/`resource.rep`)".to_string()
        }
        other => {
            // The variant name is enough to say which builtin it is.
            let debug = format!("{other:?}");
            let name = debug
                .split([' ', '{', '('])
                .next()
                .unwrap_or("")
                .to_string();
            format!("the canonical builtin `{name}` (component-model async/threads)")
        }
    };
    Error::unsupported(offset, format!("the shim does not support {what}"))
}
