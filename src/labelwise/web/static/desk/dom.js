// Building the desk's elements. Everything an item carries is untrusted, so text is only ever
// set as text (textContent, text nodes), never parsed as HTML.
"use strict";

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function kbd(key) {
  return el("span", "kbd", key);
}

// A key press with no modifier but Shift: the desk's own keys; the others stay the browser's.
export function plain(event) {
  return !event.ctrlKey && !event.metaKey && !event.altKey;
}

// Where a key types into a form field rather than drives the desk.
export function isField(target) {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement
  );
}

export function percent(p) {
  return typeof p === "number" ? `${Math.round(p * 100)}%` : "–";
}

// How sure a confidence is, for the colour of its mark.
export function level(p) {
  if (typeof p !== "number") return "none";
  if (p >= 0.8) return "high";
  return p >= 0.5 ? "mid" : "low";
}

export function confidenceMark(p) {
  const mark = el("span", `conf ${level(p)}`, percent(p));
  mark.title = typeof p === "number" ? "the model's confidence" : "no confidence score";
  return mark;
}

// JSON with object keys sorted: two values are the same answer when these are equal.
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

// `value` when it is a JSON object, else an empty one: what a prediction holds may be anything.
export function objectOr(value) {
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

export function shown(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// The item's main text in #text (or all of its data as JSON when that field is not text) and
// its other fields, except `hidden` ones, beside it.
export function showData(data, main, hidden = []) {
  const hasText = typeof data[main] === "string";
  $("text").textContent = hasText ? data[main] : JSON.stringify(data, null, 2);
  $("text").scrollTop = 0;
  showFields(data, hasText ? [main, ...hidden] : null);
}

export function showFields(data, skip) {
  const fields = $("fields");
  fields.replaceChildren();
  if (skip === null) return;
  for (const [name, value] of Object.entries(data)) {
    if (skip.includes(name)) continue;
    fields.append(el("dt", "", name), el("dd", "", shown(value)));
  }
}

// The key legend under the item: [["1–9", "pick a label"], ...].
export function keyHints(pairs) {
  const hints = $("keys");
  hints.replaceChildren();
  pairs.forEach(([key, meaning], index) => {
    if (index) hints.append(" · ");
    hints.append(el("kbd", "", key), ` ${meaning}`);
  });
}

export const SAVE_KEYS = [
  ["Enter", "save"],
  ["u", "undo"],
  ["s", "skip"],
];

// The panel beside the item (a form, a rubric), emptied and shown.
export function aside() {
  const panel = $("aside");
  panel.replaceChildren();
  panel.hidden = false;
  $("body").classList.add("split");
  return panel;
}
