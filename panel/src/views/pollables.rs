//! The live pollable table, with deadlines counting down and dropped ones fading out.

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
    let retired = move || {
        ctx.read(|m| {
            let by = m
                .retired
                .by_creator
                .iter()
                .map(|(creator, n)| format!("{n} from {creator}"))
                .collect::<Vec<_>>()
                .join(", ");
            let detail = if by.is_empty() {
                String::new()
            } else {
                format!(" ({by})")
            };
            format!(
                "{} never dropped{} · {} retired in all",
                m.retired.held, detail, m.retired.total
            )
        })
    };
    let rows =
        move || {
            let now = Ctx::now_ms();
            ctx.read(|m| {
                let guest_now = m.guest_now(now);
                m.pollables
                .values()
                .take(MAX_ROWS)
                .map(|row| {
                    let p = &row.pollable;
                    let (deadline, left) = match p.kind {
                        PollableKind::Timer { deadline } => (
                            format::guest_time(deadline),
                            guest_now.map_or("—".into(), |now| {
                                format::countdown(countdown(deadline, now))
                            }),
                        ),
                        _ => ("—".to_string(), "—".to_string()),
                    };
                    let ready = match p.ready {
                        Some(true) => "ready",
                        Some(false) => "pending",
                        None => "?",
                    };
                    let class = if row.dropped_at.is_some() { "dropped" } else { "" };
                    view! {
                        <tr class=class data-testid="pollable-row" data-handle=p.handle.to_string()>
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
            <p class="prominent" data-testid="retired-count">{retired}</p>
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
