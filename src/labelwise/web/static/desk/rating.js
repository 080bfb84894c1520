// Rating: the rubric (criteria and the scale's anchors) beside the item; typing a score picks it
// (digits, and "-" first for a negative one; a score that more digits could still extend waits
// a moment for them), the arrow keys step through the scale.
"use strict";

import { $, SAVE_KEYS, aside, el, keyHints, objectOr, percent, plain, showData } from "./dom.js";

const TYPING_MS = 900;

export function ratingEditor(task, held, ctx) {
  const scale = task.scale || { min: 1, max: 5, anchors: {} };
  const scores = [];
  for (let s = scale.min; s <= scale.max; s += 1) scores.push(s);
  const prediction = held.prediction;
  const modelScore = prediction && Number.isInteger(prediction.value) ? prediction.value : null;
  const parts = objectOr(prediction && prediction.parts);
  const distribution = objectOr(parts.distribution);
  let chosen = scores.includes(modelScore) ? modelScore : null;
  let typed = "";
  let typedAt = 0;

  function drawRubric() {
    const panel = aside();
    panel.append(el("h3", "", "Rubric"));
    if (task.criteria) panel.append(el("p", "criteria", task.criteria));
    const anchors = Object.entries(scale.anchors || {}).sort((a, b) => Number(a[0]) - Number(b[0]));
    if (anchors.length) {
      const list = el("dl", "anchors");
      for (const [score, meaning] of anchors) list.append(el("dt", "", score), el("dd", "", meaning));
      panel.append(list);
    }
    if (typeof parts.expected === "number") {
      panel.append(el("p", "muted", `The model's expected score: ${parts.expected.toFixed(2)}`));
    }
  }

  function drawScores() {
    const list = $("labels");
    list.replaceChildren();
    for (const score of scores) {
      const item = el("li", "score", String(score));
      item.setAttribute("role", "radio");
      item.setAttribute("aria-checked", String(score === chosen));
      item.classList.toggle("selected", score === chosen);
      item.classList.toggle("model", score === modelScore);
      const anchor = (scale.anchors || {})[String(score)];
      if (anchor) item.title = anchor;
      const p = distribution[String(score)];
      if (typeof p === "number") item.append(el("small", "p", percent(p)));
      item.addEventListener("click", () => pick(score));
      list.append(item);
    }
  }

  function pick(score) {
    chosen = score;
    drawScores();
  }

  // Digits typed in a row make one score: "1" then "0" is 10 on a scale that has 10.
  function type(key) {
    const now = Date.now();
    typed = now - typedAt < TYPING_MS ? typed + key : key;
    typedAt = now;
    const value = Number(typed);
    if (typed !== "-" && scores.includes(value)) pick(value);
    else if (typed !== "-" && !scores.some((s) => String(s).startsWith(typed))) {
      typed = "";
      ctx.say(`${key} is not a score of ${scale.min}–${scale.max}.`);
    }
    const longer = scores.some((s) => String(s) !== typed && String(s).startsWith(typed));
    if (!longer) typed = "";
  }

  function step(by) {
    const at = chosen === null ? (by > 0 ? scale.min - 1 : scale.max + 1) : chosen;
    pick(Math.min(scale.max, Math.max(scale.min, at + by)));
  }

  function onKey(event, typing) {
    if (typing || !plain(event)) return false;
    if (/^[0-9-]$/.test(event.key)) type(event.key);
    else if (event.key === "ArrowUp" || event.key === "ArrowRight") step(1);
    else if (event.key === "ArrowDown" || event.key === "ArrowLeft") step(-1);
    else return false;
    return true;
  }

  return {
    render() {
      showData(held.item.data || {}, task.text_field || "text");
      drawRubric();
      drawScores();
      keyHints([[`${scale.min}…${scale.max}`, "type a score"], ["←/→", "step"], ...SAVE_KEYS]);
    },
    onKey,
    chosen: () => (chosen === null ? { error: "Pick a score first." } : { value: chosen }),
    same: (a, b) => a === b,
    format: (value) => String(value),
  };
}
