//! Hostile input cannot reach the user's machine (issue #13): the local server of a real `run`
//! refuses what other pages could send it — a cross-origin POST to the terminal or the exit, a
//! rebound `Host`, a request without the run's token — while the run goes on unharmed; `serve`
//! prints a URL with a token on a port the OS chose; `--dir` loads neither symbolic-link
//! loops nor anything outside the directory; and the component's renderer is sandboxed, also
//! when `pollscope` runs as root.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use crate::data::TempDir;
use crate::harness::{guest, pollscope, Invocation};

/// Sends `request` (which says `Connection: close`) and returns the answer's status code.
fn status_of(addr: &str, request: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect to pollscope's server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(request.as_bytes());
    // Bytes: a body may be binary (the component).
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

/// A request with a body, as a page's `fetch(url, { method, body })` sends it, plus `extra`
/// header lines.
fn request(method: &str, path: &str, host: &str, extra: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The page URL `pollscope run` (process `pid`) gave its Chromium: the browser is its child,
/// and the URL its last argument.
fn run_page_url(pid: u32) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // pid (comm) state ppid …: comm may hold spaces, so split after its ')'.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            if parent != Some(pid) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            if let Some(url) = cmdline
                .split(|&b| b == 0)
                .map(String::from_utf8_lossy)
                .find(|arg| arg.starts_with("http://127.0.0.1:"))
            {
                return url.into_owned();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no Chromium child of pollscope {pid} with a page URL"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `(host:port, /<token>/)` of a page URL.
fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let slash = rest.find('/').expect("a path");
    (rest[..slash].to_string(), rest[slash..].to_string())
}

#[test]
fn a_run_refuses_other_origins_rebound_hosts_and_requests_without_its_token() {
    let mut running = Invocation::new(guest("io_ticker")).args(["60000"]).spawn();
    running.wait_for_line("ticker: every 60000 ms; type a line (quit to stop)");
    let url = run_page_url(running.pid());
    let (addr, prefix) = split_url(&url);
    let token = prefix.trim_matches('/');
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "the page URL {url} carries no 128-bit token"
    );
    let port = addr.rsplit(':').next().unwrap();
    let own = format!("Origin: http://{addr}\r\n");
    // Escape sequences a page would like to put on the user's terminal.
    let injected = "INJECTED\x1b]0;pwned\x07\x1b[2J";

    let refusals = [
        // Another page on this machine (same site, another port) that somehow knows the
        // token, as Chromium sends its cross-origin fetch: 403.
        (
            request(
                "POST",
                &format!("{prefix}output/1"),
                &addr,
                "Origin: http://127.0.0.1:9\r\nSec-Fetch-Site: same-site\r\n",
                injected,
            ),
            403,
            "a cross-origin POST to the terminal",
        ),
        (
            request(
                "POST",
                &format!("{prefix}exit"),
                &addr,
                "Origin: http://attacker.example\r\nSec-Fetch-Site: cross-site\r\n",
                r#"{"code":0,"trap":null,"error":null}"#,
            ),
            403,
            "a cross-origin POST of a fake exit",
        ),
        (
            request("POST", &format!("{prefix}output/2"), &addr, "", injected),
            403,
            "a POST without Origin",
        ),
        (
            request(
                "GET",
                &format!("{prefix}stdin"),
                &addr,
                "Sec-Fetch-Site: cross-site\r\n",
                "",
            ),
            403,
            "a cross-site GET taking stdin",
        ),
        // DNS rebinding: the attacker's name resolves to 127.0.0.1 and the browser sends it as
        // Host (same-origin for the attacker's page, so it carries no Origin): 400.
        (
            request(
                "GET",
                &format!("{prefix}app.wasm"),
                &format!("attacker.example:{port}"),
                "",
                "",
            ),
            400,
            "a rebound Host reading the component",
        ),
        (
            request(
                "POST",
                &format!("{prefix}output/1"),
                &format!("attacker.example:{port}"),
                &format!("Origin: http://attacker.example:{port}\r\n"),
                injected,
            ),
            400,
            "a rebound Host posting to the terminal",
        ),
        // No token, or another one: 403, whatever else is right.
        (
            request("POST", "/output/1", &addr, &own, injected),
            403,
            "a POST without the token",
        ),
        (
            request("GET", "/config.json", &addr, "", ""),
            403,
            "a GET without the token",
        ),
        (
            request(
                "GET",
                "/0123456789abcdef0123456789abcdef/app.wasm",
                &addr,
                "",
                "",
            ),
            403,
            "a GET with another token",
        ),
    ];
    for (request, want, what) in &refusals {
        let got = status_of(&addr, request);
        assert_eq!(got, *want, "{what}: got {got}, want {want}");
    }

    // The run goes on: stdin still reaches the guest (nothing drained it), and it ends as
    // asked, with none of the refused bytes on its terminal.
    running.write_stdin(b"still here\n");
    running.wait_for_line("echo: still here");
    running.write_stdin(b"quit\n");
    let finished = running.finish();
    if finished.code() != 0 {
        finished.fail("expected io_ticker to end with 0 on quit");
    }
    if finished.stdout().contains("INJECTED") || finished.stderr().contains("INJECTED") {
        finished.fail("a refused request reached the terminal");
    }
}

#[test]
fn serve_prints_a_url_with_a_token_on_a_port_the_os_chose() {
    let mut child = pollscope()
        .arg("serve")
        .arg(guest("cli_hello"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = Vec::new();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        first.push(byte[0]);
    }
    let first = String::from_utf8_lossy(&first).into_owned();
    let url = first
        .split(" at ")
        .nth(1)
        .unwrap_or_else(|| panic!("serve printed no URL: {first:?}"))
        .trim()
        .to_string();
    let (addr, prefix) = split_url(&url);
    let result = std::panic::catch_unwind(|| {
        assert_ne!(
            addr, "127.0.0.1:8000",
            "serve still defaults to a fixed port"
        );
        assert!(
            prefix.len() == 34
                && prefix
                    .trim_matches('/')
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit()),
            "{url} carries no 128-bit token"
        );
        let get = |path: &str, host: &str| status_of(&addr, &request("GET", path, host, "", ""));
        assert_eq!(get(&prefix, &addr), 200, "the printed URL");
        assert_eq!(get(&format!("{prefix}app.wasm"), &addr), 200);
        assert_eq!(get("/", &addr), 403, "the root without the token");
        assert_eq!(
            get("/app.wasm", &addr),
            403,
            "the component without the token"
        );
        assert_eq!(
            get(&format!("{prefix}app.wasm"), "attacker.example"),
            400,
            "a rebound Host"
        );
        // serve's page is its own console: the routes to a terminal are not there at all, and
        // a cross-origin POST is refused before any route is looked at.
        let post = |extra: &str| {
            status_of(
                &addr,
                &request("POST", &format!("{prefix}output/1"), &addr, extra, "x"),
            )
        };
        assert_eq!(post("Origin: http://attacker.example\r\n"), 403);
        assert_eq!(post(&format!("Origin: http://{addr}\r\n")), 404);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A `--dir` holding loops (to itself, to its parent, to itself by name) and links out (a
/// folder, a file, `../..`): the guest gets the links as links, never followed at load (as
/// wasmtime shows them, issue #12), so nothing from outside reaches it, and the write-back
/// leaves them as they were. Before issue #13, loops were followed level after level (a stack
/// overflow) and the links out handed the guest files from anywhere.
#[test]
fn a_dir_with_symlink_loops_and_escapes_gives_only_what_is_inside() {
    let outside = TempDir::new("outside");
    let secret = outside.write("secret.txt", "the host's secret");
    let host = TempDir::new("links");
    host.write("input.txt", "preloaded line 1\npreloaded line 2\n");
    host.write("nested/deep.txt", "deep");
    let link = |name: &str, target: &std::path::Path| {
        std::os::unix::fs::symlink(target, host.path().join(name)).unwrap();
    };
    link("loop", std::path::Path::new("."));
    link("nested/up", std::path::Path::new(".."));
    link("self", std::path::Path::new("self"));
    link("escape", outside.path());
    link("secret.txt", &secret);
    link("nested/far", std::path::Path::new("../.."));

    // fs_ops works in a scratch `/` beside `/data` (the guest has exactly its --dirs).
    let scratch = TempDir::new("links-scratch");
    let run = Invocation::new(guest("fs_ops"))
        .dir(scratch.path(), "/")
        .dir(host.path(), "/data")
        .run();
    if run.code() != 0 {
        run.fail("fs_ops with links in its --dir");
    }
    let stdout = run.stdout();
    for want in [
        "list data: escape(link) input.txt(file) loop(link) nested(dir) secret.txt(link) self(link)\n",
        "read data/input.txt: \"preloaded line 1\\npreloaded line 2\\n\"\n",
        "read data/nested/deep.txt: \"deep\"\n",
        "done\n",
    ] {
        if !stdout.contains(want) {
            run.fail(&format!("expected {want:?} in the transcript"));
        }
    }
    if !run.stderr.is_empty() {
        run.fail("expected nothing on stderr: no link is left out, and the write-back keeps them");
    }
    for (name, target) in [
        ("loop", std::path::PathBuf::from(".")),
        ("nested/up", "..".into()),
        ("self", "self".into()),
        ("escape", outside.path().to_path_buf()),
        ("secret.txt", secret.clone()),
        ("nested/far", "../..".into()),
    ] {
        if std::fs::read_link(host.path().join(name)).ok() != Some(target) {
            run.fail(&format!("the host's link {name} changed"));
        }
    }
    if stdout.contains("the host's secret") {
        run.fail("a file outside the --dir reached the guest");
    }
}

/// What `/proc` says of process `pid`: its process group, command line and `Seccomp:` mode.
fn process_facts(pid: u32) -> Option<(u32, String, Option<u32>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp …
    let group = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let seccomp = status
        .lines()
        .find_map(|line| line.strip_prefix("Seccomp:"))
        .and_then(|mode| mode.trim().parse().ok());
    Some((group, cmdline, seccomp))
}

/// The component runs in a sandboxed renderer, also as root (these machines and CI): no
/// Chromium process of the run has `--no-sandbox`, and every renderer is under a seccomp-bpf
/// filter (`Seccomp: 2`) in a user namespace other than the browser's.
#[test]
fn a_runs_renderers_are_sandboxed() {
    let mut running = Invocation::new(guest("io_ticker")).args(["60000"]).spawn();
    running.wait_for_line("ticker: every 60000 ms; type a line (quit to stop)");
    let url = run_page_url(running.pid());
    // The browser leads its own process group: find it by the URL it was given.
    let mut group = Vec::new();
    let mut browser = None;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some((pgrp, cmdline, seccomp)) = process_facts(pid) {
            if pgrp == pid && cmdline.contains(&url) {
                browser = Some(pid);
            }
            group.push((pid, pgrp, cmdline, seccomp));
        }
    }
    let browser = browser.expect("the browser process");
    let members: Vec<_> = group.into_iter().filter(|p| p.1 == browser).collect();
    // Read while they run.
    let user_ns = |pid: u32| std::fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    let browser_ns = user_ns(browser);
    let renderers: Vec<_> = members
        .iter()
        .filter(|p| p.2.contains("--type=renderer"))
        .map(|p| (p, user_ns(p.0)))
        .collect();
    running.write_stdin(b"quit\n");
    let finished = running.finish();
    if finished.stderr().contains("WITHOUT its sandbox") {
        finished.fail("this machine grants root no user namespace: Chromium ran unsandboxed");
    }
    assert!(
        members.iter().all(|p| !p.2.contains("--no-sandbox")),
        "a Chromium process with --no-sandbox: {members:?}"
    );
    assert!(!renderers.is_empty(), "no renderer in {members:?}");
    assert!(browser_ns.is_some());
    for ((pid, _, cmdline, seccomp), namespace) in renderers {
        assert_eq!(
            *seccomp,
            Some(2),
            "renderer {pid} has no seccomp filter: {cmdline}"
        );
        assert!(
            namespace.is_some(),
            "renderer {pid} gone before it was looked at"
        );
        assert_ne!(
            namespace, browser_ns,
            "renderer {pid} shares the browser's user namespace"
        );
    }
}
