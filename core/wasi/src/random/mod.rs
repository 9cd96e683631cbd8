//! `wasi:random`: secure random bytes, the insecure variants and the insecure seed, all drawn
//! from the platform's secure source (`crypto.getRandomValues` in the browser), which is
//! cheap enough that the insecure variants need no separate generator.

pub(crate) mod insecure;
pub(crate) mod insecure_seed;
#[allow(clippy::module_inception)] // named after the WASI interface, like its siblings
pub(crate) mod random;

use crate::abi::{self, Lowered};
use crate::{GuestMemory, Host, Trap};

/// Bytes are generated and copied to the guest in chunks of this size, so a huge request
/// never becomes an equally huge host buffer.
const CHUNK: usize = 64 * 1024;

/// `list<u8>` of `len` random bytes at `retptr` ({ptr @0, len @4}).
pub(crate) fn random_bytes(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    len: u64,
    retptr: u32,
) -> Result<i64, Trap> {
    abi::check_align(retptr, 4, "retptr")?;
    let what = "random bytes list<u8>";
    let ptr = abi::alloc(memory, 1, len, what)?;
    let mut chunk = vec![0u8; len.min(CHUNK as u64) as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        host.platform.random_bytes(&mut chunk[..n]);
        memory.write(ptr + done as u32, &chunk[..n])?;
        done += n as u64;
    }
    Lowered::new(8, 4)
        .ptr_len(0, (ptr, len as u32))
        .store(memory, retptr, "retptr")?;
    Ok(0)
}

/// A random `u64` from the platform's source.
pub(crate) fn random_u64(host: &mut Host) -> u64 {
    let mut bytes = [0u8; 8];
    host.platform.random_bytes(&mut bytes);
    u64::from_le_bytes(bytes)
}
