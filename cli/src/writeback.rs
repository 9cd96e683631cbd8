//! Writing a guest's writable `--dir`s back to the host directories they came from (issue
//! #12): what the guest created, wrote, renamed or deleted there is on disk when `run` exits,
//! as under wasmtime.
//!
//! The guest ran on an in-memory copy. When it ends, the shim sends each writable preopen's
//! tree ([`PreopenExport`]); this module makes the host directory match it, changing only what
//! the guest changed against what `--dir` loaded ([`Loaded`]): entries loaded and gone are
//! removed, new or changed files are written, moved files are copied from their loaded
//! originals (held open before anything is removed), directories, symbolic links and hard
//! links are made. Host entries the guest never saw (left out at load, or made on the host
//! during the run) are never removed or overwritten.
//!
//! Nothing outside the directory is ever touched: every path is a plain relative one (no `..`,
//! no absolute name, checked by the decoder), and every step below the directory is an
//! `openat`-style call on the parent's descriptor with `O_NOFOLLOW`, so a symbolic link on
//! the way (even one put there during the run) stops the change instead of leading out. A
//! link the guest made is created only when its target stays inside the directory. What
//! could not be done is returned by path and reason, never silently dropped.
//!
//! The walks are `crate::below`'s.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use pollscope_wasi::{ExportedKind, ExportedTree};

use crate::below::{self, c_name, check, open_dir_at, parent_of};

/// What `--dir` loaded from one host directory: relative paths (`/`-separated) of the
/// directories, of the files with their index in the guest's file list (the export's
/// origins), and of the symbolic links with their targets.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    /// Directories, relative to the `--dir`.
    pub dirs: Vec<String>,
    /// Files, relative to the `--dir`, with their origin index.
    pub files: Vec<(String, u32)>,
    /// Symbolic links, relative to the `--dir`, with their targets.
    pub symlinks: Vec<(String, String)>,
}

/// One `--dir` to write back: its host directory, what was loaded from it, and the tree the
/// guest left.
pub struct Target<'a> {
    /// The host directory (as the user named it; a link there is the user's choice).
    pub root: &'a Path,
    /// What `--dir` loaded from it.
    pub loaded: &'a Loaded,
    /// The guest's tree.
    pub tree: &'a ExportedTree,
}

/// Writes back every target (makes each host directory hold its tree, given what was loaded
/// from it), returning each one's problems as `path: why` lines (same order). The originals
/// any tree copies from are opened first, each where it was loaded, walked from its `--dir`
/// like every other step, and before any directory changes: so a file the guest moved from
/// one `--dir` to another (a rename across preopens, as under wasmtime) still has its bytes
/// when the first directory no longer does.
pub fn apply_all(targets: &[Target]) -> Vec<Vec<String>> {
    let mut problems = vec![Vec::new(); targets.len()];
    // Every origin's place: its --dir and its path there.
    let places: HashMap<u32, (&Path, &str)> = targets
        .iter()
        .flat_map(|target| {
            target
                .loaded
                .files
                .iter()
                .map(|(path, origin)| (*origin, (target.root, path.as_str())))
        })
        .collect();
    let mut originals: HashMap<u32, File> = HashMap::new();
    for (target, problems) in targets.iter().zip(&mut problems) {
        open_originals(target, &places, &mut originals, problems);
    }
    for (target, problems) in targets.iter().zip(&mut problems) {
        apply_one(target, &mut originals, problems);
    }
    problems
}

/// The origin → loaded path of a target's own files.
fn loaded_files(loaded: &Loaded) -> HashMap<u32, &str> {
    loaded
        .files
        .iter()
        .map(|(path, origin)| (*origin, path.as_str()))
        .collect()
}

/// 1. Originals that land somewhere else than they were loaded: opened before anything is
///    removed, so a move (or a swap) copies from the bytes as they were.
fn open_originals(
    target: &Target,
    places: &HashMap<u32, (&Path, &str)>,
    originals: &mut HashMap<u32, File>,
    problems: &mut Vec<String>,
) {
    let loaded_files = loaded_files(target.loaded);
    for entry in &target.tree.entries {
        let ExportedKind::Unchanged(origin) = entry.kind else {
            continue;
        };
        if loaded_files.get(&origin) == Some(&entry.path.as_str())
            || originals.contains_key(&origin)
        {
            continue;
        }
        match places
            .get(&origin)
            .map(|(root, path)| below::open_file(root, path))
        {
            Some(Ok(file)) => {
                originals.insert(origin, file);
            }
            Some(Err(err)) => problems.push(format!(
                "{}: its original is unreadable ({err})",
                entry.path
            )),
            None => problems.push(format!("{}: unknown origin {origin}", entry.path)),
        }
    }
}

/// 2 and 3: removes what is gone, then makes what the guest has.
fn apply_one(target: &Target, originals: &mut HashMap<u32, File>, problems: &mut Vec<String>) {
    let Target { root, loaded, tree } = *target;
    let root_fd = match below::open_root(root) {
        Ok(fd) => fd,
        Err(err) => return problems.push(format!(".: cannot open the directory ({err})")),
    };
    let goal: HashMap<&str, &ExportedKind> = tree
        .entries
        .iter()
        .map(|entry| (entry.path.as_str(), &entry.kind))
        .collect();
    let loaded_files = loaded_files(loaded);

    // 2. What was loaded and is not there any more (or not as the same thing): removed,
    //    deepest first. A file whose own bytes another entry copies is replaced, not
    //    truncated in place (the copy reads the old bytes through the open original).
    let mut kept_in_place: HashSet<&str> = HashSet::new();
    let mut removals: Vec<(&str, bool)> = Vec::new();
    for dir in &loaded.dirs {
        if !matches!(goal.get(dir.as_str()), Some(ExportedKind::Dir)) {
            removals.push((dir, true));
        }
    }
    // A loaded link the guest left as it was stays (even one leading out: it is the host's).
    let mut kept_links: HashSet<&str> = HashSet::new();
    for (path, target) in &loaded.symlinks {
        match goal.get(path.as_str()) {
            Some(ExportedKind::Symlink(t)) if t == target => {
                kept_links.insert(path);
            }
            _ => removals.push((path, false)),
        }
    }
    for (path, origin) in &loaded.files {
        let keep = match goal.get(path.as_str()) {
            Some(ExportedKind::Unchanged(o)) if o == origin => true,
            Some(ExportedKind::Bytes(_)) => !originals.contains_key(origin),
            _ => false,
        };
        if keep {
            kept_in_place.insert(path);
        } else {
            removals.push((path, false));
        }
    }
    removals.sort_by_key(|(path, _)| std::cmp::Reverse(path.matches('/').count()));
    for (path, is_dir) in removals {
        if let Err(err) = remove(&root_fd, path, is_dir) {
            if err.raw_os_error() != Some(libc::ENOENT) {
                problems.push(format!("{path}: not removed ({})", describe(&err)));
            }
        }
    }

    // 3. What the guest has, parents first.
    for entry in &tree.entries {
        let path = entry.path.as_str();
        let result = match &entry.kind {
            ExportedKind::Dir => make_dir(&root_fd, path),
            ExportedKind::Unchanged(origin) if loaded_files.get(origin) == Some(&path) => Ok(()),
            ExportedKind::Unchanged(origin) => match originals.get_mut(origin) {
                Some(original) => copy_new(&root_fd, path, original),
                // Said in step 1.
                None => Ok(()),
            },
            ExportedKind::Bytes(bytes) => {
                write_file(&root_fd, path, bytes, kept_in_place.contains(path))
            }
            ExportedKind::Symlink(_) if kept_links.contains(path) => Ok(()),
            ExportedKind::Symlink(target) => make_symlink(&root_fd, path, target),
            ExportedKind::HardLink(first) => make_hard_link(&root_fd, first, path),
        };
        if let Err(err) = result {
            problems.push(format!("{path}: not written ({})", describe(&err)));
        }
    }
}

/// An error as a person reads it, naming the case the sandbox refuses.
fn describe(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ELOOP) => "a symbolic link is on the way; links are never followed".into(),
        Some(libc::EEXIST) => "something the guest did not see is there".into(),
        _ => err.to_string(),
    }
}

fn remove(root: &OwnedFd, path: &str, is_dir: bool) -> std::io::Result<()> {
    let (parent, name) = parent_of(root, path)?;
    let name = c_name(name.as_bytes())?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid descriptor and C string.
    check(unsafe { libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

fn make_dir(root: &OwnedFd, path: &str) -> std::io::Result<()> {
    let (parent, name) = parent_of(root, path)?;
    let c = c_name(name.as_bytes())?;
    // SAFETY: valid descriptor and C string.
    match check(unsafe { libc::mkdirat(parent.as_raw_fd(), c.as_ptr(), 0o777) }) {
        // Already a directory (kept): fine; anything else there is refused by the open.
        Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {
            open_dir_at(Some(&parent), name.as_bytes(), false).map(drop)
        }
        other => other.map(drop),
    }
}

/// Opens file `path` for writing: a new one (`O_EXCL`), or the kept one in place. Never
/// through a link (`O_NOFOLLOW`), never a FIFO or device (`O_NONBLOCK`, then a regular file
/// or nothing).
fn open_for_write(
    root: &OwnedFd,
    path: &str,
    in_place: bool,
    mode: libc::mode_t,
) -> std::io::Result<File> {
    let (parent, name) = parent_of(root, path)?;
    let c = c_name(name.as_bytes())?;
    let mut flags = libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !in_place {
        flags |= libc::O_CREAT | libc::O_EXCL;
    }
    // SAFETY: valid descriptor and C string; `mode` is passed as the variadic argument.
    let fd = check(unsafe {
        libc::openat(
            parent.as_raw_fd(),
            c.as_ptr(),
            flags,
            libc::c_uint::from(mode),
        )
    })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

fn write_file(root: &OwnedFd, path: &str, bytes: &[u8], in_place: bool) -> std::io::Result<()> {
    let mut file = open_for_write(root, path, in_place, 0o666)?;
    file.set_len(0)?;
    file.write_all(bytes)
}

/// A new file at `path` with the original's bytes and permissions.
fn copy_new(root: &OwnedFd, path: &str, original: &mut File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = original.metadata()?.permissions().mode() & 0o7777;
    let mut file = open_for_write(root, path, false, mode as libc::mode_t)?;
    use std::io::Seek;
    original.seek(std::io::SeekFrom::Start(0))?;
    std::io::copy(original, &mut file).map(drop)
}

/// Whether a link at `path` to `target` resolves inside the directory (read as text, as the
/// guest's filesystem resolves it: `..` pops a name, never past the top).
fn stays_inside(path: &str, target: &str) -> bool {
    if target.starts_with('/') || target.is_empty() {
        return false;
    }
    let mut depth = path.matches('/').count() as i64;
    for name in target.split('/') {
        match name {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

fn make_symlink(root: &OwnedFd, path: &str, target: &str) -> std::io::Result<()> {
    if !stays_inside(path, target) {
        return Err(std::io::Error::other(format!(
            "a symbolic link to {target:?} would lead out of the directory"
        )));
    }
    let (parent, name) = parent_of(root, path)?;
    let (c_target, c) = (c_name(target.as_bytes())?, c_name(name.as_bytes())?);
    // SAFETY: valid descriptor and C strings.
    check(unsafe { libc::symlinkat(c_target.as_ptr(), parent.as_raw_fd(), c.as_ptr()) }).map(drop)
}

fn make_hard_link(root: &OwnedFd, first: &str, path: &str) -> std::io::Result<()> {
    let (old_parent, old_name) = parent_of(root, first)?;
    let (new_parent, new_name) = parent_of(root, path)?;
    let (old, new) = (c_name(old_name.as_bytes())?, c_name(new_name.as_bytes())?);
    // SAFETY: valid descriptors and C strings; flags 0: a link named `first` is not followed.
    check(unsafe {
        libc::linkat(
            old_parent.as_raw_fd(),
            old.as_ptr(),
            new_parent.as_raw_fd(),
            new.as_ptr(),
            0,
        )
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_wasi::ExportedEntry;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    /// One target alone.
    fn apply(root: &Path, loaded: &Loaded, tree: &ExportedTree) -> Vec<String> {
        apply_all(&[Target { root, loaded, tree }]).remove(0)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(label: &str) -> Scratch {
            let path = std::env::temp_dir().join(format!(
                "pollscope-writeback-{}-{label}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Scratch(path)
        }

        fn write(&self, relative: &str, contents: &str) -> PathBuf {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            path
        }

        /// Every entry below, sorted, with `/` after directories and `-> target` for links.
        fn listing(&self) -> Vec<String> {
            pollscope_test_support::dir_listing(&self.0)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tree(entries: &[(&str, ExportedKind)]) -> ExportedTree {
        ExportedTree {
            preopen: 0,
            entries: entries
                .iter()
                .map(|(path, kind)| ExportedEntry {
                    path: path.to_string(),
                    kind: kind.clone(),
                })
                .collect(),
        }
    }

    use ExportedKind::*;

    /// The usual run: a file changed, one moved, one deleted, a directory made and one
    /// removed, a swap of two files, a link and a hard link, a file the guest never saw left
    /// alone.
    #[test]
    fn the_directory_ends_as_the_guest_left_it() {
        let dir = Scratch::new("usual");
        let names = [
            "keep.txt",
            "change.txt",
            "move.txt",
            "gone.txt",
            "a.txt",
            "b.txt",
            "old/x.txt",
        ];
        for name in names {
            dir.write(name, &format!("was {name}"));
        }
        std::fs::create_dir(dir.0.join("unseen")).unwrap();
        let loaded = Loaded {
            dirs: vec!["old".into()],
            files: names
                .iter()
                .enumerate()
                .map(|(i, name)| (name.to_string(), i as u32))
                .collect(),
            symlinks: vec![],
        };
        let guest = tree(&[
            ("a.txt", Unchanged(5)),
            ("b.txt", Unchanged(4)),
            ("change.txt", Bytes(b"new contents".to_vec())),
            ("keep.txt", Unchanged(0)),
            ("link", Symlink("new/moved.txt".into())),
            ("new", Dir),
            ("new/fresh.txt", Bytes(b"fresh".to_vec())),
            ("new/moved.txt", Unchanged(2)),
            ("new/second-name.txt", HardLink("new/fresh.txt".into())),
        ]);
        let problems = apply(&dir.0, &loaded, &guest);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            dir.listing(),
            [
                "a.txt = \"was b.txt\"",
                "b.txt = \"was a.txt\"",
                "change.txt = \"new contents\"",
                "keep.txt = \"was keep.txt\"",
                "link -> new/moved.txt",
                "new/",
                "new/fresh.txt = \"fresh\"",
                "new/moved.txt = \"was move.txt\"",
                "new/second-name.txt = \"fresh\"",
                "unseen/",
            ]
        );
    }

    /// Change sets that try to leave the directory: through a link the host has on the way,
    /// a link put where a file was, a link whose target leads out, and paths with `..` (which
    /// the decoder refuses too). Nothing outside changes, each is named.
    #[test]
    fn hostile_change_sets_never_leave_the_directory() {
        let outside = Scratch::new("outside");
        let secret = outside.write("secret.txt", "secret");
        let dir = Scratch::new("hostile");
        symlink(&outside.0, dir.0.join("out")).unwrap();
        symlink(&secret, dir.0.join("secret-link")).unwrap();
        dir.write("victim.txt", "v");
        let loaded = Loaded {
            dirs: vec![],
            files: vec![("victim.txt".into(), 0)],
            symlinks: vec![],
        };
        let guest = tree(&[
            ("../escape.txt", Bytes(b"x".to_vec())),
            ("out/secret.txt", Bytes(b"overwritten".to_vec())),
            ("out/new.txt", Bytes(b"planted".to_vec())),
            ("secret-link", Bytes(b"through the link".to_vec())),
            ("up", Symlink("../..".into())),
            ("abs", Symlink("/etc/passwd".into())),
            ("victim.txt", Bytes(b"changed".to_vec())),
        ]);
        let problems = apply(&dir.0, &loaded, &guest).join("\n");
        for said in [
            "../escape.txt: not written (not a plain relative path",
            "out/secret.txt: not written (a symbolic link is on the way",
            "out/new.txt: not written (a symbolic link is on the way",
            "secret-link: not written",
            "up: not written (a symbolic link to \"../..\" would lead out",
            "abs: not written (a symbolic link to \"/etc/passwd\" would lead out",
        ] {
            assert!(problems.contains(said), "{said:?} not in:\n{problems}");
        }
        assert_eq!(read(&secret), "secret");
        assert_eq!(outside.listing(), ["secret.txt = \"secret\""]);
        assert_eq!(read(&dir.0.join("victim.txt")), "changed");
        assert!(!dir.0.parent().unwrap().join("escape.txt").exists());
    }

    /// A directory swapped for a link to the outside during the run: removals and writes
    /// below it stop there.
    #[test]
    fn a_link_put_in_place_of_a_loaded_directory_stops_the_walk() {
        let outside = Scratch::new("outside2");
        let kept = outside.write("data/file.txt", "outside");
        let dir = Scratch::new("swapped");
        dir.write("data/file.txt", "inside");
        std::fs::remove_dir_all(dir.0.join("data")).unwrap();
        symlink(outside.0.join("data"), dir.0.join("data")).unwrap();
        let loaded = Loaded {
            dirs: vec!["data".into()],
            files: vec![("data/file.txt".into(), 0)],
            symlinks: vec![],
        };
        // The guest deleted the file and wrote a new one beside it.
        let guest = tree(&[("data", Dir), ("data/other.txt", Bytes(b"x".to_vec()))]);
        let problems = apply(&dir.0, &loaded, &guest).join("\n");
        assert!(
            problems.contains("data/file.txt: not removed"),
            "{problems}"
        );
        assert!(
            problems.contains("data/other.txt: not written"),
            "{problems}"
        );
        assert_eq!(read(&kept), "outside");
        assert_eq!(outside.listing(), ["data/", "data/file.txt = \"outside\""]);
    }

    /// A file the guest moved from one `--dir` to another: the first is written back first and
    /// loses it, and the second still gets its bytes (opened before either changed).
    #[test]
    fn a_move_across_dirs_keeps_the_bytes() {
        let first = Scratch::new("across-a");
        let second = Scratch::new("across-b");
        first.write("x.txt", "moving");
        let loaded_first = Loaded {
            dirs: vec![],
            files: vec![("x.txt".into(), 0)],
            symlinks: vec![],
        };
        let (empty, moved) = (tree(&[]), tree(&[("y.txt", Unchanged(0))]));
        let targets = [
            Target {
                root: &first.0,
                loaded: &loaded_first,
                tree: &empty,
            },
            Target {
                root: &second.0,
                loaded: &Loaded::default(),
                tree: &moved,
            },
        ];
        let problems = apply_all(&targets);
        assert!(problems.iter().all(Vec::is_empty), "{problems:?}");
        assert!(first.listing().is_empty());
        assert_eq!(second.listing(), ["y.txt = \"moving\""]);
    }

    /// The host's links come back as the guest left them: one left alone stays (even one
    /// leading out, which is the host's own), one removed is removed, one given another
    /// target is made again, and nothing is followed.
    #[test]
    fn loaded_links_are_kept_removed_or_remade() {
        let outside = Scratch::new("links-outside");
        outside.write("kept.txt", "outside");
        let dir = Scratch::new("links");
        dir.write("a.txt", "a");
        dir.write("b.txt", "b");
        symlink(&outside.0, dir.0.join("out")).unwrap();
        symlink("a.txt", dir.0.join("gone")).unwrap();
        symlink("a.txt", dir.0.join("retarget")).unwrap();
        let loaded = Loaded {
            dirs: vec![],
            files: vec![("a.txt".into(), 0), ("b.txt".into(), 1)],
            symlinks: vec![
                ("gone".into(), "a.txt".into()),
                ("out".into(), outside.0.display().to_string()),
                ("retarget".into(), "a.txt".into()),
            ],
        };
        let guest = tree(&[
            ("a.txt", Unchanged(0)),
            ("b.txt", Unchanged(1)),
            ("out", Symlink(outside.0.display().to_string())),
            ("retarget", Symlink("b.txt".into())),
        ]);
        let problems = apply(&dir.0, &loaded, &guest);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            dir.listing(),
            [
                "a.txt = \"a\"".to_string(),
                "b.txt = \"b\"".to_string(),
                format!("out -> {}", outside.0.display()),
                "retarget -> b.txt".to_string(),
            ]
        );
        assert_eq!(outside.listing(), ["kept.txt = \"outside\""]);
    }

    /// A file the guest moved, whose loaded directory the host swapped for a link out during
    /// the run: the original is not read through the link, so nothing from outside is copied
    /// in.
    #[test]
    fn an_original_is_never_read_through_a_link() {
        let outside = Scratch::new("outside3");
        outside.write("data/file.txt", "outside");
        let dir = Scratch::new("moved-swapped");
        dir.write("data/file.txt", "inside");
        std::fs::remove_dir_all(dir.0.join("data")).unwrap();
        symlink(outside.0.join("data"), dir.0.join("data")).unwrap();
        let loaded = Loaded {
            dirs: vec!["data".into()],
            files: vec![("data/file.txt".into(), 0)],
            symlinks: vec![],
        };
        let guest = tree(&[("data", Dir), ("moved.txt", Unchanged(0))]);
        let problems = apply(&dir.0, &loaded, &guest).join("\n");
        assert!(
            problems.contains("moved.txt: its original is unreadable"),
            "{problems}"
        );
        assert!(!dir.0.join("moved.txt").exists());
        assert_eq!(outside.listing(), ["data/", "data/file.txt = \"outside\""]);
    }

    #[test]
    fn links_inside_are_told_from_links_out() {
        assert!(stays_inside("a", "b"));
        assert!(stays_inside("d/a", "../b"));
        assert!(stays_inside("d/e/a", "../../b/./c"));
        assert!(!stays_inside("a", "../b"));
        assert!(!stays_inside("d/a", "../../b"));
        assert!(!stays_inside("a", "/b"));
        assert!(!stays_inside("a", ""));
    }
}
