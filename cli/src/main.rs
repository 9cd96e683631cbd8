//! `pollscope`: run, serve and inspect WASI 0.2 command components in a real browser.

mod assets;
mod browser;
mod guest;
mod run;
mod serve;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run WASI 0.2 components (TinyGo, Rust wasip2) in a real browser, with real blocking.
#[derive(Debug, Parser)]
#[command(name = "pollscope", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a component in headless Chromium, like `wasmtime run`.
    Run(run::RunArgs),
    /// Serve a component on localhost with the headers SharedArrayBuffer needs.
    Serve(serve::ServeArgs),
    /// Print what the shim will see: imports (supported or not), exports, modules, DWARF.
    Inspect {
        /// The component.
        component: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Inspect { component } => inspect(&component),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(run::LOAD_FAILURE_EXIT)
    })
}

fn inspect(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let _bytes = std::fs::read(path)?;
    anyhow::bail!("inspect is not wired yet")
}

/// Checks, before any browser starts, that `bytes` is a component the shim can run.
fn preflight(_bytes: &[u8]) -> Result<(), String> {
    Ok(())
}
