// The call page's heat chart, drawn here from the call's JSON (the hub sends data, never
// markup): heat as a line over call time coloured by level, the caller's mood per turn as
// dots under it, alerts as markers above it (buttons: Enter or Space jumps to the alert in
// the transcript) and the H.E.A.T. steps taken as lettered markers below it. The same layout
// as the chart in `heatmon report` (monitor/review/chart.py); colours come from the palette.

import { formatDuration, s } from "./dom.js";
import { levelKey } from "./levels.js";
import { sentimentClass } from "./sparkline.js";
import { turnScore } from "./callstate.js";

const WIDTH = 900;
const HEIGHT = 300;
const LEFT = 44;
const RIGHT = 16;
const TOP = 34;
const BOTTOM = 70;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;

const signed = (x) => `${x > 0 ? "+" : x < 0 ? "−" : ""}${Math.abs(x).toFixed(2)}`;
const round1 = (x) => Math.round(x * 10) / 10;

function timeTicks(span) {
  const step = [15, 30, 60, 120, 300, 600, 1800].find((size) => span / size <= 10) || 3600;
  const ticks = [];
  for (let t = 0; t <= span; t += step) ticks.push(t);
  return ticks;
}

function titled(el, text) {
  el.append(s("title", {}, text));
  return el;
}

/**
 * The chart as an <svg>. detail: the history API's call detail (heat, turns, alerts, review);
 * onAlert(alert) is called when an alert marker is chosen (click, Enter or Space).
 */
export function heatChart(detail, { onAlert } = {}) {
  const heat = (detail.heat || []).filter((point) => Number.isFinite(point.t) && Number.isFinite(point.value));
  const review = detail.review || {};
  const span = Math.max(Number(review.duration) || 0, ...heat.map((point) => point.t), 1);
  const x = (t) => round1(LEFT + (PLOT_W * Math.max(0, Math.min(t, span))) / span);
  const y = (value) => round1(TOP + PLOT_H * (1 - Math.max(0, Math.min(value, 100)) / 100));
  const svg = s("svg", {
    class: "heat-chart",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "group", // not "img": its alert markers are buttons
    "aria-label": "Heat over the call",
  });
  svg.append(s("rect", { x: LEFT, y: TOP, width: PLOT_W, height: PLOT_H, class: "chart-plot" }));
  for (const value of [25, 50, 75]) svg.append(s("line", { x1: LEFT, x2: LEFT + PLOT_W, y1: y(value), y2: y(value), class: "chart-grid" }));
  for (const value of [0, 50, 100]) svg.append(s("text", { x: LEFT - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" }, String(value)));
  for (const t of timeTicks(span)) svg.append(s("text", { x: x(t), y: TOP + PLOT_H + 14, "text-anchor": "middle", class: "axis" }, formatDuration(t)));

  const segment = (level, points) =>
    s("polyline", { class: "heat-line", dataset: { level: levelKey(level) }, points: points.map(([px, py]) => `${px},${py}`).join(" ") });
  // A call starts calm at 0 (the heat model's start): the line begins there, not at the first change.
  if (heat.length && heat[0].t > 0) {
    svg.append(segment("calm", [[x(0), y(0)], [x(heat[0].t), y(0)], [x(heat[0].t), y(heat[0].value)]]));
  }
  // One segment per heat change, coloured by the level the call was at.
  for (let i = 1; i < heat.length; i += 1) {
    const prev = heat[i - 1];
    const cur = heat[i];
    svg.append(segment(prev.level, [[x(prev.t), y(prev.value)], [x(cur.t), y(prev.value)], [x(cur.t), y(cur.value)]]));
  }
  if (heat.length) {
    const last = heat[heat.length - 1];
    svg.append(segment(last.level, [[x(last.t), y(last.value)], [x(span), y(last.value)]]));
  }
  for (const point of heat) {
    const why = (point.reasons || []).join("; ");
    svg.append(
      titled(
        s("circle", { class: "heat-point", dataset: { level: levelKey(point.level) }, cx: x(point.t), cy: y(point.value), r: 2.5 }),
        `${formatDuration(point.t)} heat ${Math.round(point.value)} (${point.level}): ${why}`,
      ),
    );
  }

  const moodY = TOP + PLOT_H + 30;
  svg.append(s("text", { x: LEFT - 6, y: moodY + 4, "text-anchor": "end", class: "axis" }, "mood"));
  for (const turn of detail.turns || []) {
    const score = turn.speaker === "caller" ? turnScore(turn) : null;
    if (score === null) continue;
    const when = turn.end ?? turn.t;
    svg.append(
      titled(
        s("circle", { class: `mood ${sentimentClass(score)}`, cx: x(when), cy: moodY, r: 4, "fill-opacity": (0.25 + 0.75 * Math.min(1, Math.abs(score))).toFixed(2) }),
        `${formatDuration(when)} caller ${signed(score)}: ${turn.text}`,
      ),
    );
  }

  for (const alert of detail.alerts || []) {
    const ax = x(Number(alert.t) || 0);
    const open = () => onAlert && onAlert(alert);
    const mark = s(
      "g",
      {
        class: "alert-mark",
        tabindex: 0,
        role: "button",
        dataset: { alert: alert.id },
        "aria-label": `Alert at ${formatDuration(alert.t)}: ${alert.message}. Show it in the transcript`,
        onclick: open,
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault(); // Space would scroll the page as well
            open();
          }
        },
      },
      s("line", { x1: ax, x2: ax, y1: TOP, y2: TOP + PLOT_H, class: "alert-rule" }),
      s("path", { d: `M${ax - 6},${TOP - 14} L${ax + 6},${TOP - 14} L${ax},${TOP - 3} Z`, class: "alert-flag" }),
    );
    svg.append(titled(mark, `${formatDuration(alert.t)} alert ${alert.kind}: ${alert.message}`));
  }

  const stepsY = TOP + PLOT_H + 54;
  svg.append(s("text", { x: LEFT - 6, y: stepsY + 4, "text-anchor": "end", class: "axis" }, "steps"));
  for (const step of review.steps || []) {
    if (step.at === null || step.at === undefined) continue;
    const sx = x(step.at);
    svg.append(
      titled(
        s(
          "g",
          { class: "step-mark" },
          s("circle", { cx: sx, cy: stepsY, r: 9 }),
          s("text", { x: sx, y: stepsY + 4, "text-anchor": "middle" }, step.step),
        ),
        `${step.step} done at ${formatDuration(step.at)}`,
      ),
    );
  }
  return svg;
}
