//! The ring under load in a real browser: the shim's own `pollscope-ring` code over a real
//! SharedArrayBuffer (`JsSharedMemory`), the producer in one dedicated worker (the event
//! thread's side) and the consumer in another (the wasm thread's side), each blocking in
//! `Atomics.wait` as the shim does. The loops are `host-shim/src/ring_probe.rs`; the page is
//! `bench/pages/bench.js` (row `stress`).
//!
//! Every message is generated from per-stream seeds, so the consumer knows what each stream
//! must deliver next: it compares every byte, checks each message's length and sequence number,
//! and both sides fold their streams into order-sensitive checksums that must agree. These are
//! behaviour tests: nothing here asserts speed (the session's time limit only catches a hang).
//!
//! Needs `target/web` (`cargo xtask build`), the bench's shim in `target/bench/shim` (built by
//! `cargo xtask test` and `cargo xtask bench`) and Debian's Chromium.

use std::sync::Mutex;
use std::time::Duration;

use pollscope_bench::session::{self, Options, Outcome};
use serde_json::{json, Value};

/// One Chromium at a time: each session keeps two cores busy.
static BROWSER: Mutex<()> = Mutex::new(());

fn stress(scenario: Value) -> (Value, Value) {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let mut options = Options::for_repo();
    if let Err(err) = options.check_web_dir().and(options.check_bench_shim()) {
        panic!("{err:#}");
    }
    options.timeout = Duration::from_secs(300);
    let config = json!({ "rows": ["stress"], "reps": 1, "warmup": 0, "stress": [scenario] });
    let outcome: Outcome =
        session::run(&options, &config).unwrap_or_else(|err| panic!("stress session: {err:#}"));
    let m = outcome
        .of("stress")
        .next()
        .unwrap_or_else(|| panic!("the page posted no stress result: {:?}", outcome.results));
    let (producer, consumer) = (m.data["producer"].clone(), m.data["consumer"].clone());
    eprintln!("{}: producer {producer}\nconsumer {consumer}", m.variant);
    (producer, consumer)
}

fn int(v: &Value, key: &str) -> u64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number `{key}` in {v}")) as u64
}

/// What must hold after any run: the consumer found nothing wrong, and everything the producer
/// sent arrived (per stream checksums agree; the ring's own counters agree).
fn assert_intact(producer: &Value, consumer: &Value) {
    assert_eq!(
        consumer["ok"],
        Value::Bool(true),
        "the consumer found a message out of place: {}",
        consumer["error"]
    );
    assert_eq!(
        int(consumer, "bytes"),
        int(producer, "bytes"),
        "payload bytes"
    );
    assert_eq!(
        int(consumer, "messages"),
        int(producer, "messages"),
        "messages"
    );
    assert_eq!(consumer["checksum"], producer["checksum"], "checksums");
    let snapshot = &consumer["snapshot"];
    assert_eq!(
        int(snapshot, "bytesIn"),
        int(snapshot, "bytesOut"),
        "{snapshot}"
    );
    assert_eq!(
        int(snapshot, "packetsIn"),
        int(snapshot, "packetsOut"),
        "{snapshot}"
    );
    assert_eq!(
        int(snapshot, "bytesOut"),
        int(producer, "bytes"),
        "{snapshot}"
    );
    assert_eq!(int(snapshot, "used"), 0, "{snapshot}");
}

/// (a) Over a GiB of random-sized messages (1 B … one MTU) on four interleaved streams through
/// the default ring (1 MiB, MTU 64 KiB): every byte and every stream's order arrive intact.
#[test]
fn a_gibibyte_of_random_messages_on_interleaved_streams_arrives_intact() {
    let (producer, consumer) = stress(json!({
        "name": "gibibyte",
        "capacity": 1 << 20,
        "mtu": 64 * 1024,
        "plan": {
            "totalBytes": (1u64 << 30) as f64,
            "minLen": 1,
            "maxLen": 64 * 1024,
            "streams": 4,
            "seed": 1,
            "verify": true,
        },
    }));
    assert_intact(&producer, &consumer);
    assert!(int(&producer, "bytes") >= 1 << 30, "{producer}");
    // Random lengths up to one MTU over a ring of 16 MTUs: some messages had to be split.
    assert!(
        int(&consumer, "frames") > int(&consumer, "messages") + 4,
        "no message was ever split: {consumer}"
    );
}

/// (b) A 4 KiB ring whose consumer naps after every drain, fed messages of up to ~3 MTUs on
/// three streams: the producer keeps running into a full ring, and still nothing is lost or
/// reordered; the counters show the stalls and a ring filled to the brim.
#[test]
fn a_tiny_ring_under_backpressure_loses_and_reorders_nothing() {
    let capacity = 4096;
    let (producer, consumer) = stress(json!({
        "name": "backpressure",
        "capacity": capacity,
        "mtu": 1024,
        "plan": {
            "totalBytes": (4u64 << 20) as f64,
            "minLen": 1,
            "maxLen": 3000,
            "streams": 3,
            "seed": 2,
            "batchBytes": 2048,
            "verify": true,
            "consumerPauseMs": 0.05,
        },
    }));
    assert_intact(&producer, &consumer);
    let snapshot = &consumer["snapshot"];
    assert!(
        int(snapshot, "stalls") > 0,
        "the producer never stalled: {snapshot}"
    );
    // A producer that stalls has fewer than a header plus 8 bytes free, and the napping
    // consumer leaves it that way while it publishes.
    let high_water = int(snapshot, "highWater");
    assert!(
        high_water + 16 > capacity && high_water <= capacity,
        "high-water mark {high_water} is not within 16 bytes of the capacity {capacity}: {snapshot}"
    );
    assert!(
        int(&producer, "waits") > 0,
        "the producer never waited for space: {producer}"
    );
}
