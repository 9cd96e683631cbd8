//! A real Rust `wasm32-wasip2` component, when `POLLSCOPE_GUEST_HELLO` points at one (built
//! from `guests/`: `cargo build --release --target wasm32-wasip2`).

use pollscope_component::{translate, Item, Step};

#[test]
fn real_rust_guest() {
    let Some(path) = std::env::var_os("POLLSCOPE_GUEST_HELLO") else {
        eprintln!("note: POLLSCOPE_GUEST_HELLO is not set; skipping the real-guest test");
        return;
    };
    let bytes = std::fs::read(&path).expect("read POLLSCOPE_GUEST_HELLO");
    let t = translate(&bytes).expect("translate the real guest");
    let plan = &t.plan;
    if std::env::var_os("POLLSCOPE_PRINT_PLAN").is_some() {
        println!("{}", serde_json::to_string_pretty(plan).unwrap());
    }
    assert!(plan.run.export.starts_with("wasi:cli/run@0.2."));
    // Every step's imports are bound, every host func index is in range, every export
    // binding refers to an earlier instance.
    for (i, step) in plan.steps.iter().enumerate() {
        let Step::Instantiate {
            instance,
            module,
            imports,
        } = step;
        assert_eq!(*instance as usize, i);
        assert_eq!(imports.len(), plan.modules[*module as usize].imports.len());
        for binding in imports {
            match &binding.item {
                Item::Export { instance, .. } => assert!((*instance as usize) < i),
                Item::Host { func } => assert!((*func as usize) < plan.host_funcs.len()),
            }
        }
    }
    assert!(plan
        .host_funcs
        .iter()
        .any(|f| f.interface.starts_with("wasi:io/poll@") && f.name == "[resource-drop]pollable"));
}
