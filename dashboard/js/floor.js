// The supervisor floor board: every live call as a tile, hottest first; floor figures; the
// alert feed with Acknowledge (shared with the other supervisors through the hub); a call
// view with the live transcript, its alerts' evidence and a message box to the agent.

import { CallBook } from "./calls.js";
import { formatClock, formatDuration, h, setText } from "./dom.js";
import { createGauge } from "./gauge.js";
import { HubConnection, hubUrl, tokenFromHash } from "./hub.js";
import { alertLabel, alertLook, alertShape, isHot, levelKey, levelLabel } from "./levels.js";
import { sparkline } from "./sparkline.js";
import { statusView } from "./status.js";
import { checklist, stepCard, stepName } from "./steps.js";
import { renderTranscript } from "./transcript.js";

// Redraw at most this often; a big floor (hundreds of tiles) is redrawn less often.
const RENDER_EVERY_MS = 100;
const RENDER_BIG_FLOOR_MS = 400;
const BIG_FLOOR = 100;
const KEEP_ENDED_MS = 3 * 60 * 1000;
const FEED_LIMIT = 100;
// Re-sorting the board on every heat tick would make it jump about; people need a moment to
// read a tile before it moves. Tiles glide only while the board is small enough to follow.
const REORDER_EVERY_MS = 1000;
const ANIMATE_UP_TO = 40;

const book = new CallBook();
const tiles = new Map(); // call id -> {slot, tile, gauge, parts}
const dirty = new Set();
const pendingAcks = new Set();
let feedDirty = true;
let renderTimer = null;
let openCall = null;
let lastReorder = 0;
let reorderTimer = null;

const $ = (id) => document.getElementById(id);

const showStatus = statusView({ pill: $("conn"), banner: $("banner"), retryNow: () => connection.connect() });

const connection = new HubConnection({
  role: "supervisor",
  token: tokenFromHash(location.hash),
  url: hubUrl(location),
  onWelcome(welcome, { rebuild }) {
    if (rebuild) {
      book.load(welcome.snapshot, Date.now());
      for (const id of tiles.keys()) dropTile(id);
      for (const id of book.calls.keys()) dirty.add(id);
      pendingAcks.clear();
      feedDirty = true;
    }
    lastReorder = 0; // a fresh picture is sorted at once
    scheduleRender();
  },
  onEvent: dispatch,
  onStatus(status) {
    showStatus(status);
    // Acknowledge buttons are enabled only while live.
    feedDirty = true;
    if (openCall !== null) dirty.add(openCall);
    scheduleRender();
  },
});

/** One place where every event from the hub is turned into a state change. */
function dispatch(event) {
  const now = Date.now();
  switch (event.type) {
    case "call_started":
      book.callStarted(event, now);
      break;
    case "partial":
      book.partial(event, now);
      break;
    case "turn":
      book.turn(event, now);
      break;
    case "heat":
      book.heat(event, now);
      break;
    case "coach":
      book.coach(event, now);
      break;
    case "alert": {
      const call = book.alert({ ...event, receivedAt: now }, now);
      // The feed is redrawn as a whole, so it is not a live region; new alerts are spoken here.
      setText($("announce"), `New ${alertLabel(event.level)} alert for ${call.agent || event.call}: ${event.message}`);
      feedDirty = true;
      break;
    }
    case "alert_ack":
      book.alertAck(event, now);
      pendingAcks.delete(`${event.call}/${event.id}`);
      feedDirty = true;
      break;
    case "supervisor_message":
      book.supervisorMessage(event, now);
      break;
    case "call_ended":
      book.callEnded(event, now);
      feedDirty = true;
      break;
    default:
      console.warn("heatmon floor: unknown event type", event.type, event);
      return;
  }
  dirty.add(event.call);
  scheduleRender();
}

function scheduleRender() {
  // Batch DOM work: at 1,000 events/s a render per event would swamp the page.
  if (renderTimer === null) renderTimer = setTimeout(render, tiles.size > BIG_FLOOR ? RENDER_BIG_FLOOR_MS : RENDER_EVERY_MS);
}

function render() {
  renderTimer = null;
  for (const id of dirty) {
    const call = book.get(id);
    if (call) renderTile(call);
  }
  const openDirty = openCall !== null && dirty.has(openCall);
  dirty.clear();
  const wait = lastReorder + REORDER_EVERY_MS - Date.now();
  if (wait <= 0) {
    lastReorder = Date.now();
    orderTiles();
  } else if (reorderTimer === null) {
    reorderTimer = setTimeout(() => {
      reorderTimer = null;
      scheduleRender();
    }, wait);
  }
  renderFigures();
  if (feedDirty) renderFeed();
  feedDirty = false;
  if (openDirty) renderDetail();
}

// ---- tiles ----

function buildTile(call) {
  const gauge = createGauge({ size: "small" });
  const parts = {
    agent: h("span", { class: "tile-agent" }),
    time: h("span", { class: "tile-time", title: "Time on call" }),
    caller: h("p", { class: "tile-caller" }),
    spark: h("div", { class: "tile-spark" }),
    step: h("p", { class: "tile-step" }),
    alert: h("p", { class: "tile-alert" }),
  };
  const tile = h(
    "article",
    {
      class: "tile",
      tabindex: 0,
      role: "button",
      "aria-haspopup": "dialog",
      dataset: { call: call.call },
      onclick: () => openDetail(call.call),
      onkeydown: (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          openDetail(call.call);
        }
      },
    },
    h("header", { class: "tile-head" }, parts.agent, parts.time),
    parts.caller,
    h("div", { class: "tile-body" }, gauge.el, h("div", { class: "tile-sent" }, h("span", { class: "tile-label" }, "Caller sentiment"), parts.spark)),
    parts.step,
    parts.alert,
  );
  const slot = h("li", { class: "tile-slot" }, tile);
  const entry = { slot, tile, gauge, parts, sparkKey: "", fresh: true };
  tiles.set(call.call, entry);
  $("tiles").append(slot);
  return entry;
}

function dropTile(id) {
  const entry = tiles.get(id);
  if (entry) entry.slot.remove();
  tiles.delete(id);
}

function latestAlert(call) {
  const open = call.alerts.filter((alert) => !alert.acked_by);
  return open[open.length - 1] || call.alerts[call.alerts.length - 1] || null;
}

function renderTile(call) {
  const entry = tiles.get(call.call) || buildTile(call);
  const { tile, gauge, parts } = entry;
  const level = call.heat ? levelKey(call.heat.level) : "none";
  tile.dataset.level = level;
  tile.classList.toggle("tile-ended", call.ended);
  setText(parts.agent, call.agent || "Unassigned");
  setText(parts.caller, call.caller_name ? `${call.caller_name} · ${call.call}` : `Call ${call.call}`);
  gauge.update(call.heat);
  const sparkKey = call.sentiments.map((pair) => pair[1]).join(",");
  if (sparkKey !== entry.sparkKey) {
    parts.spark.replaceChildren(sparkline(call.sentiments));
    entry.sparkKey = sparkKey;
  }
  const coach = call.coach;
  parts.step.replaceChildren(
    call.ended
      ? h("span", { class: "tile-ended-label" }, `Ended after ${formatDuration(call.duration ?? call.t)}`)
      : coach
        ? h("span", { class: "tile-step-text" }, h("span", { class: "step-chip" }, coach.step), stepName(coach.step))
        : h("span", { class: "muted" }, "No coaching step yet"),
  );
  const alert = latestAlert(call);
  parts.alert.hidden = !alert;
  if (alert) {
    parts.alert.dataset.level = alertLook(alert.level);
    parts.alert.classList.toggle("is-acked", Boolean(alert.acked_by));
    parts.alert.replaceChildren(alertShape(alert.level, 14), " ", alert.message, alert.acked_by ? " (acknowledged)" : "");
  }
  tile.setAttribute(
    "aria-label",
    `${call.agent || "Unassigned"}, ${call.heat ? `heat ${Math.round(call.heat.value)} ${levelLabel(call.heat.level)}` : "no heat yet"}` +
      `${alert ? `, alert: ${alert.message}` : ""}${call.ended ? ", ended" : ""}`,
  );
  updateClock(call, entry);
}

function updateClock(call, entry) {
  setText(entry.parts.time, formatDuration(book.elapsed(call, Date.now())));
}

function orderTiles() {
  const list = $("tiles");
  const wanted = book.sorted().map((call) => tiles.get(call.call)).filter(Boolean);
  const current = [...list.children];
  $("tiles-empty").hidden = wanted.length > 0;
  const fresh = new Set(wanted.filter((entry) => entry.fresh));
  for (const entry of fresh) entry.fresh = false;
  if (wanted.every((entry, i) => current[i] === entry.slot)) return;
  // FLIP: remember where tiles were, move them, then glide them from there (unless the
  // reader asked for less motion). Moving a node drops its focus, so keep it by hand.
  const focused = document.activeElement;
  const animate = wanted.length <= ANIMATE_UP_TO && !matchMedia("(prefers-reduced-motion: reduce)").matches;
  const before = animate ? new Map(wanted.map((entry) => [entry, entry.slot.getBoundingClientRect()])) : null;
  // Move only the tiles that are out of place: on a big floor most stay where they are.
  let cursor = list.firstElementChild;
  for (const entry of wanted) {
    if (entry.slot === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(entry.slot, cursor);
  }
  if (focused && list.contains(focused) && document.activeElement !== focused) focused.focus({ preventScroll: true });
  if (!animate) return;
  for (const entry of wanted) {
    if (fresh.has(entry)) continue; // a new tile has nowhere to glide from
    const was = before.get(entry);
    const now = entry.slot.getBoundingClientRect();
    const dx = was.left - now.left;
    const dy = was.top - now.top;
    if (!dx && !dy) continue;
    entry.slot.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], {
      duration: 350,
      easing: "ease-out",
    });
  }
}

function renderFigures() {
  const figures = book.figures(isHot);
  setText($("fig-live"), String(figures.live));
  setText($("fig-hot"), String(figures.hot));
  setText($("fig-avg"), figures.average === null ? "–" : String(Math.round(figures.average)));
  const open = allAlerts().filter((alert) => !alert.acked_by).length;
  setText($("fig-alerts"), String(open));
  $("fig-hot").parentElement.dataset.active = figures.hot > 0 ? "yes" : "no";
}

// ---- alerts ----

function allAlerts() {
  const list = [];
  for (const call of book.calls.values()) for (const alert of call.alerts) list.push({ ...alert, agent: call.agent, ended: call.ended });
  return list;
}

function ack(alert) {
  const key = `${alert.call}/${alert.id}`;
  if (!connection.send({ type: "ack_alert", call: alert.call, id: alert.id })) return;
  pendingAcks.add(key);
  feedDirty = true;
  scheduleRender();
}

function alertItem(alert, { withOpen }) {
  const key = `${alert.call}/${alert.id}`;
  const pending = pendingAcks.has(key);
  const level = alertLook(alert.level);
  return h(
    "li",
    { class: `feed-item${alert.acked_by ? " is-acked" : ""}`, dataset: { level, call: alert.call, alert: alert.id } },
    h(
      "div",
      { class: "feed-head" },
      h("span", { class: "level-badge" }, alertShape(alert.level, 16), h("span", { class: "level-word" }, alertLabel(alert.level))),
      h("span", { class: "feed-who" }, alert.agent || alert.call, alert.ended ? h("span", { class: "hint" }, " · call ended") : null),
      h("span", { class: "feed-when" }, alert.receivedAt ? formatClock(new Date(alert.receivedAt)) : `at ${formatDuration(alert.t)} of call`),
    ),
    h("p", { class: "feed-msg" }, alert.message),
    alert.evidence && alert.evidence.length
      ? h("ul", { class: "evidence", "aria-label": "Evidence" }, alert.evidence.map((item) => h("li", {}, item)))
      : null,
    h(
      "div",
      { class: "feed-actions" },
      alert.acked_by
        ? h("span", { class: "acked" }, `✓ Acknowledged by ${alert.acked_by}${alert.acked_at ? ` at ${formatClock(alert.acked_at)}` : ""}`)
        : h(
            "button",
            { type: "button", class: "button button-primary ack", disabled: pending || !connection.connected, onclick: () => ack(alert) },
            pending ? "Acknowledging…" : "Acknowledge",
          ),
      withOpen ? h("button", { type: "button", class: "button button-quiet", onclick: () => openDetail(alert.call) }, "Open call") : null,
    ),
  );
}

function renderFeed() {
  // Open alerts first (newest on top), then acknowledged ones, so nothing urgent scrolls away.
  const alerts = allAlerts()
    .sort((a, b) => Boolean(a.acked_by) - Boolean(b.acked_by) || (b.seq || 0) - (a.seq || 0))
    .slice(0, FEED_LIMIT);
  replaceKeepingFocus($("alerts"), alerts.map((alert) => alertItem(alert, { withOpen: true })));
  $("alerts-empty").hidden = alerts.length > 0;
}

/** Re-render a list of alert items without throwing the keyboard user's focus away. */
function replaceKeepingFocus(list, items) {
  const focused = document.activeElement;
  const item = focused && list.contains(focused) ? focused.closest("li[data-alert]") : null;
  const key = item ? [item.dataset.call, item.dataset.alert, focused.className] : null;
  list.replaceChildren(...items);
  if (!key) return;
  const again = [...list.querySelectorAll("li[data-alert]")].find((li) => li.dataset.call === key[0] && li.dataset.alert === key[1]);
  const target = again && ([...again.querySelectorAll("button")].find((b) => b.className === key[2] && !b.disabled) || again.querySelector("button:not([disabled])"));
  (target || list.closest("dialog, aside") || document.body).focus?.();
}

// ---- call view ----

const detailGauge = createGauge({ size: "medium" });
$("detail-gauge").append(detailGauge.el);

function openDetail(id) {
  openCall = id;
  $("message-status").textContent = "";
  renderDetail();
  const dialog = $("detail");
  if (!dialog.open) dialog.showModal();
}

function renderDetail() {
  const call = book.get(openCall);
  if (!call) return;
  setText($("detail-title"), `${call.agent || "Unassigned"} · ${call.caller_name || "Caller"}`);
  renderDetailClock(call);
  $("detail").dataset.level = call.heat ? levelKey(call.heat.level) : "none";
  detailGauge.update(call.heat);
  const evidence = call.alerts.flatMap((alert) => alert.evidence || []);
  renderTranscript($("detail-transcript"), call, { evidence, agentName: call.agent, callerName: call.caller_name, scroller: $("detail-scroll") });
  const alerts = [...call.alerts].reverse().map((alert) => alertItem({ ...alert, agent: call.agent }, { withOpen: false }));
  replaceKeepingFocus($("detail-alerts"), alerts.length ? alerts : [h("li", { class: "empty" }, "No alerts on this call.")]);
  $("detail-step").replaceChildren(stepCard(call.coach, { phrases: false }), checklist(call.coach));
  setText($("message-label"), `Message to ${call.agent || "the agent"}`);
  $("message-sent").replaceChildren(
    ...[...call.messages].reverse().map((msg) => h("li", {}, h("span", { class: "hint" }, `${msg.from || "Supervisor"} at ${formatClock(msg.at)}: `), msg.text)),
  );
}

function renderDetailClock(call) {
  const reasons = call.heat && call.heat.reasons && call.heat.reasons.length ? ` · why: ${call.heat.reasons.join("; ")}` : "";
  const state = call.ended ? "ended after" : "on call";
  setText($("detail-sub"), `${call.call} · ${state} ${formatDuration(book.elapsed(call, Date.now()))}${reasons}`);
}

$("detail-close").addEventListener("click", () => $("detail").close());
$("detail").addEventListener("close", () => {
  const returnTo = tiles.get(openCall);
  openCall = null;
  if (returnTo) returnTo.tile.focus();
});

$("message-text").addEventListener("input", () => setText($("message-count"), `${$("message-text").value.length} / 500`));
$("message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message-text").value.trim();
  if (!text || openCall === null) return;
  if (connection.send({ type: "message", call: openCall, text: text.slice(0, 500) })) {
    $("message-text").value = "";
    setText($("message-count"), "0 / 500");
    setText($("message-status"), "Sent. It shows on the agent's screen now.");
  } else {
    setText($("message-status"), "Not sent: the page is not connected to the hub. Try again once it is live.");
  }
});

// The clock on each tile runs between events; ended calls leave the board after a while.
setInterval(() => {
  const now = Date.now();
  for (const id of book.prune(now, KEEP_ENDED_MS)) dropTile(id);
  for (const [id, entry] of tiles) {
    const call = book.get(id);
    if (call && !call.ended) updateClock(call, entry);
  }
  const open = openCall !== null && book.get(openCall);
  if (open) renderDetailClock(open);
  scheduleRender();
}, 1000);

connection.start();
// For the browser tests and for anyone debugging a floor from the console.
window.heatmonFloor = { book, connection, dispatch };
