//! What `pollscope inspect` shows besides the plan: facts about the component as a whole.

use serde::{Deserialize, Serialize};

use crate::plan::{producer, ProducerValue, ProducersField};

/// Facts about the component that the plan does not need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Size of the component in bytes.
    pub size: u32,
    /// The component's own exports, in order.
    pub exports: Vec<ComponentExport>,
    /// The component-level `producers` section (wit-component records itself there).
    pub producers: Vec<ProducersField>,
}

impl Summary {
    /// Values of the component-level producers field `field`.
    pub fn producer(&self, field: &str) -> &[ProducerValue] {
        producer(&self.producers, field)
    }
}

/// One export of the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentExport {
    /// Export name, e.g. `wasi:cli/run@0.2.0`.
    pub name: String,
    /// What is exported.
    pub kind: ExportKind,
}

/// The sort of a component-level item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportKind {
    /// A core module.
    Module,
    /// A component function.
    Func,
    /// A component value.
    Value,
    /// A type.
    Type,
    /// A component instance (an interface).
    Instance,
    /// A component.
    Component,
}

impl ExportKind {
    /// The kind's name as the text format spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Module => "module",
            ExportKind::Func => "func",
            ExportKind::Value => "value",
            ExportKind::Type => "type",
            ExportKind::Instance => "instance",
            ExportKind::Component => "component",
        }
    }
}

impl From<wasmparser::ComponentExternalKind> for ExportKind {
    fn from(kind: wasmparser::ComponentExternalKind) -> ExportKind {
        use wasmparser::ComponentExternalKind as K;
        match kind {
            K::Module => ExportKind::Module,
            K::Func => ExportKind::Func,
            K::Value => ExportKind::Value,
            K::Type => ExportKind::Type,
            K::Instance => ExportKind::Instance,
            K::Component => ExportKind::Component,
        }
    }
}
