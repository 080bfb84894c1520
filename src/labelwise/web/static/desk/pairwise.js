// Pairwise: the two candidates side by side, in an order drawn at random per item, so that the
// side a candidate is shown on says nothing about which field it came from. The page keeps the
// mapping from screen (A left, B right) back to the value ("a": the first field is better).
"use strict";

import { $, SAVE_KEYS, el, keyHints, kbd, percent, plain, shown, showFields } from "./dom.js";

// Item id -> ["a", "b"] or ["b", "a"]: what A and B show. Kept for the page's life, so an item
// that comes back (undo) keeps its sides.
const orders = new Map();

function orderOf(itemId) {
  if (!orders.has(itemId)) orders.set(itemId, Math.random() < 0.5 ? ["a", "b"] : ["b", "a"]);
  return orders.get(itemId);
}

export function pairwiseEditor(task, held) {
  const fields = task.fields && task.fields.length === 2 ? task.fields : ["a", "b"];
  const data = held.item.data || {};
  const order = orderOf(held.item.id);
  const fieldOf = { a: fields[0], b: fields[1] };
  const prediction = held.prediction;
  const modelValue = prediction ? prediction.value : null;
  const choices = [["a", "A", "A is better"], ["b", "B", "B is better"]];
  if (task.allow_tie) choices.push(["t", "tie", "Tie"]);
  let chosen = ["a", "b", "tie"].includes(modelValue) ? modelValue : null;

  // The screen's name for a value: "a" is whichever side shows the first field.
  const sideOf = (value) => (value === "tie" ? "tie" : order[0] === value ? "A" : "B");
  const valueOf = (side) => (side === "tie" ? "tie" : side === "A" ? order[0] : order[1]);

  function drawPair() {
    const pair = $("pair");
    pair.replaceChildren();
    pair.hidden = false;
    $("text").hidden = true;
    ["A", "B"].forEach((side) => {
      const value = valueOf(side);
      const column = el("section", "candidate");
      column.dataset.side = side;
      column.classList.toggle("selected", chosen === value);
      column.classList.toggle("model", modelValue === value);
      const head = el("h3");
      head.append(kbd(side.toLowerCase()), side === "A" ? "A (left)" : "B (right)");
      column.append(head, el("pre", "candidate-text", shown(data[fieldOf[value]] ?? "")));
      pair.append(column);
    });
  }

  function drawContext() {
    const context = task.context_field;
    if (!context || data[context] === undefined) return;
    const box = $("context");
    box.hidden = false;
    box.replaceChildren(el("strong", "", context), el("pre", "", shown(data[context])));
  }

  function drawChoices() {
    const list = $("labels");
    list.replaceChildren();
    for (const [key, side, text] of choices) {
      const item = el("li");
      item.setAttribute("role", "radio");
      item.setAttribute("aria-checked", String(chosen === valueOf(side)));
      item.classList.toggle("selected", chosen === valueOf(side));
      item.classList.toggle("model", modelValue === valueOf(side));
      item.append(kbd(key), text);
      item.addEventListener("click", () => pick(side));
      list.append(item);
    }
    drawOrders();
  }

  // What the model answered in each order it was asked, in the screen's names.
  function drawOrders() {
    const parts = prediction && Array.isArray(prediction.parts) ? prediction.parts : [];
    const said = parts
      .filter((p) => p && ["a", "b", "tie"].includes(p.answer))
      .map((p) => `${sideOf(p.answer)} (${percent(p.confidence)})`);
    $("orders").hidden = !said.length;
    $("orders").textContent = said.length ? `The model, asked both ways round: ${said.join(", then ")}` : "";
  }

  function pick(side) {
    chosen = valueOf(side);
    drawPair();
    drawChoices();
  }

  return {
    render() {
      showFields(data, [...fields, task.context_field]);
      drawContext();
      drawPair();
      drawChoices();
      const keys = [["a", "A is better"], ["b", "B is better"]];
      if (task.allow_tie) keys.push(["t", "tie"]);
      keyHints([...keys, ...SAVE_KEYS]);
    },
    onKey(event, typing) {
      if (typing || !plain(event)) return false;
      const choice = choices.find(([key]) => key === event.key);
      if (!choice) return false;
      pick(choice[1]);
      return true;
    },
    chosen: () => (chosen === null ? { error: "Pick A, B or a tie first." } : { value: chosen }),
    same: (a, b) => a === b,
    format: (value) => (["a", "b", "tie"].includes(value) ? sideOf(value) : String(value)),
  };
}
