// Alert items as the floor shows them (feed and call view): severity by word and shape, who,
// when, the message, the caller's words that caused it, and Acknowledge or who acknowledged.

import { formatDuration, h } from "./dom.js";
import { alertLabel, alertLook, alertShape } from "./levels.js";

/** When something happened, on the call's clock: every time on the live pages is call time. */
export function callTime(t) {
  return typeof t === "number" ? `at ${formatDuration(t)}` : "";
}

/**
 * One alert as a list item. alert carries `agent`, `ended` and `stale` (no longer true of its
 * call: isStale) of its call; options:
 * pending (ack sent, not yet confirmed), canAck (connected), onAck(alert), onOpen(callId) or null.
 */
export function alertItem(alert, { pending, canAck, onAck, onOpen }) {
  const acked = alert.acked_by
    ? h("span", { class: "acked" }, `✓ Acknowledged by ${alert.acked_by}${typeof alert.acked_t === "number" ? ` ${callTime(alert.acked_t)}` : ""}`)
    : h(
        "button",
        { type: "button", class: "button button-primary ack", disabled: pending || !canAck, onclick: () => onAck(alert) },
        pending ? "Acknowledging…" : "Acknowledge",
      );
  return h(
    "li",
    {
      class: `feed-item${alert.acked_by ? " is-acked" : alert.stale ? " is-stale" : ""}`,
      dataset: { level: alertLook(alert.level), call: alert.call, alert: alert.id },
    },
    h(
      "div",
      { class: "feed-head" },
      h("span", { class: "level-badge" }, alertShape(alert.level, 16), h("span", { class: "level-word" }, alertLabel(alert.level))),
      h(
        "span",
        { class: "feed-who" },
        alert.agent || alert.call,
        alert.ended ? h("span", { class: "hint" }, " · call ended") : alert.stale ? h("span", { class: "hint" }, " · no longer true") : null,
      ),
      h("span", { class: "feed-when", title: "On the call's clock" }, callTime(alert.t)),
    ),
    h("p", { class: "feed-msg" }, alert.message),
    alert.evidence && alert.evidence.length
      ? h("ul", { class: "evidence", "aria-label": "Evidence" }, alert.evidence.map((item) => h("li", {}, item)))
      : null,
    h(
      "div",
      { class: "feed-actions" },
      acked,
      onOpen ? h("button", { type: "button", class: "button button-quiet", onclick: () => onOpen(alert.call) }, "Open call") : null,
    ),
  );
}

/** Replace a list's alert items without throwing the keyboard user's focus away. */
export function replaceKeepingFocus(list, items) {
  const focused = document.activeElement;
  const item = focused && list.contains(focused) ? focused.closest("li[data-alert]") : null;
  const key = item ? [item.dataset.call, item.dataset.alert, focused.className] : null;
  list.replaceChildren(...items);
  if (!key) return;
  const again = [...list.querySelectorAll("li[data-alert]")].find((li) => li.dataset.call === key[0] && li.dataset.alert === key[1]);
  const buttons = again ? [...again.querySelectorAll("button:not([disabled])")] : [];
  const target = buttons.find((button) => button.className === key[2]) || buttons[0];
  (target || list.closest("dialog, aside") || document.body).focus?.();
}
