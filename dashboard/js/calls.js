// The live state of the calls a page may see, rebuilt from the hub's snapshot and kept up to
// date by events. No DOM and no clock here: the pages pass `now` (ms) in, so this stays easy
// to reason about. Each page's dispatch() decides which of these updates an event means.

const MAX_TURNS = 200;
const MAX_SENTIMENTS = 60;
const MAX_HEAT_HISTORY = 240;

/** The caller-turn score the dashboards colour by: `score` if the scorer gave one, else VADER's compound. */
export function turnScore(turn) {
  const sentiment = turn && turn.sentiment;
  if (!sentiment) return null;
  if (typeof sentiment.score === "number") return sentiment.score;
  return typeof sentiment.compound === "number" ? sentiment.compound : null;
}

/**
 * The snapshot's sentiment series, with each point the hub has the turn for re-read as the
 * turn's score (the hub keeps `compound`), so a reload draws what the live page drew.
 */
function scoredSentiments(state) {
  const scores = new Map();
  for (const turn of state.turns || []) {
    const score = turn.speaker === "caller" ? turnScore(turn) : null;
    if (score !== null) scores.set(turn.t, score);
  }
  return (state.sentiments || []).map(([t, value]) => [t, scores.has(t) ? scores.get(t) : value]);
}

function emptyCall(id) {
  return {
    call: id,
    agent: null,
    started_at: null,
    caller_name: null,
    source: null,
    t: 0,
    ended: false,
    duration: null,
    summary: null,
    heat: null,
    heat_history: [],
    sentiments: [],
    turns: [],
    partials: { caller: "", agent: "" },
    coach: null, // the newest coach event (its `done` is the checklist)
    coach_prompt: null, // the newest coach event with a prompt (prompt-less ones only tick steps)
    alerts: [],
    messages: [],
    seenAt: 0,
    order: 0,
  };
}

function capped(list, max) {
  return list.length > max ? list.slice(list.length - max) : list;
}

export class CallBook {
  constructor() {
    this.calls = new Map();
    this.counter = 0;
  }

  /** Forget everything and take the hub's snapshot as the truth. */
  load(snapshot, now) {
    this.calls.clear();
    for (const state of (snapshot && snapshot.calls) || []) {
      const call = Object.assign(emptyCall(state.call), state, {
        partials: Object.assign({ caller: "", agent: "" }, state.partials || {}),
        turns: [...(state.turns || [])],
        sentiments: scoredSentiments(state),
        heat_history: [...(state.heat_history || [])],
        alerts: (state.alerts || []).map((alert) => ({ ...alert, call: state.call })),
        messages: [...(state.messages || [])],
        seenAt: now,
        endedAt: state.ended ? now : undefined,
        order: ++this.counter,
      });
      this.calls.set(call.call, call);
    }
    // The floor-wide alert list may name calls that have left the board; keep only the
    // ones whose call we show, so no tile appears for a call that is gone.
    for (const alert of (snapshot && snapshot.alerts) || []) {
      if (this.calls.has(alert.call)) this.alert(alert, now);
    }
  }

  get(id) {
    return this.calls.get(id);
  }

  /** The call an event is about, created on first sight (events may arrive before call_started after a gap). */
  touch(event, now) {
    let call = this.calls.get(event.call);
    if (!call) {
      call = emptyCall(event.call);
      call.order = ++this.counter;
      this.calls.set(event.call, call);
    }
    if (typeof event.t === "number" && event.t >= call.t) {
      call.t = event.t;
      call.seenAt = now;
    }
    return call;
  }

  callStarted(event, now) {
    const call = this.touch(event, now);
    for (const key of ["agent", "started_at", "caller_name", "source"]) {
      if (event[key] !== undefined && event[key] !== null) call[key] = event[key];
    }
    call.ended = false;
    return call;
  }

  partial(event, now) {
    const call = this.touch(event, now);
    call.partials = { ...call.partials, [event.speaker]: event.text || "" };
    return call;
  }

  turn(event, now) {
    const call = this.touch(event, now);
    call.turns = capped([...call.turns, event], MAX_TURNS);
    call.partials = { ...call.partials, [event.speaker]: "" };
    const score = turnScore(event);
    if (event.speaker === "caller" && score !== null) {
      call.sentiments = capped([...call.sentiments, [event.t, score]], MAX_SENTIMENTS);
    }
    if (event.caller_name) call.caller_name = event.caller_name;
    return call;
  }

  heat(event, now) {
    const call = this.touch(event, now);
    call.heat = { value: event.value, level: event.level, trend: event.trend, reasons: event.reasons || [] };
    call.heat_history = capped([...call.heat_history, [event.t, event.value]], MAX_HEAT_HISTORY);
    return call;
  }

  coach(event, now) {
    const call = this.touch(event, now);
    call.coach = event;
    if (event.prompt) call.coach_prompt = event;
    if (event.caller_name) call.caller_name = event.caller_name;
    return call;
  }

  alert(event, now) {
    const call = this.touch(event, now);
    const known = call.alerts.find((alert) => alert.id === event.id);
    if (known) Object.assign(known, event, { acked_by: event.acked_by ?? known.acked_by ?? null });
    else call.alerts = [...call.alerts, { acked_by: null, ...event }];
    return call;
  }

  alertAck(event, now) {
    const call = this.touch(event, now);
    const alert = call.alerts.find((item) => item.id === event.id);
    if (alert) {
      alert.acked_by = event.by || "a supervisor";
      alert.acked_at = event.at;
    }
    return call;
  }

  supervisorMessage(event, now) {
    const call = this.touch(event, now);
    call.messages = capped([...call.messages, event], 50);
    return call;
  }

  callEnded(event, now) {
    const call = this.touch(event, now);
    call.ended = true;
    call.endedAt = now;
    call.duration = event.duration;
    call.summary = event.summary || null;
    if (call.summary && call.summary.caller_name && !call.caller_name) call.caller_name = call.summary.caller_name;
    call.partials = { caller: "", agent: "" };
    return call;
  }

  /** Drop calls that ended more than `keepMs` ago; returns the ids removed. */
  prune(now, keepMs) {
    const removed = [];
    for (const [id, call] of this.calls) {
      if (call.ended && call.endedAt !== undefined && now - call.endedAt > keepMs) {
        this.calls.delete(id);
        removed.push(id);
      }
    }
    return removed;
  }

  /** Seconds on the call now: the call's own clock, advanced by the time since we last heard of it. */
  elapsed(call, now) {
    if (call.ended) return call.duration ?? call.t;
    return call.t + Math.max(0, now - call.seenAt) / 1000;
  }

  /** Every call, hottest first; ended calls after live ones; ties by who started first. */
  sorted() {
    return [...this.calls.values()].sort((a, b) => {
      if (a.ended !== b.ended) return a.ended ? 1 : -1;
      const heatA = a.heat ? a.heat.value : -1;
      const heatB = b.heat ? b.heat.value : -1;
      return heatB - heatA || a.order - b.order;
    });
  }

  /** Live calls, hot calls (hot or boiling) and average heat of the live calls that have heat. */
  figures(isHot) {
    const live = [...this.calls.values()].filter((call) => !call.ended);
    const withHeat = live.filter((call) => call.heat);
    const average = withHeat.length ? withHeat.reduce((sum, call) => sum + call.heat.value, 0) / withHeat.length : null;
    return { live: live.length, hot: withHeat.filter((call) => isHot(call.heat.level)).length, average };
  }
}
