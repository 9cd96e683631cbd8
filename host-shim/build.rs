//! Lets the shim's function table grow at run time: `guest_memory::Bridge` adds the copy
//! functions of each guest memory's bridge module to it, so the shim reaches guest memory by
//! `call_indirect`, wasm to wasm, instead of through JavaScript.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--growable-table");
    }
}
