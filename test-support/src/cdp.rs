//! A raw Chrome DevTools Protocol client over the browser's websocket.
//!
//! One connection to the browser target; page, DevTools-window and iframe targets are reached
//! through flat sessions ([`Cdp::attach`]), so every command and event names its session.
//! Synchronous and single-threaded: a command waits for its answer, and events that arrive
//! meanwhile are kept (the newest [`MAX_KEPT_EVENTS`]) for [`Cdp::wait_event`].
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use pollscope_test_support::cdp::Cdp;
//! let mut cdp = Cdp::connect("ws://127.0.0.1:9222/devtools/browser/…")?;
//! let target = cdp.call(None, "Target.createTarget", serde_json::json!({ "url": "about:blank" }))?;
//! let session = cdp.attach(target["targetId"].as_str().unwrap_or_default())?;
//! let title = cdp.evaluate(&session, "document.title")?;
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// Longest a command may go unanswered (a hung browser, not a slow one).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Events kept for [`Cdp::wait_event`]; older ones are dropped first.
pub const MAX_KEPT_EVENTS: usize = 10_000;
/// How often a blocked read wakes to check its deadline.
const POLL: Duration = Duration::from_millis(100);

/// `ws://…/devtools/browser/…` of a Chromium started with `--remote-debugging-port=0` on the
/// profile `profile`: it picks a port and writes it to the profile's `DevToolsActivePort`.
/// Waits up to `timeout` for the file.
pub fn browser_url(profile: &std::path::Path, timeout: Duration) -> Result<String> {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return Ok(format!("ws://127.0.0.1:{}{}", port.trim(), path.trim()));
            }
        }
        if Instant::now() > deadline {
            bail!("Chromium wrote no {} within {timeout:?}", file.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A protocol event.
#[derive(Debug, Clone)]
pub struct Event {
    /// e.g. `Target.targetCreated`.
    pub method: String,
    /// Its parameters.
    pub params: Value,
    /// The flat session it came from; `None` for the browser target.
    pub session: Option<String>,
}

/// A connection to the browser target.
pub struct Cdp {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    events: VecDeque<Event>,
}

impl Cdp {
    /// Connects to a `ws://127.0.0.1:<port>/devtools/browser/<id>` URL.
    pub fn connect(url: &str) -> Result<Cdp> {
        let address = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| anyhow!("not a ws:// URL: {url}"))?;
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        let (socket, _) = tungstenite::client(url, stream)
            .map_err(|err| anyhow!("websocket handshake with {url}: {err}"))?;
        // Reads wake up to check deadlines (after the handshake, which must not be interrupted).
        socket.get_ref().set_read_timeout(Some(POLL))?;
        Ok(Cdp {
            socket,
            next_id: 1,
            events: VecDeque::new(),
        })
    }

    /// Sends `method` (to `session`, or the browser target) and waits for its result; a
    /// protocol error is an `Err` with its message.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .with_context(|| format!("sending {method}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let Some(message) = self.read(deadline)? else {
                bail!("{method}: no answer within {CALL_TIMEOUT:?}");
            };
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    bail!("{method}: {}", error["message"].as_str().unwrap_or("error"));
                }
                return Ok(message["result"].clone());
            }
            self.keep_event(message);
        }
    }

    /// The first event (kept or new) for which `matches` holds, removed from the kept ones;
    /// fails at `deadline` naming `what`.
    pub fn wait_event(
        &mut self,
        what: &str,
        deadline: Instant,
        mut matches: impl FnMut(&Event) -> bool,
    ) -> Result<Event> {
        if let Some(at) = self.events.iter().position(&mut matches) {
            return Ok(self.events.remove(at).expect("found"));
        }
        loop {
            let Some(message) = self.read(deadline)? else {
                bail!("no event {what} before the deadline");
            };
            if let Some(event) = to_event(&message) {
                if matches(&event) {
                    return Ok(event);
                }
                self.push_event(event);
            }
        }
    }

    /// Attaches to `target_id` with a flat session; returns the session id.
    pub fn attach(&mut self, target_id: &str) -> Result<String> {
        let result = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )?;
        result["sessionId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("Target.attachToTarget gave no sessionId: {result}"))
    }

    /// Evaluates `expression` in `session` (awaiting a promise) and returns its value; a thrown
    /// exception is an `Err` with its description.
    pub fn evaluate(&mut self, session: &str, expression: &str) -> Result<Value> {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .unwrap_or("exception");
            bail!("evaluating `{}`: {text}", shorten(expression));
        }
        Ok(result["result"]["value"].clone())
    }

    /// Every target the browser knows (`Target.getTargets`).
    pub fn targets(&mut self) -> Result<Vec<Value>> {
        let result = self.call(None, "Target.getTargets", json!({}))?;
        Ok(result["targetInfos"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The next protocol message, or `None` at `deadline`.
    fn read(&mut self, deadline: Instant) -> Result<Option<Value>> {
        loop {
            if Instant::now() >= deadline {
                return Ok(None);
            }
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str(text.as_str())
                        .map(Some)
                        .context("a CDP message that is not JSON");
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(err))
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(err) => return Err(anyhow!("reading from the browser: {err}")),
            }
        }
    }

    fn keep_event(&mut self, message: Value) {
        if let Some(event) = to_event(&message) {
            self.push_event(event);
        }
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() == MAX_KEPT_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

fn to_event(message: &Value) -> Option<Event> {
    Some(Event {
        method: message["method"].as_str()?.to_owned(),
        params: message["params"].clone(),
        session: message["sessionId"].as_str().map(str::to_owned),
    })
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(120).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
