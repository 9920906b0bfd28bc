// The page's connection to the hub: reads the token from the URL fragment (fragments are
// never sent to a server, so the token stays out of every access log), says hello with the
// last seq it saw, hands single events and batches to the page in order, and reconnects by
// itself with backoff. A refused token is final: retrying would only hammer the hub.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;

/** The `token` from a fragment like "#token=abc" (also "#abc&x=y" style with other keys). */
export function tokenFromHash(hash) {
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  return params.get("token") || "";
}

/** The hub's websocket address for a page served by the hub itself. */
export function hubUrl(location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

/** True when the hub closed us for a reason that retrying cannot fix (bad token, wrong role). */
export function isAuthRefusal(code, reason) {
  return code === 1008 && /token|role|forbidden|not allowed/i.test(reason || "");
}

const CLOSE_REASONS = {
  1000: "the connection was closed",
  1001: "the hub is shutting down or restarting",
  1006: "the hub cannot be reached",
  1009: "a message was too large",
  1011: "the hub hit an internal error",
  1012: "the hub is restarting",
};

/** Why a connection closed, in words for the banner: the hub's own reason if it gave one. */
export function closeReason(code, reason) {
  return reason || CLOSE_REASONS[code] || `the connection closed (code ${code})`;
}

export class HubConnection {
  /**
   * role: "supervisor" or "agent"; onWelcome(welcome, {rebuild}), onEvent(event) per event
   * in seq order (and onEvents(events) for a batch's, if given), onStatus({state, ...}) for
   * the page's banner and status pill.
   */
  constructor({ role, token, url, onWelcome, onEvent, onEvents, onStatus }) {
    this.role = role;
    this.token = token;
    this.url = url;
    this.onWelcome = onWelcome;
    this.onEvent = onEvent;
    this.onEvents = onEvents || ((events) => events.forEach((event) => onEvent(event)));
    this.onStatus = onStatus;
    this.lastSeq = 0;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = false;
    this.lastMessageAt = null;
  }

  start() {
    if (!this.token) {
      this.stopped = true;
      this.onStatus({ state: "no-token" });
      return;
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000, "page closed");
  }

  get connected() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN && this.welcomed);
  }

  /** Send a message to the hub; false if we are not connected (the caller tells the user). */
  send(message) {
    if (!this.connected) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  connect() {
    this.welcomed = false;
    this.onStatus({ state: this.attempt ? "reconnecting" : "connecting", attempt: this.attempt });
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      this.scheduleRetry(`cannot open ${this.url}: ${err.message}`);
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      const hello = { type: "hello", role: this.role, token: this.token };
      if (this.lastSeq > 0) hello.last_seq = this.lastSeq;
      socket.send(JSON.stringify(hello));
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (close) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.welcomed = false;
      if (this.stopped) return;
      if (isAuthRefusal(close.code, close.reason)) {
        this.stopped = true;
        this.onStatus({ state: "refused", reason: close.reason });
        return;
      }
      this.scheduleRetry(closeReason(close.code, close.reason));
    });
  }

  scheduleRetry(reason) {
    // Exponential backoff with jitter, so a floor of pages doesn't reconnect in lockstep.
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.onStatus({ state: "disconnected", reason, retryAt: Date.now() + delay, lastMessageAt: this.lastMessageAt });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn("heatmon: the hub sent something that is not JSON", data);
      return;
    }
    this.lastMessageAt = Date.now();
    switch (message.type) {
      case "welcome": {
        this.welcomed = true;
        this.attempt = 0;
        this.lastWelcome = { seq: message.seq, replay: Boolean(message.replay), name: message.name, agent: message.agent };
        // Replay only helps if we hold state from before; a fresh page always rebuilds.
        const rebuild = !(message.replay && this.lastSeq > 0);
        if (rebuild) this.lastSeq = Number(message.seq) || 0;
        this.onWelcome(message, { rebuild });
        this.onStatus({ state: "live", agent: message.agent, role: message.role, name: message.name });
        break;
      }
      case "batch": {
        const events = (message.events || []).filter((event) => this.isNew(event));
        if (events.length) this.onEvents(events);
        break;
      }
      case "error":
        console.warn("heatmon: the hub answered with an error:", message.message);
        this.onStatus({ state: "live", notice: message.message });
        break;
      default:
        this.deliver(message);
    }
  }

  deliver(event) {
    if (this.isNew(event)) this.onEvent(event);
  }

  /** False for a resend after a reconnect (at or below the newest seq we hold); notes the seq. */
  isNew(event) {
    if (typeof event.seq !== "number") return true;
    if (event.seq <= this.lastSeq) return false;
    this.lastSeq = event.seq;
    return true;
  }
}
