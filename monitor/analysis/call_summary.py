"""A finished call's summary for `call_ended`: peak and final heat, steps, alerts, counts."""

from __future__ import annotations

from typing import Any

from monitor.analysis.alerts import AlertBoard
from monitor.analysis.coach import Coach
from monitor.analysis.heat import HeatModel


def call_summary(
    heat: HeatModel, coach: Coach, alerts: AlertBoard, counts: dict[str, int], scores: list[float]
) -> dict[str, Any]:
    """What happened in the call: heat, the H.E.A.T. steps and when, alerts, turn counts."""
    done_at = coach.done_at
    return {
        "peak_heat": round(heat.peak, 1),
        "peak_at": round(heat.peak_t, 2),
        "final_heat": round(heat.value, 1),
        "final_level": heat.level,
        "steps_done": {k: v is not None for k, v in done_at.items()},
        "steps_done_at": {k: (round(v, 2) if v is not None else None) for k, v in done_at.items()},
        "alerts": [{"id": a.id, "kind": a.kind, "t": round(a.t, 2)} for a in alerts.raised],
        "alert_counts": alerts.counts(),
        "caller_turns": counts["caller"],
        "agent_turns": counts["agent"],
        "mean_caller_score": round(sum(scores) / len(scores), 3) if scores else None,
        "min_caller_score": min(scores) if scores else None,
        "talk_overs": counts["talk_over"],
        "dead_air": counts["dead_air"],
        "coach_prompts": coach.prompts,
        "caller_name": coach.caller_name,
    }
