//! Named limits. Inputs beyond them fail with [`crate::ErrorKind::Limit`] instead of using
//! unbounded time or memory (a component can instantiate nested components repeatedly, so the
//! work of resolving it is not bounded by its size alone).

/// Largest component accepted, in bytes: the JS API's limit on a module's size
/// (wasmparser's `MAX_WASM_MODULE_SIZE`); each core module is compiled from a slice of it.
pub const MAX_COMPONENT_SIZE: usize = 1024 * 1024 * 1024;

/// Deepest nesting of components and modules inside the component.
pub const MAX_NESTING_DEPTH: usize = 32;

/// Deepest chain of component instantiations being resolved at once.
pub const MAX_INSTANTIATION_DEPTH: usize = 32;

/// Most core module instantiations in a plan (the shim performs each one with the JS API).
pub const MAX_CORE_INSTANTIATIONS: usize = 1000;

/// Most distinct host functions a plan can bind.
pub const MAX_HOST_FUNCS: usize = 10_000;

/// Most declarations (and import bindings) walked while resolving, counting every
/// re-instantiation of a nested component again.
pub const MAX_RESOLVE_WORK: usize = 1_000_000;
