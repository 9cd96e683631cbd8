//! A TinyGo-shaped file session driven through the public API only, as the shim drives the
//! host: the cwd/preopen match TinyGo needs for relative paths, `os.WriteFile` (open-at with
//! create|truncate, a write stream, `blocking-write-and-flush`), `os.ReadFile` (stat, a read
//! stream, `blocking-read` until `closed`), `os.ReadDir` and `os.Remove`.

use pollscope_wasi::testing::FakePlatform;
use pollscope_wasi::{resolve, GuestMemory, Host, HostConfig, Trap, VecMemory};

const TYPES: &str = "wasi:filesystem/types@0.2.0";
const STREAMS: &str = "wasi:io/streams@0.2.0";
const RET: u32 = 0x100;
const ARG: u32 = 0x1000;

struct Guest {
    host: Host,
    memory: VecMemory,
}

impl Guest {
    fn call(&mut self, interface: &str, name: &str, args: &[i64]) -> Result<i64, Trap> {
        let func = resolve(interface, name).unwrap();
        self.host.call(func, args, &mut self.memory)
    }

    fn u8_at(&self, ptr: u32) -> u8 {
        let mut b = [0; 1];
        self.memory.read(ptr, &mut b).unwrap();
        b[0]
    }

    fn u32_at(&self, ptr: u32) -> u32 {
        let mut b = [0; 4];
        self.memory.read(ptr, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    fn u64_at(&self, ptr: u32) -> u64 {
        let mut b = [0; 8];
        self.memory.read(ptr, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn bytes_at(&self, ptr: u32, len: u32) -> Vec<u8> {
        let mut b = vec![0; len as usize];
        self.memory.read(ptr, &mut b).unwrap();
        b
    }

    fn string_at(&self, ptr: u32, len: u32) -> String {
        String::from_utf8(self.bytes_at(ptr, len)).unwrap()
    }

    /// Puts `bytes` at the argument area and returns them as (ptr, len).
    fn arg(&mut self, bytes: &[u8]) -> [i64; 2] {
        self.memory.write(ARG, bytes).unwrap();
        [ARG.into(), bytes.len() as i64]
    }

    /// `[method]descriptor.open-at` with symlink-follow; the new handle or the error code.
    fn open_at(&mut self, dir: u32, path: &str, open: i64, flags: i64) -> Result<u32, u8> {
        let [p, l] = self.arg(path.as_bytes());
        let args = [dir.into(), 1, p, l, open, flags, RET.into()];
        self.call(TYPES, "[method]descriptor.open-at", &args)
            .unwrap();
        match self.u8_at(RET) {
            0 => Ok(self.u32_at(RET + 4)),
            _ => Err(self.u8_at(RET + 4)),
        }
    }

    fn drop_descriptor(&mut self, handle: u32) {
        self.call(TYPES, "[resource-drop]descriptor", &[handle.into()])
            .unwrap();
    }

    fn write_file(&mut self, dir: u32, path: &str, data: &[u8]) {
        // O_WRONLY|O_CREATE|O_TRUNC: create | truncate, write.
        let file = self.open_at(dir, path, 0b1001, 0b10).unwrap();
        self.call(
            TYPES,
            "[method]descriptor.write-via-stream",
            &[file.into(), 0, RET.into()],
        )
        .unwrap();
        assert_eq!(self.u8_at(RET), 0);
        let out = self.u32_at(RET + 4);
        for chunk in data.chunks(4096) {
            let [p, l] = self.arg(chunk);
            let args = [out.into(), p, l, RET.into()];
            self.call(
                STREAMS,
                "[method]output-stream.blocking-write-and-flush",
                &args,
            )
            .unwrap();
            assert_eq!(self.u8_at(RET), 0, "write ok");
        }
        self.call(STREAMS, "[resource-drop]output-stream", &[out.into()])
            .unwrap();
        self.drop_descriptor(file);
    }

    fn read_file(&mut self, dir: u32, path: &str) -> Result<Vec<u8>, u8> {
        let file = self.open_at(dir, path, 0, 0b1)?;
        self.call(TYPES, "[method]descriptor.stat", &[file.into(), RET.into()])
            .unwrap();
        let size = self.u64_at(RET + 24);
        self.call(
            TYPES,
            "[method]descriptor.read-via-stream",
            &[file.into(), 0, RET.into()],
        )
        .unwrap();
        let input = self.u32_at(RET + 4);
        let mut data = Vec::new();
        loop {
            let args = [input.into(), 512, RET.into()];
            self.call(STREAMS, "[method]input-stream.blocking-read", &args)
                .unwrap();
            if self.u8_at(RET) != 0 {
                assert_eq!(self.u8_at(RET + 4), 1, "the stream ends closed, not failed");
                break;
            }
            let chunk = self.bytes_at(self.u32_at(RET + 4), self.u32_at(RET + 8));
            data.extend(chunk);
        }
        assert_eq!(data.len() as u64, size);
        self.call(STREAMS, "[resource-drop]input-stream", &[input.into()])
            .unwrap();
        self.drop_descriptor(file);
        Ok(data)
    }
}

#[test]
fn tinygo_relative_paths_work_with_the_default_config() {
    let fake = FakePlatform::new();
    let host = Host::new(HostConfig::new("files.wasm"), Box::new(fake)).unwrap();
    let mut g = Guest {
        host,
        memory: VecMemory::new(1 << 20),
    };
    let handles_at_start = g.host.live_handles();

    // TinyGo requires initial-cwd to equal a preopen's path for relative paths.
    g.call("wasi:cli/environment@0.2.0", "initial-cwd", &[RET.into()])
        .unwrap();
    assert_eq!(g.u8_at(RET), 1);
    let cwd = g.string_at(g.u32_at(RET + 4), g.u32_at(RET + 8));
    g.call(
        "wasi:filesystem/preopens@0.2.0",
        "get-directories",
        &[RET.into()],
    )
    .unwrap();
    let (list, count) = (g.u32_at(RET), g.u32_at(RET + 4));
    let preopens: Vec<(u32, String)> = (0..count)
        .map(|i| {
            let elem = list + i * 12;
            let name = g.string_at(g.u32_at(elem + 4), g.u32_at(elem + 8));
            (g.u32_at(elem), name)
        })
        .collect();
    let (dir, _) = preopens
        .iter()
        .find(|(_, name)| *name == cwd)
        .cloned()
        .expect("a preopen matches initial-cwd");

    let text: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    g.write_file(dir, "notes.txt", &text);
    assert_eq!(g.read_file(dir, "notes.txt").unwrap(), text);
    // WriteFile again truncates.
    g.write_file(dir, "notes.txt", b"short");
    assert_eq!(g.read_file(dir, "notes.txt").unwrap(), b"short");

    // os.ReadDir("."): open ".", read-directory, entries until none.
    let here = g.open_at(dir, ".", 0b10, 0b1).unwrap();
    g.call(
        TYPES,
        "[method]descriptor.read-directory",
        &[here.into(), RET.into()],
    )
    .unwrap();
    let stream = g.u32_at(RET + 4);
    let mut names = Vec::new();
    loop {
        let args = [stream.into(), RET.into()];
        g.call(
            TYPES,
            "[method]directory-entry-stream.read-directory-entry",
            &args,
        )
        .unwrap();
        assert_eq!(g.u8_at(RET), 0);
        if g.u8_at(RET + 4) == 0 {
            break;
        }
        names.push(g.string_at(g.u32_at(RET + 12), g.u32_at(RET + 16)));
    }
    assert_eq!(names, ["notes.txt"]);
    g.call(
        TYPES,
        "[resource-drop]directory-entry-stream",
        &[stream.into()],
    )
    .unwrap();
    g.drop_descriptor(here);

    // os.Remove, then the file is gone (ENOENT is no-entry, 20).
    let [p, l] = g.arg(b"notes.txt");
    g.call(
        TYPES,
        "[method]descriptor.unlink-file-at",
        &[dir.into(), p, l, RET.into()],
    )
    .unwrap();
    assert_eq!(g.u8_at(RET), 0);
    assert_eq!(g.read_file(dir, "notes.txt"), Err(20));

    for (handle, _) in preopens {
        g.drop_descriptor(handle);
    }
    assert_eq!(g.host.live_handles(), handles_at_start, "nothing leaked");
}
