//! `trap_bad_pointer`: a host call whose result pointer lies past the end of a grown memory.
//!
//! Grows its memory by 64 MiB and writes a line from the grown part (so the host's stores land
//! in the new memory, not a stale view of the old one), then asks `wall-clock.now` to store its
//! 16-byte result 8 bytes before the end of memory: the host must trap, naming the range and
//! the memory's size, instead of writing anywhere.

#[link(wasm_import_module = "wasi:clocks/wall-clock@0.2.0")]
extern "C" {
    #[link_name = "now"]
    fn wall_clock_now(result: *mut u8);
}

fn main() {
    let grown = vec![b'x'; 64 << 20];
    let line = &grown[grown.len() - 6..];
    println!("grown {}", std::str::from_utf8(line).expect("ascii"));
    let end = core::arch::wasm32::memory_size(0) * 65536;
    println!("memory {end}");
    unsafe { wall_clock_now((end - 8) as *mut u8) };
    println!("not reached");
}
