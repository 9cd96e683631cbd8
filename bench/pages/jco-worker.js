// Runs one jco-transpiled guest (`jco transpile --instantiation async`, served under /jco/) on
// @bytecodealliance/preview2-shim's browser build (served under /jco-shim/), in this worker,
// once: the page makes a fresh worker per run, since the shim's stdio and args are global.
//
// Message: { guest, mode: "sync" | "jspi", args, stdin?: { bytes }, keepStdout }
// Answer:  { ok, value: { exitCode, stdout, stderr, stdoutBytes, firstStdoutAt, lastStdoutAt,
//            firstStderrAt, startAt, modulesAt, compiledAt, instantiatedAt, endAt } } with every `…At` an
//            absolute time (performance.timeOrigin + performance.now()), so the page can compare.

const at = () => performance.timeOrigin + performance.now();

// `wasi:<package>/<interface>` → the shim module `<package>.js`, export `<interfaceInCamelCase>`.
const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

self.onmessage = async ({ data: { id, guest, mode, args, stdin, keepStdout } }) => {
  try {
    const startAt = at();
    const base = `/jco/${mode}/${guest}/`;
    const [cli, clocks, io, random, filesystem, sockets] = await Promise.all(
      ["cli", "clocks", "io", "random", "filesystem", "sockets"].map((m) => import(`/jco-shim/${m}.js`)),
    );
    const shims = { cli, clocks, io, random, filesystem, sockets };
    cli._setArgs(args);
    const out = {
      stdout: "",
      stderr: "",
      stdoutBytes: 0,
      firstStdoutAt: null,
      lastStdoutAt: null,
      firstStderrAt: null,
    };
    const stdoutDecoder = new TextDecoder();
    const stderrDecoder = new TextDecoder();
    cli._setStdout({
      write(bytes) {
        const now = at();
        out.firstStdoutAt ??= now;
        out.lastStdoutAt = now;
        out.stdoutBytes += bytes.byteLength;
        if (keepStdout) out.stdout += stdoutDecoder.decode(bytes, { stream: true });
      },
      flush() {},
      blockingFlush() {},
    });
    cli._setStderr({
      write(bytes) {
        out.firstStderrAt ??= at();
        out.stderr += stderrDecoder.decode(bytes, { stream: true });
      },
      flush() {},
      blockingFlush() {},
    });
    if (stdin) {
      // The browser shim has no live stdin (its default stdin is closed): the most it can do is
      // answer blocking reads synchronously from bytes already here.
      const data = new Uint8Array(stdin.bytes).fill(0x61);
      let offset = 0;
      cli._setStdin({
        blockingRead(len) {
          if (offset >= data.length) throw { tag: "closed" };
          const n = Math.min(Number(len), data.length - offset);
          const chunk = data.slice(offset, offset + n);
          offset += n;
          return chunk;
        },
        subscribe: () => io.pollableCreate(),
      });
    }
    const bindings = await import(`${base}${guest}.js`);
    const modulesAt = at();
    const modules = new Map();
    const getCoreModule = (name) => {
      if (!modules.has(name)) {
        modules.set(name, fetch(base + name).then((r) => WebAssembly.compileStreaming(r)));
      }
      return modules.get(name);
    };
    const imports = new Proxy(
      {},
      {
        get(_, key) {
          const [pkg, iface] = String(key).replace(/@.*$/, "").replace(/^wasi:/, "").split("/");
          const value = shims[pkg]?.[camel(iface)];
          if (!value) throw new Error(`the browser shim has no ${String(key)}`);
          return value;
        },
      },
    );
    // Compile every core module first, so compiling and instantiating are timed apart.
    const files = await (await fetch(`${base}files.json`)).json();
    await Promise.all(files.map((name) => getCoreModule(name)));
    const compiledAt = at();
    const instance = await bindings.instantiate(getCoreModule, imports);
    const instantiatedAt = at();
    let exitCode = 0;
    try {
      const runExport = instance.run ?? instance["wasi:cli/run@0.2.0"];
      await runExport.run();
    } catch (error) {
      if (error?.exitError) exitCode = error.code;
      else throw error;
    }
    out.stdout += stdoutDecoder.decode();
    out.stderr += stderrDecoder.decode();
    self.postMessage({
      id,
      ok: true,
      value: { ...out, exitCode, startAt, modulesAt, compiledAt, instantiatedAt, endAt: at() },
    });
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.stack ?? error) });
  }
};

// Requests wait for this (see RpcWorker in bench.js).
self.postMessage({ ready: true });
