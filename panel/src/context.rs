//! What every view shares: the model, the render tick, the theme and the way out (`send`).

use std::time::Duration;

use leptos::prelude::*;
use pollscope_protocol::ToWasm;

use crate::commands;
use crate::model::Model;

/// Longest a change waits for an animation frame before it is drawn anyway (a hidden
/// DevTools panel gets no frames, and tests read it over CDP).
const FRAME_FALLBACK: Duration = Duration::from_millis(100);

/// The DevTools theme, when the host page says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Light.
    Light,
    /// Dark.
    Dark,
}

impl Theme {
    /// The `data-theme` value.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// Handles into the panel's reactive state (all `Copy`).
#[derive(Clone, Copy)]
pub struct Ctx {
    /// Everything received, applied at once; drawn at the next frame.
    pub model: StoredValue<Model>,
    /// Fired at most once per frame after changes, and by the countdown clock.
    pub frame: Trigger,
    /// `None`: follow `prefers-color-scheme`.
    pub theme: RwSignal<Option<Theme>>,
    /// The last trace export, in words.
    pub export_status: RwSignal<String>,
    frame_pending: StoredValue<bool>,
    send: StoredValue<js_sys::Function, LocalStorage>,
}

impl Ctx {
    /// New state; `send` receives each command as a `ToWasm` object.
    pub fn new(send: js_sys::Function) -> Ctx {
        Ctx {
            model: StoredValue::new(Model::default()),
            frame: Trigger::new(),
            theme: RwSignal::new(None),
            export_status: RwSignal::new(String::new()),
            frame_pending: StoredValue::new(false),
            send: StoredValue::new_local(send),
        }
    }

    /// The panel's clock (ms), the one [`Model`] anchors use.
    pub fn now_ms() -> f64 {
        window().performance().map_or(0.0, |p| p.now())
    }

    /// Reads the model inside a view, re-running on every drawn frame.
    pub fn read<T>(&self, f: impl FnOnce(&Model) -> T) -> T {
        self.frame.track();
        self.model.with_value(f)
    }

    /// Changes the model and draws the change at the next frame.
    pub fn update(&self, f: impl FnOnce(&mut Model)) {
        self.model.update_value(f);
        self.schedule_frame();
    }

    /// Coalesces every change until the next animation frame into one render.
    pub fn schedule_frame(&self) {
        if self.frame_pending.get_value() {
            return;
        }
        self.frame_pending.set_value(true);
        let this = *self;
        request_animation_frame(move || this.draw());
        set_timeout(move || this.draw(), FRAME_FALLBACK);
    }

    fn draw(&self) {
        if self.frame_pending.get_value() {
            self.frame_pending.set_value(false);
            self.frame.notify();
        }
    }

    /// Sends a command to the guest through the host page. Returns whether it was sent.
    pub fn send(&self, message: &ToWasm) -> bool {
        let Ok(value) = commands::encode(message) else {
            return false;
        };
        let Ok(object) = js_sys::JSON::parse(&value.to_string()) else {
            return false;
        };
        self.send
            .with_value(|send| send.call1(&wasm_bindgen::JsValue::NULL, &object).is_ok())
    }
}
