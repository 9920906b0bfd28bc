// The supervisor floor board: every live call as a tile, hottest first; floor figures; the
// alert feed with Acknowledge (shared with the other supervisors through the hub); a call
// view with the live transcript, its alerts' evidence and a message box to the agent.

import { alertItem, replaceKeepingFocus } from "./alertfeed.js";
import { CallBook, elapsed, figures as floorFigures, isStale, sorted } from "./callstate.js";
import { CallView } from "./callview.js";
import { setText } from "./dom.js";
import { HubConnection, hubUrl, tokenFromHash } from "./hub.js";
import { alertLabel } from "./levels.js";
import { statusView } from "./status.js";
import { TileBoard } from "./tiles.js";

// Redraw at most this often; a big floor (hundreds of tiles) is redrawn less often.
const RENDER_EVERY_MS = 100;
const RENDER_BIG_FLOOR_MS = 400;
const BIG_FLOOR = 100;
const KEEP_ENDED_MS = 3 * 60 * 1000;
const FEED_LIMIT = 100;
// Re-sorting the board on every heat tick would make it jump about; people need a moment to
// read a tile before it moves.
const REORDER_EVERY_MS = 1000;
const FEED_EVENTS = new Set(["alert", "alert_ack", "call_ended"]);

const $ = (id) => document.getElementById(id);

const book = new CallBook();
const tiles = new TileBoard({ list: $("tiles"), empty: $("tiles-empty"), onOpen: (id) => callView.open(id) });
const dirty = new Set();
const pendingAcks = new Set();
let feedDirty = true;
let renderTimer = null;
let lastReorder = 0;
let reorderTimer = null;

const showStatus = statusView({ pill: $("conn"), banner: $("banner"), retryNow: () => connection.connect() });

const connection = new HubConnection({
  role: "supervisor",
  token: tokenFromHash(location.hash),
  url: hubUrl(location),
  onWelcome(welcome, { rebuild }) {
    if (rebuild) {
      book.load(welcome.snapshot, Date.now());
      tiles.clear();
      for (const id of book.calls.keys()) dirty.add(id);
      pendingAcks.clear();
      feedDirty = true;
    }
    lastReorder = 0; // a fresh picture is sorted at once
    scheduleRender();
  },
  onEvent: dispatch,
  onEvents: dispatchAll,
  onStatus(status) {
    showStatus(status);
    // Acknowledge buttons are enabled only while live.
    feedDirty = true;
    if (callView.callId !== null) dirty.add(callView.callId);
    scheduleRender();
  },
});

const callView = new CallView({
  book,
  send: (message) => connection.send(message),
  ackOptions,
  returnFocus: (id) => tiles.tile(id),
});

/** Events from the hub are queued in the book and folded in by the shared reducer at the next redraw. */
function dispatch(event) {
  dispatchAll([event]);
}

function dispatchAll(events) {
  book.queue(events);
  scheduleRender();
}

/** Fold the queued events in, and note what each one means for the next redraw. */
function fold() {
  for (const event of book.flush(Date.now())) {
    const call = book.get(event.call);
    if (!call) continue; // malformed, or a call that is gone: the reducer has reported it
    if (event.type === "alert") {
      // The feed is redrawn as a whole, so it is not a live region; new alerts are spoken here.
      setText($("announce"), `New ${alertLabel(event.level)} alert for ${call.agent || event.call}: ${event.message}`);
    }
    if (event.type === "alert_ack") pendingAcks.delete(`${event.call}/${event.id}`);
    // The feed changes with its alerts, with a call's end, and with heat (a cooled call's heat
    // alerts are no longer true).
    if (FEED_EVENTS.has(event.type) || (event.type === "heat" && call.alerts.length)) feedDirty = true;
    dirty.add(event.call);
  }
}

function scheduleRender() {
  // Batch DOM work: at 1,000 events/s a render per event would swamp the page.
  if (renderTimer === null) renderTimer = setTimeout(render, tiles.size > BIG_FLOOR ? RENDER_BIG_FLOOR_MS : RENDER_EVERY_MS);
}

function render() {
  renderTimer = null;
  fold();
  const now = Date.now();
  for (const id of dirty) {
    const call = book.get(id);
    if (call) tiles.render(call, elapsed(call, now));
  }
  const openDirty = callView.callId !== null && dirty.has(callView.callId);
  dirty.clear();
  const wait = lastReorder + REORDER_EVERY_MS - Date.now();
  if (wait <= 0) {
    lastReorder = Date.now();
    tiles.order(sorted(book.state));
  } else if (reorderTimer === null) {
    reorderTimer = setTimeout(() => {
      reorderTimer = null;
      scheduleRender();
    }, wait);
  }
  renderFigures();
  if (feedDirty) renderFeed();
  feedDirty = false;
  if (openDirty) callView.render();
}

function renderFigures() {
  const figures = floorFigures(book.state);
  setText($("fig-live"), String(figures.live));
  setText($("fig-hot"), String(figures.hot));
  setText($("fig-avg"), figures.average === null ? "–" : String(Math.round(figures.average)));
  setText($("fig-alerts"), String(figures.openAlerts));
  $("fig-hot").parentElement.dataset.active = figures.hot > 0 ? "yes" : "no";
}

// ---- alerts ----

function allAlerts() {
  const list = [];
  for (const call of book.calls.values()) {
    for (const alert of call.alerts) list.push({ ...alert, agent: call.agent, ended: call.ended, stale: isStale(alert, call) });
  }
  return list;
}

function ack(alert) {
  const key = `${alert.call}/${alert.id}`;
  if (!connection.send({ type: "ack_alert", call: alert.call, id: alert.id })) return;
  pendingAcks.add(key);
  feedDirty = true;
  scheduleRender();
}

function ackOptions(alert) {
  return { pending: pendingAcks.has(`${alert.call}/${alert.id}`), canAck: connection.connected, onAck: ack };
}

function renderFeed() {
  // Open alerts first (newest on top), then the ones no longer true of their call (cooled,
  // ended), then acknowledged ones, so nothing urgent scrolls away.
  const rank = (alert) => (alert.acked_by ? 2 : alert.stale ? 1 : 0);
  const alerts = allAlerts()
    .sort((a, b) => rank(a) - rank(b) || (b.seq || 0) - (a.seq || 0))
    .slice(0, FEED_LIMIT);
  replaceKeepingFocus($("alerts"), alerts.map((alert) => alertItem(alert, { ...ackOptions(alert), onOpen: (id) => callView.open(id) })));
  $("alerts-empty").hidden = alerts.length > 0;
}

// The clock on each tile runs between events; ended calls leave the board after a while.
setInterval(() => {
  fold();
  const now = Date.now();
  for (const id of book.prune(now, KEEP_ENDED_MS)) tiles.drop(id);
  for (const call of book.calls.values()) if (!call.ended) tiles.clock(call.call, elapsed(call, now));
  callView.clock();
  scheduleRender();
}, 1000);

// The history page takes the same token, in its fragment too.
$("nav-history").href = `/history#${new URLSearchParams({ token: tokenFromHash(location.hash) })}`;
connection.start();
// For the browser tests and for anyone debugging a floor from the console.
window.heatmonFloor = {
  book,
  connection,
  dispatch(event) {
    dispatch(event);
    fold();
  },
};
