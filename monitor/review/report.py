"""One stored call as a standalone HTML review (`heatmon report`) and as JSON (`heatmon export`).

The HTML file carries everything inline (CSS, the SVG chart, no scripts, no fonts, no
links out), so it opens on an offline call floor and can be mailed or archived as is.
Pure: dict in, text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from monitor import __version__
from monitor.events import turn_score
from monitor.review.chart import heat_chart, sentiment_colour, sentiment_tint
from monitor.review.summary import clock, signed_score, summarize
from monitor.store import iso_to_ts

EXPORT_FORMAT = "heatmon-call"
EXPORT_VERSION = 1


def export_document(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON `heatmon export` writes: the call, its events (wire contract) and its review."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "heatmon": __version__,
        "ref": detail.get("ref"),
        "call": dict(detail.get("call", {})),
        "review": summarize(detail),
        **{
            key: list(detail.get(key, ())) for key in ("turns", "heat", "alerts", "acks", "coach", "messages")
        },
    }


_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222;
       padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.meta { color: #555; } .cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .5rem .8rem; min-width: 120px; }
.card b { display: block; font-size: 1.25rem; } .card span { color: #666; font-size: .85rem; }
.axis { font-size: 11px; fill: #666; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .3rem .5rem; vertical-align: top; }
tr + tr td { border-top: 1px solid #eee; }
.time { color: #595959; white-space: nowrap; font-variant-numeric: tabular-nums; }
.speaker { font-weight: 600; white-space: nowrap; }
.agent .speaker { color: #1f5fa8; } .caller .speaker { color: #8a3b12; }
.alert-row td { background: #fdecea; } .coach-row td { background: #eaf1fb; }
.msg-row td { background: #f3eefa; }
.level { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: .85rem; font-weight: 600;
         border: 1px solid currentColor; }
.calm { color: #1f5c39; background: #e5f3ea; } .warm, .warning { color: #7a4d00; background: #fcf1d8; }
.hot { color: #9a3412; background: #fde6d8; } .boiling, .critical { color: #8f0f22; background: #fbe0e3; }
.info { color: #244a75; background: #e4edf7; }
.card .level { font-size: .85rem; } .evidence { color: #595959; font-style: italic; }
footer { margin-top: 2rem; color: #595959; font-size: .85rem; }
"""


def render_report(detail: Mapping[str, Any]) -> str:
    """The review page of one call as a complete HTML document."""
    call = detail.get("call", {})
    review = summarize(detail)
    caller = call.get("caller_name") or "unknown caller"
    title = f"Call {call.get('id')} — {caller} with {call.get('agent') or '?'}"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="meta">Started {escape(_when(call.get("started_at")))} · '
            f"duration {clock(review['duration'])} · source {escape(str(call.get('source') or '—'))} · "
            f"{escape(str(detail.get('ref', '')))}</p>",
            _cards(review),
            "<h2>Heat over the call</h2>",
            heat_chart(detail, review),
            "<h2>H.E.A.T. steps</h2>",
            _steps(review),
            "<h2>Alerts</h2>",
            _alerts(review),
            "<h2>Transcript</h2>",
            _timeline(detail),
            f"<footer>heatmon {escape(__version__)} after-call review. Caller sentiment (heatmon's turn "
            "score) colours the caller's turns (red negative, green positive); the agent's speech is "
            "never scored.</footer>",
            "</body></html>",
        ]
    )


def _cards(review: Mapping[str, Any]) -> str:
    peak = review.get("peak_heat")
    level = review.get("peak_level") or ""
    cards = [
        (
            "peak heat",
            f"{peak:.0f} <span class='level {escape(str(level))}'>{escape(str(level))}</span>"
            if peak is not None
            else "—",
        ),
        ("peak at", clock(review.get("peak_at"))),
        ("hot to calm", _hot_to_calm(review)),
        (
            "steps done",
            escape(" ".join(str(s["step"]) for s in review.get("steps", ()) if s["done"])) or "none",
        ),
        ("alerts", str(len(review.get("alerts", ())))),
        ("caller turns", str(review.get("turns", {}).get("caller", 0))),
    ]
    body = "".join(f'<div class="card"><span>{name}</span><b>{value}</b></div>' for name, value in cards)
    return f'<div class="cards" id="summary">{body}</div>'


def _hot_to_calm(review: Mapping[str, Any]) -> str:
    if review.get("hot_at") is None:
        return "never hot"
    if review.get("hot_to_calm") is None:
        return f"hot at {clock(review['hot_at'])}, not calm again"
    return f"{clock(review['hot_to_calm'])}"


def _steps(review: Mapping[str, Any]) -> str:
    steps = review.get("steps", ())
    if not steps:
        return "<p>No coaching on this call.</p>"
    items = "".join(
        f"<li><b>{escape(str(s['step']))}</b> "
        + (f"done at {clock(s['at'])}" if s["done"] else "not done")
        + "</li>"
        for s in steps
    )
    return f'<ul id="steps">{items}</ul>'


def _alerts(review: Mapping[str, Any]) -> str:
    alerts = review.get("alerts", ())
    if not alerts:
        return "<p>No alerts on this call.</p>"
    rows = "".join(
        f'<tr><td class="time">{clock(a.get("t"))}</td><td>{escape(str(a.get("kind")))}</td>'
        f"<td><span class='level {escape(str(a.get('level')))}'>{escape(str(a.get('level')))}</span></td>"
        f"<td>{escape(str(a.get('message')))}"
        + "".join(f'<div class="evidence">“{escape(str(e))}”</div>' for e in a.get("evidence") or ())
        + "</td>"
        f"<td>{escape(', '.join(a['acked_by'])) if a['acked_by'] else 'not acknowledged'}</td></tr>"
        for a in alerts
    )
    head = "".join(f"<th>{h}</th>" for h in ("time", "kind", "level", "message", "acknowledged by"))
    return f'<table id="alerts"><tr>{head}</tr>{rows}</table>'


def _timeline(detail: Mapping[str, Any]) -> str:
    """Turns, alerts, coach prompts and supervisor messages interleaved in call time."""
    rows: list[tuple[float, int, str]] = []
    for turn in detail.get("turns", ()):
        speaker = str(turn.get("speaker"))
        style = ""
        # heatmon's turn score, as the call page and the live views colour the turn (not raw VADER).
        score = turn_score(turn) if speaker == "caller" else None
        if score is not None:
            style = (
                f' style="background: {sentiment_tint(score)}; border-left: 4px solid '
                f'{sentiment_colour(score)}" title="sentiment {signed_score(score)}"'
            )
        rows.append(
            (
                float(turn["start"]),
                0,
                f'<tr class="turn {escape(speaker)}"><td class="time">{clock(turn["start"])}</td>'
                f'<td class="speaker">{escape(speaker)}</td>'
                f"<td{style}>{escape(str(turn.get('text')))}</td></tr>",
            )
        )
    for alert in detail.get("alerts", ()):
        rows.append(
            (
                float(alert["t"]),
                1,
                f'<tr class="alert-row"><td class="time">{clock(alert["t"])}</td>'
                '<td class="speaker">alert</td>'
                f"<td>{escape(str(alert.get('kind')))}: {escape(str(alert.get('message')))}</td></tr>",
            )
        )
    for coach in detail.get("coach", ()):
        if not coach.get("prompt"):
            continue  # progress only (a step ticked, nothing said to the agent): the steps list has it
        rows.append(
            (
                float(coach["t"]),
                2,
                f'<tr class="coach-row"><td class="time">{clock(coach["t"])}</td>'
                f'<td class="speaker">coach {escape(str(coach.get("step")))}</td>'
                f"<td>{escape(str(coach.get('prompt')))}</td></tr>",
            )
        )
    started = iso_to_ts(detail.get("call", {}).get("started_at"))
    for message in detail.get("messages", ()):
        t = _message_time(message, started)
        when = clock(t) if t != float("inf") else escape(str(message.get("at") or ""))
        rows.append(
            (
                t,
                3,
                f'<tr class="msg-row"><td class="time">{when}</td><td class="speaker">'
                f"{escape(str(message.get('from') or 'supervisor'))}</td>"
                f"<td>{escape(str(message.get('text')))}</td></tr>",
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return f'<table id="transcript">{"".join(r[2] for r in rows)}</table>'


def _message_time(message: Mapping[str, Any], started: float | None) -> float:
    """A supervisor message's place on the call's clock: its `t` (stored since schema v3),
    else its wall-clock `at` less the call's start; infinity (the end) when neither is known."""
    t = message.get("t")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    sent = iso_to_ts(message.get("at"))
    return sent - started if sent is not None and started is not None else float("inf")


def _when(started_at: object) -> str:
    """A call's start as people read it. The report is a file opened anywhere, later: its
    reader's time zone is unknown, so the time is given in UTC and says so."""
    if not isinstance(started_at, str) or not started_at:
        return "—"
    try:
        moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return started_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
