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

/** True for the levels a supervisor should look at now. */
export function isHot(level) {
  return (LEVELS[level]?.rank ?? 0) >= LEVELS.hot.rank;
}

/** The level's shape as a small inline SVG (circle, triangle, diamond, octagon with "!"). */
export function levelShape(level, size = 18) {
  const key = levelKey(level);
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
    default:
      return s("svg", attrs, s("circle", { cx: 10, cy: 10, r: 7, class: "shape-empty" }));
  }
}
