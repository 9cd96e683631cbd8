//! Builders for TinyGo-shaped DWARF, modules and memory images (feature `testing`): the one
//! builder this crate's tests and the fixture generator (`pollscope-fixtures`, which depends on
//! this crate with the feature) both use, so the two cannot describe TinyGo differently.
//!
//! - [`write_dwarf`] / [`write_units`] turn [`UnitSpec`]s — types, global variables with
//!   `DW_OP_addr` and `DW_OP_piece`, subprograms (concrete or abstract) with the subroutines
//!   inlined into them, line sequences — into DWARF 4 (or 5) sections with `gimli::write`,
//!   referring across units as LLVM does for one linked module.
//! - What a TinyGo build's DWARF holds: [`TaskLayout`] (`internal/task.Task` of 0x30 bytes in
//!   [TinyGo 0.33](TaskLayout::TINYGO_033) and, with `canaryPtr`,
//!   [0.34](TaskLayout::TINYGO_034)), [`runtime_types`], the scheduler's globals
//!   ([`SchedulerGlobals`]), units with TinyGo's producer and language ([`tinygo_unit`],
//!   [`scheduler_units`]), and the `producers` section ([`TINYGO_033_PRODUCERS`]).
//! - Modules: [`module_with_functions`] and [`module_with_bodies`] build small modules and
//!   say where their code landed; [`insert_before_name`], [`append_custom_sections`] and
//!   [`with_producers`] add sections to any module; [`MemoryImage`] is guest memory to walk.

mod dwarf;
mod module;
mod tinygo;

pub use dwarf::*;
pub use module::*;
pub use tinygo::*;
