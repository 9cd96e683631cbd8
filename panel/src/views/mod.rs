//! The panel's views, one per module, each rendering one thing from the model.

mod asyncify;
mod console;
mod controls;
mod goroutines;
mod header;
mod overview;
mod pollables;
mod ring;
mod waits;

use leptos::prelude::*;

use crate::context::Ctx;

/// Table rows drawn at most (the newest or the first; the counts say how many there are).
pub const MAX_ROWS: usize = 100;

const CSS: &str = include_str!("../../panel.css");

/// The whole panel.
#[component]
pub fn Panel(ctx: Ctx) -> impl IntoView {
    let theme = move || ctx.theme.get().map(|theme| theme.name());
    view! {
        <div class="pollscope-panel" data-theme=theme data-testid="panel">
            <style>{CSS}</style>
            <header::Header ctx=ctx />
            <controls::Controls ctx=ctx />
            <div class="grid">
                <overview::Overview ctx=ctx />
                <pollables::Pollables ctx=ctx />
                <waits::Waits ctx=ctx />
                <ring::Ring ctx=ctx />
                <goroutines::Goroutines ctx=ctx />
                <asyncify::Asyncify ctx=ctx />
                <console::Console ctx=ctx />
            </div>
        </div>
    }
}
