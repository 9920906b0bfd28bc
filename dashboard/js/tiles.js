// The floor's tiles: one per call (agent, time on call, gauge with level word and shape,
// sentiment sparkline, current step, latest alert), kept in hottest-first order.

import { formatDuration, h, setText } from "./dom.js";
import { createGauge } from "./gauge.js";
import { alertLook, alertShape, levelKey, levelLabel } from "./levels.js";
import { sparkline } from "./sparkline.js";
import { latestAlert } from "./callstate.js";
import { allStepsDone, shownCoach, stepName } from "./steps.js";

// Tiles glide to their new place only while the board is small enough to follow with the eye.
const ANIMATE_UP_TO = 40;

/**
 * A tile's step line: what the agent's own screen says now (steps.js stepCard), in short: how
 * the call ended, the step the coach is prompting, that there is no prompt, or that every step
 * is taken.
 */
function stepLine(call) {
  if (call.ended) return h("span", { class: "tile-ended-label" }, `Ended after ${formatDuration(call.duration ?? call.t)}`);
  const coach = shownCoach(call);
  if (!coach) return h("span", { class: "muted" }, "No coaching yet");
  // A coach event names a step even when all are done (the last one): do not show that as to do.
  if (allStepsDone(coach)) return h("span", { class: "tile-step-text" }, h("span", { class: "step-chip" }, "✓"), "All steps taken");
  if (!coach.prompt) return h("span", { class: "muted" }, "No prompt right now");
  return h("span", { class: "tile-step-text", title: coach.prompt }, h("span", { class: "step-chip" }, coach.step), `Now: ${stepName(coach.step)}`);
}

/** Who is calling, as far as the board knows: name and number from the phone system, else the call id. */
function callerLine(call) {
  const who = [call.caller_name, call.caller_number].filter(Boolean);
  if (!who.length) return `Call ${call.call}`;
  return call.caller_number ? who.join(" · ") : `${call.caller_name} · ${call.call}`;
}

export class TileBoard {
  /** list: the <ul> of tiles; empty: the "no calls" note; onOpen(callId) when a tile is chosen. */
  constructor({ list, empty, onOpen }) {
    this.list = list;
    this.empty = empty;
    this.onOpen = onOpen;
    this.entries = new Map(); // call id -> {slot, tile, gauge, parts, sparkKey, fresh}
  }

  get size() {
    return this.entries.size;
  }

  tile(id) {
    return this.entries.get(id)?.tile ?? null;
  }

  drop(id) {
    this.entries.get(id)?.slot.remove();
    this.entries.delete(id);
  }

  clear() {
    for (const id of [...this.entries.keys()]) this.drop(id);
  }

  build(call) {
    const gauge = createGauge({ size: "small" });
    const parts = {
      agent: h("span", { class: "tile-agent" }),
      time: h("span", { class: "tile-time", title: "Time on call" }),
      caller: h("p", { class: "tile-caller" }),
      // Where the call comes from ("demo transcript: ...", a file, a device): says what is real.
      source: h("p", { class: "tile-source", hidden: true }),
      spark: h("div", { class: "tile-spark" }),
      step: h("p", { class: "tile-step" }),
      alert: h("p", { class: "tile-alert" }),
    };
    const open = () => this.onOpen(call.call);
    const tile = h(
      "article",
      {
        class: "tile",
        tabindex: 0,
        role: "button",
        "aria-haspopup": "dialog",
        dataset: { call: call.call },
        onclick: open,
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            open();
          }
        },
      },
      h("header", { class: "tile-head" }, parts.agent, parts.time),
      parts.caller,
      parts.source,
      h(
        "div",
        { class: "tile-body" },
        h("div", { class: "tile-heat" }, h("span", { class: "tile-label" }, "Caller heat 0-100"), gauge.el),
        h("div", { class: "tile-sent" }, h("span", { class: "tile-label" }, "Mood per caller turn"), parts.spark),
      ),
      parts.step,
      parts.alert,
    );
    const entry = { slot: h("li", { class: "tile-slot" }, tile), tile, gauge, parts, sparkKey: "", fresh: true };
    this.entries.set(call.call, entry);
    this.list.append(entry.slot);
    return entry;
  }

  /** Draw a call's tile (made on first sight); `elapsed` is its time on call in seconds. */
  render(call, elapsed) {
    const entry = this.entries.get(call.call) || this.build(call);
    const { tile, gauge, parts } = entry;
    tile.dataset.level = call.heat ? levelKey(call.heat.level) : "none";
    tile.classList.toggle("tile-ended", call.ended);
    setText(parts.agent, call.agent || "Unassigned");
    setText(parts.caller, callerLine(call));
    parts.caller.title = `Call ${call.call}`;
    parts.source.hidden = !call.source;
    setText(parts.source, call.source || "");
    if (call.source) parts.source.title = call.source;
    gauge.update(call.heat);
    const sparkKey = call.sentiments.map((pair) => pair[1]).join(",");
    if (sparkKey !== entry.sparkKey) {
      parts.spark.replaceChildren(sparkline(call.sentiments));
      entry.sparkKey = sparkKey;
    }
    parts.step.replaceChildren(stepLine(call));
    const alert = latestAlert(call);
    parts.alert.hidden = !alert;
    if (alert) {
      parts.alert.dataset.level = alertLook(alert.level);
      parts.alert.replaceChildren(alertShape(alert.level, 14), " ", alert.message);
    } else parts.alert.replaceChildren();
    const heat = call.heat ? `heat ${Math.round(call.heat.value)} ${levelLabel(call.heat.level)}` : "no heat yet";
    tile.setAttribute(
      "aria-label",
      `${call.agent || "Unassigned"}, ${heat}${alert ? `, alert: ${alert.message}` : ""}${call.ended ? ", ended" : ""}`,
    );
    this.clock(call.call, elapsed);
  }

  clock(id, elapsed) {
    const entry = this.entries.get(id);
    if (entry) setText(entry.parts.time, formatDuration(elapsed));
  }

  /** Put the tiles in the order of `calls` (hottest first), gliding them there on a small board. */
  order(calls) {
    const wanted = calls.map((call) => this.entries.get(call.call)).filter(Boolean);
    const current = [...this.list.children];
    this.empty.hidden = wanted.length > 0;
    const fresh = new Set(wanted.filter((entry) => entry.fresh));
    for (const entry of fresh) entry.fresh = false;
    if (wanted.every((entry, i) => current[i] === entry.slot)) return;
    // FLIP: remember where tiles were, move them, then glide them from there (unless the
    // reader asked for less motion). Moving a node drops its focus, so keep it by hand.
    const focused = document.activeElement;
    const animate = wanted.length <= ANIMATE_UP_TO && !matchMedia("(prefers-reduced-motion: reduce)").matches;
    const before = animate ? new Map(wanted.map((entry) => [entry, entry.slot.getBoundingClientRect()])) : null;
    // Move only the tiles that are out of place: on a big floor most stay where they are.
    let cursor = this.list.firstElementChild;
    for (const entry of wanted) {
      if (entry.slot === cursor) cursor = cursor.nextElementSibling;
      else this.list.insertBefore(entry.slot, cursor);
    }
    if (focused && this.list.contains(focused) && document.activeElement !== focused) focused.focus({ preventScroll: true });
    if (!animate) return;
    for (const entry of wanted) {
      if (fresh.has(entry)) continue; // a new tile has nowhere to glide from
      const was = before.get(entry);
      const now = entry.slot.getBoundingClientRect();
      const dx = was.left - now.left;
      const dy = was.top - now.top;
      if (dx || dy) {
        entry.slot.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], { duration: 350, easing: "ease-out" });
      }
    }
  }
}
