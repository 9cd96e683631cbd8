//! The live pollable table, with deadlines counting down, dropped ones fading out, and the
//! timers that fired but were never dropped (TinyGo leaks one per idle sleep) counted as leaks
//! in the headline and marked in their rows.

use leptos::prelude::*;
use pollscope_protocol::PollableKind;

use crate::context::Ctx;
use crate::model::clock::countdown;
use crate::model::format;
use crate::views::MAX_ROWS;

/// Pollables.
#[component]
pub fn Pollables(ctx: Ctx) -> impl IntoView {
    let summary = move || {
        ctx.read(|m| {
            format!(
                "{} live · {} shown",
                m.live_pollables(),
                m.pollables.len().min(MAX_ROWS)
            )
        })
    };
    let leaks = move || {
        let now = Ctx::now_ms();
        ctx.read(|m| {
            let leaks = m.leaks(now);
            let retired = if leaks.retired == 0 {
                String::new()
            } else {
                let by = m
                    .retired
                    .by_creator
                    .iter()
                    .map(|(creator, n)| format!("{n} from {creator}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    " · {} retired by the host, no longer listed ({by})",
                    leaks.retired
                )
            };
            format!(
                "{} leaked (fired, never dropped) · {} listed below{retired}",
                leaks.total(),
                leaks.listed
            )
        })
    };
    let rows = move || {
        let now = Ctx::now_ms();
        ctx.read(|m| {
            let guest_now = m.guest_now(now);
            let leaked_row = |row: &crate::model::PollableRow| row.leaked(guest_now);
            m.pollables
                .values()
                .take(MAX_ROWS)
                .map(|row| {
                    let p = &row.pollable;
                    let leaked = leaked_row(row);
                    let (deadline, left) = match p.kind {
                        PollableKind::Timer { deadline } => (
                            format::guest_time(deadline),
                            guest_now.map_or("—".into(), |now| {
                                let left = countdown(deadline, now);
                                if leaked {
                                    format::fired_ago(-left)
                                } else {
                                    format::countdown(left)
                                }
                            }),
                        ),
                        _ => ("—".to_string(), "—".to_string()),
                    };
                    let ready = match p.ready {
                        _ if leaked => "leaked",
                        Some(true) => "ready",
                        Some(false) => "pending",
                        None => "?",
                    };
                    let class = if row.dropped_at.is_some() {
                        "dropped"
                    } else if leaked {
                        "leaked"
                    } else {
                        ""
                    };
                    view! {
                        <tr class=class data-testid="pollable-row" data-handle=p.handle.to_string()
                            data-leaked=leaked.to_string()>
                            <td class="num">{p.handle}</td>
                            <td>{format::pollable_kind(&p.kind)}</td>
                            <td class="mono" data-testid="pollable-deadline">{deadline}</td>
                            <td data-testid="pollable-countdown">{left}</td>
                            <td class="num">{p.polled}</td>
                            <td class="num">{p.blocked}</td>
                            <td>{ready}</td>
                            <td class="mono">{p.created_by.clone()}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="view pollables">
            <h2>"Pollables"</h2>
            <p class="prominent" data-testid="leaked-count">{leaks}</p>
            <p class="muted" data-testid="pollable-count">{summary}</p>
            <table class="table">
                <thead>
                    <tr>
                        <th>"handle"</th>
                        <th>"kind"</th>
                        <th>"deadline"</th>
                        <th>"countdown"</th>
                        <th>"polled"</th>
                        <th>"blocked"</th>
                        <th>"ready"</th>
                        <th>"created by"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
