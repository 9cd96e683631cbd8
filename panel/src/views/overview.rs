//! The guest at a glance: state, uptime, component summary, host-call counts.

use leptos::prelude::*;
use pollscope_protocol::GuestState;

use crate::context::Ctx;
use crate::model::{format, program};
use crate::views::MAX_ROWS;

/// Overview.
#[component]
pub fn Overview(ctx: Ctx) -> impl IntoView {
    let state = move || {
        ctx.read(|m| {
            let table = m.hello.as_ref().map_or(&[][..], |h| &h.host_functions[..]);
            m.state
                .as_ref()
                .map_or("unknown (no telemetry yet)".to_string(), |s| {
                    format::state(s, table)
                })
        })
    };
    let frames = move || {
        ctx.read(|m| match &m.state {
            Some(GuestState::Trapped(trap)) => trap
                .frames
                .iter()
                .map(|frame| {
                    let name = frame.name.clone().unwrap_or_else(|| "?".into());
                    let func = frame.func.map_or(String::new(), |f| format!(" func {f}"));
                    let offset = frame.offset.map_or(String::new(), |o| format!(" @0x{o:x}"));
                    let line = match (&frame.file, frame.line) {
                        (Some(file), Some(line)) => format!(" at {file}:{line}"),
                        (Some(file), None) => format!(" at {file}"),
                        _ => String::new(),
                    };
                    view! { <li data-testid="trap-frame">{format!("{name}{func}{offset}{line}")}</li> }
                })
                .collect_view()
                .into_any(),
            _ => ().into_any(),
        })
    };
    let uptime = move || {
        let now = Ctx::now_ms();
        ctx.read(|m| m.uptime_now(now).map_or("—".into(), format::duration))
    };
    let component = move || {
        ctx.read(|m| {
            let Some(hello) = &m.hello else {
                return "no hello yet".to_string();
            };
            let c = &hello.component;
            format!(
                "{} · {} imports · {} exports · DWARF {} · names {} · asyncify {}",
                format::bytes(c.size),
                c.imports.len(),
                c.exports.len(),
                yes_no(c.dwarf),
                yes_no(c.name_section),
                yes_no(!c.asyncify_exports.is_empty()),
            )
        })
    };
    // Not the producers' `language` list: a TinyGo program's says C99 (wasi-libc's and
    // TinyGo's own debug units); the tools behind it are in `pollscope inspect`.
    let language = move || {
        ctx.read(|m| {
            m.hello
                .as_ref()
                .and_then(program::language)
                .map(|language| view! { <p data-testid="program-language">{language}</p> })
        })
    };
    let totals = move || {
        ctx.read(|m| {
            format!(
                "{} host calls · {} waits, {} blocked",
                m.host_calls_total,
                m.wait_totals.count,
                format::duration(m.wait_totals.blocked)
            )
        })
    };
    let host_calls = move || {
        ctx.read(|m| {
            let table = m.hello.as_ref().map_or(&[][..], |h| &h.host_functions[..]);
            let mut counts: Vec<(String, u64)> = m
                .host_call_counts
                .iter()
                .enumerate()
                .filter(|(_, &count)| count > 0)
                .map(|(i, &count)| (format::host_function(table, i as u32), count))
                .collect();
            counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
            counts
                .into_iter()
                .take(MAX_ROWS)
                .map(|(name, count)| {
                    view! {
                        <tr data-testid="host-call-row">
                            <td class="mono">{name}</td>
                            <td class="num">{count}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="view overview">
            <h2>"Overview"</h2>
            <p class="state" data-testid="guest-state">{state}</p>
            <ul class="frames">{frames}</ul>
            <p>"Uptime " <span data-testid="uptime">{uptime}</span></p>
            {language}
            <p class="muted" data-testid="component-summary">{component}</p>
            <p data-testid="totals">{totals}</p>
            <details>
                <summary>"Host calls per import (as of the last snapshot)"</summary>
                <table class="table">
                    <tbody>{host_calls}</tbody>
                </table>
            </details>
        </section>
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}
