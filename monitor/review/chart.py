"""The heat timeline of a call as an inline SVG: pure, no external library or resource.

Heat is a line over call time with the level bands behind it; caller sentiment per turn
(heatmon's turn `score`, as the live views and the call page's transcript show it) is a
row of dots under it; alerts are red markers above it and completed H.E.A.T. steps
are lettered markers below it, each with a tooltip.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from monitor.events import turn_score
from monitor.review.summary import clock, signed_score

WIDTH, HEIGHT = 900, 300
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 34, 70
LEVEL_COLOURS = {"calm": "#2e9e6b", "warm": "#d9a21b", "hot": "#e0632b", "boiling": "#c62828"}


def heat_chart(detail: Mapping[str, Any], review: Mapping[str, Any]) -> str:
    """The call's timeline as one `<svg>` element."""
    heat: Sequence[Mapping[str, Any]] = detail.get("heat", ())
    turns: Sequence[Mapping[str, Any]] = detail.get("turns", ())
    span = max(float(review.get("duration") or 0.0), *(float(h["t"]) for h in heat), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + plot_w * max(0.0, min(t, span)) / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - max(0.0, min(value, 100.0)) / 100), 1)

    parts = [
        f'<svg class="heat-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        'aria-label="Heat over the call">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for value in (25, 50, 75):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value)}" y2="{y(value)}" stroke="#e4e4e4"/>'
        )
    for value in (0, 50, 100):
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4}" text-anchor="end" class="axis">{value}</text>')
    ticks = _time_ticks(span)
    for t in ticks:
        parts.append(
            f'<text x="{x(t)}" y="{TOP + plot_h + 14}" text-anchor="middle" class="axis">{clock(t)}</text>'
        )
    # A call starts calm at 0 (the heat model's start): the line begins there, not at the
    # first change, which may come a minute in.
    if heat and float(heat[0]["t"]) > 0:
        first = heat[0]
        parts.append(
            f'<polyline fill="none" stroke="{LEVEL_COLOURS["calm"]}" stroke-width="2.5" points="'
            f'{x(0.0)},{y(0.0)} {x(first["t"])},{y(0.0)} {x(first["t"])},{y(first["value"])}"/>'
        )
    # One segment per heat change, coloured by the level the call was at.
    for prev, cur in itertools.pairwise(heat):
        colour = LEVEL_COLOURS.get(str(prev.get("level")), "#777")
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="'
            f"{x(prev['t'])},{y(prev['value'])} {x(cur['t'])},{y(prev['value'])} "
            f'{x(cur["t"])},{y(cur["value"])}"/>'
        )
    if heat:
        last = heat[-1]
        colour = LEVEL_COLOURS.get(str(last.get("level")), "#777")
        parts.append(
            f'<line x1="{x(last["t"])}" x2="{x(span)}" y1="{y(last["value"])}" y2="{y(last["value"])}" '
            f'stroke="{colour}" stroke-width="2.5"/>'
        )
    for h in heat:
        title = f"{clock(h['t'])} heat {float(h['value']):.0f} ({h.get('level')}): " + "; ".join(
            h.get("reasons") or ()
        )
        parts.append(
            f'<circle class="heat-point" cx="{x(h["t"])}" cy="{y(h["value"])}" r="2.5" '
            f'fill="{LEVEL_COLOURS.get(str(h.get("level")), "#777")}"><title>{escape(title)}</title></circle>'
        )
    sentiment_y = TOP + plot_h + 30
    parts.append(f'<text x="{LEFT - 6}" y="{sentiment_y + 4}" text-anchor="end" class="axis">mood</text>')
    for turn in turns:
        score = turn_score(turn) if turn.get("speaker") == "caller" else None
        if score is None:
            continue
        parts.append(
            f'<circle class="mood" cx="{x(turn["end"])}" cy="{sentiment_y}" r="4" '
            f'fill="{sentiment_colour(score)}"><title>{escape(clock(turn["end"]))} caller '
            f"{signed_score(score)}: {escape(str(turn['text']))}</title></circle>"
        )
    for alert in detail.get("alerts", ()):
        ax = x(float(alert["t"]))
        parts.append(
            f'<g class="alert-mark"><line x1="{ax}" x2="{ax}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="#c62828" stroke-dasharray="3 3"/>'
            f'<path d="M{ax - 6},{TOP - 14} L{ax + 6},{TOP - 14} L{ax},{TOP - 3} Z" '
            f'fill="#c62828"/><title>{escape(clock(alert["t"]))} alert {escape(str(alert.get("kind")))}: '
            f"{escape(str(alert.get('message')))}</title></g>"
        )
    steps_y = TOP + plot_h + 54
    parts.append(f'<text x="{LEFT - 6}" y="{steps_y + 4}" text-anchor="end" class="axis">steps</text>')
    for step in review.get("steps", ()):
        if step.get("at") is None:
            continue
        sx = x(float(step["at"]))
        parts.append(
            f'<g class="step-mark"><circle cx="{sx}" cy="{steps_y}" r="9" fill="#1f5fa8"/>'
            f'<text x="{sx}" y="{steps_y + 4}" text-anchor="middle" fill="#fff" font-weight="bold">'
            f"{escape(str(step['step']))}</text><title>{escape(str(step['step']))} done at "
            f"{clock(step['at'])}</title></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def sentiment_colour(score: float) -> str:
    """Red for a negative caller turn, green for a positive one, grey near neutral; stronger when surer."""
    strength = min(1.0, abs(score))
    if score <= -0.05:
        return f"rgba(198, 40, 40, {0.25 + 0.75 * strength:.2f})"
    if score >= 0.05:
        return f"rgba(46, 158, 107, {0.25 + 0.75 * strength:.2f})"
    return "rgba(120, 120, 120, 0.35)"


def sentiment_tint(score: float) -> str:
    """A light background for a caller turn, same hue as `sentiment_colour`, so the text stays readable."""
    strength = min(1.0, abs(score))
    if score <= -0.05:
        return f"rgba(198, 40, 40, {0.08 + 0.27 * strength:.2f})"
    if score >= 0.05:
        return f"rgba(46, 158, 107, {0.08 + 0.27 * strength:.2f})"
    return "rgba(120, 120, 120, 0.08)"


def _time_ticks(span: float) -> list[float]:
    step = next((s for s in (15, 30, 60, 120, 300, 600, 1800) if span / s <= 10), 3600)
    return [float(t) for t in range(0, int(span) + 1, step)]
