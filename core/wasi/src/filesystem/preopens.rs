//! `wasi:filesystem/preopens`: `get-directories`.

use super::descriptor::{Descriptor, DescriptorFlags};
use super::memfs::Timestamp;
use crate::abi::{self, Lowered};
use crate::func::{Args, FuncDef, InterfaceDef, ValType::*};
use crate::{GuestMemory, Host, Trap};

/// Flags of a writable preopened directory: it may be listed and changed (wasmtime's
/// default `DirPerms::all()`). A read-only one has `read` alone.
pub(crate) const PREOPEN_FLAGS: DescriptorFlags =
    DescriptorFlags(DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY);

/// `get-directories: func() -> list<tuple<own<descriptor>, string>>`: a new descriptor per
/// preopen on every call (the guest owns each). Elements are 12 bytes: handle @0, path @4.
fn get_directories(
    host: &mut Host,
    memory: &mut dyn GuestMemory,
    args: Args<'_>,
) -> Result<i64, Trap> {
    let ptr = abi::arg_u32(args, 0)?;
    abi::check_align(ptr, 4, "retptr")?;
    let now = Timestamp::from(host.platform.wall_now());
    host.fs.stamp_preloaded(now);
    let preopens = host.fs.preopens.clone();
    // The outer list first, then each string, as the canonical ABI's store_list does.
    let what = "get-directories result";
    let list = abi::alloc(memory, 4, preopens.len() as u64 * 12, what)?;
    let mut elems = Lowered::new(preopens.len() as u32 * 12, 4);
    for (i, preopen) in preopens.into_iter().enumerate() {
        let flags = if preopen.config.writable {
            PREOPEN_FLAGS
        } else {
            DescriptorFlags(DescriptorFlags::READ)
        };
        let handle = host.table.push(Descriptor::new(preopen.dir, flags))?;
        let name = abi::lower_string(memory, &preopen.config.name, what)?;
        elems
            .u32(i as u32 * 12, handle)
            .ptr_len(i as u32 * 12 + 4, name);
    }
    if !elems.as_bytes().is_empty() {
        elems.store(memory, list, what)?;
    }
    Lowered::new(8, 4)
        .ptr_len(0, (list, elems.as_bytes().len() as u32 / 12))
        .store(memory, ptr, "retptr")?;
    Ok(0)
}

/// `wasi:filesystem/preopens`.
pub(crate) const INTERFACE: InterfaceDef = InterfaceDef {
    name: "wasi:filesystem/preopens",
    funcs: &[FuncDef::new(
        "get-directories",
        &[I32],
        &[],
        get_directories,
    )],
};

#[cfg(test)]
mod tests {
    use crate::abi;
    use crate::testing::{call, FakePlatform};
    use crate::{Host, HostConfig, VecMemory};

    /// Calls `get-directories` and lifts (handle, path) pairs.
    fn directories(host: &mut Host, memory: &mut VecMemory) -> Vec<(u32, String)> {
        let preopens = "wasi:filesystem/preopens@0.2.0";
        call(host, memory, preopens, "get-directories", &[0x10]).unwrap();
        let ret = abi::load_record(memory, 0x10, 8, 4, "ret").unwrap();
        let raw = abi::lift_list(memory, ret.u32(0).unwrap(), ret.u32(4).unwrap(), 12, 4, "l");
        abi::chunks(raw.unwrap(), 12)
            .map(|e| {
                let (ptr, len) = (e.u32(4).unwrap(), e.u32(8).unwrap());
                (
                    e.u32(0).unwrap(),
                    abi::lift_string(memory, ptr, len, "p").unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn each_call_hands_out_fresh_descriptors_for_every_preopen() {
        let fake = FakePlatform::new();
        fake.set_wall(1_234, 0);
        let mut config = HostConfig::new("t");
        config.preopens.push(crate::Preopen::scratch("/data"));
        let mut host = Host::new(config, Box::new(fake.clone())).unwrap();
        let mut memory = VecMemory::new(1 << 16);
        let first = directories(&mut host, &mut memory);
        let second = directories(&mut host, &mut memory);
        let paths: Vec<&str> = first.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(paths, ["/", "/data"]);
        assert_eq!(host.live_handles(), 4);
        assert_ne!(first[0].0, second[0].0);

        let types = "wasi:filesystem/types@0.2.0";
        let (data, _) = first[1];
        call(
            &mut host,
            &mut memory,
            types,
            "[method]descriptor.get-flags",
            &[data.into(), 0x20],
        )
        .unwrap();
        assert_eq!(
            &memory.bytes[0x20..0x22],
            &[0, 0x21],
            "read | mutate-directory"
        );
        call(
            &mut host,
            &mut memory,
            types,
            "[method]descriptor.stat",
            &[data.into(), 0x40],
        )
        .unwrap();
        let stat = abi::load_record(&memory, 0x40, 104, 8, "stat").unwrap();
        assert_eq!(stat.u8(8).unwrap(), 3, "directory");
        assert_eq!(
            stat.u64(64).unwrap(),
            1_234,
            "stamped when first handed out"
        );
        let (root, _) = first[0];
        let same = call(
            &mut host,
            &mut memory,
            types,
            "[method]descriptor.is-same-object",
            &[root.into(), second[0].0.into()],
        );
        assert_eq!(same, Ok(1));
    }

    #[test]
    fn no_preopens_is_an_empty_list() {
        let mut config = HostConfig::new("t");
        config.preopens.clear();
        let mut host = Host::new(config, Box::new(FakePlatform::new())).unwrap();
        let mut memory = VecMemory::new(1 << 16);
        assert!(directories(&mut host, &mut memory).is_empty());
    }
}
