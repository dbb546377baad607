//! The admin page's usage chart, drawn by the server as SVG: one application's calls and token
//! requests in each hour of today (UTC), and the day's total against the plan.

use crate::platform::PlanLimits;
use crate::quota::HourlyCalls;

/// Width of the drawing, in SVG units.
pub(crate) const WIDTH: u32 = 600;
/// Height of the drawing.
pub(crate) const HEIGHT: u32 = 200;
const LEFT: u32 = 36;
const PLOT_WIDTH: u32 = WIDTH - LEFT - 12;
const GAUGE_Y: u32 = 22;
const GAUGE_HEIGHT: u32 = 14;
const PLOT_TOP: u32 = 62;
const PLOT_BOTTOM: u32 = 176;
const COLUMN: u32 = PLOT_WIDTH / 24;

/// A rectangle of the chart, with the text a browser shows when pointing at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rect {
    /// Left edge.
    pub(crate) x: u32,
    /// Top edge.
    pub(crate) y: u32,
    /// Width.
    pub(crate) w: u32,
    /// Height.
    pub(crate) h: u32,
    /// CSS class: `token`, `api`, `plan` or `used`.
    pub(crate) class: &'static str,
    /// What it shows, in words.
    pub(crate) label: String,
}

/// A label of an axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tick {
    /// Where it is drawn.
    pub(crate) x: u32,
    /// Where it is drawn.
    pub(crate) y: u32,
    /// The text.
    pub(crate) text: String,
}

/// Everything the template draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageChart {
    /// The plan's gauge (its whole width) and today's use over it.
    pub(crate) gauge: Vec<Rect>,
    /// Per hour: token requests stacked under API calls.
    pub(crate) bars: Vec<Rect>,
    /// Hours under the plot and the scale beside it.
    pub(crate) ticks: Vec<Tick>,
    /// The summary line over the gauge.
    pub(crate) summary: String,
    /// Calls counted today (token requests included).
    pub(crate) calls_today: u64,
    /// Token requests today.
    pub(crate) token_requests: u64,
    /// API calls today.
    pub(crate) api_calls: u64,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `part / whole` of `length`, rounded, at most `length`.
fn share(part: u64, whole: u64, length: u32) -> u32 {
    if whole == 0 {
        return 0;
    }
    let scaled = (u128::from(part.min(whole)) * u128::from(length) + u128::from(whole) / 2)
        / u128::from(whole);
    u32::try_from(scaled).unwrap_or(length)
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `n` (the top of the hourly scale).
fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let top = step.saturating_mul(m);
            if top >= n || top == u64::MAX {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

impl UsageChart {
    /// The chart of `hours` (today's calls by hour) against `plan`; `calls_today` is the
    /// quota's count, which the gauge shows.
    pub(crate) fn new(hours: &HourlyCalls, calls_today: u64, plan: &PlanLimits) -> Self {
        let token_requests = hours.total_token_requests();
        let api_calls = hours.total_api_calls();
        // A day with calls shows at least a sliver, however large the plan.
        let visible = |n: u64| share(n, plan.calls_per_day, PLOT_WIDTH).max(u32::from(n > 0) * 2);
        let used = visible(calls_today).min(PLOT_WIDTH);
        let tokens = visible(token_requests).min(used);
        let mut gauge = vec![Rect {
            x: LEFT,
            y: GAUGE_Y,
            w: PLOT_WIDTH,
            h: GAUGE_HEIGHT,
            class: "plan",
            label: format!(
                "plan: {} per day, {} of them for token requests",
                plural(plan.calls_per_day, "call", "calls"),
                PlanLimits::AUTH_REQUESTS_PER_DAY
            ),
        }];
        if used > 0 {
            gauge.push(Rect {
                x: LEFT,
                y: GAUGE_Y,
                w: used,
                h: GAUGE_HEIGHT,
                class: "used",
                label: format!("{calls_today} of {} calls used today", plan.calls_per_day),
            });
        }
        if tokens > 0 {
            gauge.push(Rect {
                x: LEFT,
                y: GAUGE_Y,
                w: tokens,
                h: GAUGE_HEIGHT,
                class: "token",
                label: plural(token_requests, "token request", "token requests"),
            });
        }
        let busiest = (0..24)
            .map(|h| hours.token_requests[h].saturating_add(hours.api_calls[h]))
            .max()
            .unwrap_or(0);
        let top = nice_ceiling(busiest.max(1));
        let plot_height = PLOT_BOTTOM - PLOT_TOP;
        let mut bars = Vec::new();
        for hour in 0..24u32 {
            let index = hour as usize;
            let (token, api) = (hours.token_requests[index], hours.api_calls[index]);
            let x = LEFT + hour * COLUMN + 2;
            let token_h = share(token, top, plot_height);
            let api_h = share(token.saturating_add(api), top, plot_height) - token_h;
            let when = format!("{hour:02}:00–{:02}:00 UTC", hour + 1);
            if token_h > 0 {
                bars.push(Rect {
                    x,
                    y: PLOT_BOTTOM - token_h,
                    w: COLUMN - 4,
                    h: token_h,
                    class: "token",
                    label: format!(
                        "{when}: {}",
                        plural(token, "token request", "token requests")
                    ),
                });
            }
            if api_h > 0 {
                bars.push(Rect {
                    x,
                    y: PLOT_BOTTOM - token_h - api_h,
                    w: COLUMN - 4,
                    h: api_h,
                    class: "api",
                    label: format!("{when}: {}", plural(api, "API call", "API calls")),
                });
            }
        }
        let mut ticks: Vec<Tick> = [0u32, 6, 12, 18, 24]
            .iter()
            .map(|&hour| Tick {
                x: LEFT + hour * COLUMN,
                y: PLOT_BOTTOM + 14,
                text: format!("{hour:02}h"),
            })
            .collect();
        ticks.push(Tick {
            x: LEFT - 6,
            y: PLOT_TOP + 4,
            text: top.to_string(),
        });
        ticks.push(Tick {
            x: LEFT - 6,
            y: PLOT_BOTTOM,
            text: "0".into(),
        });
        Self {
            gauge,
            bars,
            ticks,
            summary: format!(
                "{} of {} today: {}, {} of the {} accounted",
                calls_today,
                plural(plan.calls_per_day, "call", "calls"),
                plural(api_calls, "API call", "API calls"),
                plural(token_requests, "token request", "token requests"),
                PlanLimits::AUTH_REQUESTS_PER_DAY
            ),
            calls_today,
            token_requests,
            api_calls,
        }
    }

    /// The SVG's width.
    pub(crate) fn width(&self) -> u32 {
        WIDTH
    }

    /// The SVG's height.
    pub(crate) fn height(&self) -> u32 {
        HEIGHT
    }

    /// Left edge of the plot (where the scale's labels end).
    pub(crate) fn left(&self) -> u32 {
        LEFT
    }

    /// Bottom line of the plot.
    pub(crate) fn bottom(&self) -> u32 {
        PLOT_BOTTOM
    }

    /// Right edge of the plot.
    pub(crate) fn right(&self) -> u32 {
        LEFT + PLOT_WIDTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_token_requests_under_api_calls_on_a_nice_scale() {
        let mut hours = HourlyCalls::default();
        hours.token_requests[9] = 2;
        hours.api_calls[9] = 3;
        hours.api_calls[23] = 1;
        let plan = PlanLimits {
            calls_per_day: 10,
            queries_per_second: 10,
        };
        let chart = UsageChart::new(&hours, 6, &plan);
        assert_eq!((chart.token_requests, chart.api_calls), (2, 4));
        // Hour 9 holds 5 calls, the top of the scale is 5: its column fills the plot.
        let nine: Vec<_> = chart
            .bars
            .iter()
            .filter(|b| b.label.starts_with("09:00"))
            .collect();
        assert_eq!(nine.len(), 2);
        assert_eq!(nine[0].class, "token");
        assert_eq!(nine[0].y + nine[0].h, PLOT_BOTTOM);
        assert_eq!(nine[1].y, PLOT_TOP);
        assert_eq!(nine[1].label, "09:00–10:00 UTC: 3 API calls");
        assert_eq!(chart.bars.len(), 3);
        // The gauge: 6 of 10 calls used, 2 of them token requests.
        assert_eq!(chart.gauge[1].w, share(6, 10, PLOT_WIDTH));
        assert_eq!(chart.gauge[2].w, share(2, 10, PLOT_WIDTH));
        assert_eq!(
            chart.summary,
            "6 of 10 calls today: 4 API calls, 2 token requests of the 6 accounted"
        );
    }

    #[test]
    fn an_idle_day_and_an_overfull_one_stay_inside_the_drawing() {
        let plan = PlanLimits::default();
        let idle = UsageChart::new(&HourlyCalls::default(), 0, &plan);
        assert!(idle.bars.is_empty());
        assert_eq!(idle.gauge.len(), 1);
        let one = UsageChart::new(&HourlyCalls::default(), 1, &plan);
        assert_eq!(one.gauge[1].w, 2, "one call of 5000 still shows");
        let hours = HourlyCalls {
            api_calls: [u64::MAX / 48; 24],
            ..HourlyCalls::default()
        };
        let full = UsageChart::new(&hours, u64::MAX, &plan);
        for rect in full.bars.iter().chain(&full.gauge) {
            assert!(
                rect.x + rect.w <= WIDTH && rect.y + rect.h <= HEIGHT,
                "{rect:?}"
            );
        }
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }
}
