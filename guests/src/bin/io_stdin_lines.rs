//! `io_stdin_lines`: echoes stdin line by line.
//!
//! Prints `line <n>: <text quoted>` as each line arrives, then `eof after <n> lines`. Reading
//! stops at each newline, so this exercises blocking reads of small pieces.

use std::io::BufRead;

fn main() {
    let mut count = 0;
    for line in std::io::stdin().lock().lines() {
        count += 1;
        println!("line {count}: {:?}", line.unwrap());
    }
    println!("eof after {count} lines");
}
