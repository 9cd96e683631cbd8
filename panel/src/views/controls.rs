//! Steering: pause, resume, step, time scale, restart, snapshot, and the trace export.

use leptos::prelude::*;
use pollscope_protocol::ToWasm;
use wasm_bindgen::JsCast;

use crate::commands::clamp_time_scale;
use crate::context::Ctx;

/// The slider is logarithmic: position `p` in -1..=1 is a time scale of 10^p (0.1×–10×).
fn scale_at(position: f64) -> f32 {
    clamp_time_scale(10f64.powf(position) as f32)
}

/// The buttons and the slider.
#[component]
pub fn Controls(ctx: Ctx) -> impl IntoView {
    let position = RwSignal::new(0.0f64);
    let command = move |message: ToWasm| {
        move |_| {
            ctx.send(&message);
        }
    };
    let restart = move |_| {
        if ctx.send(&ToWasm::Restart) {
            ctx.update(|m| m.restart());
        }
    };
    let on_scale = move |event: leptos::ev::Event| {
        let Ok(p) = event_target_value(&event).parse::<f64>() else {
            return;
        };
        position.set(p);
        ctx.send(&ToWasm::TimeScale { scale: scale_at(p) });
    };
    let scale_label = move || format!("{:.2}×", scale_at(position.get()));
    let export = move |_| {
        let (json, waits, calls) = ctx
            .model
            .with_value(|m| (m.trace_json(), m.waits.len(), m.host_calls.len()));
        ctx.export_status
            .set(match download("pollscope-trace.json", &json) {
                Ok(()) => format!("exported {waits} waits and {calls} host calls"),
                Err(why) => format!("export failed: {why}"),
            });
    };
    view! {
        <div class="controls">
            <button data-testid="control-pause" on:click=command(ToWasm::Pause)>"Pause"</button>
            <button data-testid="control-resume" on:click=command(ToWasm::Resume)>"Resume"</button>
            <button data-testid="control-step" on:click=command(ToWasm::Step)>"Step"</button>
            <label class="scale">
                "Time scale "
                <input
                    type="range"
                    min="-1"
                    max="1"
                    step="0.01"
                    data-testid="time-scale"
                    prop:value=move || position.get().to_string()
                    on:change=on_scale
                />
                <span data-testid="time-scale-value">{scale_label}</span>
            </label>
            <button data-testid="control-restart" on:click=restart>"Restart"</button>
            <button data-testid="control-snapshot" on:click=command(ToWasm::Snapshot)>
                "Snapshot"
            </button>
            <button data-testid="control-export-trace" on:click=export>"Export trace"</button>
            <span class="muted" data-testid="export-status">{move || ctx.export_status.get()}</span>
        </div>
    }
}

/// Offers `text` as a file download (a Blob URL on a temporary link).
fn download(name: &str, text: &str) -> Result<(), String> {
    let why = |err: wasm_bindgen::JsValue| format!("{err:?}");
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(why)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(why)?;
    let link: web_sys::HtmlAnchorElement = document()
        .create_element("a")
        .map_err(why)?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The click has started the download; the URL can go once it is read.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(10),
    );
    Ok(())
}
