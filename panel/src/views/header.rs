//! The page link's state and what was dropped on the way.

use leptos::prelude::*;

use crate::context::Ctx;
use crate::model::Connection;

/// Connection state, its detail, and counts of what did not arrive or did not decode.
#[component]
pub fn Header(ctx: Ctx) -> impl IntoView {
    let connection = move || ctx.read(|m| m.connection);
    let label = move || {
        ctx.read(|m| match m.connection_detail.as_str() {
            "" => m.connection.label().to_string(),
            detail => format!("{} — {detail}", m.connection.label()),
        })
    };
    let class = move || match connection() {
        Connection::Connected => "connection ok",
        _ => "connection off",
    };
    let losses = move || {
        ctx.read(|m| {
            let lost = m.dropped.waits + m.dropped.host_calls + m.dropped.pollable_changes;
            format!(
                "{} rejected · {} batches lost · {} records dropped by the host",
                m.rejected, m.lost_batches, lost
            )
        })
    };
    view! {
        <div class="header">
            <strong>"Pollscope"</strong>
            <span class=class data-testid="connection">{label}</span>
            <span class="muted" data-testid="losses">{losses}</span>
        </div>
    }
}
