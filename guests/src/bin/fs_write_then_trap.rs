//! `fs_write_then_trap`: writes `before-trap.txt` in its `--dir` (mounted at `.`), then traps
//! (a panic is `unreachable` in wasm). Under wasmtime what a guest wrote before a trap is on
//! disk; the test checks that `pollscope run` writes it back too (issue #12).

fn main() {
    std::fs::write("before-trap.txt", "written before the trap").unwrap();
    println!("written");
    panic!("the guest traps after writing");
}
