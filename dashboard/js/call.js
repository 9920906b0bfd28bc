// The call page: one stored call reviewed after the fact. The heat chart is drawn here from
// the call's JSON, laid out as `heatmon report` draws it; the transcript is the live views' (caller
// turns coloured by sentiment, alert evidence marked) with alerts and coach prompts placed
// in time, and the summary answers what a team lead asks after a hard call.

import { alertKindLabel, apiGet, formatStarted, fragmentParams, pageLink } from "./api.js";
import { heatChart } from "./chart.js";
import { formatDuration, h, setText } from "./dom.js";
import { alertLabel, alertLook, alertShape, levelKey, levelLabel, levelShape } from "./levels.js";
import { sentimentWord } from "./sparkline.js";
import { stepName } from "./steps.js";
import { turnScore } from "./callstate.js";
import { renderTranscript } from "./transcript.js";

const $ = (id) => document.getElementById(id);
const REDACTED = /\[\d+ digits redacted\]/g;

const params = fragmentParams();
const token = params.get("token") || "";
const ref = params.get("id") || "";

function banner(text, detail = "") {
  $("banner").hidden = !text;
  setText($("banner-text"), text || "");
  setText($("banner-detail"), detail);
}

const clock = (seconds) => (typeof seconds === "number" ? formatDuration(seconds) : "–");

function stat(label, value, note, attrs = {}) {
  return h("div", { class: "stat", ...attrs }, h("dt", {}, label), h("dd", {}, value), note ? h("p", { class: "stat-note" }, note) : null);
}

function summary(detail) {
  const review = detail.review;
  const level = levelKey(review.peak_level);
  const peak =
    review.peak_heat === null
      ? stat("Peak heat", "–", "no heat recorded")
      : stat(
          "Peak heat",
          h("span", { class: "stat-big" }, String(Math.round(review.peak_heat)), h("span", { class: "level-badge" }, levelShape(level, 14), levelLabel(level))),
          `at ${clock(review.peak_at)} of ${clock(review.duration)}`,
          { dataset: { level }, id: "stat-peak" },
        );
  let hotToCalm;
  if (review.hot_at === null) hotToCalm = stat("Hot to calm", "Never hot", "the call stayed below hot", { id: "stat-calm" });
  else if (review.hot_to_calm === null)
    hotToCalm = stat("Hot to calm", "Not calm again", `hot from ${clock(review.hot_at)}, ended ${levelLabel(review.final_level).toLowerCase()}`, { id: "stat-calm", dataset: { level: "hot" } });
  else
    hotToCalm = stat("Hot to calm", clock(review.hot_to_calm), `hot at ${clock(review.hot_at)}, calm at ${clock(review.calm_again_at)}`, { id: "stat-calm", dataset: { level: "calm" } });
  const steps = stat(
    "H.E.A.T. steps",
    h(
      "ol",
      { class: "step-times", id: "step-times" },
      review.steps.length
        ? review.steps.map((step) =>
            h(
              "li",
              { class: `step-time${step.done ? " is-done" : ""}`, dataset: { step: step.step }, title: stepName(step.step) },
              h("span", { class: "step-chip" }, step.step),
              h("span", {}, step.done ? (step.at === null ? "done" : clock(step.at)) : "not taken"),
            ),
          )
        : h("li", { class: "hint" }, "no coaching on this call"),
    ),
    `${review.steps.filter((step) => step.done).length} of ${review.steps.length || 4} taken`,
  );
  const acked = review.alerts.filter((alert) => alert.acked_by.length).length;
  const alerts = stat("Alerts", String(review.alerts.length), review.alerts.length ? `${acked} acknowledged` : "quiet call", { id: "stat-alerts" });
  // heatmon's turn score, as the transcript and the chart's mood dots show it.
  const scores = detail.turns.filter((turn) => turn.speaker === "caller").map(turnScore).filter((score) => score !== null);
  const mean = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
  const lowest = scores.length ? Math.min(...scores) : null;
  const signed = (x) => `${x > 0 ? "+" : x < 0 ? "−" : ""}${Math.abs(x).toFixed(2)}`;
  const mood = stat(
    "Caller mood",
    mean === null ? "–" : sentimentWord(mean),
    mean === null ? "no scored caller turns" : `mean ${signed(mean)}, lowest ${signed(lowest)} over ${scores.length} turns`,
    { id: "stat-mood" },
  );
  $("summary").replaceChildren(peak, hotToCalm, steps, alerts, mood);
}

function chart(detail) {
  // Drawn here from the call's JSON; alert markers take you to the alert's place in the transcript.
  $("chart").replaceChildren(heatChart(detail, { onAlert: (alert) => reveal(`alert-${alert.id}`) }));
}

function reveal(id) {
  const el = document.getElementById(id);
  if (!el) return;
  el.scrollIntoView({ block: "center" });
  el.classList.remove("is-flash");
  void el.offsetWidth;
  el.classList.add("is-flash");
}

/** Masked digits shown as a chip, so a reader sees at once that something was there. */
function markRedactions(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const hits = [];
  while (walker.nextNode()) if (REDACTED.test(walker.currentNode.nodeValue)) hits.push(walker.currentNode);
  for (const node of hits) {
    const parts = node.nodeValue.split(/(\[\d+ digits redacted\])/);
    node.replaceWith(...parts.map((part, i) => (i % 2 ? h("span", { class: "redacted", title: "Masked by heatmon" }, part.slice(1, -1)) : part)));
  }
  REDACTED.lastIndex = 0;
}

function marker(kind, t, attrs, ...body) {
  return h("li", { class: `timeline-mark mark-${kind}`, ...attrs }, h("span", { class: "turn-time" }, clock(t)), ...body);
}

function transcript(detail) {
  const call = detail.call;
  const turns = detail.turns;
  const list = $("transcript");
  const evidence = detail.alerts.flatMap((alert) => alert.evidence || []);
  renderTranscript(list, { turns, partials: {} }, { evidence, agentName: call.agent, callerName: call.caller_name, scroller: $("transcript-scroll"), follow: false });
  if (!turns.length) return;
  const items = [...list.children].map((el, i) => ({ t: turns[i].t ?? turns[i].end, order: 0, el }));
  for (const alert of detail.alerts) {
    items.push({
      t: alert.t,
      order: 1,
      el: marker(
        "alert",
        alert.t,
        { id: `alert-${alert.id}`, dataset: { level: alertLook(alert.level) } },
        h("span", { class: "level-badge" }, alertShape(alert.level, 14), alertLabel(alert.level)),
        h("span", { class: "mark-text" }, alert.message),
      ),
    });
  }
  for (const coach of prompts(detail)) {
    items.push({
      t: coach.t,
      order: 2,
      el: marker("coach", coach.t, {}, h("span", { class: "step-chip" }, coach.step), h("span", { class: "mark-text" }, h("b", {}, `Coach: ${stepName(coach.step)}. `), coach.prompt)),
    });
  }
  items.sort((a, b) => a.t - b.t || a.order - b.order);
  list.replaceChildren(...items.map((item) => item.el));
  markRedactions(list);
  $("transcript-scroll").scrollTop = 0;
}

function alertList(detail) {
  const items = detail.review.alerts.map((alert) =>
    h(
      "li",
      { class: `feed-item${alert.acked_by.length ? " is-acked-review" : ""}`, dataset: { level: alertLook(alert.level), alert: alert.id } },
      h(
        "div",
        { class: "feed-head" },
        h("span", { class: "level-badge" }, alertShape(alert.level, 16), h("span", { class: "level-word" }, alertLabel(alert.level))),
        h("span", { class: "feed-who" }, alertKindLabel(alert.kind)),
        h("button", { type: "button", class: "feed-when link-button", onclick: () => reveal(`alert-${alert.id}`) }, `at ${clock(alert.t)}`),
      ),
      h("p", { class: "feed-msg" }, alert.message),
      alert.evidence.length ? h("ul", { class: "evidence", "aria-label": "Evidence" }, alert.evidence.map((item) => h("li", {}, item))) : null,
      alert.acked_by.length
        ? h("span", { class: "acked" }, `✓ Acknowledged by ${alert.acked_by.join(", ")}`)
        : h("span", { class: "hint" }, "Not acknowledged"),
    ),
  );
  $("alerts").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No alerts on this call.")]));
  markRedactions($("alerts"));
}

/** The coach events that said something to the agent; prompt-less ones only ticked steps (the summary has those). */
function prompts(detail) {
  return detail.coach.filter((coach) => coach.prompt);
}

function coachList(detail) {
  const items = prompts(detail).map((coach) =>
    h(
      "li",
      { class: "coach-item", dataset: { step: coach.step } },
      h("span", { class: "step-chip" }, coach.step),
      h("div", {}, h("p", { class: "coach-when" }, `${clock(coach.t)} · ${stepName(coach.step)}`), h("p", {}, coach.prompt)),
    ),
  );
  $("coach").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No coaching prompts on this call.")]));
}

function messageList(detail) {
  $("messages-section").hidden = !detail.messages.length;
  $("messages").replaceChildren(
    ...detail.messages.map((msg) => h("li", {}, h("span", { class: "hint" }, `${msg.from || "Supervisor"} at ${clock(msg.t)}: `), msg.text)),
  );
  markRedactions($("messages"));
}

/** The call as `heatmon export` writes it. */
function download(detail) {
  const data = { format: "heatmon-call", version: 1, ref: detail.ref, call: detail.call, review: detail.review };
  for (const key of ["turns", "heat", "alerts", "acks", "coach", "messages"]) data[key] = detail[key];
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const link = h("a", { href: URL.createObjectURL(blob), download: `heatmon-call-${detail.call.id}.json` });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function render(detail) {
  const call = detail.call;
  const level = levelKey(detail.review.peak_level);
  document.title = `${call.agent || "Call"} · ${call.caller_name || call.id} · heatmon`;
  $("call-head").dataset.level = level;
  setText($("call-title"), `${call.agent || "Unassigned"} · ${call.caller_name || "Unknown caller"}`);
  const parts = [call.id, formatStarted(call.started_at), `${clock(detail.review.duration)} long`, call.ended ? null : "still live when stored", call.source, detail.ref];
  setText($("call-sub"), parts.filter(Boolean).join(" · "));
  $("redacted-note").hidden = !detail.redacted && !JSON.stringify(detail.turns).includes("digits redacted");
  summary(detail);
  chart(detail);
  transcript(detail);
  alertList(detail);
  coachList(detail);
  messageList(detail);
  $("download").onclick = () => download(detail);
  $("review").hidden = false;
}

async function main() {
  const back = params.get("back") || "";
  const historyLink = `${pageLink("history", { token })}${back ? `&${back}` : ""}`;
  $("back").href = historyLink;
  $("nav-history").href = pageLink("history", { token });
  $("nav-floor").href = pageLink("floor", { token });
  if (!token || !ref) {
    setText($("who"), "Not signed in");
    $("who").dataset.state = "refused";
    banner(token ? "Which call? This link names no call." : "This page needs an access token.", "Open calls from the history page.");
    return;
  }
  let detail;
  try {
    detail = await apiGet(`calls/${encodeURIComponent(ref)}`, token);
  } catch (err) {
    $("who").dataset.state = err.status === 401 ? "refused" : "down";
    setText($("who"), err.status === 401 ? "Not signed in" : "Not found");
    banner(`This call cannot be shown: ${err.message}.`, err.status === 401 ? "Ask your team lead for a new dashboard link." : "It may have been purged, or it is not one of your calls.");
    return;
  }
  $("who").dataset.state = "live";
  setText($("who"), detail.agent_scope ? `${detail.agent_scope} · your call` : "Supervisor");
  if (detail.agent_scope) {
    $("nav-floor").href = pageLink("agent", { token });
    setText($("nav-floor"), "My live call");
  }
  render(detail);
}

// A new fragment (another call, another token) is another page: links between calls change only the fragment.
window.addEventListener("hashchange", () => location.reload());
main();
