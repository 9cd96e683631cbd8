//! The host's state for one guest instance, and the call entry point.

use crate::registry::{Args, HostFunc};
use crate::table::ResourceTable;
use crate::{GuestMemory, Platform, Trap};

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

/// The WASI host for one guest instance.
pub struct Host {
    pub(crate) table: ResourceTable,
    pub(crate) platform: Box<dyn Platform>,
    #[allow(dead_code)] // read by wasi:cli/environment, which lands next
    pub(crate) config: HostConfig,
    /// `wasi:filesystem` state (owned by the filesystem module).
    #[allow(dead_code)] // until the filesystem module uses it
    pub(crate) fs: crate::filesystem::FsState,
    /// `wasi:sockets` state (owned by the sockets module).
    #[allow(dead_code)] // until the sockets module uses it
    pub(crate) sockets: crate::sockets::SocketsState,
}

impl Host {
    /// A host for a fresh guest instance.
    ///
    /// Fails (without panicking) when the configuration cannot be honoured, e.g. a preloaded
    /// file path the filesystem rejects; the message says which entry and why.
    pub fn new(config: HostConfig, platform: Box<dyn Platform>) -> Result<Host, String> {
        let fs = crate::filesystem::FsState::new(&config)?;
        let sockets = crate::sockets::SocketsState::new(&config)?;
        Ok(Host {
            table: ResourceTable::new(),
            platform,
            config,
            fs,
            sockets,
        })
    }

    /// Runs host function `func` with the guest's flat arguments; returns its flat result
    /// (0 when it has none) or the trap that ends the guest.
    pub fn call(
        &mut self,
        func: HostFunc,
        args: Args<'_>,
        memory: &mut dyn GuestMemory,
    ) -> Result<i64, Trap> {
        if args.len() != func.params().len() {
            return Err(Trap::abi(format!(
                "{} takes {} core arguments, got {}",
                func.qualified_name(),
                func.params().len(),
                args.len()
            )));
        }
        (func.call_fn())(self, memory, args).map_err(|trap| trap.in_import(&func.qualified_name()))
    }

    /// The platform, for the embedder (e.g. to flush output when the guest ends).
    pub fn platform_mut(&mut self) -> &mut dyn Platform {
        &mut *self.platform
    }

    /// Number of live guest handles.
    pub fn live_handles(&self) -> usize {
        self.table.len()
    }
}
