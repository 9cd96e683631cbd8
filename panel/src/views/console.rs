//! The guest's stdout and stderr, and a stdin line.

use leptos::prelude::*;
use pollscope_protocol::{OutputStream, ToWasm};

use crate::commands::stdin_line;
use crate::context::Ctx;

/// Console.
#[component]
pub fn Console(ctx: Ctx) -> impl IntoView {
    // Redrawn only when output changed, not on every frame.
    let version = Memo::new(move |_| ctx.read(|m| m.console.version()));
    let output = move || {
        // Read, not just tracked: a memo computes (and so follows the frame) only when read.
        version.get();
        ctx.model.with_value(|m| {
            m.console
                .chunks()
                .map(|chunk| {
                    let class = match chunk.stream {
                        OutputStream::Stdout => "",
                        OutputStream::Stderr => "stderr",
                    };
                    view! { <span class=class>{chunk.text.clone()}</span> }
                })
                .collect_view()
        })
    };
    let pre = NodeRef::<leptos::html::Pre>::new();
    // Follow the newest output.
    Effect::new(move |_| {
        // Read, not just tracked: a memo computes (and so follows the frame) only when read.
        version.get();
        if let Some(pre) = pre.get() {
            pre.set_scroll_top(pre.scroll_height());
        }
    });
    let input = NodeRef::<leptos::html::Input>::new();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(element) = input.get() else {
            return;
        };
        for message in stdin_line(&element.value()) {
            ctx.send(&message);
        }
        element.set_value("");
    };
    view! {
        <section class="view console">
            <h2>"Console"</h2>
            <pre node_ref=pre class="output" data-testid="console-output">{output}</pre>
            <form on:submit=submit>
                <input node_ref=input data-testid="console-stdin" autocomplete="off"
                    placeholder="stdin: a line, Enter sends it" />
                <button type="button" data-testid="console-close-stdin"
                    on:click=move |_| { ctx.send(&ToWasm::CloseStdin); }>"Close stdin"</button>
            </form>
        </section>
    }
}
