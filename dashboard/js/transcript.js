// A call's transcript: both parties, caller turns tinted by their sentiment (with the score
// in words too), the unfinished words of whoever is speaking, and the alerts' evidence marked.

import { formatDuration, h } from "./dom.js";
import { sentimentClass, sentimentWord } from "./sparkline.js";
import { turnScore } from "./callstate.js";

const SPEAKER_LABEL = { caller: "Caller", agent: "Agent" };

/** `text` as nodes, with every case-insensitive occurrence of an evidence string in <mark>. */
export function markEvidence(text, evidence) {
  const needles = (evidence || [])
    .map((item) => String(item).replace(/^["“']+|["”']+$/g, "").trim())
    .filter((item) => item.length >= 3);
  if (!needles.length) return [text];
  const pattern = new RegExp(`(${needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "gi");
  return String(text)
    .split(pattern)
    .map((part, i) => (i % 2 === 1 ? h("mark", { class: "evidence-mark" }, part) : part));
}

function scoreChip(score) {
  if (score === null) return null;
  const arrow = score <= -0.05 ? "▼" : score >= 0.05 ? "▲" : "■";
  const signed = `${score < 0 ? "−" : score > 0 ? "+" : ""}${Math.abs(score).toFixed(2)}`;
  return h("span", { class: "sent-chip", title: "Caller sentiment for this turn" }, `${arrow} ${sentimentWord(score)} ${signed}`);
}

function turnItem(turn, { names, evidence }) {
  const score = turn.speaker === "caller" ? turnScore(turn) : null;
  const classes = ["turn", `turn-${turn.speaker}`];
  if (score !== null) classes.push(sentimentClass(score));
  return h(
    "li",
    { class: classes.join(" ") },
    h(
      "div",
      { class: "turn-meta" },
      h("span", { class: "turn-who" }, names[turn.speaker] || turn.speaker),
      h("span", { class: "turn-time" }, formatDuration(turn.start ?? turn.t)),
      scoreChip(score),
    ),
    h("p", { class: "turn-text" }, turn.speaker === "caller" ? markEvidence(turn.text, evidence) : turn.text),
  );
}

function partialItem(speaker, text, names) {
  return h(
    "li",
    { class: `turn turn-${speaker} turn-partial`, "aria-hidden": "true" },
    h("div", { class: "turn-meta" }, h("span", { class: "turn-who" }, names[speaker]), h("span", { class: "turn-time" }, "speaking…")),
    h("p", { class: "turn-text" }, text),
  );
}

// How near the bottom (px) counts as "at the newest turn" when the reader scrolls.
const NEAR_BOTTOM = 48;
const following = new WeakMap(); // scroller -> { follow, lastTop }

/**
 * Keep `box` on its newest line unless the reader scrolled up. Whether to follow is decided
 * by what the reader did (scrolled up: stop; back to the bottom: follow again), never by the
 * distance to the bottom at the next redraw: a banner that shrinks the box, a smooth scroll
 * still under way or a long turn all change that distance without the reader doing anything.
 */
function follower(box) {
  let state = following.get(box);
  if (state) return state;
  state = { follow: true, lastTop: box.scrollTop };
  following.set(box, state);
  box.addEventListener(
    "scroll",
    () => {
      const top = box.scrollTop;
      if (box.scrollHeight - top - box.clientHeight < NEAR_BOTTOM) state.follow = true;
      else if (top < state.lastTop - 1) state.follow = false; // moved up: the reader is reading back
      state.lastTop = top;
    },
    { passive: true },
  );
  // The box resized (a message banner came or went, the window changed): stay on the newest line.
  new ResizeObserver(() => {
    if (state.follow) toBottom(box, state);
  }).observe(box);
  return state;
}

function toBottom(box, state) {
  box.scrollTo({ top: box.scrollHeight, behavior: "instant" }); // a smooth glide could be overtaken by the next turn
  state.lastTop = box.scrollTop;
}

/**
 * Fill `list` (an <ol>) with the call's transcript, following the newest turn unless the
 * reader has scrolled up to read something older (`follow: false`: a stored call, read from the top).
 */
export function renderTranscript(list, call, { evidence = [], agentName, callerName, scroller, follow = true } = {}) {
  const box = scroller || list.parentElement;
  const state = box && follow ? follower(box) : null;
  const names = {
    caller: callerName || "Caller",
    agent: agentName || SPEAKER_LABEL.agent,
  };
  const items = call.turns.map((turn) => turnItem(turn, { names, evidence }));
  for (const speaker of ["caller", "agent"]) {
    const text = call.partials && call.partials[speaker];
    if (text) items.push(partialItem(speaker, text, names));
  }
  if (!items.length) items.push(h("li", { class: "turn-empty" }, "No words yet. The transcript appears here as the call goes on."));
  list.replaceChildren(...items);
  if (state && state.follow) toBottom(box, state);
}

/** Start following the newest line again (a new call on the same screen). */
export function followNewest(box) {
  const state = follower(box);
  state.follow = true;
  toBottom(box, state);
}
