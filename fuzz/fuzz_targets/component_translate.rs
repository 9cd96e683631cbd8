//! `pollscope_component::translate` over arbitrary bytes — what `pollscope inspect`, `run`'s
//! preflight and the shim's wasm thread call first on a component — then everything they do
//! with the plan before any guest code runs: link it against the WASI host, slice out each
//! module's bytes, build the telemetry `hello` and send it as JSON.
//!
//! Beyond "never panics", a plan that translates must be one the shim can walk without
//! indexing out of bounds: module ranges inside the bytes, instance `i` made by step `i`,
//! every binding naming an earlier instance or a host function that exists, and `run` (and
//! every memory/realloc option) naming an instance the steps create. The plan also survives
//! a JSON round trip (it crosses a worker boundary serialized).
//!
//! Input: the component's bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pollscope_component::{ExportRef, Item, Step, Translation};

fuzz_target!(|bytes: &[u8]| {
    let Ok(translation) = pollscope_component::translate(bytes) else {
        return;
    };
    check_plan(&translation, bytes);
    let _ = pollscope_link::link(&translation.plan);

    let json = serde_json::to_string(&translation).expect("a plan serializes");
    let back: Translation = serde_json::from_str(&json).expect("a serialized plan reads back");
    assert_eq!(back, translation, "the plan changed through JSON");

    // The wasm thread's first message: it must be one the page and the panel accept.
    let hello = pollscope_protocol::FromWasm::Hello(pollscope_telemetry::hello(&translation));
    let text = pollscope_protocol::encode_json(&hello).expect("a hello encodes");
    let decoded: pollscope_protocol::FromWasm =
        pollscope_protocol::decode_json(text.as_bytes()).expect("the host's hello decodes");
    assert_eq!(decoded, hello, "the hello changed through JSON");
});

fn check_plan(translation: &Translation, bytes: &[u8]) {
    let plan = &translation.plan;
    for module in &plan.modules {
        let range = &module.range;
        assert!(
            range.start <= range.end && range.end as usize <= bytes.len(),
            "module range {range:?} outside {} bytes",
            bytes.len()
        );
    }
    let instances = plan.steps.len() as u32;
    let export = |at: u32, item: &ExportRef, what: &str| {
        assert!(
            item.instance < at,
            "{what} names instance {} before it exists (step {at})",
            item.instance
        );
    };
    for (index, step) in plan.steps.iter().enumerate() {
        let Step::Instantiate {
            instance,
            module,
            imports,
        } = step;
        assert_eq!(
            *instance, index as u32,
            "step {index} creates instance {instance}"
        );
        let module = plan
            .modules
            .get(*module as usize)
            .unwrap_or_else(|| panic!("step {index} instantiates missing module {module}"));
        assert_eq!(
            imports.len(),
            module.imports.len(),
            "step {index}: one binding per import"
        );
        for binding in imports {
            match &binding.item {
                Item::Export { instance, name } => export(
                    index as u32,
                    &ExportRef {
                        instance: *instance,
                        name: name.clone(),
                    },
                    "a binding",
                ),
                Item::Host { func } => assert!(
                    (*func as usize) < plan.host_funcs.len(),
                    "step {index} binds missing host function {func}"
                ),
            }
        }
    }
    export(instances, &plan.run.func, "run");
    if let Some(post) = &plan.run.post_return {
        export(instances, post, "post-return");
    }
    for memory in &plan.memories {
        export(instances, &memory.memory, "a lowered memory");
        if let Some(realloc) = &memory.realloc {
            export(instances, realloc, "a lowered realloc");
        }
    }
    for func in &plan.host_funcs {
        if let Some(memory) = func.memory {
            assert!(
                (memory as usize) < plan.memories.len(),
                "host function {} names missing memory {memory}",
                func.name
            );
        }
    }
}
