// The floor's call view: a drawer with one call's live transcript (its alerts' evidence
// marked), its alerts with Acknowledge, its coaching step, and a message box to its agent.

import { alertItem, replaceKeepingFocus } from "./alertfeed.js";
import { elapsed, isStale } from "./callstate.js";
import { formatDuration, h, setText } from "./dom.js";
import { createGauge } from "./gauge.js";
import { levelKey } from "./levels.js";
import { checklist, shownCoach, stepCard } from "./steps.js";
import { renderTranscript } from "./transcript.js";

const MAX_MESSAGE = 500;
const $ = (id) => document.getElementById(id);

export class CallView {
  /**
   * book: the CallBook; send(message) -> bool; ackOptions(alert) -> alertItem options;
   * returnFocus(callId) -> the element to focus when the view closes.
   */
  constructor({ book, send, ackOptions, returnFocus }) {
    this.book = book;
    this.send = send;
    this.ackOptions = ackOptions;
    this.returnFocus = returnFocus;
    this.callId = null;
    this.dialog = $("detail");
    this.gauge = createGauge({ size: "medium" });
    $("detail-gauge").append(this.gauge.el);
    $("detail-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => {
      const back = this.returnFocus(this.callId);
      this.callId = null;
      if (back) back.focus();
    });
    $("message-text").addEventListener("input", () => this.count());
    $("message-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendMessage();
    });
  }

  open(id) {
    this.callId = id;
    setText($("message-status"), "");
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
  }

  render() {
    const call = this.callId === null ? null : this.book.get(this.callId);
    if (!call) return;
    setText($("detail-title"), `${call.agent || "Unassigned"} · ${call.caller_name || "Caller"}`);
    this.clock();
    this.dialog.dataset.level = call.heat ? levelKey(call.heat.level) : "none";
    this.gauge.update(call.heat);
    const evidence = call.alerts.flatMap((alert) => alert.evidence || []);
    renderTranscript($("detail-transcript"), call, {
      evidence,
      agentName: call.agent,
      callerName: call.caller_name,
      scroller: $("detail-scroll"),
    });
    const alerts = [...call.alerts]
      .reverse()
      .map((alert) => alertItem({ ...alert, agent: call.agent, ended: call.ended, stale: isStale(alert, call) }, { ...this.ackOptions(alert), onOpen: null }));
    replaceKeepingFocus($("detail-alerts"), alerts.length ? alerts : [h("li", { class: "empty" }, "No alerts on this call.")]);
    $("detail-step").replaceChildren(stepCard(shownCoach(call), { phrases: false }), checklist(call.coach));
    setText($("message-label"), `Message to ${call.agent || "the agent"}`);
    $("message-sent").replaceChildren(
      ...[...call.messages]
        .reverse()
        .map((msg) => h("li", {}, h("span", { class: "hint" }, `${msg.from || "Supervisor"} at ${formatDuration(msg.t)}: `), msg.text)),
    );
  }

  /** The time on call and why the heat is what it is, refreshed every second. */
  clock() {
    const call = this.callId === null ? null : this.book.get(this.callId);
    if (!call) return;
    const reasons = call.heat && call.heat.reasons && call.heat.reasons.length ? ` · why: ${call.heat.reasons.join("; ")}` : "";
    const state = call.ended ? "ended after" : "on call";
    setText($("detail-sub"), `${call.call} · ${state} ${formatDuration(elapsed(call, Date.now()))}${reasons}`);
  }

  count() {
    setText($("message-count"), `${$("message-text").value.length} / ${MAX_MESSAGE}`);
  }

  sendMessage() {
    const text = $("message-text").value.trim();
    if (!text || this.callId === null) return;
    if (this.send({ type: "message", call: this.callId, text: text.slice(0, MAX_MESSAGE) })) {
      $("message-text").value = "";
      this.count();
      setText($("message-status"), "Sent. It shows on the agent's screen now.");
    } else {
      setText($("message-status"), "Not sent: the page is not connected to the hub. Try again once it is live.");
    }
  }
}
