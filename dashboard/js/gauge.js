// The heat gauge: a half-dial 0-100 filled in the level's colour, the number in the middle,
// and the level's word and shape under it (never colour alone).

import { h, s, setText } from "./dom.js";
import { levelKey, levelLabel, levelShape } from "./levels.js";

const ARC = "M 10 62 A 50 50 0 0 1 110 62";

/** Trend per minute as an arrow and a signed number, e.g. "↑ +12/min". */
export function trendText(trend) {
  if (typeof trend !== "number" || !Number.isFinite(trend) || Math.abs(trend) < 0.5) return "steady";
  const arrow = trend > 0 ? "↑" : "↓";
  const sign = trend > 0 ? "+" : "−";
  return `${arrow} ${sign}${Math.round(Math.abs(trend))}/min`;
}

/** A gauge element and its update(heat) function; heat is {value, level, trend} or null. */
export function createGauge({ size = "medium" } = {}) {
  const fillArc = s("path", { d: ARC, class: "gauge-fill", pathLength: 100 });
  const number = s("text", { x: 60, y: 58, class: "gauge-number", "text-anchor": "middle" }, "–");
  const dial = s(
    "svg",
    { class: "gauge-dial", viewBox: "0 0 120 68", "aria-hidden": "true" },
    s("path", { d: ARC, class: "gauge-track", pathLength: 100 }),
    fillArc,
    number,
  );
  const shapeSlot = h("span", { class: "level-shape" });
  const word = h("span", { class: "level-word" });
  const trend = h("span", { class: "gauge-trend" });
  const el = h(
    "div",
    { class: `gauge gauge-${size}`, role: "img" },
    dial,
    h("div", { class: "gauge-caption" }, h("span", { class: "level-badge" }, shapeSlot, word), trend),
  );
  let shownLevel;

  function update(heat) {
    const value = heat && Number.isFinite(heat.value) ? Math.max(0, Math.min(100, heat.value)) : null;
    const level = heat ? heat.level : null;
    const key = levelKey(level);
    el.dataset.level = key;
    fillArc.style.strokeDasharray = value === null ? "0 100" : `${value} 100`;
    fillArc.style.visibility = value ? "visible" : "hidden";
    setText(number, value === null ? "–" : String(Math.round(value)));
    if (shownLevel !== key) {
      shapeSlot.replaceChildren(levelShape(level));
      shownLevel = key;
    }
    setText(word, levelLabel(level));
    setText(trend, heat ? trendText(heat.trend) : "");
    el.setAttribute(
      "aria-label",
      value === null ? "No heat yet" : `Heat ${Math.round(value)} of 100, ${levelLabel(level)}, ${trendText(heat.trend)}`,
    );
  }

  update(null);
  return { el, update };
}
