// Heat levels, shown three ways at once: a word, a shape and a colour, so the board reads
// for colour-blind people and on a washed-out wall screen. Shapes get sharper as heat rises.

import { s } from "./dom.js";

export const LEVELS = {
  calm: { label: "Calm", rank: 0 },
  warm: { label: "Warm", rank: 1 },
  hot: { label: "Hot", rank: 2 },
  boiling: { label: "Boiling", rank: 3 },
};

/** The known level name, or "none" for a call that has no heat yet (or a level we don't know). */
export function levelKey(level) {
  return Object.hasOwn(LEVELS, level) ? level : "none";
}

export function levelLabel(level) {
  return LEVELS[level]?.label ?? (level ? String(level) : "No heat yet");
}

// Alerts have severities of their own (info, warning, critical); they borrow the shapes and
// colours: warning = triangle, critical = octagon, info = a circled "i". Heat levels pass through.
const ALERT_LEVELS = {
  info: { label: "Info", look: "info" },
  warning: { label: "Warning", look: "warm" },
  critical: { label: "Critical", look: "boiling" },
};

/** The look (data-level) of an alert's level. */
export function alertLook(level) {
  return ALERT_LEVELS[level]?.look ?? levelKey(level);
}

export function alertLabel(level) {
  return ALERT_LEVELS[level]?.label ?? levelLabel(level);
}

/** An alert level's shape. */
export function alertShape(level, size = 16) {
  return levelShape(alertLook(level), size);
}

/** True for the levels a supervisor should look at now. */
export function isHot(level) {
  return (LEVELS[level]?.rank ?? 0) >= LEVELS.hot.rank;
}

/** The level's shape as a small inline SVG (circle, triangle, diamond, octagon with "!"). */
export function levelShape(level, size = 18) {
  const key = level === "info" ? "info" : levelKey(level);
  const attrs = { class: `shape shape-${key}`, viewBox: "0 0 20 20", width: size, height: size, "aria-hidden": "true" };
  switch (key) {
    case "calm":
      return s("svg", attrs, s("circle", { cx: 10, cy: 10, r: 7.5 }));
    case "warm":
      return s("svg", attrs, s("polygon", { points: "10,2 18.5,17.5 1.5,17.5" }));
    case "hot":
      return s("svg", attrs, s("polygon", { points: "10,1 19,10 10,19 1,10" }));
    case "boiling":
      return s(
        "svg",
        attrs,
        s("polygon", { points: "6.3,1 13.7,1 19,6.3 19,13.7 13.7,19 6.3,19 1,13.7 1,6.3" }),
        s("rect", { x: 8.8, y: 4.5, width: 2.4, height: 7, rx: 1, class: "shape-mark" }),
        s("circle", { cx: 10, cy: 14.8, r: 1.4, class: "shape-mark" }),
      );
    case "info":
      return s(
        "svg",
        attrs,
        s("circle", { cx: 10, cy: 10, r: 8.5 }),
        s("rect", { x: 8.9, y: 8.5, width: 2.2, height: 6.5, rx: 1, class: "shape-mark" }),
        s("circle", { cx: 10, cy: 5.6, r: 1.3, class: "shape-mark" }),
      );
    default:
      return s("svg", attrs, s("circle", { cx: 10, cy: 10, r: 7, class: "shape-empty" }));
  }
}
