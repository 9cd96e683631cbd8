//! `wasi:clocks`: the monotonic clock (with timer pollables) and the wall clock, both read
//! from the [`Platform`](crate::Platform).

pub(crate) mod monotonic_clock;
pub(crate) mod wall_clock;
