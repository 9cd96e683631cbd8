//! The facts each fixture exists for, asserted directly (the snapshots catch the rest).

use pollscope_component::{
    ExportRef, GuestMemory, HostFunc, Item, Plan, Step, StringEncoding, ValType, ASYNCIFY_EXPORTS,
};

use super::translate_fixture;

fn steps(plan: &Plan) -> Vec<(u32, u32, &[pollscope_component::Binding])> {
    plan.steps
        .iter()
        .map(
            |Step::Instantiate {
                 instance,
                 module,
                 imports,
             }| (*instance, *module, &imports[..]),
        )
        .collect()
}

/// What import `module`/`name` of step `step` is bound to.
fn binding<'p>(plan: &'p Plan, step: usize, module: &str, name: &str) -> &'p Item {
    let Step::Instantiate { imports, .. } = &plan.steps[step];
    &imports
        .iter()
        .find(|b| b.module == module && b.name == name)
        .unwrap_or_else(|| panic!("step {step} has no import {module} {name}"))
        .item
}

fn host<'p>(plan: &'p Plan, item: &Item) -> &'p HostFunc {
    match item {
        Item::Host { func } => &plan.host_funcs[*func as usize],
        other => panic!("expected a host function, got {other:?}"),
    }
}

fn export(instance: u32, name: &str) -> ExportRef {
    ExportRef {
        instance,
        name: name.to_string(),
    }
}

#[test]
fn direct_lowering() {
    let plan = translate_fixture("direct_lower").plan;
    assert_eq!(steps(&plan).len(), 1);
    let block = host(
        &plan,
        binding(&plan, 0, "wasi:io/poll@0.2.0", "[method]pollable.block"),
    );
    assert_eq!(
        (block.interface.as_str(), block.name.as_str()),
        ("wasi:io/poll@0.2.6", "[method]pollable.block")
    );
    assert_eq!(
        (block.params.as_slice(), block.results.as_slice()),
        (&[ValType::I32][..], &[][..])
    );
    assert_eq!(block.memory, None);

    let drop = host(
        &plan,
        binding(&plan, 0, "wasi:io/poll@0.2.0", "[resource-drop]pollable"),
    );
    assert_eq!(
        (drop.interface.as_str(), drop.name.as_str()),
        ("wasi:io/poll@0.2.6", "[resource-drop]pollable")
    );

    let sub = host(
        &plan,
        binding(
            &plan,
            0,
            "wasi:clocks/monotonic-clock@0.2.0",
            "subscribe-duration",
        ),
    );
    assert_eq!(sub.interface, "wasi:clocks/monotonic-clock@0.2.6");
    assert_eq!(
        (sub.params.as_slice(), sub.results.as_slice()),
        (&[ValType::I64][..], &[ValType::I32][..])
    );
    assert_eq!(plan.host_funcs.len(), 4);

    assert_eq!(plan.run.export, "wasi:cli/run@0.2.0");
    assert_eq!(plan.run.func, export(0, "wasi:cli/run@0.2.0#run"));
    assert_eq!(plan.run.post_return, None);

    // The clock re-exports poll's pollable: only poll defines it.
    let clock = plan
        .imports
        .iter()
        .find(|i| i.name.starts_with("wasi:clocks"))
        .unwrap();
    assert_eq!(clock.funcs, ["now", "subscribe-duration"]);
    assert!(clock.resources.is_empty());
    let poll = plan
        .imports
        .iter()
        .find(|i| i.name.starts_with("wasi:io/poll"))
        .unwrap();
    assert_eq!(poll.resources, ["pollable"]);
}

#[test]
fn shim_fixup_and_start_modules() {
    let t = translate_fixture("shim_fixup");
    let plan = &t.plan;
    // Module definitions: 0 main, 1 shim, 2 fixup, 3 start; instantiated shim, main, fixup, start.
    let order: Vec<(u32, u32)> = steps(plan).iter().map(|(i, m, _)| (*i, *m)).collect();
    assert_eq!(order, [(0, 1), (1, 0), (2, 2), (3, 3)]);

    // The program calls get-arguments through the shim's trampoline…
    assert_eq!(
        binding(plan, 1, "wasi:cli/environment@0.2.0", "get-arguments"),
        &Item::Export {
            instance: 0,
            name: "0".into()
        }
    );
    // …while the resource drop is lowered directly.
    let drop = host(
        plan,
        binding(
            plan,
            1,
            "wasi:io/streams@0.2.0",
            "[resource-drop]output-stream",
        ),
    );
    assert_eq!(drop.interface, "wasi:io/streams@0.2.0");

    // The fixup gets the shim's table and the real lowerings, which use the program's memory.
    assert_eq!(
        binding(plan, 2, "", "$imports"),
        &Item::Export {
            instance: 0,
            name: "$imports".into()
        }
    );
    let args = host(plan, binding(plan, 2, "", "0"));
    assert_eq!(
        (args.interface.as_str(), args.name.as_str()),
        ("wasi:cli/environment@0.2.0", "get-arguments")
    );
    assert_eq!(args.params, [ValType::I32]);
    let with_realloc = &plan.memories[args.memory.expect("a memory") as usize];
    assert_eq!(
        with_realloc,
        &GuestMemory {
            memory: export(1, "memory"),
            realloc: Some(export(1, "cabi_realloc")),
            ready_after: 1,
        }
    );
    assert_eq!(args.string_encoding, StringEncoding::Utf8);
    let write = host(plan, binding(plan, 2, "", "1"));
    assert_eq!(write.name, "[method]output-stream.blocking-write-and-flush");
    assert_eq!(write.params, vec![ValType::I32; 4]);
    let without_realloc = &plan.memories[write.memory.expect("a memory") as usize];
    assert_eq!(
        (&without_realloc.memory, &without_realloc.realloc),
        (&export(1, "memory"), &None)
    );
    // Each distinct (memory, realloc) pair once; the fixup module (instance 2) binds
    // functions whose memory exists only after the program (instance 1).
    assert_eq!(plan.memories.len(), 2);
    assert_eq!(
        plan.memories_ready_after(1)
            .map(|(i, _)| i)
            .collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(plan.memories_ready_after(0).count(), 0);

    // The start module calls the program's _initialize.
    assert_eq!(
        binding(plan, 3, "", "_initialize"),
        &Item::Export {
            instance: 1,
            name: "_initialize".into()
        }
    );
    assert_eq!(plan.run.func, export(1, "wasi:cli/run@0.2.0#run"));

    // What inspect reports about the program module.
    let main = &plan.modules[0];
    assert!(main.name_section);
    assert!(main.has_dwarf());
    assert_eq!(main.dwarf, [".debug_info", ".debug_line"]);
    assert_eq!(main.producer("language")[0].name, "Go");
    assert_eq!(main.producer("processed-by")[0].name, "TinyGo");
    assert_eq!(
        main.asyncify_exports().collect::<Vec<_>>(),
        ASYNCIFY_EXPORTS
    );
    assert_eq!(plan.modules[1].asyncify_exports().count(), 0);
    assert!(!plan.modules[1].has_dwarf());
    assert_eq!(t.summary.producer("processed-by")[0].name, "wit-component");
    assert_eq!(t.summary.exports.len(), 1);
    assert_eq!(t.summary.size as usize, super::fixture("shim_fixup").len());

    // Each module's range is a module of its own.
    let bytes = super::fixture("shim_fixup");
    for module in &plan.modules {
        let slice = &bytes[module.range.start as usize..module.range.end as usize];
        assert_eq!(&slice[..8], b"\0asm\x01\0\0\0");
        wasmparser::Validator::new().validate_all(slice).unwrap();
    }
}

#[test]
fn nested_component_wrapping_run() {
    let plan = translate_fixture("nested_run").plan;
    assert_eq!(steps(&plan).len(), 1);
    assert_eq!(plan.run.func, export(0, "wasi:cli/run@0.2.0#run"));
    assert_eq!(plan.host_funcs.len(), 1);
}

#[test]
fn nested_component_lowering_its_arguments() {
    let plan = translate_fixture("nested_lower").plan;
    let order: Vec<(u32, u32)> = steps(&plan).iter().map(|(i, m, _)| (*i, *m)).collect();
    assert_eq!(order, [(0, 0), (1, 0)]);
    // Both instances share the two host functions.
    assert_eq!(plan.host_funcs.len(), 2);
    assert_eq!(
        binding(&plan, 0, "poll", "drop"),
        binding(&plan, 1, "poll", "drop")
    );
    let drop = host(&plan, binding(&plan, 1, "poll", "drop"));
    assert_eq!(
        (drop.interface.as_str(), drop.name.as_str()),
        ("wasi:io/poll@0.2.6", "[resource-drop]pollable")
    );
    // The exported run is the second instance's.
    assert_eq!(plan.run.func, export(1, "run"));
}

#[test]
fn instances_from_exports_dissolve() {
    let plan = translate_fixture("from_exports").plan;
    let order: Vec<(u32, u32)> = steps(&plan).iter().map(|(i, m, _)| (*i, *m)).collect();
    assert_eq!(order, [(0, 0), (1, 1)]);
    let now = host(&plan, binding(&plan, 1, "env", "now"));
    assert_eq!(
        (now.interface.as_str(), now.name.as_str()),
        ("wasi:clocks/monotonic-clock@0.2.6", "now")
    );
    assert_eq!(now.results, [ValType::I64]);
    assert_eq!(
        binding(&plan, 1, "env", "memory"),
        &Item::Export {
            instance: 0,
            name: "mem".into()
        }
    );
    assert_eq!(
        binding(&plan, 1, "env", "helper"),
        &Item::Export {
            instance: 0,
            name: "helper".into()
        }
    );
    assert_eq!(plan.run.func, export(1, "run"));
    assert_eq!(plan.run.post_return, Some(export(1, "cabi_post_run")));
}

#[test]
fn resource_drop_goes_to_the_defining_interface() {
    let plan = translate_fixture("resource_drop").plan;
    let via_streams = binding(
        &plan,
        0,
        "wasi:io/streams@0.2.0",
        "[resource-drop]input-stream",
    );
    let via_stdin = binding(
        &plan,
        0,
        "wasi:cli/stdin@0.2.0",
        "[resource-drop]input-stream",
    );
    assert_eq!(via_streams, via_stdin);
    let drop = host(&plan, via_stdin);
    assert_eq!(
        (drop.interface.as_str(), drop.name.as_str()),
        ("wasi:io/streams@0.2.6", "[resource-drop]input-stream")
    );
    assert_eq!(plan.host_funcs.len(), 2);
    let stdin = plan
        .imports
        .iter()
        .find(|i| i.name == "wasi:cli/stdin@0.2.6")
        .unwrap();
    assert_eq!(stdin.funcs, ["get-stdin"]);
    assert!(stdin.resources.is_empty());
}
