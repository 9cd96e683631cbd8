//! The demo guest: ticks on a timer and echoes stdin lines, waiting for both at once in one
//! `wasi:io/poll.poll` — the shape of a Go program's idle scheduler loop.
//!
//! Args: `[interval_ms] [ticks]` (default 1000 ms, forever). Ends after `ticks` ticks, at stdin
//! EOF, or on the line `quit`.

use wasi::clocks::monotonic_clock;
use wasi::io::poll::poll;
use wasi::io::streams::StreamError;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let interval_ms: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let max_ticks: Option<u64> = args.get(2).and_then(|a| a.parse().ok());
    let stdin = wasi::cli::stdin::get_stdin();
    let stdout = wasi::cli::stdout::get_stdout();
    let say = |text: String| {
        stdout
            .blocking_write_and_flush(text.as_bytes())
            .expect("stdout");
    };
    say(format!(
        "ticker: every {interval_ms} ms; type a line (quit to stop)\n"
    ));

    let start = monotonic_clock::now();
    let mut next = start + interval_ms * 1_000_000;
    let mut ticks = 0u64;
    let mut pending = Vec::new();
    loop {
        let timer = monotonic_clock::subscribe_instant(next);
        let input = stdin.subscribe();
        let ready = poll(&[&timer, &input]);
        if ready.contains(&0) {
            ticks += 1;
            let elapsed_ms = (monotonic_clock::now() - start) / 1_000_000;
            say(format!("tick {ticks} at {elapsed_ms} ms\n"));
            next += interval_ms * 1_000_000;
            if max_ticks == Some(ticks) {
                break;
            }
        }
        if ready.contains(&1) {
            match stdin.read(4096) {
                Ok(bytes) => pending.extend_from_slice(&bytes),
                Err(StreamError::Closed) => {
                    say("stdin closed\n".to_string());
                    break;
                }
                Err(StreamError::LastOperationFailed(err)) => {
                    panic!("stdin: {}", err.to_debug_string())
                }
            }
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line[..end]).into_owned();
                if line == "quit" {
                    say("bye\n".to_string());
                    return;
                }
                say(format!("echo: {line}\n"));
            }
        }
    }
}
