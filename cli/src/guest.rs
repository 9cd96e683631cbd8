//! What the guest sees of its world: the flags `run` and `serve` share, spelled as
//! `wasmtime run` spells them (issue #12), so a `wasmtime run` command line works unchanged:
//! `[OPTIONS] COMPONENT [ARGS]…`, `--dir HOST[::GUEST]`, `--env NAME[=VALUE]`, `--argv0`, and
//! wasmtime's option groups ([`WasmtimeOptions`]). `--dir-ro` is pollscope's own (wasmtime's
//! command line has no read-only directory).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use crate::wasmtime_options::{Settings, WasmtimeOptions};
use crate::writeback::Loaded;

/// Flags that shape the guest's arguments, environment and filesystem.
#[derive(Debug, Args)]
pub struct GuestArgs {
    #[command(flatten)]
    pub wasmtime: WasmtimeOptions,
    /// Give the guest a host directory, as wasmtime does: at GUEST_DIR (default: HOST_DIR as
    /// written; relative names like `.` are fine). What the guest changes there is written
    /// back to HOST_DIR when the guest ends under `run` (`serve` only copies) (repeatable).
    #[arg(long = "dir", value_name = "HOST_DIR[::GUEST_DIR]", value_parser = parse_dir)]
    pub dirs: Vec<(PathBuf, String)>,
    /// Like `--dir`, read-only: every change the guest tries fails with `not-permitted`, and
    /// nothing is written back (repeatable).
    #[arg(long = "dir-ro", value_name = "HOST_DIR[::GUEST_DIR]", value_parser = parse_dir)]
    pub read_only_dirs: Vec<(PathBuf, String)>,
    /// An empty in-memory directory at GUEST_DIR, gone when the guest ends (pollscope's own:
    /// e.g. `/tmp` for `tinygo test`) (repeatable).
    #[arg(long = "scratch-dir", value_name = "GUEST_DIR")]
    pub scratch_dirs: Vec<String>,
    /// The order the three flags above came in (see [`GuestArgs::keep_order`]).
    #[arg(skip)]
    order: Vec<PreopenFlag>,
    /// Set NAME to VALUE in the guest's environment, or with `--env NAME` to its value in
    /// pollscope's own environment (left unset when pollscope has none) (repeatable).
    #[arg(long = "env", value_name = "NAME[=VALUE]", value_parser = parse_env)]
    pub env: Vec<(String, Option<String>)>,
    /// The guest's program name, `argv[0]` (default: the component's file name).
    #[arg(long)]
    pub argv0: Option<String>,
    /// The component, then its arguments: everything after the component goes to the guest,
    /// as with `wasmtime run` (a `--` right after it is dropped, pollscope's older spelling).
    #[arg(value_name = "COMPONENT", trailing_var_arg = true, required = true)]
    pub component_and_args: Vec<OsString>,
}

fn parse_env(text: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (text, None),
    };
    if name.is_empty() {
        return Err("expected NAME or NAME=VALUE".into());
    }
    Ok((name.to_string(), value))
}

fn parse_dir(text: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = text.split_once("::").unwrap_or((text, text));
    if host.is_empty() || guest.is_empty() {
        return Err(format!(
            "`{text}`: expected HOST_DIR or HOST_DIR::GUEST_DIR"
        ));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

/// One preopen as the page hands it to the loader (`pollscope_protocol::worker::PreopenSpec`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PreopenJson {
    /// An in-memory scratch directory at this guest path.
    Scratch(String),
    /// A `--dir`.
    #[serde(rename_all = "camelCase")]
    Dir {
        name: String,
        path: String,
        writable: bool,
        /// Relative to the page (`preopens`, the server's write-back route); the page makes
        /// it absolute for the worker.
        write_back_url: Option<String>,
        /// Symbolic links below it: (relative path, target as the host has it).
        symlinks: Vec<(String, String)>,
    },
}

/// The guest's world, as the page hands it to the loader (file contents travel separately).
#[derive(Debug, Serialize)]
pub struct GuestConfig {
    /// Program name first.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// `initial-cwd`: `/` with the scratch root, none with `--dir`s (as wasmtime).
    pub cwd: Option<String>,
    /// The preopened directories, in `get-directories` order.
    pub preopens: Vec<PreopenJson>,
    /// Directories to create.
    pub dirs: Vec<String>,
    /// Guest paths of the files; `/files/{index}` serves each one's bytes.
    pub files: Vec<String>,
    #[serde(skip)]
    /// Where the files are on the host, same order: the canonical `--dir` and the path below
    /// it (read with `crate::below`, never through a link).
    pub file_sources: Vec<(PathBuf, String)>,
    /// The `--dir`s and what each loaded, for writing them back.
    #[serde(skip)]
    pub mounts: Vec<Mount>,
}

impl Default for GuestConfig {
    fn default() -> GuestConfig {
        GuestConfig {
            args: Vec::new(),
            env: Vec::new(),
            cwd: Some("/".into()),
            preopens: vec![PreopenJson::Scratch("/".into())],
            dirs: Vec::new(),
            files: Vec::new(),
            file_sources: Vec::new(),
            mounts: Vec::new(),
        }
    }
}

/// One `--dir` or `--dir-ro`.
#[derive(Debug, Clone)]
pub struct Mount {
    /// HOST_DIR as the user wrote it (for messages).
    pub host: PathBuf,
    /// Its index in the guest's preopens (the export's tree index).
    pub preopen: u32,
    /// Whether it is written back.
    pub writable: bool,
    /// What was loaded from it.
    pub loaded: Loaded,
}

/// Most names (files, directories and links) all `--dir`s may give the guest: as many as its
/// in-memory filesystem holds (`pollscope_wasi`'s `MAX_FS_ENTRIES`).
pub const MAX_DIR_ENTRIES: usize = 1 << 18;

/// Most bytes of file contents all `--dir`s may give the guest: what its in-memory filesystem
/// holds (`pollscope_wasi`'s `MAX_FS_BYTES`, 1 GiB).
pub const MAX_DIR_BYTES: u64 = 1 << 30;

/// The flag a preopen comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreopenFlag {
    Dir,
    ReadOnly,
    Scratch,
}

impl GuestArgs {
    /// Records the order the preopen flags came in, which clap keeps apart per flag: the guest
    /// gets its preopens in command-line order, as wasmtime gives its `--dir`s.
    pub fn keep_order(&mut self, matches: &clap::ArgMatches) {
        let mut seen: Vec<(usize, PreopenFlag)> = Vec::new();
        for (id, flag) in [
            ("dirs", PreopenFlag::Dir),
            ("read_only_dirs", PreopenFlag::ReadOnly),
            ("scratch_dirs", PreopenFlag::Scratch),
        ] {
            if let Some(indices) = matches.indices_of(id) {
                seen.extend(indices.map(|index| (index, flag)));
            }
        }
        seen.sort();
        self.order = seen.into_iter().map(|(_, flag)| flag).collect();
    }

    /// The preopen flags in command-line order (`--dir`s, `--dir-ro`s, then `--scratch-dir`s
    /// when the order was not recorded).
    fn preopen_flags(&self) -> Vec<PreopenFlag> {
        if self.order.len() == self.dirs.len() + self.read_only_dirs.len() + self.scratch_dirs.len()
        {
            return self.order.clone();
        }
        std::iter::repeat_n(PreopenFlag::Dir, self.dirs.len())
            .chain(std::iter::repeat_n(
                PreopenFlag::ReadOnly,
                self.read_only_dirs.len(),
            ))
            .chain(std::iter::repeat_n(
                PreopenFlag::Scratch,
                self.scratch_dirs.len(),
            ))
            .collect()
    }

    /// The component's path.
    pub fn component(&self) -> &Path {
        Path::new(&self.component_and_args[0])
    }

    /// The guest's arguments after the program name.
    fn guest_args(&self) -> Result<Vec<String>> {
        let mut rest = &self.component_and_args[1..];
        if rest.first().is_some_and(|first| first == "--") {
            rest = &rest[1..];
        }
        rest.iter()
            .map(|arg| {
                arg.to_str()
                    .map(str::to_string)
                    .with_context(|| format!("argument {arg:?} is not UTF-8"))
            })
            .collect()
    }

    /// The program name: `--argv0`, else the component's file name (as wasmtime: no directory,
    /// which would leak the host's layout).
    fn program(&self) -> String {
        self.argv0.clone().unwrap_or_else(|| {
            self.component()
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| "app.wasm".into())
        })
    }

    /// The environment: `-S inherit-env`'s, then each `--env` (replacing a name given
    /// before; `--env NAME` takes pollscope's value, or leaves NAME out when there is none).
    fn environment(&self, settings: &Settings) -> Result<Vec<(String, String)>> {
        let mut env: Vec<(String, String)> = Vec::new();
        if settings.inherit_env {
            env.extend(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            );
        }
        for (name, value) in &self.env {
            let value = match value {
                Some(value) => value.clone(),
                None => match std::env::var_os(name) {
                    Some(value) => value
                        .into_string()
                        .map_err(|_| anyhow::anyhow!("--env {name}: its value is not UTF-8"))?,
                    None => continue,
                },
            };
            env.retain(|(existing, _)| existing != name);
            env.push((name.clone(), value));
        }
        Ok(env)
    }

    /// Reads the component and collects the guest's files. Fails with the path on I/O errors,
    /// and on options that cannot be honoured. Returns what the options change about the run
    /// too.
    pub fn load(&self) -> Result<(Vec<u8>, GuestConfig, Settings)> {
        let settings = self.wasmtime.settings()?;
        let component = std::fs::read(self.component())
            .with_context(|| format!("reading {}", self.component().display()))?;
        let mut config = GuestConfig {
            args: std::iter::once(self.program())
                .chain(self.guest_args()?)
                .collect(),
            env: self.environment(&settings)?,
            ..GuestConfig::default()
        };
        let (mut dirs, mut read_only, mut scratch) = (
            self.dirs.iter(),
            self.read_only_dirs.iter(),
            self.scratch_dirs.iter(),
        );
        let mut budget = Budget::default();
        for (index, flag) in self.preopen_flags().into_iter().enumerate() {
            if index == 0 {
                // As wasmtime: the guest has exactly the --dirs, and no initial directory.
                config.preopens.clear();
                config.cwd = None;
            }
            // Each is its own tree, as two host directories are; the guest knows it by its
            // name only.
            let location = format!("/{index}");
            let ((host, guest), writable) = match flag {
                PreopenFlag::Dir => (dirs.next().expect("one per --dir"), true),
                PreopenFlag::ReadOnly => (read_only.next().expect("one per --dir-ro"), false),
                PreopenFlag::Scratch => {
                    let guest = scratch.next().expect("one per --scratch-dir");
                    config.preopens.push(PreopenJson::Dir {
                        name: guest.clone(),
                        path: location,
                        writable: true,
                        write_back_url: None,
                        symlinks: Vec::new(),
                    });
                    continue;
                }
            };
            if !host.is_dir() {
                bail!("--dir {}: not a directory", host.display());
            }
            let (dirs_before, files_before) = (config.dirs.len(), config.files.len());
            let collected = collect(host, &location, &mut config, &mut budget)?;
            for skipped in &collected.skipped {
                eprintln!("pollscope: --dir {}: {skipped}", host.display());
            }
            config.preopens.push(PreopenJson::Dir {
                name: guest.clone(),
                path: location.clone(),
                writable,
                write_back_url: writable.then(|| "preopens".to_string()),
                symlinks: collected.links.clone(),
            });
            let relative = |path: &String| path[location.len() + 1..].to_string();
            let loaded = Loaded {
                symlinks: collected.links,
                dirs: config.dirs[dirs_before..].iter().map(relative).collect(),
                files: config.files[files_before..]
                    .iter()
                    .enumerate()
                    .map(|(i, path)| (relative(path), (files_before + i) as u32))
                    .collect(),
            };
            config.mounts.push(Mount {
                host: host.clone(),
                preopen: index as u32,
                writable,
                loaded,
            });
        }
        Ok((component, config, settings))
    }
}

/// What the `--dir`s have given the guest so far.
#[derive(Debug, Default)]
struct Budget {
    entries: usize,
    bytes: u64,
}

/// What one `--dir` holds, as the guest gets it.
#[derive(Debug, Default)]
struct Collected {
    /// Symbolic links: (path relative to the `--dir`, target as the host has it).
    links: Vec<(String, String)>,
    /// What was left out, each said on stderr.
    skipped: Vec<String>,
}

/// Adds what the host directory `host` holds under `guest`: regular files and directories,
/// and symbolic links as links, their targets as text, never followed (as wasmtime shows
/// them: the guest's filesystem refuses to follow one out of the directory or to an absolute
/// path, with `not-permitted`, so a link loop or a link out gives the guest nothing from
/// outside). FIFOs, sockets, devices and links whose target is not UTF-8 are left out, each
/// said. Walks iteratively, so no depth of tree can overflow the stack; fails past
/// [`MAX_DIR_ENTRIES`] or [`MAX_DIR_BYTES`].
fn collect(
    host: &Path,
    guest: &str,
    config: &mut GuestConfig,
    budget: &mut Budget,
) -> Result<Collected> {
    let root =
        std::fs::canonicalize(host).with_context(|| format!("reading {}", host.display()))?;
    let mut collected = Collected::default();
    let guest_root = guest.trim_end_matches('/');
    let mut pending = VecDeque::from([(root.clone(), guest_root.to_string())]);
    while let Some((dir, guest_dir)) = pending.pop_front() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let guest_path = format!("{guest_dir}/{name}");
            let path = entry.path();
            let shown = guest_path[guest_root.len() + 1..].to_string();
            // Not followed: `path` has no link in it but maybe its last name.
            let file_type = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if file_type.is_symlink() {
                let target = std::fs::read_link(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                match target.into_os_string().into_string() {
                    Ok(target) => {
                        take(budget, target.len() as u64)?;
                        collected.links.push((shown, target));
                    }
                    Err(_) => collected.skipped.push(format!(
                        "{shown}: left out, a symbolic link whose target is not UTF-8"
                    )),
                }
            } else if file_type.is_dir() {
                take(budget, 0)?;
                config.dirs.push(guest_path.clone());
                pending.push_back((path, guest_path));
            } else if file_type.is_file() {
                let meta = entry
                    .metadata()
                    .with_context(|| format!("reading {}", path.display()))?;
                take(budget, meta.len())?;
                config.files.push(guest_path);
                config.file_sources.push((root.clone(), shown));
            } else {
                collected.skipped.push(format!(
                    "{shown}: left out, not a regular file, a directory or a link"
                ));
            }
        }
    }
    Ok(collected)
}

/// Counts one more name of `bytes` against the `--dir` limits.
fn take(budget: &mut Budget, bytes: u64) -> Result<()> {
    budget.entries += 1;
    budget.bytes = budget.bytes.saturating_add(bytes);
    if budget.entries > MAX_DIR_ENTRIES {
        bail!(
            "--dir: more than {MAX_DIR_ENTRIES} files and directories (MAX_DIR_ENTRIES: the \
             guest's in-memory filesystem holds no more)"
        );
    }
    if budget.bytes > MAX_DIR_BYTES {
        bail!(
            "--dir: more than {} MiB of files (MAX_DIR_BYTES: the guest's in-memory filesystem \
             holds no more)",
            MAX_DIR_BYTES >> 20
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A scratch folder under the temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(label: &str) -> Scratch {
            let path = std::env::temp_dir()
                .join(format!("pollscope-guest-{}-{label}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Scratch(path)
        }

        fn write(&self, relative: &str, contents: &str) {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }

        fn link(&self, relative: &str, target: impl AsRef<Path>) {
            symlink(target, self.0.join(relative)).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `run`'s flags as clap parses them from a command line.
    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        guest: GuestArgs,
    }

    fn parse(args: &[&str]) -> GuestArgs {
        use clap::Parser;
        Command::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .unwrap_or_else(|err| panic!("{args:?}: {err}"))
            .guest
    }

    /// wasmtime's command line: --dirs under any name, each its own tree, no initial
    /// directory; --env NAME inherited or left out; --argv0; arguments after the component
    /// without `--` (only a `--` right after it is dropped, later ones are the guest's).
    #[test]
    fn a_wasmtime_command_line_gives_the_guest_its_world() {
        let dir = Scratch::new("cmdline");
        dir.write("out/keep.txt", "k");
        dir.write("in/data.txt", "d");
        let wasm = dir.0.join("app.wasm");
        std::fs::write(&wasm, b"bytes").unwrap();
        let out = format!("{}::.", dir.0.join("out").display());
        let input = format!("--dir-ro={}::/in", dir.0.join("in").display());
        let path = std::env::var("PATH").unwrap();
        let args = parse(&[
            "--dir",
            &out,
            &input,
            "--scratch-dir",
            "/tmp",
            "--env",
            "A=1",
            "--env",
            "PATH",
            "--env",
            "POLLSCOPE_SURELY_UNSET",
            "--argv0",
            "prog",
            "-S",
            "cli",
            wasm.to_str().unwrap(),
            "--",
            "x",
            "--",
            "-y",
        ]);
        let (bytes, config, _) = args.load().unwrap();
        assert_eq!(bytes, b"bytes");
        assert_eq!(config.args, ["prog", "x", "--", "-y"]);
        assert_eq!(
            config.env,
            [
                ("A".to_string(), "1".to_string()),
                ("PATH".to_string(), path)
            ]
        );
        assert_eq!(config.cwd, None);
        let dir = |name: &str, path: &str, writable, url: Option<&str>| PreopenJson::Dir {
            name: name.into(),
            path: path.into(),
            writable,
            write_back_url: url.map(String::from),
            symlinks: Vec::new(),
        };
        assert_eq!(
            config.preopens,
            [
                dir(".", "/0", true, Some("preopens")),
                dir("/in", "/1", false, None),
                dir("/tmp", "/2", true, None),
            ]
        );
        assert_eq!(config.files, ["/0/keep.txt", "/1/data.txt"]);
        let mounts: Vec<_> = config
            .mounts
            .iter()
            .map(|m| (m.preopen, m.writable, m.loaded.files.clone()))
            .collect();
        assert_eq!(
            mounts,
            [
                (0, true, vec![("keep.txt".to_string(), 0)]),
                (1, false, vec![("data.txt".to_string(), 1)])
            ]
        );
    }

    /// The preopens come in command-line order whichever flag gave each, as wasmtime gives
    /// its `--dir`s in order.
    #[test]
    fn preopens_keep_the_command_lines_order() {
        use clap::{CommandFactory, FromArgMatches};
        let dir = Scratch::new("order");
        std::fs::create_dir_all(dir.0.join("a")).unwrap();
        let wasm = dir.0.join("app.wasm");
        std::fs::write(&wasm, b"x").unwrap();
        let a = dir.0.join("a").display().to_string();
        let line = [
            "run",
            "--scratch-dir",
            "/tmp",
            "--dir-ro",
            &format!("{a}::/in"),
            "--dir",
            &format!("{a}::."),
            "--scratch-dir=/var",
            wasm.to_str().unwrap(),
        ];
        let matches = Command::command().try_get_matches_from(line).unwrap();
        let mut args = Command::from_arg_matches(&matches).unwrap().guest;
        args.keep_order(&matches);
        let (_, config, _) = args.load().unwrap();
        let names: Vec<(&str, &str, bool)> = config
            .preopens
            .iter()
            .map(|preopen| match preopen {
                PreopenJson::Dir {
                    name,
                    path,
                    writable,
                    ..
                } => (name.as_str(), path.as_str(), *writable),
                PreopenJson::Scratch(_) => panic!("no scratch root with --dirs"),
            })
            .collect();
        assert_eq!(
            names,
            [
                ("/tmp", "/0", true),
                ("/in", "/1", false),
                (".", "/2", true),
                ("/var", "/3", true)
            ]
        );
        let mounts: Vec<(u32, bool)> = config
            .mounts
            .iter()
            .map(|m| (m.preopen, m.writable))
            .collect();
        assert_eq!(mounts, [(1, false), (2, true)]);
    }

    /// Without --dirs the guest keeps pollscope's in-memory scratch root and `/` as its
    /// directory; `--dir HOST` alone names the preopen HOST as written.
    #[test]
    fn the_scratch_root_without_dirs_and_host_names_without_guest_ones() {
        let dir = Scratch::new("names");
        let wasm = dir.0.join("app.wasm");
        std::fs::write(&wasm, b"x").unwrap();
        let (_, config, _) = parse(&[wasm.to_str().unwrap()]).load().unwrap();
        assert_eq!(config.preopens, [PreopenJson::Scratch("/".into())]);
        assert_eq!(config.cwd.as_deref(), Some("/"));
        assert_eq!(config.args, ["app.wasm"]);
        let host = dir.0.to_str().unwrap();
        let (_, config, _) = parse(&["--dir", host, wasm.to_str().unwrap()])
            .load()
            .unwrap();
        assert!(matches!(&config.preopens[..], [PreopenJson::Dir { name, .. }] if name == host));
        assert!(parse_dir("::/x").is_err());
        assert!(parse_dir("host::").is_err());
        assert!(parse_env("=v").is_err());
    }

    fn load(root: &Path) -> (GuestConfig, Collected) {
        let mut config = GuestConfig::default();
        let collected = collect(root, "/data", &mut config, &mut Budget::default()).unwrap();
        (config, collected)
    }

    fn pairs(links: &[(String, String)]) -> Vec<(&str, &str)> {
        links
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }

    /// Links are given as links, never followed, as wasmtime shows them: loops (to the root,
    /// a parent, through two links, itself) and links out of the directory (a folder, a
    /// file, `../..`) are only text, and nothing outside is ever read or listed.
    #[test]
    fn links_are_given_as_links_and_never_followed() {
        let outside = Scratch::new("outside");
        outside.write("secret.txt", "outside");
        let dir = Scratch::new("loops");
        dir.write("a/file.txt", "a");
        dir.write("b/file.txt", "b");
        dir.link("root", ".");
        dir.link("a/up", "..");
        dir.link("a/to_b", "../b");
        dir.link("b/to_a", "../a");
        dir.link("self", "self");
        dir.link("dangling", "missing");
        dir.link("escape", &outside.0);
        dir.link("secret.txt", outside.0.join("secret.txt"));
        dir.link("a/escape_up", "../../");

        let (config, collected) = load(&dir.0);
        let root = std::fs::canonicalize(&dir.0).unwrap();
        let sources: Vec<(&Path, &str)> = config
            .file_sources
            .iter()
            .map(|(at, path)| (at.as_path(), path.as_str()))
            .collect();
        assert_eq!(
            sources,
            [
                (root.as_path(), "a/file.txt"),
                (root.as_path(), "b/file.txt")
            ]
        );
        assert_eq!(config.dirs, ["/data/a", "/data/b"]);
        assert_eq!(config.files, ["/data/a/file.txt", "/data/b/file.txt"]);
        let escape = outside.0.display().to_string();
        let secret = outside.0.join("secret.txt").display().to_string();
        assert_eq!(
            pairs(&collected.links),
            [
                ("dangling", "missing"),
                ("escape", escape.as_str()),
                ("root", "."),
                ("secret.txt", secret.as_str()),
                ("self", "self"),
                ("a/escape_up", "../../"),
                ("a/to_b", "../b"),
                ("a/up", ".."),
                ("b/to_a", "../a"),
            ]
        );
        assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    }

    /// Links that stay inside are links too (the guest follows them itself); what is neither
    /// a file, a directory nor a link (a FIFO) is left out and said.
    #[test]
    fn links_inside_stay_links_and_fifos_are_left_out() {
        let dir = Scratch::new("inside");
        dir.write("data/v2/table.csv", "1,2");
        dir.link("data/current", "v2");
        dir.link("latest.csv", "data/v2/table.csv");
        let fifo =
            std::ffi::CString::new(dir.0.join("pipe").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let (config, collected) = load(&dir.0);
        assert_eq!(config.dirs, ["/data/data", "/data/data/v2"]);
        assert_eq!(config.files, ["/data/data/v2/table.csv"]);
        assert_eq!(
            pairs(&collected.links),
            [("latest.csv", "data/v2/table.csv"), ("data/current", "v2")]
        );
        assert_eq!(
            collected.skipped,
            ["pipe: left out, not a regular file, a directory or a link"]
        );
    }

    /// A tree deeper than any stack would take recursively.
    #[test]
    fn a_deep_tree_loads_without_recursion() {
        let dir = Scratch::new("deep");
        let mut path = dir.0.clone();
        for _ in 0..200 {
            path.push("d");
        }
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("leaf"), "x").unwrap();
        let (config, _) = load(&dir.0);
        assert_eq!(config.dirs.len(), 200);
        assert_eq!(config.files.len(), 1);
    }

    /// Links that would multiply a tree if followed (each level links twice to the next) are
    /// two links per level, nothing more.
    #[test]
    fn links_never_multiply_a_tree() {
        let dir = Scratch::new("diamond");
        for level in 0..24 {
            dir.write(&format!("l{level}/f"), "x");
            dir.link(&format!("l{level}/x"), format!("../l{}", level + 1));
            dir.link(&format!("l{level}/y"), format!("../l{}", level + 1));
        }
        let (config, collected) = load(&dir.0);
        assert_eq!((config.dirs.len(), config.files.len()), (24, 24));
        assert_eq!(collected.links.len(), 48);
    }
}
