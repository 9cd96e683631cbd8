//! The shim built without the `tinygo` feature: no program is seen as TinyGo's, so nothing
//! here is ever reached (`TinyGo` has no values). `wasm-worker.js` loads the `tinygo` build
//! for programs that look like TinyGo's; see `tinygo.rs`.

use js_sys::Object;
use pollscope_protocol::TinyGoSummary;

use crate::frames::Frame;

/// A TinyGo program's state; none exist in this build.
pub enum TinyGo {}

impl TinyGo {
    /// Never a TinyGo program in this build.
    pub fn read(_: &[u8], _: bool) -> Option<(TinyGo, Result<Vec<u8>, String>)> {
        None
    }

    pub fn summary(&self) -> TinyGoSummary {
        match *self {}
    }

    pub fn attach(&mut self, _: &Object) {
        match *self {}
    }

    pub fn symbolize(&self, _: &mut [Frame]) {
        match *self {}
    }

    pub fn is_task_switch(&self, _: i32, _: i32, _: i32) -> bool {
        match *self {}
    }
}

impl pollscope_runloop::Scheduler for TinyGo {
    fn snapshot(&self, _: u64, _: u64) -> Option<pollscope_protocol::SchedulerSnapshot> {
        match *self {}
    }

    fn record(&mut self, _: i32, _: i32, _: i32, _: u64) {
        match *self {}
    }

    fn take_events(&mut self) -> Vec<pollscope_protocol::AsyncifyEvent> {
        match *self {}
    }
}

/// Only called for a rewritten program, which this build never makes.
pub fn bind_hook(_: &Object) -> Result<(), String> {
    Err("this shim build has no asyncify flight recorder".into())
}
