//! The packet ring over arbitrary shared-memory contents: the consumer (the wasm thread) and
//! the producer (the event thread) attached to one buffer, driven by a program of sends,
//! pushes, flushes and drains, with the input free to overwrite header words and data bytes
//! in between — what a buggy or hostile other side could leave in a `SharedArrayBuffer`.
//!
//! Never a panic, whatever the buffer holds. And while nothing has been overwritten (a ring
//! made by `init`, touched only by the producer), a model check: every drain succeeds and
//! delivers, per stream, exactly the messages sent, in order, with their kinds and bytes.
//!
//! Input: `capacity u8` (16 << (c % 9) bytes), `mtu u16`, `start u8` (0: a fresh ring; 1: a
//! fresh ring with the input's bytes over the data area; 2: the input's bytes as the whole
//! buffer, header included; then `len u16` and the bytes), then operations, one `op u8` each
//! (see `Op` below) until the input ends.
#![no_main]

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use pollscope_fuzz::Input;
use pollscope_ring::{
    init, layout, total_bytes, AtomicMemory, Config, Consumer, Kind, Producer, SharedMemory,
    Snapshot,
};

/// Payloads come from a seed byte and a length, so a short input can send large messages.
fn payload(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(31)))
        .collect()
}

fn kind(byte: u8) -> Kind {
    match byte % 3 {
        0 => Kind::Data,
        1 => Kind::End,
        _ => Kind::Control,
    }
}

type Message = (Kind, Vec<u8>);

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let capacity = 16u32 << (input.u8() % 9);
    let mtu = 1 + u32::from(input.u16()) % (capacity - layout::PACKET_HEADER);
    let start = input.u8() % 3;
    let mem = Rc::new(AtomicMemory::new(total_bytes(capacity)));
    let mut clean = true;
    match start {
        0 => init(&*mem, Config { capacity, mtu }).expect("a valid config"),
        1 => {
            init(&*mem, Config { capacity, mtu }).expect("a valid config");
            let len = input.u16() as usize;
            let bytes = input.bytes(len.min(capacity as usize));
            mem.write_bytes(layout::DATA_OFFSET, bytes);
            // Unpublished bytes: the model still holds.
        }
        _ => {
            let len = input.u16() as usize;
            let bytes = input.bytes(len.min(mem.byte_len()));
            mem.write_bytes(0, bytes);
            clean = false;
        }
    }
    let Ok(consumer) = Consumer::new(mem.clone()) else {
        assert!(!clean, "a fresh ring does not attach");
        return;
    };
    let limit = if clean {
        usize::MAX
    } else {
        input.u16() as usize * 64
    };
    let mut consumer = consumer.with_reassembly_limit(limit);
    let mut producer = Producer::new(mem.clone()).ok();
    assert!(producer.is_some() || !clean, "a fresh ring does not attach");

    let mut expected: HashMap<u16, VecDeque<Message>> = HashMap::new();
    let mut ops = 0;
    while !input.is_empty() && ops < 256 {
        ops += 1;
        match input.u8() % 8 {
            // send: stream, kind, seed, len (up to three rings' worth)
            0 | 1 => {
                let (stream, kind, seed) = (input.u8() as u16 % 4, kind(input.u8()), input.u8());
                let bytes = payload(seed, input.u16() as usize % (3 * capacity as usize + 1));
                let Some(producer) = producer.as_mut() else {
                    continue;
                };
                if let Ok(sent) = producer.send(stream, kind, &bytes) {
                    assert!(sent <= bytes.len());
                    if sent < bytes.len() {
                        // The rest must follow on this stream: queue it.
                        producer.push(stream, kind, &bytes[sent..]);
                    }
                    expected.entry(stream).or_default().push_back((kind, bytes));
                }
            }
            // push: queued until a flush
            2 => {
                let (stream, kind, seed) = (input.u8() as u16 % 4, kind(input.u8()), input.u8());
                let bytes = payload(seed, input.u16() as usize % (3 * capacity as usize + 1));
                if let Some(producer) = producer.as_mut() {
                    producer.push(stream, kind, &bytes);
                    expected.entry(stream).or_default().push_back((kind, bytes));
                }
            }
            3 => {
                if let Some(producer) = producer.as_mut() {
                    let _ = producer.flush();
                    let _ = producer.snapshot();
                    let _ = producer.backlog();
                }
            }
            // drain
            4 | 5 => {
                let mut got: Vec<(u16, Kind, Vec<u8>)> = Vec::new();
                let result = consumer.drain(|packet| {
                    got.push((packet.stream, packet.kind, packet.payload.to_vec()))
                });
                if clean {
                    let delivered = result.expect("a drain of an untouched ring fails");
                    assert_eq!(delivered, got.len());
                    for (stream, kind, bytes) in got {
                        let want = expected
                            .get_mut(&stream)
                            .and_then(VecDeque::pop_front)
                            .unwrap_or_else(|| panic!("stream {stream}: a message never sent"));
                        assert_eq!(want.0, kind, "stream {stream}: kind");
                        assert!(want.1 == bytes, "stream {stream}: bytes differ");
                    }
                }
                let _ = consumer.pending();
                let _ = consumer.prepare_wait();
            }
            // overwrite a header word
            6 => {
                let word = input.u8() as usize % layout::HEADER_WORDS;
                mem.store(word, input.u32());
                clean = false;
            }
            // overwrite data bytes
            _ => {
                let at = input.u16() as usize % capacity as usize;
                let len = input.u8() as usize;
                let bytes = input.bytes(len.min(capacity as usize - at));
                mem.write_bytes(layout::DATA_OFFSET + at, bytes);
                clean = false;
            }
        }
        let _ = Snapshot::read(&*mem);
        let _ = consumer.snapshot();
    }
});
