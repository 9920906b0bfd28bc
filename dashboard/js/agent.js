// The agent's view of their current call: live transcript with partial words, the caller's
// heat, the H.E.A.T. step to take now with phrases to try and the steps already done, alerts,
// messages from a supervisor, and a snooze for the prompts. The hub sends only this agent's calls.

import { callTime } from "./alertfeed.js";
import { CallBook, elapsed } from "./callstate.js";
import { formatDuration, h, setText } from "./dom.js";
import { createGauge } from "./gauge.js";
import { HubConnection, hubUrl, tokenFromHash } from "./hub.js";
import { alertLabel, alertLook, alertShape, levelKey } from "./levels.js";
import { statusView } from "./status.js";
import { checklist, shownCoach, stepCard } from "./steps.js";
import { followNewest, renderTranscript } from "./transcript.js";

const RENDER_EVERY_MS = 100;
const SNOOZE_MS = 2 * 60 * 1000;
const KEEP_ENDED_MS = 30 * 60 * 1000;

const book = new CallBook();
const gauge = createGauge({ size: "large" });
const dismissed = new Set(); // seq (or text+at) of supervisor messages the agent has closed
let renderTimer = null;
let snoozedUntil = 0;
let agentName = null;

const $ = (id) => document.getElementById(id);
$("gauge").append(gauge.el);

const showStatus = statusView({ pill: $("conn"), banner: $("banner"), retryNow: () => connection.connect() });

const connection = new HubConnection({
  role: "agent",
  token: tokenFromHash(location.hash),
  url: hubUrl(location),
  onWelcome(welcome, { rebuild }) {
    if (rebuild) book.load(welcome.snapshot, Date.now());
    agentName = welcome.agent || agentName;
    scheduleRender();
  },
  onEvent: dispatch,
  onEvents: dispatchAll,
  onStatus: showStatus,
});

/** Events from the hub are queued in the book and folded in by the shared reducer at the next redraw. */
function dispatch(event) {
  dispatchAll([event]);
}

function dispatchAll(events) {
  book.queue(events);
  scheduleRender();
}

function scheduleRender() {
  if (renderTimer === null) renderTimer = setTimeout(render, RENDER_EVERY_MS);
}

/** The call to show: the newest live one, else the one that ended last. */
function currentCall() {
  const calls = [...book.calls.values()].sort((a, b) => b.order - a.order);
  return calls.find((call) => !call.ended) || calls[0] || null;
}

// What each part was last drawn from: a part is redrawn only when its inputs change, so the
// live regions (step card, messages) speak once per change, not on every redraw.
const drawn = {};
function redraw(part, key, draw) {
  if (drawn[part] === key) return;
  drawn[part] = key;
  draw();
}

function render() {
  renderTimer = null;
  book.flush(Date.now());
  const call = currentCall();
  setText($("agent-name"), agentName ? `Agent · ${agentName}` : "My call");
  document.body.dataset.level = call && call.heat ? levelKey(call.heat.level) : "none";
  renderMessages(call);
  renderClock(call);
  renderSnoozeButton();
  if (!call) {
    setText($("caller-name"), "No call right now");
    redraw("transcript", "idle", () =>
      $("transcript").replaceChildren(h("li", { class: "turn-empty" }, "Waiting for your next call. It shows up here by itself.")),
    );
    gauge.update(null);
    setText($("heat-why"), "");
    redraw("step", "idle", () => $("step").replaceChildren(stepCard(null)));
    redraw("checklist", "idle", () => $("checklist").replaceChildren());
    redraw("alerts", "idle", () => $("alerts").replaceChildren(h("li", { class: "empty hint" }, "No alerts.")));
    return;
  }
  const caller = [call.caller_name, call.caller_number].filter(Boolean).join(" · ");
  setText($("caller-name"), caller ? `Caller: ${caller}` : "Caller name not known yet");
  const lastTurn = call.turns[call.turns.length - 1];
  if (drawn.callKey !== `${call.call}|${call.order}`) {
    drawn.callKey = `${call.call}|${call.order}`;
    followNewest($("transcript-scroll")); // a new call starts at its newest line
  }
  redraw("transcript", [call.call, call.turns.length, lastTurn && lastTurn.seq, call.partials.caller, call.partials.agent, call.caller_name].join("|"), () =>
    renderTranscript($("transcript"), call, { agentName: "You", callerName: call.caller_name, scroller: $("transcript-scroll") }),
  );
  gauge.update(call.heat);
  setText($("heat-why"), call.heat && call.heat.reasons && call.heat.reasons.length ? `Why: ${call.heat.reasons.join("; ")}` : "");
  renderStep(call);
  redraw("alerts", [call.call, ...call.alerts.map((alert) => `${alert.id}:${alert.acked_by || ""}`)].join("|"), () => renderAlerts(call));
}

/** The call's alerts as a compact list, newest first: one line each, so the step card stays in view. */
function renderAlerts(call) {
  const alerts = [...call.alerts].reverse();
  setText($("alerts-count"), alerts.length ? `${alerts.length}` : "");
  if (!alerts.length) {
    $("alerts").replaceChildren(h("li", { class: "empty hint" }, "No alerts on this call."));
    return;
  }
  $("alerts").replaceChildren(
    ...alerts.map((alert) =>
      h(
        "li",
        { class: `alert-line${alert.acked_by ? " is-acked" : ""}`, dataset: { level: alertLook(alert.level), alert: alert.id } },
        h("span", { class: "level-badge" }, alertShape(alert.level, 14), h("span", { class: "level-word" }, alertLabel(alert.level))),
        h("span", { class: "alert-line-msg", title: alert.message }, alert.message),
        alert.acked_by ? h("span", { class: "acked" }, `✓ Seen by ${alert.acked_by}`) : null,
        h("span", { class: "feed-when" }, callTime(alert.t)),
      ),
    ),
  );
}

function renderSnoozeButton() {
  const snoozed = Date.now() < snoozedUntil;
  const button = $("snooze");
  button.setAttribute("aria-pressed", String(snoozed));
  setText(button, snoozed ? `Prompts snoozed · ${formatDuration((snoozedUntil - Date.now()) / 1000)} · Resume` : "Snooze prompts 2 min");
}

const coachKey = (coach) => (coach ? coach.seq ?? JSON.stringify(coach) : "none");

function renderStep(call) {
  const snoozed = Date.now() < snoozedUntil;
  // Keyed on the event the card shows, not the newest one: a step ticked under the same prompt
  // redraws the checklist only, so the live region does not read the prompt out again.
  const shown = shownCoach(call);
  redraw("step", [call.call, call.ended, snoozed, coachKey(shown)].join("|"), () => {
    if (call.ended) {
      $("step").replaceChildren(endedCard(call));
    } else if (snoozed) {
      $("step").replaceChildren(h("div", { class: "step-card step-card-empty" }, h("p", {}, "Prompts are snoozed. Heat and alerts still update.")));
    } else {
      $("step").replaceChildren(stepCard(shown));
    }
  });
  redraw("checklist", [call.call, coachKey(call.coach)].join("|"), () => $("checklist").replaceChildren(checklist(call.coach)));
}

/** After the call: how long, how hot it got, which steps were taken. */
function endedCard(call) {
  const summary = call.summary || {};
  const steps = Object.entries(summary.steps_done || (call.coach && call.coach.done) || {});
  const facts = [`Call ended after ${formatDuration(call.duration ?? call.t)}.`];
  if (typeof summary.peak_heat === "number") facts.push(`Peak heat ${Math.round(summary.peak_heat)}.`);
  if (steps.length) facts.push(`Steps taken: ${steps.filter(([, done]) => done).map(([step]) => step).join(", ") || "none"}.`);
  return h("div", { class: "step-card step-card-empty" }, facts.map((fact) => h("p", {}, fact)));
}

function renderClock(call) {
  setText($("call-time"), call ? `${call.ended ? "Ended · " : ""}${formatDuration(elapsed(call, Date.now()))}` : "");
}

function messageKey(msg) {
  return msg.seq !== undefined ? `s${msg.seq}` : `${msg.at}|${msg.text}`;
}

/** The supervisor's messages about the call on screen: they belong to that call, not the next one. */
function renderMessages(call) {
  const messages = (call ? call.messages : [])
    .filter((msg) => !dismissed.has(messageKey(msg)))
    .sort((a, b) => (b.seq || 0) - (a.seq || 0))
    .slice(0, 3);
  redraw("messages", messages.map(messageKey).join("|"), () => {
    const box = $("messages");
    const hadFocus = box.contains(document.activeElement);
    box.replaceChildren(...messages.map(messageItem));
    box.hidden = messages.length === 0;
    if (hadFocus) (box.querySelector("button") || $("snooze")).focus();
  });
}

function messageItem(msg) {
  const from = `From ${msg.from || "your supervisor"}${typeof msg.t === "number" ? ` · ${callTime(msg.t)}` : ""}`;
  const dismiss = () => {
    dismissed.add(messageKey(msg));
    render();
  };
  return h(
    "div",
    { class: "message", dataset: { key: messageKey(msg) } },
    h("span", { class: "message-icon", "aria-hidden": "true" }, "✉"),
    h("div", { class: "message-body" }, h("p", { class: "message-from" }, from), h("p", { class: "message-text" }, msg.text)),
    h("button", { type: "button", class: "button button-quiet", onclick: dismiss }, "Got it"),
  );
}

$("snooze").addEventListener("click", () => {
  snoozedUntil = Date.now() < snoozedUntil ? 0 : Date.now() + SNOOZE_MS;
  render();
});

setInterval(() => {
  const now = Date.now();
  book.flush(now);
  book.prune(now, KEEP_ENDED_MS);
  renderClock(currentCall());
  if (snoozedUntil && now >= snoozedUntil) {
    snoozedUntil = 0;
    scheduleRender();
  } else if (snoozedUntil > now) renderSnoozeButton();
}, 1000);

connection.start();
// For the browser tests and for anyone debugging a floor from the console.
window.heatmonAgent = {
  book,
  connection,
  dispatch(event) {
    dispatch(event);
    book.flush(Date.now());
  },
};
