//! `cli_argv`: the whole command line and environment the host gave, for the `wasmtime run`
//! flags that shape them (`--argv0`, `--env NAME[=VALUE]`, `-S inherit-env`, arguments after
//! the component) (issue #12).
//!
//! Prints every argument with its index (the program name is 0), then every environment
//! variable whose name starts with `ARGV_` or is `PWD`, sorted, values quoted.

fn main() {
    for (i, arg) in std::env::args().enumerate() {
        println!("arg {i}: {arg:?}");
    }
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("ARGV_") || name == "PWD")
        .collect();
    vars.sort();
    for (name, value) in &vars {
        println!("env {name}={value:?}");
    }
}
