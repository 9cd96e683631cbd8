//! The teaching view: how a Go sleep travels through asyncify, WASI and `Atomics.wait`,
//! with the step the guest is at highlighted from real events, and a step button.

use leptos::prelude::*;
use pollscope_protocol::ToWasm;

use crate::context::Ctx;
use crate::model::flow::{current_step, FlowStep};
use crate::model::format;

/// Enough for every switch of a short program (the fixture makes 24).
const RECENT_SWITCHES: usize = 32;

/// Asyncify.
#[component]
pub fn Asyncify(ctx: Ctx) -> impl IntoView {
    let current = move || {
        ctx.read(|m| {
            let table = m.hello.as_ref().map_or(&[][..], |h| &h.host_functions[..]);
            current_step(m.state.as_ref(), table, m.waits.last(), m.asyncify.last())
        })
    };
    let steps = move || {
        let now = current();
        FlowStep::ALL
            .iter()
            .map(|&step| {
                let here = now == Some(step);
                view! {
                    <li class:current=here data-testid="asyncify-step" data-step=step.title()
                        data-current=here.to_string()>
                        <strong>{step.title()}</strong>
                        " — "
                        {step.explanation()}
                    </li>
                }
            })
            .collect_view()
    };
    let last_wait = move || {
        ctx.read(|m| {
            m.waits.last().map_or("no wait yet".into(), |w| {
                format!(
                    "last wait: {} asked {}, took {}, woken by {}",
                    format::wait_call(w.call),
                    w.timeout.map_or("no timeout".into(), format::duration),
                    format::duration(w.duration),
                    format::wake(w.wake)
                )
            })
        })
    };
    let switches = move || {
        ctx.read(|m| {
            if m.asyncify.is_empty() {
                return view! {
                    <p class="muted" data-testid="asyncify-empty">
                        "No asyncify task switches reported (the host reports them for TinyGo \
                         programs it can instrument)."
                    </p>
                }
                .into_any();
            }
            m.asyncify
                .newest(RECENT_SWITCHES)
                .map(|e| {
                    view! {
                        <li class="mono" data-testid="asyncify-event"
                            data-kind=format!("{:?}", e.kind).to_lowercase()
                            data-phase=format!("{:?}", e.phase).to_lowercase()
                            data-task=format!("0x{:x}", e.ptr)>
                            {format!(
                                "{} {} {} (task 0x{:x})",
                                format!("{:?}", e.kind).to_lowercase(),
                                format!("{:?}", e.phase).to_lowercase(),
                                e.function.as_deref().unwrap_or("goroutine"),
                                e.ptr
                            )}
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        })
    };
    // The host records task switches only when the program was rewritten at load: offer it
    // (a restart) when the Hello says the program can be instrumented.
    let can_record = move || {
        ctx.read(|m| {
            m.asyncify.is_empty()
                && m.hello
                    .as_ref()
                    .and_then(|h| h.tinygo.as_ref())
                    .is_some_and(|t| t.instrumentable)
        })
    };
    let record = move |_| {
        if ctx.send(&ToWasm::RecordAsyncify { on: true }) {
            ctx.update(|m| m.restart());
        }
    };
    view! {
        <section class="view asyncify">
            <h2>"Asyncify: a sleep, step by step"</h2>
            <ol class="flow">{steps}</ol>
            <p class="muted" data-testid="asyncify-last-wait">{last_wait}</p>
            <button data-testid="asyncify-step-button" on:click=move |_| {
                ctx.send(&ToWasm::Step);
            }>"Step (to the next task switch or wait)"</button>
            <Show when=can_record>
                <button data-testid="asyncify-record" on:click=record>
                    "Record task switches (restarts the guest)"
                </button>
            </Show>
            <ul class="switches">{switches}</ul>
        </section>
    }
}
