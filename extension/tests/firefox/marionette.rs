//! A minimal Marionette client: headless Firefox driven over its own protocol (length-prefixed
//! JSON on a local socket), enough to install a temporary add-on, open pages and run scripts in
//! the page or in the browser's privileged context.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use pollscope_test_support::lifetime::{ScratchDir, Tied};
use serde_json::{json, Value};

/// How long Firefox may take to start on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a script runs.
#[derive(Debug, Clone, Copy)]
pub enum Where {
    /// The page.
    Content,
    /// The browser's privileged JavaScript (DevTools, add-ons).
    Chrome,
}

/// A headless Firefox with a fresh profile, ended with all its processes (and its profile
/// removed) when dropped or when the test binary ends in any way (`pollscope_test_support::lifetime`).
pub struct Firefox {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: u64,
    // Last: closed (on drop) after the connection.
    _process: Tied,
}

impl Firefox {
    /// Starts `binary` headless with Marionette on a port it picks, and opens a session.
    pub fn start(binary: &Path) -> Result<Firefox> {
        let profile = ScratchDir::new("pollscope-firefox").context("creating a Firefox profile")?;
        std::fs::write(
            profile.path().join("user.js"),
            "user_pref(\"marionette.port\", 0);\n",
        )?;
        let mut command = Command::new(binary);
        command
            .args([
                "--headless",
                "--marionette",
                "-remote-allow-system-access",
                "-no-remote",
            ])
            .arg("--profile")
            .arg(profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = Tied::spawn(command, profile)
            .with_context(|| format!("starting {}", binary.display()))?;
        let port_file = process.dir().join("MarionetteActivePort");
        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|text| text.trim().parse::<u16>().ok())
            {
                break port;
            }
            if Instant::now() > deadline {
                bail!(
                    "Firefox wrote no {} within {START_TIMEOUT:?}",
                    port_file.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).context("connecting to Marionette")?;
        stream.set_read_timeout(Some(START_TIMEOUT))?;
        let mut firefox = Firefox {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_id: 1,
            _process: process,
        };
        firefox.read_packet().context("Marionette's greeting")?;
        firefox.call("WebDriver:NewSession", json!({ "capabilities": {} }))?;
        Ok(firefox)
    }

    /// Sends `name` and returns its result; a Marionette error is an `Err` with its message.
    pub fn call(&mut self, name: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let text = json!([0, id, name, params]).to_string();
        write!(self.writer, "{}:{text}", text.len())?;
        loop {
            let reply = self.read_packet()?;
            if reply[0] == 1 && reply[1] == id {
                if !reply[2].is_null() {
                    bail!(
                        "{name}: {}",
                        reply[2]["message"].as_str().unwrap_or("error")
                    );
                }
                return Ok(reply[3]["value"].clone());
            }
        }
    }

    /// Installs the add-on at `path` (a zip or folder) until the browser closes.
    pub fn install_temporary(&mut self, path: &Path) -> Result<String> {
        let id = self.call("Addon:Install", json!({ "path": path, "temporary": true }))?;
        id.as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("Addon:Install gave no id: {id}"))
    }

    /// Opens `url` in the current tab.
    pub fn navigate(&mut self, url: &str) -> Result<()> {
        self.call("WebDriver:Navigate", json!({ "url": url }))
            .map(drop)
    }

    /// Runs `script` (a function body; it may return a promise) in `context`.
    pub fn script(&mut self, context: Where, script: &str) -> Result<Value> {
        let value = match context {
            Where::Content => "content",
            Where::Chrome => "chrome",
        };
        self.call("Marionette:SetContext", json!({ "value": value }))?;
        self.call(
            "WebDriver:ExecuteScript",
            json!({ "script": script, "args": [] }),
        )
    }

    fn read_packet(&mut self) -> Result<Value> {
        let mut length = Vec::new();
        self.reader.read_until(b':', &mut length)?;
        let length: usize = std::str::from_utf8(length.strip_suffix(b":").unwrap_or(&length))
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| anyhow!("Marionette sent no packet length"))?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        serde_json::from_slice(&body).context("a Marionette packet that is not JSON")
    }
}
