// The history page: past calls from the hub's call store, searchable by words, agent, date,
// peak heat and alert kind. The filters live in the URL fragment beside the token, so Back
// from a call and a copied link both come back to the same list.

import { ALERT_KINDS, alertKindLabel, apiGet, formatStarted, fragmentParams, heatLevel, pageLink } from "./api.js";
import { formatDuration, h, setText } from "./dom.js";
import { levelLabel, levelShape } from "./levels.js";

const LIMIT = 500;
const FILTERS = ["q", "agent", "since", "until", "min_heat", "alert"];
const $ = (id) => document.getElementById(id);

const start = fragmentParams();
const token = start.get("token") || "";
const form = $("filters");
const knownAgents = new Set();
const knownKinds = new Set(Object.keys(ALERT_KINDS));
let scope = null; // the agent this token is limited to, once the hub has said so
let loading = 0;

function banner(text, detail = "") {
  $("banner").hidden = !text;
  setText($("banner-text"), text || "");
  setText($("banner-detail"), detail);
}

function filterValues() {
  const values = {};
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) values[name] = value;
  }
  if (scope !== null) delete values.agent;
  return values;
}

/** Local midnight of a yyyy-mm-dd date (plus `days`) as an ISO time the hub reads as such. */
function localDay(value, days = 0) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + days).toISOString();
}

function apiQuery(values) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (name === "since") params.set("since", localDay(value));
    else if (name === "until") params.set("until", localDay(value, 1)); // the whole "To" day
    else params.set(name, value);
  }
  params.set("limit", String(LIMIT));
  return params;
}

function fillKinds() {
  const select = form.elements.alert;
  const current = select.value;
  select.replaceChildren(
    h("option", { value: "" }, "Any or none"),
    ...[...knownKinds].sort().map((kind) => h("option", { value: kind }, alertKindLabel(kind))),
  );
  select.value = current;
}

function peakCell(value) {
  if (typeof value !== "number") return h("td", { class: "peak" }, h("span", { class: "hint" }, "no heat"));
  const level = heatLevel(value);
  return h(
    "td",
    { class: "peak", dataset: { level }, "data-sort": value },
    h(
      "div",
      { class: "peak-cell" },
      h("span", { class: "peak-value" }, String(Math.round(value))),
      h("span", { class: "meter", "aria-hidden": "true" }, h("span", { class: "meter-fill", style: `width: ${Math.max(2, Math.min(100, value))}%` })),
      h("span", { class: "level-badge" }, levelShape(level, 14), levelLabel(level)),
    ),
  );
}

function row(call, back) {
  const href = pageLink("call", { token, id: call.ref, back });
  const open = () => location.assign(href);
  for (const kind of call.alert_kinds) knownKinds.add(kind);
  if (call.agent) knownAgents.add(call.agent);
  return h(
    "tr",
    { class: `call-row${call.ended ? "" : " is-live"}`, dataset: { ref: call.ref, call: call.id }, onclick: (event) => event.target.closest("a") || open() },
    h("td", { class: "started" }, h("a", { href, class: "row-link" }, formatStarted(call.started_at)), call.ended ? null : h("span", { class: "live-chip" }, "live")),
    h("td", { class: "agent-cell" }, call.agent || h("span", { class: "hint" }, "unassigned")),
    h("td", { class: "caller-td" }, h("div", { class: "caller-cell" }, h("span", {}, call.caller_name || "Unknown caller"), h("span", { class: "call-ref" }, call.id))),
    h("td", { class: "num" }, call.duration === null ? "–" : formatDuration(call.duration)),
    peakCell(call.peak_heat),
    h(
      "td",
      { class: "alerts-cell" },
      h(
        "div",
        { class: "alert-kinds" },
        call.alert_kinds.length ? call.alert_kinds.map((kind) => h("span", { class: "kind-chip", dataset: { kind } }, alertKindLabel(kind))) : h("span", { class: "hint" }, "none"),
      ),
    ),
    h("td", { class: "num" }, String(call.turns)),
  );
}

async function load() {
  if (!token) {
    banner("This page needs an access token.", "Open it from the floor board's link, or add #token=… from `heatmon hub` to the address.");
    setText($("who"), "Not signed in");
    $("who").dataset.state = "refused";
    return;
  }
  const values = filterValues();
  const back = new URLSearchParams(values).toString();
  history.replaceState(null, "", pageLink("history", { token, ...values }));
  const mine = ++loading;
  setText($("results-count"), "searching…");
  let answer;
  try {
    answer = await apiGet(`calls?${apiQuery(values)}`, token);
  } catch (err) {
    if (mine !== loading) return;
    setText($("results-count"), "");
    $("who").dataset.state = err.status === 401 ? "refused" : "down";
    setText($("who"), err.status === 401 ? "Not signed in" : "No history");
    const why = err.status === 404 ? "this hub does not serve the call history" : err.message;
    banner(`The call history could not be loaded: ${why}.`, err.status === 401 ? "Ask your team lead for a new dashboard link." : "");
    return;
  }
  if (mine !== loading) return;
  banner("");
  scope = answer.agent;
  if (scope !== null && values.agent) {
    // An agent's list is theirs whatever the link asked for: say so in the address too.
    delete values.agent;
    history.replaceState(null, "", pageLink("history", { token, ...values }));
  }
  $("who").dataset.state = "live";
  setText($("who"), scope ? `${scope} · your calls` : "Supervisor · all calls");
  const agentField = form.elements.agent;
  agentField.disabled = scope !== null;
  if (scope !== null) agentField.value = scope;
  $("nav-floor").href = pageLink(scope ? "agent" : "floor", { token });
  setText($("nav-floor"), scope ? "My live call" : "Live floor");
  const rows = answer.calls.map((call) => row(call, back));
  $("calls-body").replaceChildren(...rows);
  $("calls-empty").hidden = rows.length > 0;
  setText(
    $("calls-empty"),
    Object.keys(values).length
      ? "No calls match. Clear a filter to see more."
      : "No calls stored yet. Every call the hub sees is kept here from its first word.",
  );
  $("calls").hidden = rows.length === 0;
  const more = rows.length >= LIMIT ? ` (the newest ${LIMIT}; narrow the search to see older ones)` : "";
  setText($("results-count"), `${rows.length} call${rows.length === 1 ? "" : "s"}${Object.keys(values).length ? " match" : ""}, newest first${more}`);
  $("agents").replaceChildren(...[...knownAgents].sort().map((agent) => h("option", { value: agent })));
  fillKinds();
}

// Every header link keeps the token (it lives only in this page's fragment): a bare /history
// or /floor would open a page that cannot sign in. History itself opens the unfiltered list.
$("nav-history").href = pageLink("history", { token });
$("nav-floor").href = pageLink("floor", { token });
for (const name of FILTERS) if (start.get(name)) form.elements[name].value = start.get(name);
fillKinds();
if (start.get("alert")) form.elements.alert.value = start.get("alert");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
// Picking from a list filters at once; typed text waits for Enter or Search.
for (const name of ["since", "until", "min_heat", "alert"]) form.elements[name].addEventListener("change", () => load());
$("f-reset").addEventListener("click", () => {
  for (const name of FILTERS) if (!(name === "agent" && scope !== null)) form.elements[name].value = "";
  load();
});
// Our own filter changes use replaceState (no event); a fragment typed or pasted is a new page.
window.addEventListener("hashchange", () => location.reload());
load();
