// Classification: the labels as a list; number keys pick one (or toggle, for multi-label).
"use strict";

import { $, SAVE_KEYS, el, keyHints, kbd, plain, showData } from "./dom.js";

function asList(value) {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

export function formatLabels(value) {
  const list = asList(value);
  return list.length ? list.join(", ") : "(none)";
}

function sameLabels(a, b) {
  const left = asList(a).sort();
  const right = asList(b).sort();
  return left.length === right.length && left.every((value, i) => value === right[i]);
}

export function classificationEditor(task, held) {
  const labels = task.labels.map((label) => label.name);
  const multi = Boolean(task.multi_label);
  const prediction = held.prediction;
  const predicted = new Set(prediction ? asList(prediction.value) : []);
  const known = new Set(labels);
  let selection = new Set([...predicted].filter((name) => known.has(name)));

  function drawLabels() {
    const list = $("labels");
    list.replaceChildren();
    labels.forEach((name, index) => {
      const item = el("li");
      item.setAttribute("role", multi ? "checkbox" : "radio");
      item.setAttribute("aria-checked", String(selection.has(name)));
      item.classList.toggle("selected", selection.has(name));
      item.classList.toggle("model", predicted.has(name));
      if (index < 9) item.append(kbd(String(index + 1)));
      item.append(document.createTextNode(name));
      item.addEventListener("click", () => pick(index));
      list.append(item);
    });
  }

  function pick(index) {
    const name = labels[index];
    if (name === undefined) return;
    if (multi) {
      if (selection.has(name)) selection.delete(name);
      else selection.add(name);
    } else {
      selection = new Set([name]);
    }
    drawLabels();
  }

  return {
    render() {
      showData(held.item.data || {}, "text");
      drawLabels();
      keyHints([["1–9", "pick a label"], ...SAVE_KEYS]);
    },
    onKey(event, typing) {
      if (typing || !plain(event) || !/^[1-9]$/.test(event.key)) return false;
      pick(Number(event.key) - 1);
      return true;
    },
    chosen() {
      const value = multi ? [...selection].sort() : [...selection][0];
      return !multi && value === undefined ? { error: "Pick a label first." } : { value };
    },
    same: sameLabels,
    format: formatLabels,
  };
}
