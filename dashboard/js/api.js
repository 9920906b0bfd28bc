// The hub's small HTTP API for the review pages: the token from the page's fragment goes in
// the Authorization header (never in a URL), and every failure becomes one readable sentence.

/** GET /api/<path> as JSON; throws an Error whose message is fit for the page. */
export async function apiGet(path, token) {
  let response;
  try {
    response = await fetch(`/api/${path}`, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch (err) {
    throw new Error(`the hub cannot be reached (${err.message})`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = new Error((body && body.error) || `the hub answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

/** The fragment's parameters (token, filters, call id) as a URLSearchParams. */
export function fragmentParams(hash = location.hash) {
  return new URLSearchParams(String(hash || "").replace(/^#/, ""));
}

/** A page link that carries the token (and any other values) in its fragment. */
export function pageLink(page, values) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== null && value !== undefined && value !== "") params.set(key, value);
  return `/${page}#${params}`;
}

/** A start time (ISO) as the local date and time, e.g. "Mon 23 Nov, 09:04". */
export function formatStarted(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "–";
  const day = date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
  return `${day}, ${date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}

/** A heat value (0-100) as its level, with the hub's default thresholds. */
export function heatLevel(value) {
  if (typeof value !== "number") return "none";
  return value >= 75 ? "boiling" : value >= 50 ? "hot" : value >= 25 ? "warm" : "calm";
}

export const ALERT_KINDS = {
  rising_fast: "Heat rising fast",
  hot: "Call hot",
  boiling: "Call boiling",
  abuse: "Abusive language",
  threat: "Threat",
  escalation: "Asks to escalate",
  repeat_contact: "Repeat contact",
  dead_air: "Dead air",
  talk_over: "Talk-over",
};

export function alertKindLabel(kind) {
  return ALERT_KINDS[kind] || String(kind || "").replace(/_/g, " ");
}
