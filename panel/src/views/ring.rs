//! The event ring: occupancy over time, capacity, high-water mark, throughput, stalls.

use leptos::prelude::*;

use crate::context::Ctx;
use crate::model::{chart, format};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 60.0;

/// Ring.
#[component]
pub fn Ring(ctx: Ctx) -> impl IntoView {
    let latest = move || ctx.read(|m| m.ring.last().copied());
    let field = move |f: fn(&pollscope_protocol::RingSample) -> String| {
        move || latest().map_or("—".to_string(), |s| f(&s))
    };
    let path = move || {
        ctx.read(|m| {
            let samples: Vec<_> = m.ring.iter().copied().collect();
            chart::occupancy_path(&samples, WIDTH, HEIGHT).unwrap_or_default()
        })
    };
    let throughput = move || {
        ctx.read(|m| {
            let samples: Vec<_> = m.ring.iter().copied().collect();
            chart::throughput(&samples).map_or("—".into(), |rate| {
                format!("{}/s", format::bytes(rate as u64))
            })
        })
    };
    view! {
        <section class="view ring">
            <h2>"Event ring"</h2>
            <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none"
                data-testid="ring-chart">
                <path d=path />
            </svg>
            <dl class="facts">
                <dt>"used"</dt>
                <dd data-testid="ring-used">{field(|s| s.used.to_string())}</dd>
                <dt>"capacity"</dt>
                <dd data-testid="ring-capacity">{field(|s| s.capacity.to_string())}</dd>
                <dt>"high-water"</dt>
                <dd data-testid="ring-high-water">{field(|s| s.high_water.to_string())}</dd>
                <dt>"throughput"</dt>
                <dd data-testid="ring-throughput">{throughput}</dd>
                <dt>"stalls"</dt>
                <dd data-testid="ring-stalls">{field(|s| s.stalls.to_string())}</dd>
            </dl>
        </section>
    }
}
