//! The npm package, used as a user would: packed from the built assets (`target/web`, which
//! `cargo xtask test` builds first), `npm install`ed from its tarball into a fresh project
//! (offline), type-checked against its `pollscope.d.ts`, and imported by package name through a
//! bundler-free import map in headless Chromium, where it runs real guests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use pollscope_test_support::chromium::Chromium;
use pollscope_test_support::{built_guest, node_module, repo_root};
use serde_json::{json, Value};
use xtask::npm_package::{self, NAME, VERSION};

/// How long Chromium may take to start, and the page to run its guests, on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(90);

/// Every member of the guest handle `startComponent` returns: the page checks the real handle
/// has exactly these, and the type check that `GuestHandle` declares exactly these.
const HANDLE_MEMBERS: [&str; 16] = [
    "closeStdin",
    "done",
    "exportTrace",
    "panelCommand",
    "pause",
    "restart",
    "resume",
    "ringSnapshot",
    "setTimeScale",
    "snapshot",
    "step",
    "stop",
    "subscribe",
    "terminate",
    "unsubscribe",
    "writeStdin",
];

/// Every option of `startComponent`: the loader's scripts read exactly these (`options.<name>`),
/// and the type check that `StartOptions` declares exactly these.
const OPTION_NAMES: [&str; 19] = [
    "args",
    "asyncifyRecorder",
    "baseUrl",
    "borrowOutput",
    "cwd",
    "dirs",
    "env",
    "files",
    "onFromWasm",
    "onMessage",
    "onRestart",
    "onRingError",
    "onStderr",
    "onStdout",
    "onTelemetry",
    "onTrace",
    "preopens",
    "ringCapacity",
    "telemetry",
];

/// Every counter of a `RingSnapshot`: a finished run's `done` carries exactly these (`ring`),
/// and the type check that `RingSnapshot` declares exactly these.
const RING_COUNTERS: [&str; 10] = [
    "backlog",
    "bytesIn",
    "bytesOut",
    "capacity",
    "highWater",
    "mtu",
    "packetsIn",
    "packetsOut",
    "stalls",
    "used",
];

#[test]
fn npm_package_installs_type_checks_and_runs_guests_from_an_import_map() {
    let work = ScratchDir::new("npm-package");
    let project = match install_package(&work) {
        Ok(project) => project,
        Err(err) => panic!("{err:#}"),
    };
    let installed = project.join("node_modules").join(NAME);

    check_manifest(&installed);
    check_exports_match_types(&project, &installed);
    check_options_read_match_types(&installed);
    type_check(&project);
    if let Err(err) = run_guests_in_chromium(&project) {
        panic!("{err:#}");
    }
}

/// Packs the package (twice: the bytes must not change) and `npm install`s its tarball,
/// offline, into a new project in `work`; returns the project's folder.
fn install_package(work: &ScratchDir) -> Result<PathBuf> {
    let web_dir = repo_root().join("target/web");
    let tarball = npm_package::pack(&web_dir, &work.join("staging"), &work.join("packed"))?;
    // The same assets make the same tarball (npm pack fixes mtimes and order), so a package
    // can be checked against the sources it claims to come from.
    let again = npm_package::pack(&web_dir, &work.join("staging"), &work.join("packed-again"))?;
    if std::fs::read(&tarball)? != std::fs::read(&again)? {
        bail!("packing the same assets twice gave two different tarballs");
    }
    let project = work.join("project");
    std::fs::create_dir_all(&project)?;
    std::fs::write(
        project.join("package.json"),
        json!({ "name": "uses-pollscope", "private": true, "type": "module" }).to_string(),
    )?;
    let output = Command::new("npm")
        .args(["install", "--offline", "--no-audit", "--no-fund", "--cache"])
        .arg(work.join("npm-cache"))
        .arg(&tarball)
        .current_dir(&project)
        .output()
        .context("running npm install")?;
    if !output.status.success() {
        bail!(
            "npm install {} failed ({}):\n{}",
            tarball.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(project)
}

/// The installed package.json: the workspace's version, and `exports`, `types` and `files`
/// naming files that are there.
fn check_manifest(installed: &Path) {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(installed.join("package.json"))
            .expect("an installed package.json"),
    )
    .expect("package.json is JSON");
    assert_eq!(manifest["name"], NAME);
    assert_eq!(manifest["version"], VERSION);
    let root = &manifest["exports"]["."];
    assert_eq!(root["types"], "./pollscope.d.ts", "exports: {manifest:#}");
    assert_eq!(root["default"], "./pollscope.js", "exports: {manifest:#}");
    let mut named: Vec<&str> = vec![
        root["types"].as_str().unwrap_or_default(),
        root["default"].as_str().unwrap_or_default(),
        manifest["types"].as_str().unwrap_or_default(),
    ];
    let files = manifest["files"]
        .as_array()
        .expect("package.json lists `files`");
    named.extend(files.iter().filter_map(Value::as_str));
    for file in named {
        assert!(
            installed.join(file).is_file(),
            "package.json names {file}, which the installed package lacks"
        );
    }
}

/// What Node imports by the package's name has exactly the value exports `pollscope.d.ts`
/// declares (a new export of the loader needs its type).
fn check_exports_match_types(project: &Path, installed: &Path) {
    let imported = node_module(
        &format!("console.log(JSON.stringify(Object.keys(await import({NAME:?})).sort()))"),
        project,
    );
    let imported: Vec<String> = serde_json::from_str(imported.trim()).expect("a JSON list");
    let types = std::fs::read_to_string(installed.join("pollscope.d.ts")).expect("the types");
    let mut declared: Vec<String> = types
        .lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("export declare const ")
                .or_else(|| line.strip_prefix("export declare function "))?;
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            Some(rest[..end].to_string())
        })
        .collect();
    declared.sort();
    assert_eq!(
        imported, declared,
        "the loader's exports (left) and npm/pollscope.d.ts's (right) differ: an export added \
         to or removed from host-shim/js/pollscope.js needs its type there too"
    );
}

/// The options the loader's scripts read are [`OPTION_NAMES`] (which the type check holds
/// `StartOptions` to).
fn check_options_read_match_types(installed: &Path) {
    let mut read = std::collections::BTreeSet::new();
    for script in ["pollscope.js", "agent.js"] {
        let source = std::fs::read_to_string(installed.join(script)).expect("the loader's script");
        for (at, _) in source.match_indices("options.") {
            let rest = &source[at + "options.".len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            read.insert(rest[..end].to_string());
        }
    }
    let read: Vec<String> = read.into_iter().collect();
    assert_eq!(
        read, OPTION_NAMES,
        "the options the loader reads (left) are not this test's OPTION_NAMES (right): an option \
         added to or removed from host-shim/js/pollscope.js needs its type in \
         npm/pollscope.d.ts (StartOptions) and its name in OPTION_NAMES"
    );
}

/// `tsc --strict` on a module that uses the whole API by the package's name (resolved through
/// `exports`' `types` condition), and that must fail to compile where it misuses it.
fn type_check(project: &Path) {
    let tsc = repo_root().join("target/tools/node_modules/typescript/bin/tsc");
    assert!(
        tsc.is_file(),
        "TypeScript is not installed at {}: `cargo xtask test` installs it (or `cargo xtask setup`)",
        tsc.display()
    );
    // `{ a: true, b: true }`: the names as an object literal's keys.
    let keys = |names: &[&str]| {
        let fields: Vec<String> = names.iter().map(|name| format!("{name}: true")).collect();
        format!("{{ {} }}", fields.join(", "))
    };
    let check = format!(
        r#"import {{ startComponent, runComponent, isolationProblem, DEFAULT_RING_CAPACITY, STDIN_CHUNK }} from "{NAME}";
import type {{ GuestHandle, Outcome, RingSnapshot, StartOptions, TelemetryMessage }} from "{NAME}";

const options: StartOptions = {{
  args: ["app"], env: {{ GREETING: "hi" }}, files: {{ "/a.txt": "text", "/b.bin": new Uint8Array([1]) }},
  onStdout: (bytes: Uint8Array) => void bytes.byteLength, onStderr: (bytes) => void bytes.length,
  onTelemetry: (message: TelemetryMessage) => void message.type, onTrace: (what: string) => void what,
  onRingError: (reason: string) => void reason, asyncifyRecorder: true, telemetry: false,
  onFromWasm: (json: string, message: TelemetryMessage) => void [json.length, message.v],
  onRestart: () => undefined, cwd: null, dirs: ["/work"],
  preopens: ["/tmp", {{ name: ".", path: "/work", writable: false }}],
  ringCapacity: DEFAULT_RING_CAPACITY, baseUrl: new URL("https://example.test/pollscope/"),
}};
const guest: GuestHandle = startComponent("app.wasm", options);
await guest.writeStdin("a line\n");
await guest.writeStdin(new Uint8Array(STDIN_CHUNK));
guest.closeStdin(); guest.pause(); guest.resume(); guest.step(); guest.setTimeScale(0.1);
guest.subscribe({{ detail: true, replay: true }}); guest.unsubscribe(); guest.snapshot();
guest.panelCommand(JSON.stringify({{ v: 1, type: "pause" }}));
const trace: string = await guest.exportTrace();
const counters: RingSnapshot | null = await guest.ringSnapshot();
const again: GuestHandle = guest.restart({{ asyncifyRecorder: true }});
const {{ exitCode, trap, ring, ringError }} = await again.done;
const code: number | null = exitCode;
const why: string | undefined = trap?.message;
const line: number | null | undefined = trap?.frames?.[0]?.line;
const stalls: number | undefined = ring?.stalls;
const broke: string | undefined = ringError;
const problem: string | null = isolationProblem();
const outcome: Outcome = await runComponent(new Uint8Array(8).buffer);
guest.stop();
guest.terminate();
void [trace, counters, code, why, line, stalls, broke, problem, outcome];

// Exactly the handle's members: one missing or one extra does not compile.
export const members = {members} satisfies Record<keyof GuestHandle, true>;
// Exactly the options, likewise.
export const optionNames = {options} satisfies Record<keyof StartOptions, true>;
export const ringCounters = {counters} satisfies Record<keyof RingSnapshot, true>;

// Misuse does not compile (an error expected here that does not happen fails the check).
// @ts-expect-error: a component is bytes or a URL
startComponent(42);
// @ts-expect-error: no such option
startComponent("app.wasm", {{ argv: ["app"] }});
// @ts-expect-error: a preopen in full needs the path of its tree
startComponent("app.wasm", {{ preopens: [{{ name: "/data" }}] }});
// @ts-expect-error: stdin is text or bytes
await guest.writeStdin({{ line: "x" }});
// @ts-expect-error: a restarted run has no exit code
const certain: number = (await guest.done).exitCode;
void certain;
"#,
        members = keys(&HANDLE_MEMBERS),
        options = keys(&OPTION_NAMES),
        counters = keys(&RING_COUNTERS),
    );
    std::fs::write(project.join("check.ts"), check).expect("writing check.ts");
    let config = json!({
        "compilerOptions": {
            "strict": true, "noEmit": true, "target": "es2022", "lib": ["es2022", "dom"],
            "module": "nodenext", "moduleResolution": "nodenext", "types": []
        },
        "files": ["check.ts"]
    });
    std::fs::write(project.join("tsconfig.json"), config.to_string()).expect("writing tsconfig");
    let output = Command::new("node")
        .arg(&tsc)
        .args(["--project", "tsconfig.json", "--pretty", "false"])
        .current_dir(project)
        .output()
        .expect("running tsc with node");
    assert!(
        output.status.success(),
        "tsc rejected check.ts or pollscope.d.ts:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Serves the project (cross-origin isolated) with a page that imports the package through an
/// import map and runs `cli_hello` (twice: exit 0, then, from the loader's start cache, exit
/// status 3 → exit code 1; then as other bytes, and with the start cache failing), and the
/// TinyGo-shaped `tinygo_sleepers` (which the loader runs on the package's TinyGo shim build).
fn run_guests_in_chromium(project: &Path) -> Result<()> {
    std::fs::copy(built_guest("cli_hello")?, project.join("cli_hello.wasm"))?;
    let tinygo = repo_root().join("target/fixtures/tinygo_sleepers.wasm");
    if !tinygo.is_file() {
        bail!(
            "{} is missing: run `cargo xtask fixtures` (`cargo xtask test` does)",
            tinygo.display()
        );
    }
    std::fs::copy(&tinygo, project.join("tinygo_sleepers.wasm"))?;
    std::fs::write(project.join("index.html"), PAGE.replace("PACKAGE", NAME))?;

    let site = IsolatedSite::serve(project)?;
    let mut chromium = Chromium::start(&site.url, &[], TIMEOUT)?;
    let page = chromium.page_target(&site.url)?;
    let session = chromium.cdp.attach(&page)?;
    let deadline = Instant::now() + TIMEOUT;
    // Until the page's module has run (an error while the page loads is "not yet").
    while chromium
        .cdp
        .evaluate(&session, "window.outcome !== undefined")
        .ok()
        != Some(json!(true))
    {
        if Instant::now() > deadline {
            bail!(
                "the page's module never ran (did the import map resolve?)\n{}",
                chromium.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let outcome = chromium.cdp.evaluate(&session, "window.outcome")?;
    let show = || format!("{outcome:#}\n--- chromium log ---\n{}", chromium.log_tail());
    if outcome.get("error").is_some() {
        bail!("the page failed: {}", show());
    }

    // Exit code and exact output of each cli_hello run (its arguments and HELLO_ variables echoed).
    let ran = |run: &str| {
        json!([
            outcome[run]["exitCode"],
            outcome[run]["stdout"],
            outcome[run]["stderr"]
        ])
    };
    let expected = [
        (
            "hello",
            json!([0, "args 0\nenv HELLO_FROM=\"npm\"\n", "hello stderr\n"]),
        ),
        (
            "failing",
            json!([
                1,
                "args 1\narg 1: \"3\"\nenv HELLO_FROM=\"npm\"\n",
                "hello stderr\n"
            ]),
        ),
    ];
    for (run, expected) in expected {
        if ran(run) != expected
            || (run == "hello" && ran("changed") != expected)
            || (run == "hello" && ran("cacheBroken") != expected)
        {
            bail!(
                "cli_hello ({run}): expected [exit code, stdout, stderr] {expected}: {}",
                show()
            );
        }
    }
    let hello = &outcome["hello"];
    if hello["counters"] != json!(RING_COUNTERS) {
        bail!(
            "the finished run's ring counters are not {RING_COUNTERS:?}: a counter added or \
             removed needs its type in npm/pollscope.d.ts (RingSnapshot) and its name in this \
             test's RING_COUNTERS: {}",
            show()
        );
    }
    if hello["members"] != json!(HANDLE_MEMBERS) {
        bail!(
            "the handle's members are not {HANDLE_MEMBERS:?}: a member added to or removed \
             from startComponent's handle needs its type in npm/pollscope.d.ts (GuestHandle) \
             and its name in this test's HANDLE_MEMBERS: {}",
            show()
        );
    }
    // Each guest ran on the shim build meant for it, loaded from the package's own folder.
    if !hello["trace"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("wasm thread loaded pollscope_shim")))
    {
        bail!(
            "cli_hello did not run on the default shim build: {}",
            show()
        );
    }
    // The loader's start cache: the second start of the same bytes skipped parsing them; other
    // bytes, and a start whose cache fails, were parsed.
    let traced = |run: &str, what: &str| {
        outcome[run]["trace"]
            .as_array()
            .is_some_and(|t| t.contains(&json!(what)))
    };
    for (run, what) in [
        // Guest memory reached wasm to wasm (memory_bridge.rs), not through JavaScript.
        ("hello", "guest memory 0 bridged"),
        ("tinygo", "guest memory 0 bridged"),
        ("hello", "component translated"),
        ("failing", "component translation from the start cache"),
        ("changed", "component translated"),
        ("cacheBroken", "component translated"),
    ] {
        if !traced(run, what) {
            bail!("the {run} run did not trace {what:?}: {}", show());
        }
    }
    let tinygo = &outcome["tinygo"];
    let tinygo_done = tinygo["exitCode"] == 0
        && tinygo["stdout"]
            .as_str()
            .is_some_and(|s| s.ends_with("main done\n"))
        && tinygo["trace"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("wasm thread loaded pollscope_shim_tinygo")));
    if !tinygo_done {
        bail!(
            "tinygo_sleepers did not run to `main done` on the TinyGo shim build: {}",
            show()
        );
    }
    Ok(())
}

/// The test page: the package by name through an import map, no bundler. `window.outcome`
/// resolves with each guest's exit code, output and start-up trace.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>pollscope from npm</title>
<script type="importmap">{ "imports": { "PACKAGE": "./node_modules/PACKAGE/pollscope.js" } }</script>
<script type="module">
  import { startComponent } from "PACKAGE";

  async function run(wasm, args, argv0 = wasm) {
    const text = { stdout: "", stderr: "" };
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const trace = [];
    const guest = startComponent(wasm, {
      args: [argv0, ...args],
      env: { HELLO_FROM: "npm" },
      onStdout: (bytes) => (text.stdout += decoders.stdout.decode(bytes, { stream: true })),
      onStderr: (bytes) => (text.stderr += decoders.stderr.decode(bytes, { stream: true })),
      onTrace: (what) => trace.push(what),
    });
    const { exitCode, ring } = await guest.done;
    const counters = Object.keys(ring ?? {}).sort();
    return { exitCode, ...text, trace, members: Object.keys(guest).sort(), counters };
  }

  // cli_hello with a custom section appended: other bytes (so another start-cache key), the
  // same program.
  async function changedHello() {
    const bytes = new Uint8Array(await (await fetch("cli_hello.wasm")).arrayBuffer());
    const name = new TextEncoder().encode("changed");
    const section = Uint8Array.of(0, name.length + 2, name.length, ...name, 1);
    const changed = new Uint8Array(bytes.length + section.length);
    changed.set(bytes);
    changed.set(section, bytes.length);
    return changed;
  }

  window.outcome = (async () => {
    const { START_CACHE } = await import("PACKAGE");
    await caches.delete(START_CACHE);
    const outcome = {
      hello: await run("cli_hello.wasm", []),
      // The same bytes again: a warm start (the translation from the start cache).
      failing: await run("cli_hello.wasm", ["3"]),
      changed: await run(await changedHello(), [], "cli_hello.wasm"),
      tinygo: await run("tinygo_sleepers.wasm", []),
    };
    // A start cache that fails on every call: a cold start, not a failed one.
    for (const method of ["match", "put", "keys", "delete"]) {
      Cache.prototype[method] = () => Promise.reject(new Error("cache broken on purpose"));
    }
    outcome.cacheBroken = await run("cli_hello.wasm", []);
    return outcome;
  })().catch((error) => ({ error: String(error?.stack ?? error) }));
</script>
"#;

/// A static server for one folder, with the cross-origin isolation headers SharedArrayBuffer
/// needs on every response; stopped when dropped.
struct IsolatedSite {
    server: Arc<tiny_http::Server>,
    /// `http://127.0.0.1:<port>/`.
    url: String,
}

impl IsolatedSite {
    fn serve(dir: &Path) -> Result<IsolatedSite> {
        let server = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|err| anyhow!("binding 127.0.0.1: {err}"))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .ok_or_else(|| anyhow!("the server has no TCP port"))?;
        let server = Arc::new(server);
        let (serving, dir) = (Arc::clone(&server), dir.to_path_buf());
        std::thread::spawn(move || {
            for request in serving.incoming_requests() {
                let response = static_file(&dir, request.url());
                let _ = request.respond(response);
            }
        });
        Ok(IsolatedSite {
            server,
            url: format!("http://127.0.0.1:{port}/"),
        })
    }
}

impl Drop for IsolatedSite {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// The file at `url`'s path under `dir` (`/` is `index.html`), or 404.
fn static_file(dir: &Path, url: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    let inside = path
        .split('/')
        .all(|part| part != ".." && !part.contains('\\'));
    let file = dir.join(path.trim_start_matches('/'));
    let Some(bytes) = inside.then(|| std::fs::read(&file).ok()).flatten() else {
        return tiny_http::Response::from_data(Vec::new()).with_status_code(404);
    };
    let content_type = match file.extension().and_then(|ext| ext.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    [
        ("Content-Type", content_type),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    .into_iter()
    .fold(
        tiny_http::Response::from_data(bytes),
        |response, (name, value)| {
            response
                .with_header(tiny_http::Header::from_bytes(name, value).expect("a valid header"))
        },
    )
}

/// A fresh folder under the system's temporary directory, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(name: &str) -> ScratchDir {
        let path = std::env::temp_dir().join(format!("pollscope-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a scratch folder");
        ScratchDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
