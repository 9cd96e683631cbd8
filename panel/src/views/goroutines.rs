//! TinyGo's scheduler: the sleep queue with wake times counting down and each sleeper's
//! call stack, the run queue, the current goroutine — or why there is nothing to show.

use leptos::prelude::*;
use pollscope_protocol::{Goroutine, Hello};

use crate::context::Ctx;
use crate::model::clock::countdown;
use crate::model::format;
use crate::model::program;
use crate::views::MAX_ROWS;

/// Goroutines.
#[component]
pub fn Goroutines(ctx: Ctx) -> impl IntoView {
    let body = move || {
        let now = Ctx::now_ms();
        ctx.read(|m| {
            let Some(scheduler) = &m.scheduler else {
                return view! {
                    <p class="muted" data-testid="goroutines-empty">{no_scheduler(m.hello.as_ref())}</p>
                }
                .into_any();
            };
            // The snapshot's own guest clock when it has one; else the model's estimate.
            let guest_now = m.guest_now(now).or(scheduler.guest_now);
            let row = move |g: &Goroutine, queue: &'static str| {
                let program::EntryShown {
                    function,
                    wrapper,
                    place,
                    place_full,
                } = program::entry(g);
                // TinyGo's wrapper, beside the function it runs.
                let wrapper = wrapper.map(|w| view! { <span class="muted">" (" {w} ")"</span> });
                let (title, data_function) = (function.clone(), function.clone());
                let stack = program::backtrace_lines(g)
                    .into_iter()
                    .map(|line| view! { <li data-testid="backtrace-frame">{line}</li> })
                    .collect_view();
                let wake = g.wake_at.map_or("—".into(), format::guest_time);
                let left = match (g.wake_at, guest_now) {
                    (Some(at), Some(now)) => format::countdown(countdown(at, now)),
                    _ => "—".into(),
                };
                view! {
                    <tr
                        data-testid="goroutine-row"
                        data-task=format!("0x{:x}", g.id)
                        data-queue=queue
                        data-function=data_function
                    >
                        <td>{queue}</td>
                        <td class="mono">{format!("0x{:x}", g.id)}</td>
                        <td class="mono" title=title>{function}{wrapper}</td>
                        <td class="mono" title=place_full>{place}</td>
                        <td class="mono">{wake}</td>
                        <td>{left}</td>
                        <td class="mono">
                            <ol class="backtrace" data-testid="goroutine-backtrace">{stack}</ol>
                        </td>
                    </tr>
                }
            };
            let rows = scheduler
                .current
                .iter()
                .map(|g| row(g, "current"))
                .chain(scheduler.sleep_queue.iter().map(|g| row(g, "sleeping")))
                .chain(scheduler.run_queue.iter().map(|g| row(g, "runnable")))
                .take(MAX_ROWS)
                .collect_view();
            let problems = scheduler
                .problems
                .iter()
                .map(|p| view! { <li data-testid="scheduler-problem">{p.clone()}</li> })
                .collect_view();
            view! {
                <p class="muted">
                    {format!(
                        "{} sleeping · {} runnable · {} timers",
                        scheduler.sleep_queue.len(),
                        scheduler.run_queue.len(),
                        scheduler.timers.len()
                    )}
                </p>
                <table class="table">
                    <thead>
                        <tr>
                            <th>"queue"</th>
                            <th>"task"</th>
                            <th>"function"</th>
                            <th>"source"</th>
                            <th>"wakes at"</th>
                            <th>"countdown"</th>
                            <th title="where a parked goroutine is, innermost call first, from its asyncify save area">
                                "stack"
                            </th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <ul class="problems">{problems}</ul>
            }
            .into_any()
        })
    };
    let hint = move || {
        ctx.read(|m| {
            debug_info_hint(m.hello.as_ref()).map(|hint| {
                view! { <p class="prominent" data-testid="goroutines-debug-hint">{hint}</p> }
            })
        })
    };
    view! {
        <section class="view goroutines">
            <h2>"Goroutines"</h2>
            {hint}
            {body}
        </section>
    }
}

/// How to get the scheduler when the program has no DWARF (with or without a snapshot: the
/// host still sends one, saying what it could not find).
fn debug_info_hint(hello: Option<&Hello>) -> Option<&'static str> {
    let tinygo = hello?.tinygo.as_ref()?;
    (!tinygo.dwarf).then_some(
        "This program has no DWARF, so TinyGo's scheduler cannot be read. Build it with debug \
         info: TinyGo keeps DWARF by default, so do not pass -no-debug \
         (e.g. `tinygo build -target=wasip2 -o app.wasm .`).",
    )
}

/// Why no scheduler is shown.
fn no_scheduler(hello: Option<&Hello>) -> &'static str {
    match hello {
        None => "No guest yet.",
        Some(hello) if hello.tinygo.is_some() => {
            "No scheduler snapshot yet: one is read while the guest is idle or paused."
        }
        Some(_) => {
            "No TinyGo scheduler found (not a TinyGo program, or this host does not read it)."
        }
    }
}
