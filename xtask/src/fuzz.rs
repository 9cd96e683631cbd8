//! `cargo xtask fuzz [--seconds N] [--merge] [TARGET…]`: coverage-guided fuzzing with
//! cargo-fuzz (libFuzzer) of everything that reads untrusted bytes (see `fuzz/` and
//! docs/FUZZING.md).
//!
//! Installs the pinned cargo-fuzz when it is missing, builds every target once, then runs
//! each for N seconds (default 60). The committed corpus (`fuzz/corpus/<target>`) seeds each
//! run; what the fuzzer finds goes to a working corpus in `fuzz/target/corpus/<target>`
//! (kept between local runs, never committed). `--merge` afterwards adds to the committed
//! corpus only the inputs that reach new edges (libFuzzer's `-set_cover_merge=1`).
//!
//! cargo-fuzz needs nightly flags (`-Zsanitizer`, sancov passes); this machine has only the
//! stable toolchain, so its cargo runs with `RUSTC_BOOTSTRAP=1`. No sanitizer: the fuzzed
//! crates have no unsafe code, and without ASan a target runs two to three times as many
//! inputs; debug assertions and overflow checks stay on.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{cargo, root, run};

/// Every target in `fuzz/fuzz_targets`, in the order they run.
pub const TARGETS: [&str; 5] = [
    "component_translate",
    "protocol_decode",
    "tinygo_read",
    "ring_consume",
    "wasi_host_call",
];

/// cargo-fuzz from crates.io, pinned.
const CARGO_FUZZ: &str = "0.13.2";

/// Seconds per target when none are given.
const DEFAULT_SECONDS: u64 = 60;

/// One input running longer than this is reported as a hang (a crash).
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// How one target's run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The target's name.
    pub target: String,
    /// Inputs run.
    pub executions: u64,
    /// libFuzzer's `cov:` (covered edges) and `ft:` (features) at the end.
    pub coverage: Option<(u64, u64)>,
    /// Inputs in the working corpus at the end.
    pub corpus: Option<u64>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// What went wrong, with the reproducer when libFuzzer saved one.
    pub crash: Option<Crash>,
}

/// A failed run.
#[derive(Debug)]
pub struct Crash {
    /// libFuzzer's saved input (`fuzz/artifacts/<target>/crash-…`), if any.
    pub reproducer: Option<PathBuf>,
    /// The panic message or libFuzzer's error line, and the lines of stack after it.
    pub report: Vec<String>,
}

/// `cargo xtask fuzz …`.
pub fn command(args: &[String]) -> Result<()> {
    let mut seconds = DEFAULT_SECONDS;
    let mut merge = false;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .with_context(|| format!("--seconds {value}: not a number"))?;
            }
            "--merge" => merge = true,
            name if TARGETS.contains(&name) => targets.push(name.to_string()),
            other => bail!(
                "unknown fuzz argument `{other}` (usage: cargo xtask fuzz [--seconds N] \
                 [--merge] [{}…])",
                TARGETS.join("|")
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    let outcomes = fuzz(&targets, seconds)?;
    if merge {
        for outcome in outcomes.iter().filter(|o| o.crash.is_none()) {
            merge_corpus(&outcome.target)?;
        }
    }
    let crashed = outcomes.iter().filter(|o| o.crash.is_some()).count();
    if crashed > 0 {
        bail!("{crashed} fuzz target(s) crashed");
    }
    Ok(())
}

/// Installs cargo-fuzz, builds every target and runs each of `targets` for `seconds`,
/// printing one line per target (and the report of a crash). A crash is an outcome, not an
/// error; an error is something that kept the fuzzer from running at all.
pub fn fuzz(targets: &[String], seconds: u64) -> Result<Vec<Outcome>> {
    install()?;
    let started = Instant::now();
    run(fuzz_cargo().args(["build", "--fuzz-dir", "fuzz", "--sanitizer", "none"]))
        .context("building the fuzz targets")?;
    println!(
        "fuzz: targets built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut outcomes = Vec::new();
    for target in targets {
        let outcome = run_target(target, seconds)?;
        println!("{}", summary(&outcome));
        if let Some(crash) = &outcome.crash {
            for line in &crash.report {
                println!("    {line}");
            }
            if let Some(path) = &crash.reproducer {
                println!(
                    "    reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz \
                     --sanitizer none {target} {}",
                    path.display()
                );
            }
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// One line: `fuzz: ring_consume: ok, 181110 runs in 41 s, cov 751 ft 4106, corpus 503`.
fn summary(o: &Outcome) -> String {
    let coverage = o.coverage.map_or("cov ? ft ?".to_string(), |(cov, ft)| {
        format!("cov {cov} ft {ft}")
    });
    let corpus = o.corpus.map_or(String::new(), |n| format!(", corpus {n}"));
    let status = match &o.crash {
        None => "ok".to_string(),
        Some(Crash {
            reproducer: Some(path),
            ..
        }) => format!("CRASH ({})", path.display()),
        Some(_) => "FAILED".to_string(),
    };
    format!(
        "fuzz: {}: {status}, {} runs in {:.0} s, {coverage}{corpus}",
        o.target, o.executions, o.seconds
    )
}

/// cargo with the toolchain gate open for cargo-fuzz's nightly flags.
fn fuzz_cargo() -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    cmd
}

/// `cargo install cargo-fuzz` at the pinned version unless `cargo fuzz` is that version.
fn install() -> Result<()> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(CARGO_FUZZ));
    if installed {
        return Ok(());
    }
    println!("xtask: installing cargo-fuzz {CARGO_FUZZ} from crates.io (for cargo xtask fuzz)");
    let spec = format!("cargo-fuzz@{CARGO_FUZZ}");
    run(cargo().args(["install", "--locked", &spec]))
        .or_else(|_| run(cargo().args(["install", &spec])))
}

fn working_corpus(target: &str) -> PathBuf {
    root().join("fuzz/target/corpus").join(target)
}

fn committed_corpus(target: &str) -> PathBuf {
    root().join("fuzz/corpus").join(target)
}

/// Runs `target` for `seconds`, reading libFuzzer's output as it comes (kept whole in
/// `fuzz/target/logs/<target>.log`).
fn run_target(target: &str, seconds: u64) -> Result<Outcome> {
    let working = working_corpus(target);
    std::fs::create_dir_all(&working)?;
    let logs = root().join("fuzz/target/logs");
    std::fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{target}.log"));
    let started = Instant::now();
    let artifacts = root().join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    // The binary `cargo fuzz build` made, run as `cargo fuzz run` would (without building
    // again: sources changing meanwhile do not matter).
    let mut child = Command::new(binary(target)?)
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1")
        .arg(&working)
        .arg(committed_corpus(target))
        .current_dir(root().join("fuzz"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting fuzz target {target}"))?;
    let stderr = child.stderr.take().expect("piped");
    let mut log = Vec::new();
    for line in BufReader::new(stderr).lines() {
        log.push(line?);
    }
    let status = child.wait()?;
    std::fs::write(&log_path, log.join("\n") + "\n")?;
    let mut outcome = parse(target, &log);
    outcome.seconds = started.elapsed().as_secs_f64();
    if !status.success() && outcome.crash.is_none() {
        outcome.crash = Some(Crash {
            reproducer: None,
            report: vec![format!(
                "the fuzz target exited with {status}; see {}",
                log_path.display()
            )],
        });
    }
    if let Some(crash) = &mut outcome.crash {
        crash.reproducer = crash.reproducer.take().map(|p| relative(&p));
    }
    Ok(outcome)
}

/// The fuzz target's binary as `cargo fuzz build` leaves it (release, for the host).
fn binary(target: &str) -> Result<PathBuf> {
    let out = Command::new("rustc").arg("-vV").output()?;
    let info = String::from_utf8_lossy(&out.stdout);
    let host = info
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .context("rustc -vV names no host")?;
    let path = root()
        .join("fuzz/target")
        .join(host.trim())
        .join("release")
        .join(target);
    if !path.is_file() {
        bail!("{} was not built", path.display());
    }
    Ok(path)
}

/// A path under the repository, as seen from its root (`fuzz/artifacts/…`).
fn relative(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root().join("fuzz").join(path)
    };
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let root = root().canonicalize().unwrap_or_else(|_| root());
    absolute
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .unwrap_or(absolute)
}

/// Reads libFuzzer's stderr: the last status line's counters, the final stats, and a crash.
fn parse(target: &str, log: &[String]) -> Outcome {
    let mut outcome = Outcome {
        target: target.to_string(),
        ..Outcome::default()
    };
    let mut report: Option<Vec<String>> = None;
    let mut reproducer = None;
    for line in log {
        // `#181110\tDONE   cov: 751 ft: 4106 corp: 503/87Kb lim: 613 exec/s: 4417 rss: 463Mb`
        if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            let runs = words.next().and_then(|n| n.parse().ok());
            let (mut cov, mut ft) = (None, None);
            while let Some(word) = words.next() {
                match word {
                    "cov:" => cov = words.next().and_then(|n| n.parse().ok()),
                    "ft:" => ft = words.next().and_then(|n| n.parse().ok()),
                    "corp:" => {
                        outcome.corpus =
                            words.next().and_then(|n| n.split('/').next()?.parse().ok())
                    }
                    _ => {}
                }
            }
            if let (Some(runs), Some(cov), Some(ft)) = (runs, cov, ft) {
                outcome.executions = runs;
                outcome.coverage = Some((cov, ft));
            }
        } else if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            if let Ok(n) = n.trim().parse() {
                outcome.executions = n;
            }
        } else if let Some(path) = line.split("Test unit written to ").nth(1).map(str::trim) {
            reproducer = Some(PathBuf::from(path));
        } else if line.contains("panicked at")
            || line.starts_with("==") && line.contains("ERROR: libFuzzer")
        {
            report
                .get_or_insert_with(Vec::new)
                .push(line.trim().to_string());
        } else if let Some(lines) = &mut report {
            // The panic message and the top of the stack.
            if lines.len() < 16 && !line.starts_with("note:") {
                lines.push(line.trim_end().to_string());
            }
        }
    }
    if report.is_some() || reproducer.is_some() {
        outcome.crash = Some(Crash {
            reproducer,
            report: report.unwrap_or_default(),
        });
    }
    outcome
}

/// Adds to the committed corpus the working corpus's inputs that reach new coverage.
fn merge_corpus(target: &str) -> Result<()> {
    let committed = committed_corpus(target);
    let before = count_files(&committed);
    // A greedy set cover over edges alone (not hit counts): a few hundred inputs per target
    // instead of thousands.
    run(Command::new(binary(target)?)
        .args(["-set_cover_merge=1", "-use_counters=0"])
        .arg(&committed)
        .arg(working_corpus(target))
        .stderr(Stdio::null()))?;
    println!(
        "fuzz: {target}: committed corpus {before} → {} inputs",
        count_files(&committed)
    );
    Ok(())
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn reads_a_clean_run() {
        let log = lines(
            "INFO: Seed: 1\n\
             #2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb\n\
             #181110\tDONE   cov: 751 ft: 4106 corp: 503/87Kb lim: 613 exec/s: 4417 rss: 463Mb\n\
             Done 181110 runs in 41 second(s)\n\
             stat::number_of_executed_units: 181111\n",
        );
        let o = parse("ring_consume", &log);
        assert_eq!(o.executions, 181111);
        assert_eq!(o.coverage, Some((751, 4106)));
        assert_eq!(o.corpus, Some(503));
        assert!(o.crash.is_none());
    }

    #[test]
    fn reads_a_crash_with_its_reproducer() {
        let log = lines(
            "#1000\tNEW    cov: 700 ft: 4000 corp: 400/80Kb lim: 600 exec/s: 0 rss: 40Mb L: 9/9 MS: 1 X-\n\
             \n\
             thread '<unnamed>' (8214) panicked at core/ring/src/producer.rs:343:9:\n\
             attempt to add with overflow\n\
             stack backtrace:\n\
             ==8214== ERROR: libFuzzer: deadly signal\n\
             artifact_prefix='/r/fuzz/artifacts/ring_consume/'; Test unit written to /r/fuzz/artifacts/ring_consume/crash-1b32\n",
        );
        let o = parse("ring_consume", &log);
        assert_eq!(o.coverage, Some((700, 4000)));
        let crash = o.crash.expect("a crash");
        assert_eq!(
            crash.reproducer,
            Some(PathBuf::from("/r/fuzz/artifacts/ring_consume/crash-1b32"))
        );
        assert_eq!(
            crash.report[..2],
            [
                "thread '<unnamed>' (8214) panicked at core/ring/src/producer.rs:343:9:",
                "attempt to add with overflow"
            ]
        );
    }
}
