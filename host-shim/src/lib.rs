//! Browser bindings of the Pollscope host.
