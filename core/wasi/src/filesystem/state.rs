//! The filesystem state of one guest instance: the in-memory tree and the preopens, built
//! from [`HostConfig`] before the guest starts. `Host` holds it; the glue (`types.rs`,
//! `dirs.rs`, `preopens.rs`) works on it.

use super::memfs::{InodeRef, MemFs, Node, Timestamp};
use crate::{HostConfig, Preopen};

/// One preopened directory: its tree and how the configuration opened it.
#[derive(Clone)]
pub(crate) struct PreopenDir {
    pub(crate) dir: InodeRef,
    pub(crate) config: Preopen,
}

/// The filesystem of one guest instance.
pub(crate) struct FsState {
    pub(crate) memfs: MemFs,
    /// Each preopened directory, in `get-directories` order.
    pub(crate) preopens: Vec<PreopenDir>,
    /// Whether the configured entries got their timestamps yet (see `stamp_preloaded`).
    stamped: bool,
}

impl FsState {
    /// Builds the tree the configuration describes: `dirs`, then `files`, then `preopens`
    /// (each created when missing) with their symbolic links. Fails on a path that is not absolute, contains `..`, or
    /// collides with an entry of another type.
    pub(crate) fn new(config: &HostConfig) -> Result<FsState, String> {
        let epoch = Timestamp::default();
        let mut memfs = MemFs::new(epoch);
        for dir in &config.dirs {
            memfs
                .create_dir_all(dir, epoch)
                .map_err(|e| format!("filesystem: directory {e}"))?;
        }
        for (index, (path, bytes)) in config.files.iter().enumerate() {
            let file = memfs
                .write_file(path, bytes, epoch)
                .map_err(|e| format!("filesystem: file {e}"))?;
            file.borrow_mut().origin = u32::try_from(index).ok();
        }
        let mut preopens = Vec::new();
        for preopen in &config.preopens {
            let dir = memfs
                .create_dir_all(&preopen.path, epoch)
                .map_err(|e| format!("filesystem: preopen {e}"))?;
            for (relative, target) in &preopen.symlinks {
                let path = format!("{}/{relative}", preopen.path.trim_end_matches('/'));
                memfs
                    .write_symlink(&path, target, epoch)
                    .map_err(|e| format!("filesystem: symbolic link {e}"))?;
            }
            preopens.push(PreopenDir {
                dir,
                config: preopen.clone(),
            });
        }
        Ok(FsState {
            memfs,
            preopens,
            stamped: false,
        })
    }

    /// Gives the configured entries the current wall-clock time. The configuration is read
    /// before the host has a platform, and every descriptor starts at `get-directories`, so
    /// stamping there is before the guest can see any timestamp.
    pub(crate) fn stamp_preloaded(&mut self, now: Timestamp) {
        if std::mem::replace(&mut self.stamped, true) {
            return;
        }
        let mut pending = vec![self.memfs.root().clone()];
        while let Some(inode) = pending.pop() {
            let mut inode = inode.borrow_mut();
            inode.atime = now;
            inode.mtime = now;
            inode.ctime = now;
            if let Node::Dir(dir) = &inode.node {
                pending.extend(dir.entries.values().cloned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_builds_the_tree_and_names_bad_entries() {
        let mut config = HostConfig::new("p");
        config.preopens.push(Preopen::scratch("/data"));
        config.dirs.push("/tmp/a".into());
        config.files.push(("/data/in.txt".into(), b"x".to_vec()));
        let fs = FsState::new(&config).unwrap();
        let names: Vec<&str> = fs.preopens.iter().map(|p| p.config.name.as_str()).collect();
        assert_eq!(names, ["/", "/data"]);
        let data = &fs.preopens[1].dir;
        assert!(data.borrow().dir().unwrap().entries.contains_key("in.txt"));

        config.files.push(("/tmp/a".into(), Vec::new()));
        let err = FsState::new(&config).err().unwrap();
        assert!(err.starts_with("filesystem: file `/tmp/a`"), "{err}");
        config.files.pop();
        config.preopens.push(Preopen::scratch("data"));
        let err = FsState::new(&config).err().unwrap();
        assert!(err.contains("must be absolute"), "{err}");
    }

    /// A preopen's links are created as links, with their targets as text; the guest's
    /// resolution keeps them from leading out (see `path.rs`).
    #[test]
    fn preopen_links_are_created_as_given() {
        let mut config = HostConfig::new("p");
        config.preopens = vec![Preopen {
            name: ".".into(),
            path: "/0".into(),
            writable: false,
            write_back: false,
            symlinks: vec![
                ("d/inside".into(), "../f".into()),
                ("out".into(), "../../etc".into()),
                ("abs".into(), "/etc/passwd".into()),
            ],
        }];
        config.files.push(("/0/f".into(), b"x".to_vec()));
        let fs = FsState::new(&config).unwrap();
        let root = &fs.preopens[0].dir;
        let target = |path: &[&str]| {
            let mut at = root.clone();
            for name in path {
                let next = at.borrow().dir().unwrap().entries[*name].clone();
                at = next;
            }
            let inode = at.borrow();
            match &inode.node {
                Node::Symlink(target) => target.clone(),
                _ => panic!("{path:?} is not a link"),
            }
        };
        assert_eq!(target(&["d", "inside"]), "../f");
        assert_eq!(target(&["out"]), "../../etc");
        assert_eq!(target(&["abs"]), "/etc/passwd");

        config.preopens[0].symlinks.push(("f".into(), "x".into()));
        let err = FsState::new(&config).err().unwrap();
        assert!(err.contains("`/0/f`: exists"), "{err}");
    }

    #[test]
    fn preloaded_entries_are_stamped_once() {
        let mut config = HostConfig::new("p");
        config.files.push(("/d/f".into(), Vec::new()));
        let mut fs = FsState::new(&config).unwrap();
        let t = |seconds| Timestamp {
            seconds,
            nanoseconds: 0,
        };
        fs.stamp_preloaded(t(7));
        fs.stamp_preloaded(t(9));
        let root = fs.memfs.root().clone();
        let d = root.borrow().dir().unwrap().entries["d"].clone();
        let f = d.borrow().dir().unwrap().entries["f"].clone();
        for inode in [&root, &d, &f] {
            let stat = inode.borrow().stat();
            assert_eq!((stat.atime, stat.mtime, stat.ctime), (t(7), t(7), t(7)));
        }
    }
}
