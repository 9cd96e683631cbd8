//! Reads a WebAssembly component into a flat, ordered instantiation plan.
