//! How the loader starts a component whose bytes are still arriving (issue #14), in real
//! headless Chromium: each core module compiles while its bytes come, so the start does not
//! wait for the last byte to begin compiling; a source that is a Response or a promise of one
//! (what `fetch` gives) is read as it streams, an HTTP error says so, and a body cut short is a
//! load failure, not a hang.
//!
//! Nothing is timed: the page's stream holds the component's last byte back until the loader
//! says a core module compiled from the bytes as they came, which a loader that waits for the
//! whole body never says.

use std::path::Path;

use anyhow::{bail, Result};

use crate::harness::guest;
use crate::page::Page;
use crate::tinygo::tinygo_fixture;

/// Opens a page serving `wasm` and runs `script` there: the statements of an async function
/// that sees the loader's `startComponent` and `whole`, the served component's bytes.
fn page_with(wasm: &Path, script: &str) -> Result<Page> {
    let mut page = Page::open(wasm, &[])?;
    page.eval(&format!(
        r#"(async () => {{
          const {{ startComponent }} = await import(new URL("pollscope/pollscope.js", document.baseURI).href);
          const whole = new Uint8Array(await (await fetch(new URL("app.wasm", document.baseURI))).arrayBuffer());
          {script}
        }})()"#
    ))?;
    Ok(page)
}

#[test]
fn a_component_compiles_while_its_bytes_arrive() {
    let checked = (|| -> Result<()> {
        let mut page = page_with(
            &guest("cli_hello"),
            r#"
              const state = { traces: [], released: null, stdout: "", outcome: null };
              window.streamed = state;
              let compiledWhileArriving;
              const compiled = new Promise((resolve) => (compiledWhileArriving = resolve));
              // Chunk sizes that split section headers and their sizes' LEB128 bytes too.
              const SIZES = [1, 2, 3, 5, 4093, 65521];
              const body = new ReadableStream({
                async start(controller) {
                  // All but the last byte, a chunk per task, as from a network…
                  for (let at = 0, i = 0; at < whole.length - 1; i++) {
                    const end = Math.min(at + SIZES[i % SIZES.length], whole.length - 1);
                    controller.enqueue(whole.slice(at, end));
                    at = end;
                    await new Promise((resolve) => setTimeout(resolve, 0));
                  }
                  // …and the last one only once a core module compiled from them (or after a
                  // minute, which fails the test).
                  state.released = await Promise.race([
                    compiled.then(() => "after a core module compiled"),
                    new Promise((resolve) => setTimeout(() => resolve("after 60 s without a compiled core module"), 60_000)),
                  ]);
                  controller.enqueue(whole.slice(whole.length - 1));
                  controller.close();
                },
              });
              const guest = startComponent(new Response(body), {
                args: ["cli_hello", "0", "streamed"],
                onTrace: (what) => {
                  state.traces.push(what);
                  if (what.startsWith("core module") && what.includes("while it arrived")) compiledWhileArriving();
                },
                onStdout: (bytes) => (state.stdout += new TextDecoder().decode(bytes)),
                onStderr: () => {},
              });
              guest.done.then((outcome) => (state.outcome = outcome), (error) => (state.outcome = { error: error.message }));
              return true;"#,
        )?;
        page.wait_until(
            "the streamed guest's end",
            "window.streamed?.outcome !== null",
            "JSON.stringify(window.streamed)",
        )?;
        let state = page.eval("window.streamed")?;
        if state["released"] != "after a core module compiled" {
            bail!("the last byte went out {}: {state}", state["released"]);
        }
        // cli_hello has three core modules (the program and wit-component's two shims): the
        // page compiled every one, none lost to a header split across chunks.
        let traces = state["traces"].as_array().cloned().unwrap_or_default();
        if !traces.iter().any(|t| t == "compiled 3 core modules") {
            bail!("the page did not compile all three core modules: {state}");
        }
        let stdout = state["stdout"].as_str().unwrap_or_default();
        if state["outcome"]["exitCode"] != 0
            || stdout != "args 2\narg 1: \"0\"\narg 2: \"streamed\"\n"
        {
            bail!("the streamed guest: {state}");
        }
        Ok(())
    })();
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}

#[test]
fn a_failed_fetch_or_a_body_cut_short_fails_the_start_with_its_reason() {
    let checked = (|| -> Result<()> {
        let mut page = page_with(
            &guest("cli_hello"),
            r#"
              const outcome = (guest) => guest.done.then((done) => ({ done }), (error) => ({ error: error.message }));
              const quiet = { onStdout: () => {}, onStderr: () => {} };
              // A promise of a Response, as fetch() gives it.
              const missing = startComponent(fetch(new URL("no-such-component.wasm", document.baseURI)), quiet);
              // A body that ends halfway through the first core module.
              const cut = startComponent(new Response(new ReadableStream({
                start(controller) {
                  controller.enqueue(whole.slice(0, whole.length >> 1));
                  controller.close();
                },
              })), quiet);
              window.failed = { missing: await outcome(missing), cut: await outcome(cut) };
              return true;"#,
        )?;
        page.wait_until(
            "both starts' ends",
            "window.failed !== undefined",
            "JSON.stringify(window.failed ?? null)",
        )?;
        let failed = page.eval("window.failed")?;
        let missing = failed["missing"]["error"].as_str().unwrap_or_default();
        if !missing.contains("no-such-component.wasm") || !missing.contains("HTTP 404") {
            bail!("a missing component: {failed}");
        }
        if failed["cut"]["error"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            bail!("a component cut short did not fail its start: {failed}");
        }
        Ok(())
    })();
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}

#[test]
fn a_tinygo_program_arriving_seven_bytes_at_a_time_still_gets_the_tinygo_shim() {
    // The loader looks for TinyGo's marks as the bytes arrive: in 7-byte chunks, every mark
    // (14 and 18 bytes) is split across chunks.
    let checked = (|| -> Result<()> {
        let mut page = page_with(
            &tinygo_fixture("tinygo_sleepers"),
            r#"
              const body = new ReadableStream({
                start(controller) {
                  for (let at = 0; at < whole.length; at += 7) controller.enqueue(whole.slice(at, at + 7));
                  controller.close();
                },
              });
              const traces = [];
              const guest = startComponent(new Response(body), {
                onTrace: (what) => traces.push(what),
                onStdout: () => {},
                onStderr: () => {},
              });
              const outcome = await guest.done.then((done) => done, (error) => ({ error: error.message }));
              window.chunked = { traces, outcome };
              return true;"#,
        )?;
        page.wait_until(
            "the chunked TinyGo program's end",
            "window.chunked !== undefined",
            "JSON.stringify(window.chunked ?? null)",
        )?;
        let chunked = page.eval("window.chunked")?;
        let traces = chunked["traces"].as_array().cloned().unwrap_or_default();
        if chunked["outcome"]["exitCode"] != 0
            || !traces.iter().any(|t| t == "compiled pollscope_shim_tinygo")
        {
            bail!("a TinyGo program streamed in 7-byte chunks: {chunked}");
        }
        Ok(())
    })();
    checked.unwrap_or_else(|err| panic!("{err:#}"));
}
