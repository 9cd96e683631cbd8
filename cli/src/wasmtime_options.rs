//! The `wasmtime run` options that are not about the guest's world (issue #12): the option
//! groups `-O`, `-C`, `-D`, `-W`, `-S`, `-R` (`KEY[=VAL][,KEY[=VAL]…]`, repeatable) and the
//! run flags scripts and toolchains pass (`--invoke`, `--preload`, `--profile`, …), so a
//! `wasmtime run` command line runs under `pollscope run` unchanged.
//!
//! Each is honoured where it means something in a browser (`-S inherit-env`, `-W timeout`),
//! accepted and ignored where it does not (compiler tuning, sockets a page cannot open, memory
//! limits the browser sets), and refused with a reason where ignoring it would run something
//! else than asked (`--invoke`, `--preload`, `-W component-model=n`, WASIp3). `-W` and `-S`
//! keys are checked against wasmtime's names, so a typo fails as it does under wasmtime.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;

/// wasmtime's option groups and run flags.
#[derive(Debug, Args, Default)]
pub struct WasmtimeOptions {
    /// wasmtime optimization options (`-O KEY[=VAL]`): accepted, ignored (the browser compiles).
    #[arg(short = 'O', long = "optimize", value_name = "KEY[=VAL[,..]]")]
    optimize: Vec<String>,
    /// wasmtime codegen options (`-C`): accepted, ignored.
    #[arg(short = 'C', long = "codegen", value_name = "KEY[=VAL[,..]]")]
    codegen: Vec<String>,
    /// wasmtime debug options (`-D`): accepted, ignored.
    #[arg(short = 'D', long = "debug", value_name = "KEY[=VAL[,..]]")]
    debug: Vec<String>,
    /// wasmtime wasm options (`-W`): `timeout=DUR` is honoured; `component-model=n` is refused;
    /// the others (features, limits, fuel) are accepted and ignored.
    #[arg(short = 'W', long = "wasm", value_name = "KEY[=VAL[,..]]")]
    wasm: Vec<String>,
    /// wasmtime WASI options (`-S`): `inherit-env` is honoured; `p3`, `tcplisten`, `listenfd`
    /// are refused; the others (`cli`, `inherit-network`, `allow-ip-name-lookup`, `tcp`, `udp`,
    /// `http`, …) are accepted and ignored: a page has no sockets and no DNS.
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VAL[,..]]")]
    wasi: Vec<String>,
    /// wasmtime execution recording (`-R`): accepted, ignored.
    #[arg(short = 'R', long = "record", value_name = "KEY[=VAL[,..]]")]
    record: Vec<String>,
    /// wasmtime's profiler (`--profile`): accepted, ignored (use the DevTools panel).
    #[arg(long, value_name = "STRATEGY")]
    profile: Option<String>,
    /// wasmtime's precompiled modules: accepted, ignored (only components run here).
    #[arg(long)]
    allow_precompiled: bool,
    /// wasmtime's TOML configuration file: accepted, ignored.
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// wasmtime's compilation target: accepted, ignored.
    #[arg(long, value_name = "TARGET")]
    target: Option<String>,
    /// Refused: only a component's `wasi:cli/run` runs here.
    #[arg(long, value_name = "FUNCTION")]
    invoke: Option<String>,
    /// Refused, as wasmtime refuses it for components.
    #[arg(long = "preload", value_name = "NAME=MODULE_PATH")]
    preload: Vec<String>,
}

/// What the options change about a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Settings {
    /// `-S inherit-env`: the guest gets `pollscope`'s whole environment (`--env` still wins).
    pub inherit_env: bool,
    /// `-W timeout=DUR`: the guest is stopped after this long, as a trap (exit 134).
    pub timeout: Option<Duration>,
}

/// `-W` keys wasmtime knows (`wasmtime run -W help`).
const WASM_KEYS: &[&str] = &[
    "nan-canonicalization",
    "fuel",
    "epoch-interruption",
    "max-wasm-stack",
    "async-stack-size",
    "async-stack-zeroing",
    "unknown-exports-allow",
    "unknown-imports-trap",
    "unknown-imports-default",
    "wmemcheck",
    "max-memory-size",
    "max-table-elements",
    "max-instances",
    "max-tables",
    "max-memories",
    "trap-on-grow-failure",
    "timeout",
    "all-proposals",
    "bulk-memory",
    "multi-memory",
    "multi-value",
    "reference-types",
    "simd",
    "relaxed-simd",
    "relaxed-simd-deterministic",
    "tail-call",
    "threads",
    "shared-memory",
    "shared-everything-threads",
    "memory64",
    "component-model",
    "component-model-async",
    "component-model-async-builtins",
    "component-model-async-stackful",
    "component-model-threading",
    "component-model-error-context",
    "component-model-gc",
    "function-references",
    "stack-switching",
    "gc",
    "custom-page-sizes",
    "wide-arithmetic",
    "extended-const",
    "exceptions",
    "gc-support",
    "component-model-fixed-length-lists",
    "concurrency-support",
];

/// `-S` keys wasmtime knows (`wasmtime run -S help`).
const WASI_KEYS: &[&str] = &[
    "cli",
    "cli-exit-with-code",
    "common",
    "nn",
    "threads",
    "http",
    "http-outgoing-body-buffer-chunks",
    "http-outgoing-body-chunk-size",
    "config",
    "keyvalue",
    "listenfd",
    "tcplisten",
    "tls",
    "preview2",
    "nn-graph",
    "inherit-network",
    "allow-ip-name-lookup",
    "tcp",
    "udp",
    "network-error-code",
    "preview0",
    "inherit-env",
    "config-var",
    "keyvalue-in-memory-data",
    "p3",
    "max-resources",
    "hostcall-fuel",
    "max-random-size",
    "max-http-fields-size",
];

impl WasmtimeOptions {
    /// Checks every option and returns what they change, or why one cannot be honoured.
    pub fn settings(&self) -> Result<Settings> {
        if let Some(function) = &self.invoke {
            bail!(
                "--invoke {function}: pollscope runs a command component's `wasi:cli/run`; it \
                 cannot call other exports"
            );
        }
        if !self.preload.is_empty() {
            bail!("--preload cannot be used with components (as in wasmtime)");
        }
        let mut settings = Settings::default();
        for (key, value) in pairs(&self.wasm) {
            if !WASM_KEYS.contains(&key) {
                bail!("-W {key}: not a wasmtime wasm option (see `wasmtime run -W help`)");
            }
            match key {
                "timeout" => {
                    let value =
                        value.ok_or_else(|| anyhow::anyhow!("-W timeout needs a duration"))?;
                    settings.timeout = Some(parse_duration(value)?);
                }
                "component-model" if !flag(key, value)? => {
                    bail!("-W component-model=n: pollscope runs components only")
                }
                _ => {}
            }
        }
        for (key, value) in pairs(&self.wasi) {
            if !WASI_KEYS.contains(&key) {
                bail!("-S {key}: not a wasmtime WASI option (see `wasmtime run -S help`)");
            }
            match key {
                "inherit-env" => settings.inherit_env = flag(key, value)?,
                "p3" if flag(key, value)? => {
                    bail!("-S p3: WASIp3 is not supported (WASI 0.2 only)")
                }
                "tcplisten" => bail!("-S tcplisten: components do not support it (as in wasmtime)"),
                "listenfd" if flag(key, value)? => {
                    bail!("-S listenfd: components do not support it (as in wasmtime)")
                }
                _ => {}
            }
        }
        Ok(settings)
    }
}

/// `KEY[=VAL]` pairs of comma-separated option values.
fn pairs(values: &[String]) -> impl Iterator<Item = (&str, Option<&str>)> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (item, None),
        })
}

/// A boolean option: bare or `y`/`yes`/`true` is on, `n`/`no`/`false` off (wasmtime's words).
fn flag(key: &str, value: Option<&str>) -> Result<bool> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(other) => bail!("{key}={other}: expected y, yes, true, n, no or false"),
    }
}

/// wasmtime's durations: a number of seconds, or a number with `ns`, `us`, `ms`, `s`, `m`, `h`.
fn parse_duration(text: &str) -> Result<Duration> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("-W timeout={text}: not a duration (e.g. 10s, 500ms)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1e3,
        "us" => number / 1e6,
        "ns" => number / 1e9,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => bail!("-W timeout={text}: unknown unit `{unit}` (ns, us, ms, s, m, h)"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(wasm: &[&str], wasi: &[&str]) -> WasmtimeOptions {
        WasmtimeOptions {
            wasm: wasm.iter().map(|s| s.to_string()).collect(),
            wasi: wasi.iter().map(|s| s.to_string()).collect(),
            ..WasmtimeOptions::default()
        }
    }

    #[test]
    fn tinygos_options_are_accepted() {
        let settings = options(
            &["component-model"],
            &["inherit-network", "allow-ip-name-lookup"],
        )
        .settings()
        .unwrap();
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn honoured_options_change_the_run() {
        let settings = options(
            &["timeout=1500ms,max-memory-size=65536"],
            &["cli,inherit-env=y"],
        )
        .settings()
        .unwrap();
        assert!(settings.inherit_env);
        assert_eq!(settings.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(
            !options(&[], &["inherit-env=n"])
                .settings()
                .unwrap()
                .inherit_env
        );
    }

    #[test]
    fn unknown_and_unhonourable_options_are_refused_by_name() {
        for (wasm, wasi, said) in [
            (
                &["no-such-thing"][..],
                &[][..],
                "-W no-such-thing: not a wasmtime wasm option",
            ),
            (
                &[],
                &["inherit-networks"],
                "-S inherit-networks: not a wasmtime WASI option",
            ),
            (&["component-model=n"], &[], "components only"),
            (&[], &["p3"], "WASIp3"),
            (&[], &["tcplisten=127.0.0.1:80"], "tcplisten"),
            (&["timeout=soon"], &[], "not a duration"),
            (&[], &["inherit-env=maybe"], "expected y, yes"),
        ] {
            let err = options(wasm, wasi).settings().unwrap_err().to_string();
            assert!(err.contains(said), "{err}");
        }
        let invoke = WasmtimeOptions {
            invoke: Some("main".into()),
            ..WasmtimeOptions::default()
        };
        assert!(invoke
            .settings()
            .unwrap_err()
            .to_string()
            .contains("--invoke main"));
    }
}
