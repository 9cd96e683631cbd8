//! `pollscope serve`: the page and every asset come with the cross-origin isolation headers
//! SharedArrayBuffer needs, and with the content types browsers insist on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use crate::harness::{guest, pollscope};

/// Minimal HTTP/1.0 GET (no chunked encoding to undo): (status line, lowercase headers, body).
fn get(addr: &str, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect to pollscope serve");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, response[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn serve_sends_isolation_headers_and_wasm_content_type() {
    let mut child = pollscope()
        .args(["serve", "--port", "0"])
        .arg(guest("cli_hello"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split(" at ")
        .nth(1)
        .expect("serve prints its URL")
        .trim();
    // http://127.0.0.1:PORT/<token>/: everything is served below the run's token.
    let (addr, prefix) = url
        .trim_start_matches("http://")
        .split_once('/')
        .expect("a URL with a path");
    let (addr, prefix) = (addr.to_string(), format!("/{prefix}"));

    for (path, content_type) in [
        ("", "text/html"),
        ("pollscope/pollscope.js", "text/javascript"),
        ("pollscope/pollscope_shim_bg.wasm", "application/wasm"),
        ("app.wasm", "application/wasm"),
    ] {
        let path = &format!("{prefix}{path}");
        let (status, headers, body) = get(&addr, path);
        assert!(status.contains(" 200"), "{path}: {status}");
        assert!(!body.is_empty(), "{path}: empty body");
        assert_eq!(
            header(&headers, "cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "cross-origin-embedder-policy"),
            Some("require-corp"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "cross-origin-resource-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert!(
            header(&headers, "content-type").is_some_and(|t| t.starts_with(content_type)),
            "{path}: {headers:?}"
        );
    }
    let (status, _, body) = get(&addr, &format!("{prefix}app.wasm"));
    assert!(status.contains(" 200"));
    // Compared as a bool: a mismatch must not print megabytes.
    assert!(
        body == std::fs::read(guest("cli_hello")).unwrap(),
        "serves the component byte for byte"
    );
    let (status, _, _) = get(&addr, &format!("{prefix}pollscope/../../etc/passwd"));
    assert!(status.contains(" 404"), "{status}");
    let _ = child.kill();
    let _ = child.wait();
}
