//! `fs_write_then_sleep`: writes `before-stop.txt` in its `--dir` (mounted at `.`), says
//! `written`, then sleeps an hour. Under wasmtime a signal or `-W timeout` ends it with the
//! file on disk; the tests check that `pollscope run` writes it back before it dies too.

fn main() {
    std::fs::write("before-stop.txt", "written before the stop").unwrap();
    println!("written");
    std::thread::sleep(std::time::Duration::from_secs(3600));
    println!("slept an hour");
}
