//! Path resolution relative to a base directory, with WASI's sandbox rule: an absolute path,
//! a `..` above the base, or a symbolic link to an absolute path fails with `not-permitted`
//! (what wasmtime's cap-std based host does).
//!
//! `..` pops the walk's own stack of directories, so it can never leave the base even when
//! the base has parents in the tree.

use std::collections::VecDeque;

use super::error::ErrorCode;
use super::memfs::{InodeRef, Node, MAX_NAME_LEN};

/// Symbolic links followed in one resolution before it fails with `loop` (Linux's limit).
pub(crate) const MAX_SYMLINK_FOLLOWS: u32 = 40;

/// Where a path led.
#[derive(Debug)]
pub(crate) struct Located {
    /// The directory holding the final entry.
    pub parent: InodeRef,
    /// The final entry's name; `None` when the path ends in `.` or `..`, whose entry is
    /// `parent` itself (and which cannot be created or removed).
    pub name: Option<String>,
    /// The final entry, when it exists.
    pub node: Option<InodeRef>,
    /// The path ended with `/` (the entry must be a directory).
    pub trailing_slash: bool,
}

impl Located {
    /// The existing entry, or `no-entry`.
    pub(crate) fn existing(&self) -> Result<InodeRef, ErrorCode> {
        self.node.clone().ok_or(ErrorCode::NoEntry)
    }
}

/// Splits `path` into components and whether it ends with `/`.
fn split(path: &str) -> Result<(VecDeque<String>, bool), ErrorCode> {
    if path.is_empty() {
        return Err(ErrorCode::NoEntry);
    }
    if path.starts_with('/') {
        return Err(ErrorCode::NotPermitted);
    }
    let mut components = VecDeque::new();
    for name in path.split('/').filter(|n| !n.is_empty()) {
        if name.len() > MAX_NAME_LEN {
            return Err(ErrorCode::NameTooLong);
        }
        // A POSIX name cannot hold NUL; cap-std rejects it as an invalid argument.
        if name.contains('\0') {
            return Err(ErrorCode::Invalid);
        }
        components.push_back(name.to_string());
    }
    Ok((components, path.ends_with('/')))
}

/// Resolves `path` relative to directory `base`. Symbolic links in directory position are
/// always followed; a final one only when `follow` is set or the path ends with `/`.
///
/// Errors: `not-permitted` for escapes, `no-entry` for a missing directory on the way,
/// `not-directory` when a file is used as a directory, `loop` past
/// [`MAX_SYMLINK_FOLLOWS`], `name-too-long`, `invalid`. A missing final entry is not an
/// error: `node` is `None` and the caller decides.
pub(crate) fn resolve(base: &InodeRef, path: &str, follow: bool) -> Result<Located, ErrorCode> {
    if !base.borrow().is_dir() {
        return Err(ErrorCode::NotDirectory);
    }
    let (mut components, mut trailing_slash) = split(path)?;
    let mut stack = vec![base.clone()];
    let mut follows = 0;
    while let Some(component) = components.pop_front() {
        let last = components.is_empty();
        let top = stack.last().cloned().ok_or(ErrorCode::NotPermitted)?;
        match component.as_str() {
            "." | ".." => {
                if component == ".." {
                    if stack.len() == 1 {
                        return Err(ErrorCode::NotPermitted);
                    }
                    stack.pop();
                }
                if last {
                    let dir = stack.last().cloned().ok_or(ErrorCode::NotPermitted)?;
                    return Ok(Located {
                        parent: dir.clone(),
                        name: None,
                        node: Some(dir),
                        trailing_slash,
                    });
                }
            }
            name => {
                let child = top.borrow().dir()?.entries.get(name).cloned();
                let Some(child) = child else {
                    if last {
                        return Ok(Located {
                            parent: top,
                            name: Some(component),
                            node: None,
                            trailing_slash,
                        });
                    }
                    return Err(ErrorCode::NoEntry);
                };
                let target = match &child.borrow().node {
                    Node::Symlink(target) if !last || follow || trailing_slash => {
                        Some(target.clone())
                    }
                    _ => None,
                };
                if let Some(target) = target {
                    follows += 1;
                    if follows > MAX_SYMLINK_FOLLOWS {
                        return Err(ErrorCode::Loop);
                    }
                    let (target_components, target_trailing) = split(&target)?;
                    if last {
                        trailing_slash |= target_trailing;
                    }
                    for c in target_components.into_iter().rev() {
                        components.push_front(c);
                    }
                    continue;
                }
                let is_dir = child.borrow().is_dir();
                if last {
                    if trailing_slash && !is_dir {
                        return Err(ErrorCode::NotDirectory);
                    }
                    return Ok(Located {
                        parent: top,
                        name: Some(component),
                        node: Some(child),
                        trailing_slash,
                    });
                }
                if !is_dir {
                    return Err(ErrorCode::NotDirectory);
                }
                stack.push(child);
            }
        }
    }
    // Only a path of slashes and nothing else ends here, which `split` turned away as
    // absolute; `.`-only paths returned above.
    Err(ErrorCode::NoEntry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::memfs::{attach, MemFs, Timestamp};
    use std::rc::Rc;

    const NOW: Timestamp = Timestamp {
        seconds: 1,
        nanoseconds: 0,
    };

    /// /base/{sub/{file, up -> ../file2, out -> ../../x}, file2, abs -> /etc, loop -> loop,
    ///        dirlink -> sub, dangling -> missing/new}
    fn tree() -> (MemFs, InodeRef) {
        let mut fs = MemFs::new(NOW);
        let sub = fs.create_dir_all("/base/sub", NOW).unwrap();
        let base = fs.create_dir_all("/base", NOW).unwrap();
        fs.write_file("/base/sub/file", b"1", NOW).unwrap();
        fs.write_file("/base/file2", b"2", NOW).unwrap();
        fs.write_file("/x", b"outside", NOW).unwrap();
        for (dir, name, target) in [
            (&sub, "up", "../file2"),
            (&sub, "out", "../../x"),
            (&base, "abs", "/etc"),
            (&base, "loop", "loop"),
            (&base, "dirlink", "sub/"),
            (&base, "dangling", "sub/new"),
        ] {
            let link = fs.new_symlink(target, NOW).unwrap();
            attach(dir, name, link, NOW);
        }
        (fs, base)
    }

    fn node(base: &InodeRef, path: &str, follow: bool) -> Result<InodeRef, ErrorCode> {
        resolve(base, path, follow)?.existing()
    }

    fn contents(inode: &InodeRef) -> Vec<u8> {
        inode.borrow().read(0, 100).unwrap().0
    }

    #[test]
    fn plain_dot_and_dotdot_paths() {
        let (_fs, base) = tree();
        assert_eq!(contents(&node(&base, "sub/file", false).unwrap()), b"1");
        assert_eq!(contents(&node(&base, "sub//./file", false).unwrap()), b"1");
        assert_eq!(contents(&node(&base, "sub/../file2", false).unwrap()), b"2");
        let located = resolve(&base, "sub/..", false).unwrap();
        assert!(located.name.is_none());
        assert!(Rc::ptr_eq(&located.existing().unwrap(), &base));
        assert!(Rc::ptr_eq(&node(&base, ".", false).unwrap(), &base));
        let missing = resolve(&base, "sub/new", false).unwrap();
        assert!(missing.node.is_none());
        assert_eq!(missing.name.as_deref(), Some("new"));
    }

    #[test]
    fn escapes_are_not_permitted() {
        let (_fs, base) = tree();
        for path in ["/etc", "..", "../base", "sub/../..", "sub/../../x"] {
            assert_eq!(
                node(&base, path, false).unwrap_err(),
                ErrorCode::NotPermitted,
                "{path}"
            );
        }
        // Through symlinks: absolute targets and `..` above the base.
        assert_eq!(
            node(&base, "abs", true).unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            node(&base, "sub/out", true).unwrap_err(),
            ErrorCode::NotPermitted
        );
        assert_eq!(
            node(&base, "abs/x", false).unwrap_err(),
            ErrorCode::NotPermitted
        );
    }

    #[test]
    fn symlinks_follow_only_when_asked_in_final_position() {
        let (_fs, base) = tree();
        assert_eq!(contents(&node(&base, "sub/up", true).unwrap()), b"2");
        let link = node(&base, "sub/up", false).unwrap();
        assert!(matches!(link.borrow().node, Node::Symlink(_)));
        // In directory position a link is always followed; a trailing slash forces it too.
        assert_eq!(contents(&node(&base, "dirlink/file", false).unwrap()), b"1");
        assert!(node(&base, "dirlink/", false).unwrap().borrow().is_dir());
        // A dangling link's target is where a create would go.
        let dangling = resolve(&base, "dangling", true).unwrap();
        assert_eq!(dangling.name.as_deref(), Some("new"));
        assert!(dangling.node.is_none());
        assert_eq!(node(&base, "loop", true).unwrap_err(), ErrorCode::Loop);
        assert!(
            node(&base, "loop", false).is_ok(),
            "not followed: the link itself"
        );
    }

    #[test]
    fn shape_errors() {
        let (_fs, base) = tree();
        assert_eq!(node(&base, "", false).unwrap_err(), ErrorCode::NoEntry);
        assert_eq!(
            node(&base, "nope/file", false).unwrap_err(),
            ErrorCode::NoEntry
        );
        assert_eq!(
            node(&base, "file2/x", false).unwrap_err(),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            node(&base, "file2/", false).unwrap_err(),
            ErrorCode::NotDirectory
        );
        assert_eq!(
            node(&base, "sub/up/", false).unwrap_err(),
            ErrorCode::NotDirectory
        );
        let long = "n".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            node(&base, &long, false).unwrap_err(),
            ErrorCode::NameTooLong
        );
        assert_eq!(node(&base, "a\0b", false).unwrap_err(), ErrorCode::Invalid);
        let file = node(&base, "file2", false).unwrap();
        assert_eq!(
            node(&file, "x", false).unwrap_err(),
            ErrorCode::NotDirectory
        );
    }
}
