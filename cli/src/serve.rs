//! `pollscope serve`: a page on localhost that runs the component, with a console.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::guest::GuestArgs;
use crate::server::{self, Mode, Site};

/// `pollscope serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub(crate) guest: GuestArgs,
    /// Port on 127.0.0.1 (0, the default: a free one the OS picks). The page's URL carries a
    /// token of this run either way, so a fixed port adds nothing but a target to aim at.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Serves until interrupted.
pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    crate::assets::require_shim()?;
    let (component, mut config, _) = args.guest.load()?;
    // A served page can restart its guest and runs until closed: its --dirs are copies, and
    // nothing is written back.
    for preopen in &mut config.preopens {
        if let crate::guest::PreopenJson::Dir { write_back_url, .. } = preopen {
            *write_back_url = None;
        }
    }
    if let Err(problem) = crate::preflight(&component) {
        eprintln!("error: {}: {problem}", args.guest.component().display());
        return Ok(ExitCode::from(crate::run::LOAD_FAILURE_EXIT));
    }
    let url = server::start(
        std::sync::Arc::new(Site {
            mode: Mode::Serve,
            component,
            config,
            stdin: None,
            outcome: None,
            write_back: Default::default(),
            fetched: Default::default(),
            stop: Default::default(),
        }),
        args.port,
    )?;
    println!("Serving {} at {url}", args.guest.component().display());
    println!(
        "(cross-origin isolated: COOP same-origin, COEP require-corp; only this URL, with its \
         token, is served). Ctrl-C to stop."
    );
    loop {
        std::thread::park();
    }
}
