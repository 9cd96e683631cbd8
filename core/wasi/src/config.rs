//! What the embedder decides about the guest's world before it starts.

/// What the embedder decides about the guest's world before it starts.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// `wasi:cli/environment.get-arguments`, program name first.
    pub args: Vec<String>,
    /// `wasi:cli/environment.get-environment`.
    pub env: Vec<(String, String)>,
    /// `initial-cwd`. TinyGo resolves relative paths only when this equals a preopen's path.
    pub cwd: Option<String>,
    /// The preopened directories, in the order `get-directories` reports them (each created
    /// when missing).
    pub preopens: Vec<Preopen>,
    /// Directories to create before the guest starts (absolute configuration paths).
    pub dirs: Vec<String>,
    /// Files to create before the guest starts: (absolute configuration path, contents). A
    /// file's index here is its *origin* in [`Host::export_preopens`](crate::Host::export_preopens)
    /// as long as the guest leaves its contents alone.
    pub files: Vec<(String, Vec<u8>)>,
}

/// One preopened directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// The name `get-directories` gives the guest, as the embedder spelled it: `/data`, `.`,
    /// `out` (wasmtime reports `--dir HOST::GUEST`'s GUEST unchanged).
    pub name: String,
    /// Where its tree lives in the configuration's absolute paths (`dirs` and `files` below
    /// it fill it). Preopens at paths neither of which is inside the other are separate
    /// trees, as two host directories are (`pollscope run` puts each `--dir` at `/0`, `/1`,
    /// …); one inside another's path shares that tree, so a writable outer preopen can change
    /// what an inner read-only one shows.
    pub path: String,
    /// Whether the guest may change the tree. A read-only preopen's descriptors lack
    /// `mutate-directory`, and every change through them fails with `not-permitted`, as in
    /// wasmtime with read-only `DirPerms`.
    pub writable: bool,
    /// Whether [`Host::export_preopens`](crate::Host::export_preopens) hands this tree back
    /// when the guest ends (for an embedder that writes it to disk).
    pub write_back: bool,
    /// Symbolic links to create in the tree before the guest starts: (path relative to
    /// [`path`](Preopen::path), target as the host has it). A link is only text: following
    /// one out of the preopen, or to an absolute path, fails with `not-permitted` as in
    /// wasmtime, so a host directory's links can be given as they are.
    pub symlinks: Vec<(String, String)>,
}

impl Preopen {
    /// An in-memory scratch directory: writable, named as it is placed, never handed back.
    pub fn scratch(path: &str) -> Preopen {
        Preopen {
            name: path.to_string(),
            path: path.to_string(),
            writable: true,
            write_back: false,
            symlinks: Vec::new(),
        }
    }
}

impl HostConfig {
    /// The default world: no arguments but `program`, an empty environment, one scratch
    /// preopen `/` and `initial-cwd` `/`, so relative paths work for TinyGo and Rust programs
    /// alike.
    pub fn new(program: &str) -> HostConfig {
        HostConfig {
            args: vec![program.to_string()],
            cwd: Some("/".to_string()),
            preopens: vec![Preopen::scratch("/")],
            ..HostConfig::default()
        }
    }
}
