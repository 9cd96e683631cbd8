//! What the guest sees of its world: the flags `run` and `serve` share.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

/// Flags that shape the guest's arguments, environment and filesystem.
#[derive(Debug, Args)]
pub struct GuestArgs {
    /// The WASI 0.2 command component to run.
    pub component: PathBuf,
    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Copy a host directory into the guest's in-memory filesystem at GUEST (repeatable).
    #[arg(long = "dir", value_name = "HOST::GUEST", value_parser = parse_dir)]
    pub dirs: Vec<(PathBuf, String)>,
    /// Arguments for the guest (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or("expected NAME=VALUE")?;
    Ok((name.to_string(), value.to_string()))
}

fn parse_dir(text: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = text.split_once("::").unwrap_or((text, text));
    if !guest.starts_with('/') {
        return Err(format!("guest path `{guest}` must be absolute"));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

/// The guest's world, as the page hands it to the loader (file contents travel separately).
#[derive(Debug, Serialize)]
pub struct GuestConfig {
    /// Program name first.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Directories to create.
    pub dirs: Vec<String>,
    /// Guest paths of the files; `/files/{index}` serves each one's bytes.
    pub files: Vec<String>,
    #[serde(skip)]
    /// Host paths of the files, same order.
    pub file_sources: Vec<PathBuf>,
}

impl GuestArgs {
    /// Reads the component and collects the guest's files. Fails with the path on I/O errors.
    pub fn load(&self) -> Result<(Vec<u8>, GuestConfig)> {
        let component = std::fs::read(&self.component)
            .with_context(|| format!("reading {}", self.component.display()))?;
        let program = self
            .component
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "app.wasm".into());
        let mut config = GuestConfig {
            args: std::iter::once(program)
                .chain(self.args.iter().cloned())
                .collect(),
            env: self.env.clone(),
            dirs: Vec::new(),
            files: Vec::new(),
            file_sources: Vec::new(),
        };
        for (host, guest) in &self.dirs {
            if !host.is_dir() {
                bail!("--dir {}: not a directory", host.display());
            }
            config.dirs.push(guest.clone());
            collect(host, guest, &mut config)?;
        }
        Ok((component, config))
    }
}

fn collect(host: &Path, guest: &str, config: &mut GuestConfig) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(host)
        .with_context(|| format!("reading {}", host.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let guest_path = format!("{}/{name}", guest.trim_end_matches('/'));
        let path = entry.path();
        if path.is_dir() {
            config.dirs.push(guest_path.clone());
            collect(&path, &guest_path, config)?;
        } else {
            config.files.push(guest_path);
            config.file_sources.push(path);
        }
    }
    Ok(())
}
