//! What the TinyGo-shaped sleepers fixture (`fixtures/`) does, as the panel shows it.

/// Every task switch the sleepers fixture makes, in order, as the Asyncify view writes each
/// (`kind phase function (task 0x…)`): main's goroutine is launched and sleeps, then workers
/// a, b and c likewise; they wake in deadline order (b 100 ms, c 200 ms, a 300 ms), each
/// rewound and returning, then main (1 s). Task addresses are the fixture's
/// (fixtures/README.md).
pub fn sleepers_switches() -> Vec<String> {
    let goroutine = |function: &str, task: u32| format!("{function} (task {task:#x})");
    let main = goroutine("main.main", 0x11000);
    let [a, b, c] = [0x11040, 0x11080, 0x110c0].map(|task| goroutine("main.worker", task));
    let mut switches = Vec::new();
    for who in [&main, &a, &b, &c] {
        for switch in ["launch enter", "unwind enter", "unwind leave"] {
            switches.push(format!("{switch} {who}"));
        }
    }
    for who in [&b, &c, &a, &main] {
        for switch in ["rewind enter", "rewind leave", "exit enter"] {
            switches.push(format!("{switch} {who}"));
        }
    }
    switches
}
