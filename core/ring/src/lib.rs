//! Single-producer single-consumer packet ring over shared memory.
