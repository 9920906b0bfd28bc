// The H.E.A.T. steps as the pages show them. The playbook is data the team may reword (some
// teams use A = Apologize), so unknown letters are shown as they come, with the coach's prompt.

import { h } from "./dom.js";

const STEP_NAMES = { H: "Hear them out", E: "Empathize", A: "Ask questions", T: "Take responsibility" };
const DEFAULT_ORDER = ["H", "E", "A", "T"];

export function stepName(step) {
  return STEP_NAMES[step] || String(step || "");
}

/** The steps to list, in the coach's order if it sent `done`, else H, E, A, T. */
export function stepOrder(coach) {
  const keys = coach && coach.done ? Object.keys(coach.done) : [];
  return keys.length ? keys : DEFAULT_ORDER;
}

/** A checklist of the steps, each marked done (✓) or not yet (○), the current one pointed out. */
export function checklist(coach) {
  const done = (coach && coach.done) || {};
  return h(
    "ol",
    { class: "checklist", "aria-label": "H.E.A.T. steps" },
    stepOrder(coach).map((step) => {
      const isDone = Boolean(done[step]);
      const isCurrent = coach && coach.step === step;
      return h(
        "li",
        { class: `check${isDone ? " check-done" : ""}${isCurrent ? " check-current" : ""}`, dataset: { step }, title: stepName(step) },
        h("span", { class: "check-mark", "aria-hidden": "true" }, isDone ? "✓" : isCurrent ? "➜" : "○"),
        h("span", { class: "check-letter" }, step),
        h("span", { class: "check-name" }, stepName(step)),
        h("span", { class: "visually-hidden" }, isDone ? " (done)" : isCurrent ? " (now)" : " (not yet)"),
      );
    }),
  );
}

/** Has the agent taken every step the coach lists? */
export function allStepsDone(coach) {
  const done = Object.values((coach && coach.done) || {});
  return done.length > 0 && done.every(Boolean);
}

/**
 * The coach event the step card shows. Coach events with an empty prompt only tick steps (the
 * coach sends them when the agent takes a step and there is nothing to say), so they must not
 * blank out the last real prompt: that stays until the agent takes the step it asked for.
 */
export function shownCoach(call) {
  const latest = call.coach;
  const prompt = call.coach_prompt;
  if (!latest || !prompt) return latest;
  const takenSince = !(prompt.done || {})[prompt.step] && Boolean((latest.done || {})[prompt.step]);
  return takenSince ? latest : prompt;
}

/** The current step as a card: big letter, its name, the coach's prompt and phrases to try. */
export function stepCard(coach, { phrases = true } = {}) {
  if (!coach) return h("div", { class: "step-card step-card-empty" }, h("p", {}, "No coaching yet. Listen to the caller."));
  if (!coach.prompt) return quietCard(coach);
  return h(
    "div",
    { class: "step-card", dataset: { step: coach.step } },
    h(
      "div",
      { class: "step-head" },
      h("span", { class: "step-letter", "aria-hidden": "true" }, coach.step),
      h("div", {}, h("p", { class: "step-kicker" }, "Now"), h("p", { class: "step-name" }, stepName(coach.step))),
    ),
    coach.prompt ? h("p", { class: "step-prompt" }, coach.prompt) : null,
    phrases && coach.phrases && coach.phrases.length
      ? h(
          "div",
          { class: "step-phrases" },
          h("p", { class: "step-kicker" }, "Try saying"),
          h("ul", {}, coach.phrases.map((phrase) => h("li", {}, `“${phrase}”`))),
        )
      : null,
  );
}

/** No prompt to show (the coach only ticked steps): a calm card that names what comes next. */
function quietCard(coach) {
  const next = allStepsDone(coach) ? "Every step taken." : `Next step when you need it: ${stepName(coach.step)}.`;
  return h(
    "div",
    { class: "step-card step-card-empty step-card-quiet", dataset: { step: coach.step } },
    h("p", {}, "No prompt right now. Keep listening."),
    h("p", { class: "hint" }, next),
  );
}
