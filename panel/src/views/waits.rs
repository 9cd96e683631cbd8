//! Recent waits: a timeline (asked vs actual, coloured by wake cause), a table, and the
//! overshoot histogram from the host's totals.

use leptos::prelude::*;

use crate::context::Ctx;
use crate::model::{chart, format, histogram};

/// Waits drawn on the timeline and listed.
const TIMELINE_WAITS: usize = 200;
const LISTED_WAITS: usize = 30;
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 24.0;

/// Waits.
#[component]
pub fn Waits(ctx: Ctx) -> impl IntoView {
    let count = move || ctx.read(|m| m.wait_totals.count.to_string());
    let timeline = move || {
        ctx.read(|m| {
            let mut recent: Vec<_> = m.waits.newest(TIMELINE_WAITS).collect();
            recent.reverse();
            chart::wait_timeline(&recent, WIDTH)
                .into_iter()
                .map(|bar| {
                    let asked = bar.asked.map(|w| {
                        view! {
                            <rect class="asked" x=bar.x y="2" width=w.max(0.5) height=HEIGHT - 4.0 />
                        }
                    });
                    view! {
                        <rect class=format!("wake {}", format::wake(bar.wake)) x=bar.x y="6"
                            width=bar.width height=HEIGHT - 12.0 />
                        {asked}
                    }
                })
                .collect_view()
        })
    };
    let rows = move || {
        ctx.read(|m| {
            m.waits
                .newest(LISTED_WAITS)
                .map(|wait| {
                    let asked = wait.timeout.map_or("event".into(), format::duration);
                    let overshoot = wait
                        .timeout
                        .filter(|_| wait.wake == pollscope_protocol::WakeCause::Deadline)
                        .map_or(String::new(), |t| {
                            format::duration(wait.duration.saturating_sub(t))
                        });
                    let wake = format::wake(wait.wake);
                    view! {
                        <tr data-testid="wait-row">
                            <td>{format::wait_call(wait.call)}</td>
                            <td class="num" data-testid="wait-asked">{asked}</td>
                            <td class="num" data-testid="wait-duration">{format::duration(wait.duration)}</td>
                            <td class="num">{overshoot}</td>
                            <td><span class=format!("wake {wake}")>{wake}</span></td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let bars = move || {
        ctx.read(|m| {
            histogram::bars(&m.wait_totals.overshoot)
                .into_iter()
                .map(|bar| {
                    let height = format!("height: {:.0}%", bar.height * 100.0);
                    let title = format!("{}: {}", bar.label, bar.count);
                    view! {
                        <div class="bar" data-testid="overshoot-bar" title=title>
                            <div class="fill" style=height></div>
                            <span class="count">{bar.count}</span>
                        </div>
                    }
                })
                .collect_view()
        })
    };
    let axis = move || {
        ctx.read(|m| {
            let bars = histogram::bars(&m.wait_totals.overshoot);
            match (bars.first(), bars.last()) {
                (Some(first), Some(last)) => format!(
                    "{} on the left to {} on the right, each bucket twice as wide (hover for counts)",
                    first.label, last.label
                ),
                _ => "no deadline waits yet".into(),
            }
        })
    };
    view! {
        <section class="view waits">
            <h2>"Waits"</h2>
            <p>"Waits so far: " <span class="num" data-testid="wait-count">{count}</span></p>
            <svg class="timeline" viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none"
                data-testid="wait-timeline">
                {timeline}
            </svg>
            <p class="legend">
                <span class="wake deadline">"deadline"</span>
                <span class="wake ring-notify">"ring notify"</span>
                <span class="wake already-there">"already there"</span>
                <span class="wake command">"command"</span>
                <span class="asked-key">"asked"</span>
            </p>
            <table class="table">
                <thead>
                    <tr>
                        <th>"in"</th>
                        <th>"asked"</th>
                        <th>"actual"</th>
                        <th>"overshoot"</th>
                        <th>"woken by"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <h3>"Overshoot of deadline waits"</h3>
            <div class="histogram" data-testid="overshoot-histogram">{bars}</div>
            <p class="muted">{axis}</p>
        </section>
    }
}
