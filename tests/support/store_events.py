"""Hub-like event streams for the store tests, made from the bundled demo calls.

Deliberately simple and independent of the real scorer and heat model (their tuning
changes; the store must not care): a word list gives caller sentiment, heat follows it,
alerts fire when heat turns hot, and agent phrases mark H.E.A.T. steps done (a coach
prompt once the call is warm, a prompt-less coach event while it is calm).
"""

from __future__ import annotations

import json
from typing import Any

from monitor.paths import BUNDLED_MODELS

DEMO = BUNDLED_MODELS / "demo_calls"
NEGATIVE = (
    "ridiculous",
    "sick",
    "lie",
    "idiot",
    "useless",
    "damn",
    "scam",
    "unbelievable",
    "third time",
    "nobody",
    "not my fault",
    "supervisor",
    "lawyer",
    "cancel",
    "lost",
    "running out",
)
POSITIVE = ("thank", "great", "perfect", "wonderful", "appreciate", "lovely", "helpful")
STEP_PHRASES = {
    "H": ("uh huh", "i see", "i hear you"),
    "E": ("understand", "frustrating", "that sounds"),
    "A": ("can i ask", "what you're telling me", "can you tell me"),
    "T": ("absolutely right", "here's what", "i'm going to"),
}


def demo_index() -> dict[str, dict[str, Any]]:
    """The demo calls' index, by call id."""
    data = json.loads((DEMO / "index.json").read_text(encoding="utf-8"))
    return {entry["call"]: entry for entry in data["calls"]}


def demo_turns(name: str) -> list[dict[str, Any]]:
    """One demo call's transcript lines."""
    lines = (DEMO / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def level_for(value: float) -> str:
    return "boiling" if value >= 75 else "hot" if value >= 55 else "warm" if value >= 30 else "calm"


def call_events(
    name: str, started_at: str, *, call_id: str | None = None, ack_by: str | None = "lead"
) -> list[dict[str, Any]]:
    """The events a hub would see for one demo call, in order, with `seq` numbers."""
    entry = demo_index()[name]
    call = call_id or name
    events: list[dict[str, Any]] = [
        {
            "type": "call_started",
            "call": call,
            "t": 0.0,
            "agent": entry["agent"],
            "started_at": started_at,
            "caller_name": entry["caller_name"],
            "source": "demo",
        },
    ]
    heat = 10.0
    level = "calm"
    done = {step: False for step in STEP_PHRASES}
    alerts = 0
    for turn in demo_turns(name):
        text, t = turn["text"], float(turn["end"])
        event = {
            "type": "turn",
            "call": call,
            "t": t,
            "speaker": turn["speaker"],
            "text": text,
            "start": turn["start"],
            "end": turn["end"],
            "confidence": 0.93,
        }
        if turn["speaker"] == "caller":
            compound = (
                -0.7 if any(w in text for w in NEGATIVE) else 0.6 if any(w in text for w in POSITIVE) else 0.0
            )
            event["sentiment"] = {
                "compound": compound,
                "neg": max(0.0, -compound) / 2,
                "neu": 0.5,
                "pos": max(0.0, compound) / 2,
            }
            events.append(event)
            heat = max(0.0, min(100.0, heat * 0.92 - compound * 22))
            new_level = level_for(heat)
            events.append(
                {
                    "type": "heat",
                    "call": call,
                    "t": t,
                    "value": round(heat, 1),
                    "level": new_level,
                    "trend": round(-compound * 10, 1),
                    "reasons": [f"caller turn {compound:+.1f}"],
                }
            )
            if new_level in ("hot", "boiling") and level not in ("hot", "boiling"):
                alerts += 1
                kind = "escalation" if "supervisor" in text or "lawyer" in text else "heat"
                events.append(
                    {
                        "type": "alert",
                        "call": call,
                        "t": t,
                        "id": f"a{alerts}",
                        "kind": kind,
                        "level": new_level,
                        "message": f"caller is {new_level}",
                        "evidence": [text[:60]],
                    }
                )
                if ack_by:
                    events.append(
                        {
                            "type": "alert_ack",
                            "call": call,
                            "id": f"a{alerts}",
                            "by": ack_by,
                            "at": started_at,
                        }
                    )
            level = new_level
        else:
            events.append(event)
            newly = [
                s for s, phrases in STEP_PHRASES.items() if not done[s] and any(p in text for p in phrases)
            ]
            for step in newly:
                done[step] = True
            if newly:
                upcoming = next((s for s in STEP_PHRASES if not done[s]), "T")
                # Like the real coach: no prompt on a calm call, only the steps ticked.
                calm = level == "calm"
                events.append(
                    {
                        "type": "coach",
                        "call": call,
                        "t": t,
                        "step": upcoming,
                        "prompt": "" if calm else f"next: {upcoming}",
                        "phrases": [] if calm else ["i understand"],
                        "done": dict(done),
                    }
                )
                heat = max(0.0, heat - 6 * len(newly))
    last = max(float(turn["end"]) for turn in demo_turns(name))
    events.append(
        {"type": "call_ended", "call": call, "t": last, "duration": last, "summary": {"alerts": alerts}}
    )
    for seq, event in enumerate(events, start=1):
        event["seq"] = seq
    return events
