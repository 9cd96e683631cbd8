//! `pollscope`: run, serve and inspect WASI 0.2 command components in a real browser.

mod assets;
mod below;
mod guest;
mod inspect;
mod run;
mod serve;
mod server;
mod tinygo_target;
mod wasmtime_options;
mod writeback;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Print a TinyGo target (JSON) whose emulator is `pollscope run`: save it and pass it as
    /// `tinygo test -target=FILE` or `tinygo run -target=FILE` to run Go in Chromium.
    TinygoTarget,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    // The guest's preopens come in command-line order, which only the matches know.
    match (&mut cli.command, matches.subcommand()) {
        (Command::Run(args), Some((_, sub))) => args.guest.keep_order(sub),
        (Command::Serve(args), Some((_, sub))) => args.guest.keep_order(sub),
        _ => {}
    }
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Inspect { component } => inspect(&component),
        Command::TinygoTarget => {
            print!("{}", tinygo_target::TARGET_JSON);
            Ok(ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(run::LOAD_FAILURE_EXIT)
    })
}

fn inspect(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match inspect::inspect(&bytes) {
        Ok(report) => {
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {}: {err}", path.display());
            Ok(ExitCode::from(run::LOAD_FAILURE_EXIT))
        }
    }
}

/// Checks, before any browser starts, what the shim would check first: the bytes are a
/// component it can translate, and the host provides every import (all missing ones listed).
fn preflight(bytes: &[u8]) -> Result<(), String> {
    let translation = pollscope_component::translate(bytes).map_err(|err| err.to_string())?;
    pollscope_link::link(&translation.plan).map_err(|err| err.to_string())?;
    Ok(())
}
