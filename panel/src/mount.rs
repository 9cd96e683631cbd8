//! The mount API the host pages call (see the README): `mountPanel(root, { send })` returns a
//! handle with `receive`, `setConnection` and `setTheme`.

use leptos::prelude::*;
use pollscope_protocol::ToWasm;
use wasm_bindgen::prelude::*;

use crate::context::{Ctx, Theme};
use crate::model::{Connection, Received};
use crate::views::Panel;

/// How often countdowns are redrawn without new messages.
const COUNTDOWN_TICK: std::time::Duration = std::time::Duration::from_millis(250);

/// Mounts the panel in `root`. `options.send(command)` receives each command as a `ToWasm`
/// object (`{v: 1, type: "pause"}`).
#[wasm_bindgen(js_name = mountPanel)]
pub fn mount_panel(root: web_sys::HtmlElement, options: JsValue) -> Result<PanelHandle, JsError> {
    let send = js_sys::Reflect::get(&options, &JsValue::from_str("send"))
        .ok()
        .and_then(|send| send.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| JsError::new("mountPanel(root, { send }): `send` must be a function"))?;
    // The panel lives as long as its page: its reactive owner and mount are never dropped.
    let owner = Owner::new();
    let ctx = owner.with(|| Ctx::new(send));
    let mounted = owner.with(|| leptos::mount::mount_to(root, move || view! { <Panel ctx=ctx /> }));
    std::mem::forget(mounted);
    // Countdowns and uptime move on while no message arrives.
    set_interval(move || ctx.frame.notify(), COUNTDOWN_TICK);
    std::mem::forget(owner);
    Ok(PanelHandle {
        ctx,
        subscribed: std::cell::Cell::new(false),
    })
}

/// A mounted panel.
#[wasm_bindgen]
pub struct PanelHandle {
    ctx: Ctx,
    /// A subscribe went out since the page connected (a hello answers every subscribe, so
    /// subscribing on each hello would loop).
    subscribed: std::cell::Cell<bool>,
}

#[wasm_bindgen]
impl PanelHandle {
    /// One `FromWasm` message (a parsed JSON object, or JSON text). What does not decode is
    /// dropped and counted; nothing received is ever rendered as HTML.
    pub fn receive(&self, message: JsValue) {
        let now = Ctx::now_ms();
        let json = match message.as_string() {
            Some(text) => Some(text),
            None => js_sys::JSON::stringify(&message)
                .ok()
                .and_then(|text| text.as_string()),
        };
        let mut received = Received::Rejected;
        self.ctx.update(|m| {
            received = match &json {
                Some(json) => m.receive_json(json.as_bytes(), now),
                None => {
                    m.rejected += 1;
                    Received::Rejected
                }
            };
        });
        if received == Received::Hello {
            self.subscribe_once();
        }
    }

    /// The page link: `waiting` | `connected` | `navigated` | `disconnected`, with optional
    /// words (e.g. the page's URL). Another state is ignored.
    #[wasm_bindgen(js_name = setConnection)]
    pub fn set_connection(&self, state: &str, detail: Option<String>) {
        let Some(connection) = Connection::from_name(state) else {
            return;
        };
        self.ctx.update(|m| {
            m.connection = connection;
            m.connection_detail = detail.unwrap_or_default().chars().take(300).collect();
        });
        if connection == Connection::Connected {
            self.subscribe_once();
        } else {
            self.subscribed.set(false);
        }
    }

    /// The DevTools theme: `light` or `dark`; anything else follows `prefers-color-scheme`.
    #[wasm_bindgen(js_name = setTheme)]
    pub fn set_theme(&self, theme: &str) {
        self.ctx.theme.set(match theme {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        });
    }

    /// The trace the export button saves: Chrome trace-event JSON of the waits and host
    /// calls the panel holds.
    #[wasm_bindgen(js_name = exportTrace)]
    pub fn export_trace(&self) -> String {
        self.ctx.model.with_value(|m| m.trace_json())
    }

    fn subscribe_once(&self) {
        if !self.subscribed.get()
            && self.ctx.send(&ToWasm::Subscribe {
                detail: true,
                replay: false,
            })
        {
            self.subscribed.set(true);
        }
    }
}
