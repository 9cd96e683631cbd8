//! `random_*` guests: `wasi:random/*` and the clocks' plausibility.

use crate::harness::{guest, Invocation};

#[test]
fn random_clocks_are_plausible() {
    let run = Invocation::new(guest("random_clocks")).run();
    run.assert(
        0,
        concat!(
            "random bytes lengths: [0, 1, 32, 1024]\n",
            "random bytes differ: true\n",
            "random u64 differ: true\n",
            "insecure bytes lengths: [0, 1, 32, 1024]\n",
            "insecure bytes differ: true\n",
            "insecure u64 differ: true\n",
            "insecure seed nonzero: true\n",
            "wall clock in 2020..2100: true\n",
            "wall clock nanoseconds < 1e9: true\n",
            "std SystemTime in 2020..2100: true\n",
            "wall clock resolution in 1ns..=1s: true\n",
            "monotonic went backwards in 10000 reads: 0 times\n",
            "monotonic resolution in 1ns..=1s: true\n",
        ),
    );
}
