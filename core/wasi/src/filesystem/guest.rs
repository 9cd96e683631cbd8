//! Test support for the ABI glue: a host on a fake platform, called the way the shim calls
//! it, with a bump area for arguments in the low half of guest memory.

use super::descriptor::{DescriptorFlags, OpenFlags};
use super::lower::{self, Shape};
use crate::abi;
use crate::testing::{call, FakePlatform};
use crate::{Host, HostConfig, Trap, TrapKind, VecMemory};

pub(crate) const TYPES: &str = "wasi:filesystem/types@0.2.0";
pub(crate) const STREAMS: &str = "wasi:io/streams@0.2.0";
/// Return area for every call (8-aligned, below where test strings go).
pub(crate) const RET: u32 = 0x40;

/// A host on a fake platform plus a bump area in the low half of memory for arguments.
pub(crate) struct Guest {
    pub(crate) fake: FakePlatform,
    pub(crate) host: Host,
    pub(crate) memory: VecMemory,
    pub(crate) next_arg: u32,
    pub(crate) root: u32,
}

impl Guest {
    pub(crate) fn new() -> Guest {
        let fake = FakePlatform::new();
        fake.set_wall(1_700_000_000, 0);
        let mut host = Host::new(HostConfig::new("t"), Box::new(fake.clone())).unwrap();
        let mut memory = VecMemory::new(1 << 16);
        call(
            &mut host,
            &mut memory,
            "wasi:filesystem/preopens@0.2.0",
            "get-directories",
            &[RET.into()],
        )
        .unwrap();
        let list = abi::load_record(&memory, RET, 8, 4, "ret").unwrap();
        let elem = abi::load_record(&memory, list.u32(0).unwrap(), 12, 4, "elem").unwrap();
        let root = elem.u32(0).unwrap();
        Guest {
            fake,
            host,
            memory,
            next_arg: 0x100,
            root,
        }
    }

    pub(crate) fn call(&mut self, name: &str, args: &[i64]) -> Result<i64, Trap> {
        call(&mut self.host, &mut self.memory, TYPES, name, args)
    }

    pub(crate) fn stream_call(&mut self, name: &str, args: &[i64]) -> Result<i64, Trap> {
        call(&mut self.host, &mut self.memory, STREAMS, name, args)
    }

    /// Places `bytes` in guest memory; returns (ptr, len) as two flat arguments.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> [i64; 2] {
        let ptr = self.next_arg;
        self.memory.bytes[ptr as usize..ptr as usize + bytes.len()].copy_from_slice(bytes);
        self.next_arg += (bytes.len() as u32).div_ceil(8) * 8 + 8;
        [ptr.into(), bytes.len() as i64]
    }

    pub(crate) fn ret(&self, size: u32, align: u32) -> abi::Loaded {
        abi::load_record(&self.memory, RET, size, align, "ret").unwrap()
    }

    /// `result<_, error-code>` / `result<own, error-code>` outcome: Ok(payload) or Err(code).
    pub(crate) fn outcome(&self, shape: Shape) -> Result<u32, u8> {
        let ret = self.ret(shape.size, shape.align);
        match ret.u8(0).unwrap() {
            0 if shape.payload == 4 => Ok(ret.u32(4).unwrap()),
            0 => Ok(0),
            _ => Err(ret.u8(shape.payload).unwrap()),
        }
    }

    pub(crate) fn open(&mut self, dir: u32, path: &str, open: u8, flags: u8) -> Result<u32, u8> {
        let [p, l] = self.bytes(path.as_bytes());
        self.call(
            "[method]descriptor.open-at",
            &[dir.into(), 1, p, l, open.into(), flags.into(), RET.into()],
        )
        .unwrap();
        self.outcome(lower::HANDLE)
    }

    pub(crate) fn at(&mut self, name: &str, dir: u32, path: &str) -> Result<u32, u8> {
        let [p, l] = self.bytes(path.as_bytes());
        self.call(name, &[dir.into(), p, l, RET.into()]).unwrap();
        self.outcome(lower::UNIT)
    }

    pub(crate) fn write(&mut self, file: u32, data: &[u8], offset: u64) -> Result<u64, u8> {
        let [p, l] = self.bytes(data);
        self.call(
            "[method]descriptor.write",
            &[file.into(), p, l, offset as i64, RET.into()],
        )
        .unwrap();
        let ret = self.ret(16, 8);
        match ret.u8(0).unwrap() {
            0 => Ok(ret.u64(8).unwrap()),
            _ => Err(ret.u8(8).unwrap()),
        }
    }

    pub(crate) fn read(&mut self, file: u32, len: u64, offset: u64) -> Result<(Vec<u8>, bool), u8> {
        self.call(
            "[method]descriptor.read",
            &[file.into(), len as i64, offset as i64, RET.into()],
        )
        .unwrap();
        let ret = self.ret(16, 4);
        if ret.u8(0).unwrap() != 0 {
            return Err(ret.u8(4).unwrap());
        }
        let bytes =
            abi::lift_bytes(&self.memory, ret.u32(4).unwrap(), ret.u32(8).unwrap(), "l").unwrap();
        Ok((bytes, ret.u8(12).unwrap() != 0))
    }

    pub(crate) fn stat_at(
        &mut self,
        dir: u32,
        follow: bool,
        path: &str,
    ) -> Result<abi::Loaded, u8> {
        let [p, l] = self.bytes(path.as_bytes());
        self.call(
            "[method]descriptor.stat-at",
            &[dir.into(), follow.into(), p, l, RET.into()],
        )
        .unwrap();
        let ret = self.ret(104, 8);
        match ret.u8(0).unwrap() {
            0 => Ok(ret),
            _ => Err(ret.u8(8).unwrap()),
        }
    }

    pub(crate) fn abi_error(&mut self, name: &str, args: &[i64]) -> String {
        match self.call(name, args).unwrap_err().kind {
            TrapKind::Abi(message) => message,
            other => panic!("expected an ABI trap, got {other:?}"),
        }
    }
}

pub(crate) const RW: u8 = DescriptorFlags::READ | DescriptorFlags::WRITE;
pub(crate) const CREATE: u8 = OpenFlags::CREATE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_do_not_overlap_and_the_root_is_a_directory() {
        let mut g = Guest::new();
        let [a, _] = g.bytes(b"12345678");
        let [b, _] = g.bytes(b"x");
        assert!(b >= a + 8 && b % 8 == 0);
        assert!(
            (b as u32) < g.memory.next_free,
            "arguments stay below the allocator"
        );
        let root = g.root;
        g.call("[method]descriptor.get-type", &[root.into(), RET.into()])
            .unwrap();
        assert_eq!(g.ret(2, 1).u8(1).unwrap(), 3);
    }
}
