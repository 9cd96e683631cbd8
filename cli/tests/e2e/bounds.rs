//! Hostile or merely huge input stays within bounds (issue #13), in real headless Chromium:
//! one 64 MiB `writeStdin` arrives whole and in order without breaking the event ring, and
//! pause and resume still steer the guest after it; the `pollscope serve` console keeps only
//! the newest output and says so; output lent with `borrowOutput` arrives whole.
//!
//! Nothing is timed: every wait is for a condition with a generous deadline; the one fixed
//! interval (a paused guest printing nothing for 600 ms) is a window to look in.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::harness::guest;
use crate::page::Page;

/// Lines of the 64 MiB input: 65,536 numbered lines of 1,024 bytes.
const LINES: u64 = 65_536;

#[test]
fn a_64_mib_write_stdin_arrives_whole_and_pause_and_resume_still_work() {
    // The served guest idles (a tick a minute); the test runs its own io_ticker from the page.
    let mut page =
        Page::open(&guest("io_ticker"), &["60000"]).unwrap_or_else(|err| panic!("{err:#}"));
    if let Err(err) = check_huge_write(&mut page) {
        panic!("{err:#}");
    }
}

fn check_huge_write(page: &mut Page) -> Result<()> {
    const SHOWN: &str = "JSON.stringify(window.flood ?? null)";
    page.wait_until(
        "the page's own guest running",
        r#"document.querySelector('[data-testid="status"]')?.textContent === "running""#,
        r#"document.querySelector('[data-testid="status"]')?.textContent"#,
    )?;
    // A second guest from the page's loader: io_ticker ticking every 20 ms and echoing stdin
    // lines. Its output is checked as it comes (every echo in order) and only counted.
    page.eval(&format!(
        r#"(async () => {{
          // Below the page's URL: the server answers only under the run's token.
          const {{ startComponent }} = await import(new URL("pollscope/pollscope.js", document.baseURI).href);
          const state = {{ ticks: 0, echoes: 0, misordered: 0, other: [], ringErrors: [], written: false, outcome: null }};
          window.flood = state;
          const decoder = new TextDecoder();
          let partial = "";
          const guest = startComponent(new URL("app.wasm", document.baseURI).href, {{
            args: ["io_ticker", "20"],
            onStdout: (bytes) => {{
              const lines = (partial + decoder.decode(bytes, {{ stream: true }})).split("\n");
              partial = lines.pop();
              for (const line of lines) {{
                if (line.startsWith("tick ")) state.ticks++;
                else if (line.startsWith("echo: ")) {{
                  const want = String(state.echoes).padStart(8, "0") + ":" + "x".repeat(1014);
                  if (line !== "echo: " + want) state.misordered++;
                  state.echoes++;
                }} else if (state.other.length < 10) state.other.push(line.slice(0, 200));
              }}
            }},
            onStderr: (bytes) => state.other.push(decoder.decode(bytes).slice(0, 500)),
            onRingError: (reason) => state.ringErrors.push(reason),
          }});
          window.floodGuest = guest;
          guest.done.then((outcome) => (state.outcome = outcome), (error) => (state.outcome = {{ error: error.message }}));
          // 64 MiB in one call: {LINES} numbered lines of 1,024 bytes.
          const line = 1024;
          const data = new Uint8Array({LINES} * line);
          const tail = new TextEncoder().encode(":" + "x".repeat(1014) + "\n");
          for (let i = 0; i < {LINES}; i++) {{
            data.set(new TextEncoder().encode(String(i).padStart(8, "0")), i * line);
            data.set(tail, i * line + 8);
          }}
          state.size = data.length;
          await new Promise((resolve) => setTimeout(resolve, 200));
          guest.writeStdin(data).then(() => (state.written = true));
          return true;
        }})()"#
    ))?;
    page.wait_until(
        "the 64 MiB write in the ring",
        "window.flood?.written === true",
        SHOWN,
    )?;
    let size = page.eval("window.flood.size")?;
    if size.as_u64() != Some(64 << 20) {
        bail!("the write was {size} bytes, not 64 MiB");
    }

    // Pause: once the output posted before the pause has arrived, nothing more comes.
    page.eval("window.floodGuest.pause(), true")?;
    std::thread::sleep(Duration::from_millis(300));
    let count = "window.flood.ticks + window.flood.echoes";
    let paused_at = page.eval(count)?;
    std::thread::sleep(Duration::from_millis(600));
    let still = page.eval(count)?;
    if still != paused_at {
        bail!(
            "the guest printed while paused ({paused_at} → {still} lines; 30 ticks were due): {}",
            page.eval(SHOWN)?
        );
    }
    // Resume: the echoes go on to the last line, in order, and the ticks with them.
    page.eval("window.floodGuest.resume(), true")?;
    page.wait_until(
        "every line echoed after resume",
        &format!("window.flood.echoes === {LINES}"),
        SHOWN,
    )?;
    let ticks = page.eval("window.flood.ticks")?.as_u64().unwrap_or(0);
    page.wait_until(
        "ticks after the echoes",
        &format!("window.flood.ticks >= {}", ticks + 3),
        SHOWN,
    )?;
    page.eval(r#"window.floodGuest.writeStdin("quit\n"), true"#)?;
    page.wait_until("the guest's end", "window.flood.outcome !== null", SHOWN)?;
    let state = page.eval("window.flood")?;
    let outcome = &state["outcome"];
    if state["misordered"] != 0
        || state["ringErrors"].as_array().is_none_or(|e| !e.is_empty())
        || outcome["exitCode"] != 0
        || outcome.get("ringError").is_some()
        || state["other"].as_array().is_none_or(|o| {
            o.iter()
                .any(|l| l != "bye" && !l.as_str().unwrap_or_default().starts_with("ticker:"))
        })
    {
        bail!("after the 64 MiB write: {state}");
    }
    Ok(())
}

#[test]
fn the_serve_console_keeps_the_newest_output_and_says_so() {
    // 1 MiB + 123 bytes of numbered lines on stdout, then its size and hash on stderr.
    let mut page =
        Page::open(&guest("io_stdout_flood"), &[]).unwrap_or_else(|err| panic!("{err:#}"));
    let checked = (|| -> Result<()> {
        let shown = r#"[document.querySelector('[data-testid="status"]')?.textContent,
            document.querySelector('[data-testid="console"]')?.textContent.length]"#;
        page.wait_until(
            "the guest's end",
            r#"document.querySelector('[data-testid="status"]')?.textContent === "exited with code 0""#,
            shown,
        )?;
        let console = page.eval(
            r#"(() => {
              const el = document.querySelector('[data-testid="console"]');
              const note = document.querySelector('[data-testid="console-trimmed"]');
              return { length: el.textContent.length, nodes: el.childNodes.length,
                       tail: el.textContent.slice(-200), note: note.hidden ? null : note.textContent };
            })()"#,
        )?;
        let length = console["length"].as_u64().unwrap_or(0);
        let tail = console["tail"].as_str().unwrap_or_default();
        let note = console["note"].as_str().unwrap_or_default();
        // The newest 256 KiB, in a bounded number of elements, ending with the stderr line.
        if length != 256 << 10
            || console["nodes"].as_u64().unwrap_or(u64::MAX) > 2000
            || !tail.contains("bytes=1048699 fnv1a64=")
            || !note.contains("newest 256 KiB")
        {
            bail!("the console after 1 MiB of output: {console}");
        }
        Ok(())
    })();
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}

#[test]
fn borrowed_output_arrives_whole_and_in_order_through_one_reused_buffer() {
    // A second io_stdout_flood from the page's loader with `borrowOutput`: its 1 MiB + 123
    // bytes are copied out of each lent view (as a receiver that keeps them must) and hashed.
    let mut page =
        Page::open(&guest("io_stdout_flood"), &[]).unwrap_or_else(|err| panic!("{err:#}"));
    let checked = (|| -> Result<()> {
        page.eval(
            r#"(async () => {
              const { startComponent } = await import(new URL("pollscope/pollscope.js", document.baseURI).href);
              const state = { kept: [], chunks: 0, buffers: new Set(), stderr: "", outcome: null };
              window.borrowed = state;
              const decoder = new TextDecoder();
              const guest = startComponent(new URL("app.wasm", document.baseURI).href, {
                args: ["io_stdout_flood"],
                borrowOutput: true,
                onStdout: (bytes) => {
                  state.chunks++;
                  state.buffers.add(bytes.buffer);
                  state.kept.push(bytes.slice());
                },
                onStderr: (bytes) => (state.stderr += decoder.decode(bytes)),
              });
              guest.done.then((outcome) => (state.outcome = outcome), (error) => (state.outcome = { error: error.message }));
              return true;
            })()"#,
        )?;
        let shown = "JSON.stringify({ chunks: window.borrowed?.chunks, stderr: window.borrowed?.stderr, outcome: window.borrowed?.outcome })";
        page.wait_until(
            "the second guest's end",
            "window.borrowed?.outcome !== null",
            shown,
        )?;
        let got = page.eval(
            r#"(() => {
              const state = window.borrowed;
              let hash = 0xcbf29ce484222325n;
              let bytes = 0;
              for (const chunk of state.kept) {
                for (const byte of chunk) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
                bytes += chunk.length;
              }
              return { exitCode: state.outcome.exitCode ?? null, chunks: state.chunks, buffers: state.buffers.size,
                       computed: `bytes=${bytes} fnv1a64=${hash.toString(16).padStart(16, "0")}`, stderr: state.stderr };
            })()"#,
        )?;
        let computed = got["computed"].as_str().unwrap_or_default();
        let stderr = got["stderr"].as_str().unwrap_or_default();
        if got["exitCode"] != 0 || !stderr.contains(computed) {
            bail!("the page counted {computed}, the guest wrote: {got}");
        }
        // Many chunks, one buffer: each view was lent from the same reused memory.
        if got["chunks"].as_u64().unwrap_or(0) < 2 || got["buffers"] != 1 {
            bail!("borrowed output came in fresh buffers: {got}");
        }
        Ok(())
    })();
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}

#[test]
fn a_page_starts_guest_after_guest_without_running_out() {
    // Each start makes workers, rings and a guest memory; what the page keeps of a finished run
    // must go. (Rings made as shared WebAssembly.Memory objects — each reserving ~10 GiB of
    // address space while the page held it — ran out after about 100 starts.)
    const STARTS: u32 = 150;
    let mut page = Page::open(&guest("cli_hello"), &[]).unwrap_or_else(|err| panic!("{err:#}"));
    let checked = (|| -> Result<()> {
        page.eval(&format!(
            r#"(async () => {{
              const {{ startComponent }} = await import(new URL("pollscope/pollscope.js", document.baseURI).href);
              const state = {{ done: 0, failures: [] }};
              window.starts = state;
              (async () => {{
                for (let i = 0; i < {STARTS}; i++) {{
                  let stdout = "";
                  const guest = startComponent(new URL("app.wasm", document.baseURI).href, {{
                    args: ["cli_hello"],
                    onStdout: (bytes) => (stdout += new TextDecoder().decode(bytes)),
                    onStderr: () => {{}},
                  }});
                  try {{
                    const outcome = await guest.done;
                    if (outcome.exitCode !== 0 || !stdout.startsWith("args 0")) state.failures.push({{ i, outcome, stdout }});
                  }} catch (error) {{
                    state.failures.push({{ i, error: String(error) }});
                  }}
                  state.done++;
                  if (state.failures.length > 0) break;
                }}
                state.finished = true;
              }})();
              return true;
            }})()"#
        ))?;
        page.wait_until(
            "every start's end",
            "window.starts?.finished === true",
            "JSON.stringify(window.starts)",
        )?;
        let state = page.eval("window.starts")?;
        if state["done"] != STARTS || state["failures"] != serde_json::json!([]) {
            bail!("{STARTS} starts in one page: {state}");
        }
        Ok(())
    })();
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}
