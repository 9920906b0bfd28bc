"""The after-call summary of a stored call: pure, from `Store.call_detail`'s dict.

What a team lead asks after a hard call: how hot did it get, how long did it take to
bring the caller back to calm, which H.E.A.T. steps the agent took and when, and what
alerts fired (and who acknowledged them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.events import turn_score

HOT_LEVELS = frozenset({"hot", "boiling"})


def summarize(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready summary of one call's review."""
    heat: Sequence[Mapping[str, Any]] = detail.get("heat", ())
    turns: Sequence[Mapping[str, Any]] = detail.get("turns", ())
    call: Mapping[str, Any] = detail.get("call", {})
    peak = max(heat, key=lambda h: float(h["value"]), default=None)
    hot_at, calm_at = hot_to_calm(heat)
    caller_scores = [
        score for t in turns if t.get("speaker") == "caller" and (score := turn_score(t)) is not None
    ]
    last_t = max([float(call.get("last_t") or 0.0)] + [float(t["end"]) for t in turns])
    return {
        "duration": call.get("duration") if call.get("duration") is not None else round(last_t, 2),
        "peak_heat": float(peak["value"]) if peak else None,
        "peak_level": peak.get("level") if peak else None,
        "peak_at": float(peak["t"]) if peak else None,
        "final_level": heat[-1].get("level") if heat else None,
        "hot_at": hot_at,
        "calm_again_at": calm_at,
        "hot_to_calm": round(calm_at - hot_at, 2) if hot_at is not None and calm_at is not None else None,
        "steps": steps_taken(detail.get("coach", ()), _summary_steps(call.get("summary"))),
        "alerts": alert_summary(detail.get("alerts", ()), detail.get("acks", ())),
        "turns": {
            "caller": sum(1 for t in turns if t.get("speaker") == "caller"),
            "agent": sum(1 for t in turns if t.get("speaker") == "agent"),
        },
        "caller_sentiment_mean": round(sum(caller_scores) / len(caller_scores), 3) if caller_scores else None,
        "supervisor_messages": len(detail.get("messages", ())),
    }


def hot_to_calm(heat: Sequence[Mapping[str, Any]]) -> tuple[float | None, float | None]:
    """When the call first got hot, and when after that it was first calm again (None if never)."""
    hot_at: float | None = None
    for h in heat:
        level = h.get("level")
        if hot_at is None and level in HOT_LEVELS:
            hot_at = float(h["t"])
        elif hot_at is not None and level == "calm":
            return hot_at, float(h["t"])
    return hot_at, None


def _summary_steps(summary: Any) -> Mapping[str, Any]:
    """`call_ended.summary.steps_done_at` (step -> call time), or `steps_done` without times."""
    if not isinstance(summary, Mapping):
        return {}
    done_at = summary.get("steps_done_at")
    if isinstance(done_at, Mapping):
        return {**{k: None for k in summary.get("steps_done") or {}}, **done_at}
    return {}


def steps_taken(
    coach: Sequence[Mapping[str, Any]], summary_done_at: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Each step the agent completed, in the order done, with the call time it was done.

    The call's summary knows when a step was taken (the analysis saw the agent's words);
    coach events show it from the next coach event on (a prompt, or a prompt-less one sent
    when the step was taken; calls stored before those existed show it only from the next
    prompt), so the summary's times win and coach events fill in where there is no summary.
    """
    done_at: dict[str, float] = {}
    order: list[str] = []
    for step, at in (summary_done_at or {}).items():
        order.append(step)
        if isinstance(at, (int, float)):
            done_at[step] = float(at)
    for event in coach:
        done = event.get("done") or {}
        for step, is_done in done.items():
            if step not in done_at and is_done is True:
                done_at[step] = float(event["t"])  # no summary time: first seen done
        for step in done:
            if step not in order:
                order.append(step)
    steps = [{"step": s, "done": s in done_at, "at": done_at.get(s)} for s in order]
    return sorted(steps, key=lambda s: (s["at"] is None, s["at"] or 0.0))


def alert_summary(
    alerts: Sequence[Mapping[str, Any]], acks: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every alert with when it fired and who acknowledged it."""
    acked_by: dict[str, list[str]] = {}
    for ack in acks:
        acked_by.setdefault(str(ack.get("id")), []).append(str(ack.get("by") or "?"))
    return [
        {
            "id": a.get("id"),
            "t": a.get("t"),
            "kind": a.get("kind"),
            "level": a.get("level"),
            "message": a.get("message"),
            "evidence": list(a.get("evidence") or ()),
            "acked_by": acked_by.get(str(a.get("id")), []),
        }
        for a in alerts
    ]


def signed_score(score: float) -> str:
    """A turn score the way the call page's transcript writes it: "+0.30", "−0.30", "0.00"."""
    sign = "+" if score > 0 else "−" if score < 0 else ""
    return f"{sign}{abs(score):.2f}"


def clock(seconds: float | None) -> str:
    """Call time as m:ss (or h:mm:ss), the way the board shows it; an em dash for None.

    Whole seconds elapsed, like a stopwatch: 214.99 s is 3:34, not 3:35. The dashboard's
    `formatDuration` (dashboard/js/dom.js) floors the same way, so every view agrees."""
    if seconds is None:
        return "—"
    whole = math.floor(max(0.0, float(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
