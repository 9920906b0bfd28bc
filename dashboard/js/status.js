// The connection's state as people see it: a small pill in the header, and a banner that
// says plainly when the page is not live (and that what it shows may be out of date).

import { formatDuration, h, setText } from "./dom.js";

function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : null;
}

/** Wire a connection's onStatus to `pill` and `banner`; returns the onStatus function. */
export function statusView({ pill, banner, retryNow }) {
  let countdown = null;
  let signedInAs = null;
  const message = h("p", { class: "banner-text" });
  const detail = h("p", { class: "banner-detail" });
  const retry = h("button", { type: "button", class: "button button-quiet", onclick: () => retryNow() }, "Reconnect now");
  banner.replaceChildren(h("div", { class: "banner-body" }, message, detail), retry);

  function show(kind, text, more, canRetry) {
    banner.hidden = false;
    banner.dataset.kind = kind;
    setText(message, text);
    setText(detail, more || "");
    retry.hidden = !canRetry;
  }

  function setPill(state, text) {
    pill.dataset.state = state;
    setText(pill, text);
  }

  return function onStatus(status) {
    clearInterval(countdown);
    document.body.classList.toggle("is-stale", status.state !== "live" && status.state !== "connecting");
    switch (status.state) {
      case "connecting":
        setPill("connecting", "Connecting…");
        banner.hidden = true;
        break;
      case "live":
        if (status.name) signedInAs = status.name;
        setPill("live", signedInAs ? `Live · ${signedInAs}` : "Live");
        banner.hidden = true;
        break;
      case "reconnecting":
        setPill("down", "Reconnecting…");
        show("down", "Disconnected from the hub. Reconnecting now…", "", false);
        break;
      case "disconnected": {
        setPill("down", "Disconnected");
        const since = clock(status.lastMessageAt);
        const tick = () => {
          const left = Math.max(0, Math.ceil((status.retryAt - Date.now()) / 1000));
          show(
            "down",
            `Disconnected from the hub: ${status.reason}. Trying again in ${formatDuration(left)}.`,
            since ? `What you see may be out of date. Last update at ${since}.` : "Nothing has been received yet.",
            true,
          );
        };
        tick();
        countdown = setInterval(tick, 1000);
        break;
      }
      case "refused":
        setPill("refused", "Not signed in");
        show(
          "refused",
          `The hub refused this page's access token (${status.reason}).`,
          "Ask your team lead for a new dashboard link; the token is the part after #token= in the address.",
          false,
        );
        break;
      case "no-token":
        setPill("refused", "Not signed in");
        show(
          "refused",
          "This page needs an access token.",
          "Open the dashboard link that `heatmon hub` or your team lead gave you; it ends in #token=…",
          false,
        );
        break;
      default:
        console.warn("heatmon: unknown connection state", status.state);
    }
  };
}
