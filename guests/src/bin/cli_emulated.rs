//! `cli_emulated`: what a `go test` binary does when TinyGo runs it through its target's
//! emulator command (issue #12), as a Rust program: prints its arguments after the program
//! name (TinyGo appends `-test.v` and friends), reads `testdata/input.txt` relative to the
//! package directory it was started in, makes and removes a file under `/tmp` (Go's
//! `t.TempDir()`), and writes `testdata/output.txt` (a golden file update), which must be on
//! the host afterwards.

use std::fs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args: {args:?}");
    println!("PWD: {:?}", std::env::var("PWD").ok());
    let input = fs::read_to_string("testdata/input.txt").unwrap();
    println!("testdata/input.txt: {input:?}");
    fs::create_dir("/tmp/TestSomething001").unwrap();
    fs::write("/tmp/TestSomething001/scratch", "temporary").unwrap();
    println!(
        "/tmp scratch: {:?}",
        fs::read_to_string("/tmp/TestSomething001/scratch").unwrap()
    );
    fs::remove_dir_all("/tmp/TestSomething001").unwrap();
    fs::write("testdata/output.txt", input.to_uppercase()).unwrap();
    println!("PASS");
}
