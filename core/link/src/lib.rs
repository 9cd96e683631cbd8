//! Binds a component's lowered imports ([`pollscope_component::HostFunc`]) to the WASI host's
//! functions ([`pollscope_wasi::HostFunc`]).
//!
//! One place decides whether an import can be served, for the shim (before it runs anything),
//! for `pollscope run` (before it starts a browser) and for `pollscope inspect`: the interface
//! and function must exist in a `0.2.x` version, the guest's core signature must equal the
//! host's, and strings must be utf-8.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;

use pollscope_component::{HostFunc as Import, Plan, StringEncoding, ValType as CoreType};
use pollscope_wasi::{HostFunc, ResolveError, ValType};

/// Why one import cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The host has no such interface, version or function.
    Missing(ResolveError),
    /// The host has it, with another core signature.
    Mismatch {
        /// What the guest imports, e.g. `(i32, i64) -> (i32)`.
        guest: String,
        /// What the host implements.
        host: String,
    },
    /// Strings lowered in an encoding the host does not speak.
    StringEncoding(StringEncoding),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing(err) => write!(f, "{err}"),
            Problem::Mismatch { guest, host } => write!(
                f,
                "the guest imports it as {guest}, the host implements {host}"
            ),
            Problem::StringEncoding(encoding) => write!(
                f,
                "strings lowered as {encoding:?}; the host supports utf-8 only"
            ),
        }
    }
}

/// Every import that cannot be bound, each as `interface#name: problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError(pub Vec<(String, Problem)>);

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the component needs {} import(s) this host does not provide:",
            self.0.len()
        )?;
        for (import, problem) in &self.0 {
            write!(f, "\n  {import}: {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LinkError {}

/// Binds one import, or says why it cannot be.
pub fn bind(import: &Import) -> Result<HostFunc, Problem> {
    let func =
        pollscope_wasi::resolve(&import.interface, &import.name).map_err(Problem::Missing)?;
    let params = host_types(&import.params);
    let results = host_types(&import.results);
    if params.as_deref() != Some(func.params()) || results.as_deref() != Some(func.results()) {
        return Err(Problem::Mismatch {
            guest: signature(&import.params, &import.results),
            host: signature(func.params(), func.results()),
        });
    }
    if import.string_encoding != StringEncoding::Utf8 {
        return Err(Problem::StringEncoding(import.string_encoding));
    }
    Ok(func)
}

/// Binds every host function of `plan`, in order, or lists *all* that cannot be bound.
pub fn link(plan: &Plan) -> Result<Vec<HostFunc>, LinkError> {
    let mut bound = Vec::with_capacity(plan.host_funcs.len());
    let mut problems = Vec::new();
    for import in &plan.host_funcs {
        match bind(import) {
            Ok(func) => bound.push(func),
            Err(problem) => {
                problems.push((format!("{}#{}", import.interface, import.name), problem))
            }
        }
    }
    if problems.is_empty() {
        Ok(bound)
    } else {
        Err(LinkError(problems))
    }
}

/// The plan's core types as the host's, or `None` when one has no host equivalent (v128, refs).
fn host_types(types: &[CoreType]) -> Option<Vec<ValType>> {
    types
        .iter()
        .map(|ty| match ty {
            CoreType::I32 => Some(ValType::I32),
            CoreType::I64 => Some(ValType::I64),
            CoreType::F32 => Some(ValType::F32),
            CoreType::F64 => Some(ValType::F64),
            CoreType::V128 | CoreType::Ref(_) => None,
        })
        .collect()
}

/// `(i32, i64) -> (i32)`.
fn signature<T: fmt::Debug>(params: &[T], results: &[T]) -> String {
    let list = |types: &[T]| {
        types
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(
        interface: &str,
        name: &str,
        params: Vec<CoreType>,
        results: Vec<CoreType>,
    ) -> Import {
        Import {
            interface: interface.into(),
            name: name.into(),
            params,
            results,
            memory: None,
            string_encoding: StringEncoding::Utf8,
        }
    }

    #[test]
    fn binds_any_0_2_version() {
        let now = import(
            "wasi:clocks/monotonic-clock@0.2.9",
            "now",
            vec![],
            vec![CoreType::I64],
        );
        assert_eq!(
            bind(&now).unwrap().qualified_name(),
            "wasi:clocks/monotonic-clock#now"
        );
    }

    #[test]
    fn lists_every_problem() {
        let plan_funcs = [
            import(
                "wasi:clocks/monotonic-clock@0.2.0",
                "now",
                vec![CoreType::I32],
                vec![CoreType::I64],
            ),
            import("pollscope:missing/alpha@1.0.0", "f", vec![], vec![]),
            import(
                "wasi:clocks/monotonic-clock@0.3.0",
                "now",
                vec![],
                vec![CoreType::I64],
            ),
        ];
        let problems: Vec<Problem> = plan_funcs.iter().map(|i| bind(i).unwrap_err()).collect();
        assert_eq!(
            problems[0],
            Problem::Mismatch {
                guest: "(i32) -> (i64)".into(),
                host: "() -> (i64)".into()
            }
        );
        assert!(matches!(
            problems[1],
            Problem::Missing(ResolveError::UnknownInterface(_))
        ));
        assert!(matches!(
            problems[2],
            Problem::Missing(ResolveError::UnsupportedVersion(_))
        ));
    }
}
