// A sparkline of the caller's sentiment, one point per caller turn (-1 bottom, +1 top), with
// a zero line so the sign reads from the position alone, not only from the points' colour.

import { s } from "./dom.js";

const WIDTH = 160;
const HEIGHT = 48;
const PAD = 4;

/** Sentiment in words, for labels: "negative", "very negative", ... */
export function sentimentWord(score) {
  if (typeof score !== "number") return "unscored";
  if (score <= -0.5) return "very negative";
  if (score <= -0.05) return "negative";
  if (score < 0.05) return "neutral";
  if (score < 0.5) return "positive";
  return "very positive";
}

/** A class name for the same bands, for colouring turns and points. */
export function sentimentClass(score) {
  return `sent-${sentimentWord(score).replace(" ", "-")}`;
}

/** A sparkline SVG for [[t, compound], ...], showing at most `limit` of the latest points. */
export function sparkline(sentiments, { limit = 24 } = {}) {
  const points = (sentiments || []).slice(-limit).map((pair) => Number(pair[1]) || 0);
  const svg = s("svg", { class: "sparkline", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img" });
  const y = (score) => PAD + ((1 - Math.max(-1, Math.min(1, score))) / 2) * (HEIGHT - 2 * PAD);
  svg.append(s("line", { x1: 0, x2: WIDTH, y1: y(0), y2: y(0), class: "spark-zero" }));
  if (!points.length) {
    svg.setAttribute("aria-label", "No caller turns yet");
    return svg;
  }
  // Spread the points over the width, but never wider apart than a short sparkline's would be.
  const step = points.length > 1 ? (WIDTH - 2 * PAD) / Math.max(points.length - 1, 6) : 0;
  const x0 = WIDTH - PAD - step * (points.length - 1);
  const xy = points.map((score, i) => [x0 + i * step, y(score)]);
  if (xy.length > 1) {
    svg.append(s("polyline", { points: xy.map(([x, yy]) => `${x.toFixed(1)},${yy.toFixed(1)}`).join(" "), class: "spark-line" }));
  }
  xy.forEach(([x, yy], i) => {
    const last = i === xy.length - 1;
    svg.append(s("circle", { cx: x, cy: yy, r: last ? 3.4 : 2.2, class: `spark-point ${sentimentClass(points[i])}${last ? " spark-last" : ""}` }));
  });
  const latest = points[points.length - 1];
  svg.setAttribute(
    "aria-label",
    `Caller sentiment over the last ${points.length} turns, latest ${latest.toFixed(2)} (${sentimentWord(latest)})`,
  );
  return svg;
}
