//! `cli_hello`: arguments, environment, both output streams and the exit status.
//!
//! Prints the number of arguments after the program name, then each one quoted, then every
//! environment variable whose name starts with `HELLO_` (sorted, value quoted), writes one line
//! to stderr, and exits with the status given as its first argument (0 without one).
//!
//! WASI 0.2 `wasi:cli/exit.exit` carries only ok or error, so std maps any non-zero status to
//! `exit(err)`, which hosts report as exit code 1.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args {}", args.len());
    for (i, arg) in args.iter().enumerate() {
        println!("arg {}: {arg:?}", i + 1);
    }
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("HELLO_"))
        .collect();
    vars.sort();
    for (name, value) in &vars {
        println!("env {name}={value:?}");
    }
    eprintln!("hello stderr");
    let status = match args.first() {
        Some(code) => code.parse().expect("the first argument is an exit status"),
        None => 0,
    };
    std::process::exit(status);
}
