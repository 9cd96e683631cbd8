//! Component → [`Plan`] + [`Summary`], in two passes: [`parse`] reads every payload once
//! alongside the validator, [`resolve`] instantiates the result symbolically.

mod ir;
mod module;
mod parse;
mod resolve;

use crate::error::Error;
use crate::plan::{ExternType, FuncType, Plan, Run, Step, ValType};
use crate::summary::Summary;
use crate::Translation;

use resolve::CItemView;

/// The `wasi:cli/run` export's name without its version.
const RUN_INTERFACE: &str = "wasi:cli/run";

pub(crate) fn translate(bytes: &[u8]) -> Result<Translation, Error> {
    let parsed = parse::parse(bytes)?;
    let resolved = resolve::resolve(&parsed)?;

    let exports = || {
        let names: Vec<&str> = parsed.exports.iter().map(|e| e.name.as_str()).collect();
        if names.is_empty() {
            "it exports nothing".to_string()
        } else {
            format!("its exports: {}", names.join(", "))
        }
    };
    let Some(export) = parsed
        .exports
        .iter()
        .find(|e| e.name.split('@').next() == Some(RUN_INTERFACE))
    else {
        return Err(Error::no_run(format!(
            "no `{RUN_INTERFACE}` export: pollscope runs command components (world \
             `wasi:cli/command`); {}",
            exports()
        )));
    };
    if !export.name.starts_with("wasi:cli/run@0.2.") {
        return Err(Error::no_run(format!(
            "`{}` is not a WASI 0.2 run export: only `{RUN_INTERFACE}@0.2.x` is supported",
            export.name
        )));
    }
    let Some(CItemView::RunInstance {
        lift_offset,
        func,
        post_return,
    }) = resolved.exports.get(&export.name)
    else {
        return Err(Error::no_run(format!(
            "`{}` has no `run` function implemented by the component",
            export.name
        )));
    };
    if let Some(other) = resolved.other_lifts(*lift_offset).next() {
        return Err(Error::unsupported(
            other,
            "`canon lift` of a function other than `wasi:cli/run`'s `run`: the shim calls only \
             `run`, so the component may export nothing else",
        ));
    }

    // The shim calls run as `() -> i32`; the validator checked the lift against the
    // component type, this checks the component type is run's.
    let run_module = resolved
        .steps
        .get(func.instance as usize)
        .map(|step| match step {
            Step::Instantiate { module, .. } => *module,
        });
    let run_type = run_module
        .and_then(|m| parsed.modules.get(m as usize))
        .and_then(|m| m.export(&func.name))
        .map(|e| &e.ty);
    let expected = ExternType::Func(FuncType {
        params: Vec::new(),
        results: vec![ValType::I32],
    });
    if run_type != Some(&expected) {
        let found = match run_type {
            Some(ExternType::Func(f)) => f.to_string(),
            Some(other) => other.kind().to_string(),
            None => "nothing".to_string(),
        };
        return Err(Error::unsupported(
            *lift_offset,
            format!(
                "`{}`'s `run` lifts a core function of type {found}; `run: func() -> result` \
                 must be () -> (i32)",
                export.name
            ),
        ));
    }

    let run = Run {
        export: export.name.clone(),
        func: func.clone(),
        post_return: post_return.clone(),
    };
    let plan = Plan {
        modules: parsed.modules,
        steps: resolved.steps,
        host_funcs: resolved.host_funcs,
        memories: resolved.memories,
        run,
        imports: parsed.imports,
    };
    let summary = Summary {
        size: bytes.len() as u32,
        exports: parsed.exports,
        producers: parsed.producers,
    };
    Ok(Translation { plan, summary })
}
