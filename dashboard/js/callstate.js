// The live state of the calls a page may see, and the one reducer that folds the hub's events
// into it: reduce(state, event, now) -> state (reduceAll for a batch), a pure function (no DOM, no clock: the page
// passes `now` in ms; the state passed in is never changed). The floor, the agent view and
// the floor's call view all read the same state, so an event means the same on every page.
//
// state = { calls: Map<call id, CALL>, counter }, CALL as emptyCall() below.

const MAX_TURNS = 200;
const MAX_SENTIMENTS = 60;
const MAX_HEAT_HISTORY = 240;
const MAX_MESSAGES = 50;
const LEVEL_RANK = { calm: 0, warm: 1, hot: 2, boiling: 3 };

/** The caller-turn score the dashboards colour by: `score` if the scorer gave one, else VADER's compound. */
export function turnScore(turn) {
  const sentiment = turn && turn.sentiment;
  if (!sentiment) return null;
  if (typeof sentiment.score === "number") return sentiment.score;
  return typeof sentiment.compound === "number" ? sentiment.compound : null;
}

export function emptyCall(id) {
  return {
    call: id,
    agent: null,
    started_at: null,
    caller_name: null,
    caller_number: null,
    source: null,
    t: 0,
    ended: false,
    endedAt: undefined,
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

export function initialState() {
  return { calls: new Map(), counter: 0 };
}

function capped(list, max) {
  return list.length > max ? list.slice(list.length - max) : list;
}

/** The hub's snapshot (welcome) as a fresh state: what the hub holds is the truth. */
export function fromSnapshot(snapshot, now) {
  const calls = new Map();
  let counter = 0;
  for (const raw of (snapshot && snapshot.calls) || []) {
    const call = {
      ...emptyCall(raw.call),
      ...raw,
      partials: { caller: "", agent: "", ...(raw.partials || {}) },
      turns: [...(raw.turns || [])],
      sentiments: [...(raw.sentiments || [])],
      heat_history: [...(raw.heat_history || [])],
      alerts: (raw.alerts || []).map((alert) => ({ acked_by: null, ...alert, call: raw.call })),
      messages: [...(raw.messages || [])],
      seenAt: now,
      endedAt: raw.ended ? now : undefined,
      order: ++counter,
    };
    calls.set(call.call, call);
  }
  let state = { calls, counter };
  // The floor-wide alert list may name calls that have left the board; keep only the ones
  // whose call we show, so no tile appears for a call that is gone.
  for (const alert of (snapshot && snapshot.alerts) || []) {
    if (calls.has(alert.call)) state = reduce(state, { type: "alert", ...alert }, now);
  }
  return state;
}

/** A call that starts again under an id we hold (ended, or another agent's) is a new call. */
function isNewCall(known, event) {
  if (!known) return true;
  if (known.ended) return true;
  return Boolean(event.agent && known.agent && event.agent !== known.agent);
}

/**
 * One event folded into its call: the call as it is after the event (a new object; the one in
 * `calls` is left as it was) and the counter, or null for an event that changes nothing.
 */
function step(calls, counter, event, now) {
  if (!event || typeof event.call !== "string") {
    console.warn("heatmon: an event without a call id", event);
    return null;
  }
  const known = calls.get(event.call);
  let call;
  if ((event.type === "call_started" && isNewCall(known, event)) || !known) call = { ...emptyCall(event.call), order: ++counter };
  else call = { ...known };
  if (typeof event.t === "number" && event.t >= call.t) {
    call.t = event.t;
    call.seenAt = now;
  }
  switch (event.type) {
    case "call_started":
      for (const key of ["agent", "started_at", "caller_name", "caller_number", "source"]) {
        if (event[key] !== undefined && event[key] !== null) call[key] = event[key];
      }
      call.ended = false;
      call.endedAt = undefined;
      break;
    case "partial":
      call.partials = { ...call.partials, [event.speaker]: event.text || "" };
      break;
    case "turn": {
      call.turns = capped([...call.turns, event], MAX_TURNS);
      call.partials = { ...call.partials, [event.speaker]: "" };
      const score = turnScore(event);
      if (event.speaker === "caller" && score !== null) call.sentiments = capped([...call.sentiments, [event.t, score]], MAX_SENTIMENTS);
      if (event.caller_name) call.caller_name = event.caller_name;
      break;
    }
    case "heat":
      call.heat = { value: event.value, level: event.level, trend: event.trend, reasons: event.reasons || [] };
      call.heat_history = capped([...call.heat_history, [event.t, event.value]], MAX_HEAT_HISTORY);
      break;
    case "coach":
      call.coach = event;
      if (event.prompt) call.coach_prompt = event;
      if (event.caller_name) call.caller_name = event.caller_name;
      break;
    case "alert": {
      const { type, ...alert } = event;
      const same = call.alerts.find((item) => item.id === alert.id);
      call.alerts = same
        ? call.alerts.map((item) => (item === same ? { ...same, ...alert, acked_by: alert.acked_by ?? same.acked_by ?? null } : item))
        : [...call.alerts, { acked_by: null, ...alert }];
      break;
    }
    case "alert_ack":
      call.alerts = call.alerts.map((item) =>
        item.id === event.id ? { ...item, acked_by: event.by || "a supervisor", acked_at: event.at, acked_t: event.t } : item,
      );
      break;
    case "supervisor_message":
      call.messages = capped([...call.messages, event], MAX_MESSAGES);
      break;
    case "call_ended":
      call.ended = true;
      call.endedAt = now;
      call.duration = event.duration;
      call.summary = event.summary || null;
      if (call.summary && call.summary.caller_name && !call.caller_name) call.caller_name = call.summary.caller_name;
      call.partials = { caller: "", agent: "" };
      break;
    default:
      console.warn("heatmon: unknown event type", event.type, event);
      return null;
  }
  return { call, counter };
}

/** Fold one event from the hub into the state; a new state (the one given is left as it was). */
export function reduce(state, event, now) {
  return reduceAll(state, [event], now);
}

/**
 * Fold the events of one batch in order: the same as reduce() one by one, with one copy of
 * the call map per batch instead of one per event (a floor of 2,000 calls gets hundreds of
 * events a second).
 */
export function reduceAll(state, events, now) {
  let calls = null;
  let counter = state.counter;
  for (const event of events) {
    const next = step(calls || state.calls, counter, event, now);
    if (next === null) continue;
    if (calls === null) calls = new Map(state.calls);
    calls.set(next.call.call, next.call);
    counter = next.counter;
  }
  return calls === null ? state : { calls, counter };
}

/** The state without the calls that ended more than `keepMs` ago, and the ids removed. */
export function prune(state, now, keepMs) {
  const removed = [...state.calls.values()]
    .filter((call) => call.ended && call.endedAt !== undefined && now - call.endedAt > keepMs)
    .map((call) => call.call);
  if (!removed.length) return { state, removed };
  const calls = new Map(state.calls);
  for (const id of removed) calls.delete(id);
  return { state: { ...state, calls }, removed };
}

/** Seconds on the call now: the call's own clock, advanced by the time since we last heard of it. */
export function elapsed(call, now) {
  if (call.ended) return call.duration ?? call.t;
  return call.t + Math.max(0, now - call.seenAt) / 1000;
}

/** Every call, hottest first; ended calls after live ones; ties by who started first. */
export function sorted(state) {
  return [...state.calls.values()].sort((a, b) => {
    if (a.ended !== b.ended) return a.ended ? 1 : -1;
    const heatA = a.heat ? a.heat.value : -1;
    const heatB = b.heat ? b.heat.value : -1;
    return heatB - heatA || a.order - b.order;
  });
}

/** Live calls, hot calls (hot or boiling), average heat of the live calls that have heat, open alerts. */
export function figures(state) {
  const live = [...state.calls.values()].filter((call) => !call.ended);
  const withHeat = live.filter((call) => call.heat);
  const average = withHeat.length ? withHeat.reduce((sum, call) => sum + call.heat.value, 0) / withHeat.length : null;
  const hot = withHeat.filter((call) => (LEVEL_RANK[call.heat.level] ?? 0) >= LEVEL_RANK.hot).length;
  // An ended call's alerts are closed with it: nobody can act on them any more.
  const openAlerts = live.reduce((sum, call) => sum + call.alerts.filter((alert) => !alert.acked_by).length, 0);
  return { live: live.length, hot, average, openAlerts };
}

/**
 * Is an alert no longer true of its call? "Call is hot" once the call has cooled below hot,
 * "rising fast" once it has stopped rising, anything once the call has ended. Abuse, threats
 * and requests to escalate stay true: they were said.
 */
export function isStale(alert, call) {
  if (call.ended) return true;
  const rank = call.heat ? LEVEL_RANK[call.heat.level] ?? 0 : 0;
  if (alert.kind === "hot") return rank < LEVEL_RANK.hot;
  if (alert.kind === "boiling") return rank < LEVEL_RANK.boiling;
  if (alert.kind === "rising_fast") return !call.heat || !(call.heat.trend > 0);
  return false;
}

/** The alert a tile shows: the newest open one that is still true of the call, else none. */
export function latestAlert(call) {
  const open = call.alerts.filter((alert) => !alert.acked_by && !isStale(alert, call));
  return open[open.length - 1] || null;
}

/**
 * A page's hold on the state: one place that replaces it with the reducer's answer. Events
 * from the hub are queued and folded in when the page draws (flush), so a busy floor copies
 * its call map once per redraw, not once per event. `book.calls` and `book.get(id)` read the
 * state as of the last fold (the browser tests and the console use them).
 */
export class CallBook {
  constructor() {
    this.state = initialState();
    this.pending = [];
  }

  get calls() {
    return this.state.calls;
  }

  get(id) {
    return this.state.calls.get(id);
  }

  /** Queue events from the hub, in order, for the next flush. */
  queue(events) {
    for (const event of events) this.pending.push(event);
  }

  /** Fold the queued events in; the events folded. */
  flush(now) {
    if (!this.pending.length) return [];
    const events = this.pending;
    this.pending = [];
    this.state = reduceAll(this.state, events, now);
    return events;
  }

  /** The hub's snapshot is the truth: what was queued before it is in it already. */
  load(snapshot, now) {
    this.pending = [];
    this.state = fromSnapshot(snapshot, now);
  }

  /** Drop calls that ended more than `keepMs` ago; the ids removed. */
  prune(now, keepMs) {
    const { state, removed } = prune(this.state, now, keepMs);
    this.state = state;
    return removed;
  }
}
