//! What the guest sees of its world: the flags `run` and `serve` share.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;

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
#[derive(Debug, Default, Serialize)]
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
    /// Host paths of the files, same order: canonical (no symbolic link in them), each inside
    /// its `--dir`.
    pub file_sources: Vec<PathBuf>,
}

/// Most names (files and directories) all `--dir`s may give the guest: as many as its
/// in-memory filesystem holds (`pollscope_wasi`'s `MAX_FS_ENTRIES`). Links to directories are
/// followed (see [`collect`]), so without this a few links could multiply a tree.
pub const MAX_DIR_ENTRIES: usize = 1 << 18;

/// Most bytes of file contents all `--dir`s may give the guest: what its in-memory filesystem
/// holds (`pollscope_wasi`'s `MAX_FS_BYTES`, 1 GiB).
pub const MAX_DIR_BYTES: u64 = 1 << 30;

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
            ..GuestConfig::default()
        };
        let mut budget = Budget::default();
        for (host, guest) in &self.dirs {
            if !host.is_dir() {
                bail!("--dir {}: not a directory", host.display());
            }
            config.dirs.push(guest.clone());
            for skipped in collect(host, guest, &mut config, &mut budget)? {
                eprintln!("pollscope: --dir {}: {skipped}", host.display());
            }
        }
        Ok((component, config))
    }
}

/// What the `--dir`s have given the guest so far.
#[derive(Debug, Default)]
struct Budget {
    entries: usize,
    bytes: u64,
}

/// A directory on the way from a `--dir`'s root, its canonical path first: a link is followed
/// only to a directory not already on the way (else it would loop).
struct Ancestry {
    dir: PathBuf,
    parent: Option<Rc<Ancestry>>,
}

impl Ancestry {
    fn contains(&self, dir: &Path) -> bool {
        let mut at = Some(self);
        while let Some(ancestor) = at {
            if ancestor.dir == dir {
                return true;
            }
            at = ancestor.parent.as_deref();
        }
        false
    }
}

/// Adds what the host directory `host` holds under `guest`: regular files and directories,
/// and symbolic links that resolve to one of them **inside** `host` (a link out of it, a
/// dangling or looping link, a link back to a directory on its own way, FIFOs, sockets and
/// devices are left out, each said in the returned notes). Walks iteratively, so no depth of
/// tree can overflow the stack; fails past [`MAX_DIR_ENTRIES`] or [`MAX_DIR_BYTES`].
fn collect(
    host: &Path,
    guest: &str,
    config: &mut GuestConfig,
    budget: &mut Budget,
) -> Result<Vec<String>> {
    let root =
        std::fs::canonicalize(host).with_context(|| format!("reading {}", host.display()))?;
    let mut skipped = Vec::new();
    let guest_root = guest.trim_end_matches('/');
    let mut pending = VecDeque::from([(
        Rc::new(Ancestry {
            dir: root.clone(),
            parent: None,
        }),
        guest_root.to_string(),
    )]);
    while let Some((ancestry, guest_dir)) = pending.pop_front() {
        let dir = &ancestry.dir;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let guest_path = format!("{guest_dir}/{name}");
            let path = entry.path();
            // Named as the user would reach it: through the links followed on the way.
            let shown = &guest_path[guest_root.len() + 1..];
            let file_type = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            // `path` has no link in it but its last component; resolve that one, if a link.
            let (real, meta) = if file_type.is_symlink() {
                match std::fs::canonicalize(&path) {
                    Ok(real) if real.starts_with(&root) => match std::fs::metadata(&real) {
                        Ok(meta) => (real, meta),
                        Err(err) => {
                            skipped.push(format!("{shown}: left out, its target: {err}"));
                            continue;
                        }
                    },
                    Ok(real) => {
                        skipped.push(format!(
                            "{shown}: left out, a symbolic link out of the directory (to {})",
                            real.display()
                        ));
                        continue;
                    }
                    Err(err) => {
                        skipped.push(format!(
                            "{shown}: left out, a symbolic link that does not resolve ({err})"
                        ));
                        continue;
                    }
                }
            } else {
                let meta = entry
                    .metadata()
                    .with_context(|| format!("reading {}", path.display()))?;
                (path.clone(), meta)
            };
            if meta.is_dir() {
                if ancestry.contains(&real) {
                    skipped.push(format!(
                        "{shown}: left out, a symbolic link to a directory it is in (a loop)"
                    ));
                    continue;
                }
                take(budget, 0)?;
                config.dirs.push(guest_path.clone());
                pending.push_back((
                    Rc::new(Ancestry {
                        dir: real,
                        parent: Some(Rc::clone(&ancestry)),
                    }),
                    guest_path,
                ));
            } else if meta.is_file() {
                take(budget, meta.len())?;
                config.files.push(guest_path);
                config.file_sources.push(real);
            } else {
                skipped.push(format!(
                    "{shown}: left out, not a regular file or a directory"
                ));
            }
        }
    }
    Ok(skipped)
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

    fn load(root: &Path) -> (GuestConfig, Vec<String>) {
        let mut config = GuestConfig::default();
        let skipped = collect(root, "/data", &mut config, &mut Budget::default()).unwrap();
        (config, skipped)
    }

    /// Loops (to the root, to a parent, through two links, to itself) and links out of the
    /// directory (a folder, a file) are left out and said; nothing outside is ever listed.
    #[test]
    fn loops_and_links_out_are_left_out() {
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

        let (config, skipped) = load(&dir.0);
        for source in &config.file_sources {
            assert!(
                source.starts_with(std::fs::canonicalize(&dir.0).unwrap()),
                "{} is outside",
                source.display()
            );
        }
        // a/to_b is followed (b is inside and not on its way), and b/to_a inside it is the
        // loop; likewise the other way round.
        assert_eq!(
            config.dirs,
            ["/data/a", "/data/b", "/data/a/to_b", "/data/b/to_a"]
        );
        assert_eq!(
            config.files,
            [
                "/data/a/file.txt",
                "/data/b/file.txt",
                "/data/a/to_b/file.txt",
                "/data/b/to_a/file.txt"
            ]
        );
        let said = skipped.join("\n");
        for what in [
            "root: left out, a symbolic link to a directory it is in (a loop)",
            "a/up: left out, a symbolic link to a directory it is in (a loop)",
            "a/to_b/to_a: left out, a symbolic link to a directory it is in (a loop)",
            "b/to_a/to_b: left out, a symbolic link to a directory it is in (a loop)",
            "self: left out, a symbolic link that does not resolve",
            "dangling: left out, a symbolic link that does not resolve",
            "escape: left out, a symbolic link out of the directory",
            "secret.txt: left out, a symbolic link out of the directory",
            "a/escape_up: left out, a symbolic link out of the directory",
        ] {
            assert!(said.contains(what), "{what:?} not in:\n{said}");
        }
    }

    /// Links that stay inside are followed: a file under another name, a folder.
    #[test]
    fn links_inside_are_followed() {
        let dir = Scratch::new("inside");
        dir.write("data/v2/table.csv", "1,2");
        dir.link("data/current", "v2");
        dir.link("latest.csv", "data/v2/table.csv");
        let (config, skipped) = load(&dir.0);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(
            config.dirs,
            ["/data/data", "/data/data/current", "/data/data/v2"]
        );
        assert_eq!(
            config.files,
            [
                "/data/latest.csv",
                "/data/data/current/table.csv",
                "/data/data/v2/table.csv"
            ]
        );
        let real = std::fs::canonicalize(dir.0.join("data/v2/table.csv")).unwrap();
        assert!(config.file_sources.iter().all(|source| *source == real));
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

    /// Links that multiply a tree (each level links twice to the next) stop at the entry
    /// limit with an error naming it, instead of growing without end.
    #[test]
    fn multiplying_links_stop_at_the_entry_limit() {
        let dir = Scratch::new("diamond");
        for level in 0..24 {
            dir.write(&format!("l{level}/f"), "x");
            dir.link(&format!("l{level}/x"), format!("../l{}", level + 1));
            dir.link(&format!("l{level}/y"), format!("../l{}", level + 1));
        }
        let mut config = GuestConfig::default();
        let err = collect(&dir.0, "/data", &mut config, &mut Budget::default()).unwrap_err();
        assert!(err.to_string().contains("MAX_DIR_ENTRIES"), "{err}");
    }
}
