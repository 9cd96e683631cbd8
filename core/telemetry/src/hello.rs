//! The handshake's facts about the component, from its translation.

use pollscope_component::{Translation, ASYNCIFY_EXPORTS};
use pollscope_protocol::{ComponentSummary, Hello, Producer, PROTOCOL_VERSION};

/// The [`Hello`] for a translated component. `host_functions[i]` names the plan's host
/// function `i` — the index the adapter passes to `pollscope_host_call`, and so the one the
/// shim gives [`Recorder::enter_host_call`](crate::Recorder::enter_host_call) — as
/// `interface#name` without the version, the way pollables name their creator.
pub fn hello(translation: &Translation) -> Hello {
    let plan = &translation.plan;
    let summary = &translation.summary;
    let mut producers: Vec<Producer> = Vec::new();
    let fields = summary
        .producers
        .iter()
        .chain(plan.modules.iter().flat_map(|module| &module.producers));
    for field in fields {
        for value in &field.values {
            let producer = Producer {
                field: field.name.clone(),
                name: value.name.clone(),
                version: value.version.clone(),
            };
            if !producers.contains(&producer) {
                producers.push(producer);
            }
        }
    }
    let asyncify_exports = ASYNCIFY_EXPORTS
        .iter()
        .filter(|name| plan.modules.iter().any(|m| m.export(name).is_some()))
        .map(|name| name.to_string())
        .collect();
    Hello {
        protocol: PROTOCOL_VERSION,
        component: ComponentSummary {
            size: u64::from(summary.size),
            imports: plan.imports.iter().map(|i| i.name.clone()).collect(),
            exports: summary.exports.iter().map(|e| e.name.clone()).collect(),
            producers,
            dwarf: plan.modules.iter().any(|m| m.has_dwarf()),
            name_section: plan.modules.iter().any(|m| m.name_section),
            asyncify_exports,
        },
        host_functions: plan
            .host_funcs
            .iter()
            .map(|f| {
                let interface = f.interface.split('@').next().unwrap_or(&f.interface);
                format!("{interface}#{}", f.name)
            })
            .collect(),
        // Filled in by the shim once pollscope-tinygo has read the program module.
        tinygo: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = r#"
(component
  (import "wasi:io/poll@0.2.6" (instance $poll
    (export "pollable" (type (sub resource)))
  ))
  (alias export $poll "pollable" (type $pollable))
  (core func $drop (canon resource.drop $pollable))
  (core module $main
    (import "wasi:io/poll@0.2.0" "[resource-drop]pollable" (func (param i32)))
    (func $asyncify_get_state (export "asyncify_get_state") (result i32) (i32.const 0))
    (func (export "run") (result i32) (i32.const 0)))
  (core instance $poll_core (export "[resource-drop]pollable" (func $drop)))
  (core instance $main_i (instantiate $main (with "wasi:io/poll@0.2.0" (instance $poll_core))))
  (type $res (result))
  (type $run_t (func (result $res)))
  (alias core export $main_i "run" (core func $run_core))
  (func $run (type $run_t) (canon lift (core func $run_core)))
  (instance $run_i (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run_i))
)"#;

    #[test]
    fn hello_summarizes_the_component_and_names_host_functions() {
        let bytes = wat::parse_str(COMPONENT).unwrap();
        let translation = pollscope_component::translate(&bytes).unwrap();
        let hello = hello(&translation);
        assert_eq!(hello.protocol, PROTOCOL_VERSION);
        assert_eq!(
            hello.host_functions,
            ["wasi:io/poll#[resource-drop]pollable"]
        );
        let summary = hello.component;
        assert_eq!(summary.size, bytes.len() as u64);
        assert_eq!(summary.imports, ["wasi:io/poll@0.2.6"]);
        assert_eq!(summary.exports, ["wasi:cli/run@0.2.0"]);
        assert_eq!(summary.asyncify_exports, ["asyncify_get_state"]);
        assert!(summary.name_section && !summary.dwarf);
    }
}
