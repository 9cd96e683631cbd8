//! Integration tests: hand-written component fixtures, error cases, and (optionally) a real
//! Rust wasip2 guest.

mod real_guest;
