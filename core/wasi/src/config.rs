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
    /// Guest paths of the preopened directories (created when missing).
    pub preopens: Vec<String>,
    /// Directories to create before the guest starts (absolute guest paths).
    pub dirs: Vec<String>,
    /// Files to create before the guest starts: (absolute guest path, contents).
    pub files: Vec<(String, Vec<u8>)>,
}

impl HostConfig {
    /// The default world: no arguments but `program`, an empty environment, one preopen `/`
    /// and `initial-cwd` `/`, so relative paths work for TinyGo and Rust programs alike.
    pub fn new(program: &str) -> HostConfig {
        HostConfig {
            args: vec![program.to_string()],
            cwd: Some("/".to_string()),
            preopens: vec!["/".to_string()],
            ..HostConfig::default()
        }
    }
}
