//! Facts about one core module: imports and exports with their types, and the custom
//! sections `inspect` reports (name, DWARF, producers).

use wasmparser::types::{CoreTypeId, EntityType, TypesRef};
use wasmparser::{
    CompositeInnerType, CustomSectionReader, ExportSectionReader, ImportSectionReader, KnownCustom,
};

use crate::error::Error;
use crate::plan::{
    ExternType, FuncType, Module, ModuleExport, ModuleImport, ProducerValue, ProducersField,
    ValType,
};

/// Converts a wasmparser value type.
pub(super) fn val_type(ty: wasmparser::ValType) -> ValType {
    match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ValType::Ref(r.to_string()),
    }
}

/// The function type behind `id`, or `None` if it is not a function type.
pub(super) fn func_type(types: &TypesRef<'_>, id: CoreTypeId) -> Option<FuncType> {
    match &types.get(id)?.composite_type.inner {
        CompositeInnerType::Func(f) => Some(FuncType {
            params: f.params().iter().copied().map(val_type).collect(),
            results: f.results().iter().copied().map(val_type).collect(),
        }),
        _ => None,
    }
}

fn extern_type(types: &TypesRef<'_>, ty: EntityType, offset: usize) -> Result<ExternType, Error> {
    let func = |id| {
        func_type(types, id).ok_or_else(|| {
            Error::internal(offset, "function import or export of non-function type")
        })
    };
    Ok(match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => ExternType::Func(func(id)?),
        EntityType::Tag(id) => ExternType::Tag(func(id)?),
        EntityType::Table(t) => ExternType::Table {
            element: ValType::Ref(t.element_type.to_string()),
            initial: t.initial,
            maximum: t.maximum,
            table64: t.table64,
            shared: t.shared,
        },
        EntityType::Memory(m) => ExternType::Memory {
            initial: m.initial,
            maximum: m.maximum,
            memory64: m.memory64,
            shared: m.shared,
        },
        EntityType::Global(g) => ExternType::Global {
            ty: val_type(g.content_type),
            mutable: g.mutable,
        },
    })
}

/// Records an import section (already validated, so `types` knows its types).
pub(super) fn imports(
    module: &mut Module,
    types: &TypesRef<'_>,
    section: ImportSectionReader<'_>,
) -> Result<(), Error> {
    for import in section.into_imports_with_offsets() {
        let (offset, import) = import?;
        let offset = offset as usize;
        let ty = types
            .entity_type_from_import(&import)
            .ok_or_else(|| Error::internal(offset, "import of unknown type"))?;
        module.imports.push(ModuleImport {
            module: import.module.to_string(),
            name: import.name.to_string(),
            ty: extern_type(types, ty, offset)?,
        });
    }
    Ok(())
}

/// Records an export section.
pub(super) fn exports(
    module: &mut Module,
    types: &TypesRef<'_>,
    section: ExportSectionReader<'_>,
) -> Result<(), Error> {
    for export in section.into_iter_with_offsets() {
        let (offset, export) = export?;
        let offset = offset as usize;
        let ty = types
            .entity_type_from_export(&export)
            .ok_or_else(|| Error::internal(offset, "export of unknown item"))?;
        module.exports.push(ModuleExport {
            name: export.name.to_string(),
            ty: extern_type(types, ty, offset)?,
        });
    }
    Ok(())
}

/// Records what a custom section of a module says.
pub(super) fn custom(module: &mut Module, section: &CustomSectionReader<'_>) {
    match section.as_known() {
        KnownCustom::Name(_) => module.name_section = true,
        // Custom sections are not validated and browsers ignore them: a broken producers
        // section must not make the component unusable, so it just reads as empty.
        KnownCustom::Producers(reader) => module.producers = producers(reader).unwrap_or_default(),
        _ if section.name().starts_with(".debug_") => module.dwarf.push(section.name().to_string()),
        _ => {}
    }
}

/// Reads a producers section.
pub(super) fn producers(
    reader: wasmparser::ProducersSectionReader<'_>,
) -> Result<Vec<ProducersField>, Error> {
    let mut fields = Vec::new();
    for field in reader {
        let field = field?;
        let mut values = Vec::new();
        for value in field.values {
            let value = value?;
            values.push(ProducerValue {
                name: value.name.to_string(),
                version: value.version.to_string(),
            });
        }
        fields.push(ProducersField {
            name: field.name.to_string(),
            values,
        });
    }
    Ok(fields)
}
