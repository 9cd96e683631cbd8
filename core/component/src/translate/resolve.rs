//! Second pass: instantiate the root component symbolically. Every index space is tracked
//! as what its entries really are (an export of a real core instance, a host function, an
//! imported interface, a nested component's export…), nested components are walked once per
//! instantiation with their imports bound to the arguments, and instance-from-exports
//! bundles dissolve into the bindings of the modules that import from them.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use wasmparser::{ComponentExternalKind, ComponentOuterAliasKind, ExternalKind};

use super::ir::{DeclKind, Options};
use super::parse::Parsed;
use crate::error::Error;
use crate::limits::{
    MAX_CORE_INSTANTIATIONS, MAX_HOST_FUNCS, MAX_INSTANTIATION_DEPTH, MAX_RESOLVE_WORK,
};
use crate::plan::{Binding, ExportRef, FuncType, GuestMemory, HostFunc, Item, Step};

/// A component-level function.
#[derive(Clone)]
enum Func {
    /// A function of an imported interface.
    Imported { interface: Rc<str>, name: Rc<str> },
    /// A `canon lift` of a core function.
    Lifted(Rc<Lifted>),
}

/// A lifted function, and where the lift is (to report lifts other than `run`).
struct Lifted {
    offset: usize,
    func: ExportRef,
    post_return: Option<ExportRef>,
}

/// A component instance.
#[derive(Clone)]
enum Instance {
    /// An imported interface (only the root imports; nested imports are arguments).
    Imported(Rc<str>),
    /// A nested component's instance or an instance built from exports.
    Exports(Rc<BTreeMap<String, CItem>>),
}

/// A component-level type, as far as the shim cares.
#[derive(Clone)]
enum Type {
    /// A resource defined by an imported interface: (interface, resource name).
    Resource(Rc<str>, Rc<str>),
    /// Anything else (a value type, a function type, a non-resource type import…).
    Other,
}

/// A nested component definition, closed over the index spaces it can reach by outer alias.
struct Closure {
    def: u32,
    scope: Rc<Scope>,
}

/// The outer-aliasable index spaces of an enclosing component, as they were when a nested
/// component was defined (outer aliases can only see earlier definitions).
struct Scope {
    modules: Vec<u32>,
    components: Vec<Rc<Closure>>,
    types: Vec<Type>,
    parent: Option<Rc<Scope>>,
}

/// Any component-level item.
#[derive(Clone)]
enum CItem {
    Module(u32),
    Func(Func),
    Instance(Instance),
    Type(Type),
    Component(Rc<Closure>),
}

/// A core instance.
#[derive(Clone)]
enum CoreInstance {
    /// Created by `steps[n]`.
    Real(u32),
    /// Built from exports: dissolved into its items.
    Exports(Rc<BTreeMap<String, Item>>),
}

/// The index spaces of one component instance being resolved.
#[derive(Default)]
struct Spaces {
    modules: Vec<u32>,
    components: Vec<Rc<Closure>>,
    types: Vec<Type>,
    funcs: Vec<Func>,
    instances: Vec<Instance>,
    core_instances: Vec<CoreInstance>,
    core_funcs: Vec<Item>,
    core_tables: Vec<Item>,
    core_memories: Vec<Item>,
    core_globals: Vec<Item>,
    core_tags: Vec<Item>,
}

/// What the second pass produces.
pub(super) struct Resolved {
    pub steps: Vec<Step>,
    pub host_funcs: Vec<HostFunc>,
    pub memories: Vec<GuestMemory>,
    /// The root component's exports.
    pub exports: BTreeMap<String, CItemView>,
    /// Offsets of every `canon lift` met, with what it lifts.
    lifts: Vec<Rc<Lifted>>,
}

/// What a root export is, for finding `run`.
pub(super) enum CItemView {
    /// An instance whose `run` export is a lifted function.
    RunInstance {
        lift_offset: usize,
        func: ExportRef,
        post_return: Option<ExportRef>,
    },
    /// An instance without a lifted `run` (e.g. a re-exported import).
    OtherInstance,
    /// Not an instance.
    Other,
}

impl Resolved {
    /// Offsets of lifts other than the one at `run_offset`.
    pub fn other_lifts(&self, run_offset: usize) -> impl Iterator<Item = usize> + '_ {
        self.lifts
            .iter()
            .map(|lift| lift.offset)
            .filter(move |offset| *offset != run_offset)
    }
}

pub(super) fn resolve(parsed: &Parsed) -> Result<Resolved, Error> {
    let mut resolver = Resolver {
        parsed,
        steps: Vec::new(),
        host_funcs: Vec::new(),
        memories: Vec::new(),
        host_index: HashMap::new(),
        lifts: Vec::new(),
        work: 0,
        depth: 0,
    };
    let root = Scope {
        modules: Vec::new(),
        components: Vec::new(),
        types: Vec::new(),
        parent: None,
    };
    let exports = resolver.walk(0, None, &Rc::new(root))?;
    let exports = exports
        .iter()
        .map(|(name, item)| (name.clone(), view(item)))
        .collect();
    Ok(Resolved {
        steps: resolver.steps,
        host_funcs: resolver.host_funcs,
        memories: resolver.memories,
        exports,
        lifts: resolver.lifts,
    })
}

fn view(item: &CItem) -> CItemView {
    match item {
        CItem::Instance(Instance::Exports(exports)) => match exports.get("run") {
            Some(CItem::Func(Func::Lifted(lifted))) => CItemView::RunInstance {
                lift_offset: lifted.offset,
                func: lifted.func.clone(),
                post_return: lifted.post_return.clone(),
            },
            _ => CItemView::OtherInstance,
        },
        CItem::Instance(Instance::Imported(_)) => CItemView::OtherInstance,
        _ => CItemView::Other,
    }
}

struct Resolver<'p> {
    parsed: &'p Parsed,
    steps: Vec<Step>,
    host_funcs: Vec<HostFunc>,
    memories: Vec<GuestMemory>,
    host_index: HashMap<HostFunc, u32>,
    lifts: Vec<Rc<Lifted>>,
    work: usize,
    depth: usize,
}

/// Looks up `index` in an index space, failing (never panicking) when the validator's
/// guarantee that it exists does not hold for our view of the space.
fn get<'a, T>(space: &'a [T], index: u32, what: &str, offset: usize) -> Result<&'a T, Error> {
    space
        .get(index as usize)
        .ok_or_else(|| Error::internal(offset, format!("{what} index {index} out of range")))
}

impl Resolver<'_> {
    fn spend(&mut self, amount: usize, offset: usize) -> Result<(), Error> {
        self.work += amount;
        if self.work > MAX_RESOLVE_WORK {
            return Err(Error::limit(
                offset,
                "declarations to resolve (nested components instantiated too often)",
                MAX_RESOLVE_WORK,
            ));
        }
        Ok(())
    }

    /// Instantiates definition `def`, with `args` for a nested component (`None` for the
    /// root), and returns its exports.
    fn walk(
        &mut self,
        def: u32,
        args: Option<&BTreeMap<String, CItem>>,
        scope: &Rc<Scope>,
    ) -> Result<BTreeMap<String, CItem>, Error> {
        let parsed = self.parsed;
        let def = get(&parsed.defs, def, "component", 0)?;
        let mut s = Spaces::default();
        let mut exports = BTreeMap::new();
        for decl in &def.decls {
            let offset = decl.offset;
            self.spend(1, offset)?;
            match &decl.kind {
                DeclKind::Module(index) => s.modules.push(*index),
                DeclKind::Component(def) => {
                    let scope = Scope {
                        modules: s.modules.clone(),
                        components: s.components.clone(),
                        types: s.types.clone(),
                        parent: Some(scope.clone()),
                    };
                    s.components.push(Rc::new(Closure {
                        def: *def,
                        scope: Rc::new(scope),
                    }));
                }
                DeclKind::CoreInstantiate { module, args } => {
                    let module = *get(&s.modules, *module, "core module", offset)?;
                    let instance = self.instantiate(&s, module, args, offset)?;
                    s.core_instances.push(CoreInstance::Real(instance));
                }
                DeclKind::CoreFromExports(items) => {
                    let mut map = BTreeMap::new();
                    for (name, kind, index) in items {
                        let item = get(core_space(&s, *kind), *index, "core item", offset)?;
                        map.insert(name.clone(), item.clone());
                    }
                    s.core_instances.push(CoreInstance::Exports(Rc::new(map)));
                }
                DeclKind::Instantiate { component, args } => {
                    let closure = get(&s.components, *component, "component", offset)?.clone();
                    let mut bound = BTreeMap::new();
                    for (name, kind, index) in args {
                        bound.insert(name.clone(), item_at(&s, *kind, *index, offset)?);
                    }
                    if self.depth >= MAX_INSTANTIATION_DEPTH {
                        return Err(Error::limit(
                            offset,
                            "nested component instantiations in a chain",
                            MAX_INSTANTIATION_DEPTH,
                        ));
                    }
                    self.depth += 1;
                    let result = self.walk(closure.def, Some(&bound), &closure.scope);
                    self.depth -= 1;
                    s.instances.push(Instance::Exports(Rc::new(result?)));
                }
                DeclKind::FromExports(items) => {
                    let mut map = BTreeMap::new();
                    for (name, kind, index) in items {
                        map.insert(name.clone(), item_at(&s, *kind, *index, offset)?);
                    }
                    s.instances.push(Instance::Exports(Rc::new(map)));
                }
                DeclKind::AliasExport {
                    kind,
                    instance,
                    name,
                } => {
                    let item = match get(&s.instances, *instance, "instance", offset)? {
                        Instance::Imported(interface) => {
                            self.imported_export(interface, *kind, name, offset)?
                        }
                        Instance::Exports(map) => map.get(name).cloned().ok_or_else(|| {
                            Error::internal(offset, format!("instance has no export `{name}`"))
                        })?,
                    };
                    push(&mut s, *kind, item, offset)?;
                }
                DeclKind::AliasCoreExport {
                    kind,
                    instance,
                    name,
                } => {
                    let item = match get(&s.core_instances, *instance, "core instance", offset)? {
                        CoreInstance::Real(instance) => Item::Export {
                            instance: *instance,
                            name: name.clone(),
                        },
                        CoreInstance::Exports(map) => map.get(name).cloned().ok_or_else(|| {
                            Error::internal(offset, format!("core instance has no export `{name}`"))
                        })?,
                    };
                    core_space_mut(&mut s, *kind).push(item);
                }
                DeclKind::AliasOuter { kind, count, index } => {
                    self.alias_outer(&mut s, scope, *kind, *count, *index, offset)?
                }
                DeclKind::Type => s.types.push(Type::Other),
                DeclKind::Lift { core_func, options } => {
                    let func = match get(&s.core_funcs, *core_func, "core func", offset)? {
                        Item::Export { instance, name } => ExportRef {
                            instance: *instance,
                            name: name.clone(),
                        },
                        Item::Host { .. } => {
                            return Err(Error::unsupported(
                                offset,
                                "`canon lift` of a lowered import (re-exporting an import) is \
                                 not supported",
                            ))
                        }
                    };
                    let post_return = options
                        .post_return
                        .map(|index| export_ref(&s.core_funcs, index, "post-return", offset))
                        .transpose()?;
                    let lifted = Rc::new(Lifted {
                        offset,
                        func,
                        post_return,
                    });
                    self.lifts.push(lifted.clone());
                    s.funcs.push(Func::Lifted(lifted));
                }
                DeclKind::Lower { func, options, sig } => {
                    let (interface, name) = match get(&s.funcs, *func, "func", offset)? {
                        Func::Imported { interface, name } => (interface.clone(), name.clone()),
                        Func::Lifted(_) => {
                            return Err(Error::unsupported(
                                offset,
                                "`canon lower` of a function the component lifts itself \
                                 (component-internal adapter) is not supported",
                            ))
                        }
                    };
                    let host = self.host_func(&s, &interface, &name, options, sig, offset)?;
                    s.core_funcs.push(Item::Host { func: host });
                }
                DeclKind::ResourceDrop { resource, sig } => {
                    let (interface, name) =
                        match get(&s.types, *resource, "type", offset)? {
                            Type::Resource(interface, name) => (interface.clone(), name.clone()),
                            Type::Other => return Err(Error::unsupported(
                                offset,
                                "`canon resource.drop` of a resource that no imported interface \
                                 defines",
                            )),
                        };
                    let name: Rc<str> = format!("[resource-drop]{name}").into();
                    let host =
                        self.host_func(&s, &interface, &name, &Options::default(), sig, offset)?;
                    s.core_funcs.push(Item::Host { func: host });
                }
                DeclKind::Import { name, kind } => {
                    let item = match args {
                        // Root imports: interfaces (types are opaque; other kinds were
                        // rejected by the first pass).
                        None => match kind {
                            ComponentExternalKind::Instance => {
                                CItem::Instance(Instance::Imported(name.as_str().into()))
                            }
                            _ => CItem::Type(Type::Other),
                        },
                        Some(args) => args.get(name).cloned().ok_or_else(|| {
                            Error::internal(offset, format!("import `{name}` has no argument"))
                        })?,
                    };
                    push(&mut s, *kind, item, offset)?;
                }
                DeclKind::Export { name, kind, index } => {
                    let item = item_at(&s, *kind, *index, offset)?;
                    exports.insert(name.clone(), item.clone());
                    push(&mut s, *kind, item, offset)?;
                }
            }
        }
        Ok(exports)
    }

    /// `(alias export $import "name" …)` of an imported interface.
    fn imported_export(
        &self,
        interface: &Rc<str>,
        kind: ComponentExternalKind,
        name: &str,
        offset: usize,
    ) -> Result<CItem, Error> {
        Ok(match kind {
            ComponentExternalKind::Func => CItem::Func(Func::Imported {
                interface: interface.clone(),
                name: name.into(),
            }),
            ComponentExternalKind::Type => {
                let key = (interface.to_string(), name.to_string());
                CItem::Type(match self.parsed.resource_homes.get(&key) {
                    Some((home, resource)) => {
                        Type::Resource(home.as_str().into(), resource.as_str().into())
                    }
                    None => Type::Other,
                })
            }
            other => {
                return Err(Error::unsupported(
                    offset,
                    format!(
                        "aliasing {} `{name}` out of imported interface `{interface}`: the shim's \
                         interfaces export only functions and types",
                        other.desc()
                    ),
                ))
            }
        })
    }

    fn alias_outer(
        &mut self,
        s: &mut Spaces,
        scope: &Rc<Scope>,
        kind: ComponentOuterAliasKind,
        count: u32,
        index: u32,
        offset: usize,
    ) -> Result<(), Error> {
        if kind == ComponentOuterAliasKind::CoreType {
            // Core types are not tracked: nothing here refers to them by index.
            return Ok(());
        }
        // count 0 is this component; 1 the enclosing one, whose snapshot is `scope`.
        let item = if count == 0 {
            match kind {
                ComponentOuterAliasKind::CoreModule => {
                    CItem::Module(*get(&s.modules, index, "core module", offset)?)
                }
                ComponentOuterAliasKind::Component => {
                    CItem::Component(get(&s.components, index, "component", offset)?.clone())
                }
                _ => CItem::Type(get(&s.types, index, "type", offset)?.clone()),
            }
        } else {
            let mut outer = scope.clone();
            for _ in 1..count {
                outer = outer
                    .parent
                    .clone()
                    .ok_or_else(|| Error::internal(offset, "outer alias beyond the root"))?;
            }
            match kind {
                ComponentOuterAliasKind::CoreModule => {
                    CItem::Module(*get(&outer.modules, index, "core module", offset)?)
                }
                ComponentOuterAliasKind::Component => {
                    CItem::Component(get(&outer.components, index, "component", offset)?.clone())
                }
                _ => CItem::Type(get(&outer.types, index, "type", offset)?.clone()),
            }
        };
        let kind = match kind {
            ComponentOuterAliasKind::CoreModule => ComponentExternalKind::Module,
            ComponentOuterAliasKind::Component => ComponentExternalKind::Component,
            _ => ComponentExternalKind::Type,
        };
        push(s, kind, item, offset)
    }

    /// Adds a step instantiating plan module `module`; returns the new instance's number.
    fn instantiate(
        &mut self,
        s: &Spaces,
        module: u32,
        args: &[(String, u32)],
        offset: usize,
    ) -> Result<u32, Error> {
        let parsed = self.parsed;
        let imports = &get(&parsed.modules, module, "core module", offset)?.imports;
        self.spend(imports.len(), offset)?;
        let mut bindings = Vec::with_capacity(imports.len());
        for import in imports {
            let (_, arg) = args
                .iter()
                .find(|(name, _)| *name == import.module)
                .ok_or_else(|| {
                    Error::internal(offset, format!("no argument for `{}`", import.module))
                })?;
            let item = match get(&s.core_instances, *arg, "core instance", offset)? {
                CoreInstance::Real(instance) => Item::Export {
                    instance: *instance,
                    name: import.name.clone(),
                },
                CoreInstance::Exports(map) => map.get(&import.name).cloned().ok_or_else(|| {
                    Error::internal(
                        offset,
                        format!("argument `{}` lacks `{}`", import.module, import.name),
                    )
                })?,
            };
            bindings.push(Binding {
                module: import.module.clone(),
                name: import.name.clone(),
                item,
            });
        }
        if self.steps.len() >= MAX_CORE_INSTANTIATIONS {
            return Err(Error::limit(
                offset,
                "core module instantiations",
                MAX_CORE_INSTANTIATIONS,
            ));
        }
        let instance = self.steps.len() as u32;
        self.steps.push(Step::Instantiate {
            instance,
            module,
            imports: bindings,
        });
        Ok(instance)
    }

    /// Returns the index of the (deduplicated) guest memory. Bounded by the host functions:
    /// each lowered function names at most one.
    fn guest_memory(&mut self, memory: GuestMemory) -> u32 {
        match self.memories.iter().position(|known| *known == memory) {
            Some(index) => index as u32,
            None => {
                self.memories.push(memory);
                (self.memories.len() - 1) as u32
            }
        }
    }

    /// Returns the index of the (deduplicated) host function.
    fn host_func(
        &mut self,
        s: &Spaces,
        interface: &str,
        name: &str,
        options: &Options,
        sig: &FuncType,
        offset: usize,
    ) -> Result<u32, Error> {
        if options.post_return.is_some() {
            return Err(Error::internal(offset, "post-return on a lowered function"));
        }
        let memory = match options.memory {
            None => None,
            Some(index) => Some(match get(&s.core_memories, index, "core memory", offset)? {
                Item::Export { instance, name } => ExportRef {
                    instance: *instance,
                    name: name.clone(),
                },
                Item::Host { .. } => return Err(Error::internal(offset, "host memory")),
            }),
        };
        let realloc = options
            .realloc
            .map(|index| export_ref(&s.core_funcs, index, "realloc", offset))
            .transpose()?;
        if realloc.is_some() && memory.is_none() {
            // The canonical ABI requires a memory wherever it requires a realloc.
            return Err(Error::unsupported(
                offset,
                "a lowered function with realloc but no memory",
            ));
        }
        let memory = memory.map(|memory| self.guest_memory(GuestMemory::new(memory, realloc)));
        let func = HostFunc {
            interface: interface.to_string(),
            name: name.to_string(),
            params: sig.params.clone(),
            results: sig.results.clone(),
            memory,
            string_encoding: options.string_encoding,
        };
        if let Some(index) = self.host_index.get(&func) {
            return Ok(*index);
        }
        if self.host_funcs.len() >= MAX_HOST_FUNCS {
            return Err(Error::limit(offset, "host functions", MAX_HOST_FUNCS));
        }
        let index = self.host_funcs.len() as u32;
        self.host_index.insert(func.clone(), index);
        self.host_funcs.push(func);
        Ok(index)
    }
}

/// A core function that must be a guest export (realloc, post-return).
fn export_ref(funcs: &[Item], index: u32, what: &str, offset: usize) -> Result<ExportRef, Error> {
    match get(funcs, index, "core func", offset)? {
        Item::Export { instance, name } => Ok(ExportRef {
            instance: *instance,
            name: name.clone(),
        }),
        Item::Host { .. } => Err(Error::unsupported(
            offset,
            format!("the {what} function is a lowered import, not a guest function"),
        )),
    }
}

fn core_space(s: &Spaces, kind: ExternalKind) -> &[Item] {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => &s.core_funcs,
        ExternalKind::Table => &s.core_tables,
        ExternalKind::Memory => &s.core_memories,
        ExternalKind::Global => &s.core_globals,
        ExternalKind::Tag => &s.core_tags,
    }
}

fn core_space_mut(s: &mut Spaces, kind: ExternalKind) -> &mut Vec<Item> {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => &mut s.core_funcs,
        ExternalKind::Table => &mut s.core_tables,
        ExternalKind::Memory => &mut s.core_memories,
        ExternalKind::Global => &mut s.core_globals,
        ExternalKind::Tag => &mut s.core_tags,
    }
}

/// The item at `index` in the space of `kind`.
fn item_at(
    s: &Spaces,
    kind: ComponentExternalKind,
    index: u32,
    offset: usize,
) -> Result<CItem, Error> {
    Ok(match kind {
        ComponentExternalKind::Module => {
            CItem::Module(*get(&s.modules, index, "core module", offset)?)
        }
        ComponentExternalKind::Func => CItem::Func(get(&s.funcs, index, "func", offset)?.clone()),
        ComponentExternalKind::Type => CItem::Type(get(&s.types, index, "type", offset)?.clone()),
        ComponentExternalKind::Instance => {
            CItem::Instance(get(&s.instances, index, "instance", offset)?.clone())
        }
        ComponentExternalKind::Component => {
            CItem::Component(get(&s.components, index, "component", offset)?.clone())
        }
        ComponentExternalKind::Value => return Err(unsupported_value(offset)),
    })
}

/// Appends `item` to the space of `kind` (checking the validator's kind agrees with ours).
fn push(
    s: &mut Spaces,
    kind: ComponentExternalKind,
    item: CItem,
    offset: usize,
) -> Result<(), Error> {
    match (kind, item) {
        (ComponentExternalKind::Module, CItem::Module(m)) => s.modules.push(m),
        (ComponentExternalKind::Func, CItem::Func(f)) => s.funcs.push(f),
        (ComponentExternalKind::Type, CItem::Type(t)) => s.types.push(t),
        (ComponentExternalKind::Instance, CItem::Instance(i)) => s.instances.push(i),
        (ComponentExternalKind::Component, CItem::Component(c)) => s.components.push(c),
        (ComponentExternalKind::Value, _) => return Err(unsupported_value(offset)),
        (kind, _) => {
            return Err(Error::internal(
                offset,
                format!("item of the wrong sort for a {}", kind.desc()),
            ))
        }
    }
    Ok(())
}

#[cold]
fn unsupported_value(offset: usize) -> Error {
    Error::unsupported(
        offset,
        "component values (the `value` sort) are not supported",
    )
}
