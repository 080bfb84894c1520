// Spans: the item's text with each entity highlighted. A reviewer selects text (Shift+arrows,
// or the mouse) and presses an entity type's number to tag it; Tab selects a span, a number
// retypes it, Delete removes it. Offsets are code points, as the API counts them.
"use strict";

import { trimmed, unitToPoint, wordStop } from "./codepoints.js";
import { $, SAVE_KEYS, canonical, el, keyHints, kbd, plain, showFields } from "./dom.js";
import { caretIntoView, drawSpans, unitOffset } from "./spans_view.js";

// As the API sorts spans: by start, then end, then type (code point order, as Python's).
function byPosition(a, b) {
  if (a.start !== b.start || a.end !== b.end) return a.start - b.start || a.end - b.end;
  return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
}

function stored(spans) {
  if (!Array.isArray(spans)) return [];
  return spans
    .map((s) => ({ start: s.start, end: s.end, label: s.label, text: s.text }))
    .sort(byPosition);
}

export function formatSpans(value) {
  if (!Array.isArray(value)) return String(value);
  return value.length ? value.map((s) => `${s.label} “${s.text}”`).join(", ") : "(no spans)";
}

// The model's spans that fit this text and these types, with the confidences of their parts.
function modelSpans(prediction, points, types) {
  const value = prediction && Array.isArray(prediction.value) ? prediction.value : [];
  const parts = prediction && Array.isArray(prediction.parts) ? prediction.parts : [];
  const fits = (s) =>
    s && Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 &&
    s.start < s.end && s.end <= points.length && types.includes(s.label);
  return value.filter(fits).map((s) => {
    const part = parts.find((p) => p && p.start === s.start && p.end === s.end && p.label === s.label) || {};
    const text = points.slice(s.start, s.end).join("");
    const { confidence, label_confidence, text_confidence } = part;
    const scores = { confidence, label_confidence, text_confidence };
    return { start: s.start, end: s.end, label: s.label, text, ...scores };
  }).sort(byPosition);
}

export function spansEditor(task, held, ctx) {
  const field = task.text_field || "text";
  const data = held.item.data || {};
  const text = typeof data[field] === "string" ? data[field] : "";
  const points = Array.from(text);
  const types = task.labels.map((label) => label.name);
  let spans = modelSpans(held.prediction, points, types);
  let selected = null;
  let anchor = null; // where a selection being made started; the caret is its other end
  let caret = 0;

  function pending() {
    if (anchor === null || anchor === caret) return null;
    return { start: Math.min(anchor, caret), end: Math.max(anchor, caret) };
  }

  function draw() {
    drawSpans(points, spans, { selected, pending: pending(), caret, types });
    caretIntoView();
  }

  function drawTypes() {
    const list = $("labels");
    list.replaceChildren();
    types.forEach((name, index) => {
      const item = el("li", `type t${index % 9}`);
      if (index < 9) item.append(kbd(String(index + 1)));
      item.append(document.createTextNode(name));
      item.addEventListener("click", () => tag(index));
      list.append(item);
    });
  }

  function move(step, extend, word) {
    if (extend && anchor === null) anchor = caret;
    if (!extend) anchor = null;
    caret = word ? wordStop(points, caret, step) : Math.min(points.length, Math.max(0, caret + step));
    if (extend) selected = null;
    draw();
  }

  function tag(index) {
    const label = types[index];
    if (label === undefined) return;
    const range = pending();
    if (range) {
      const [start, end] = trimmed(points, range.start, range.end);
      if (start >= end) return ctx.say("The selection is only white space.");
      const span = { start, end, label, text: points.slice(start, end).join("") };
      // A new span replaces those it overlaps: the reviewer has re-drawn that stretch.
      spans = [...spans.filter((s) => s.end <= start || s.start >= end), span].sort(byPosition);
      selected = span;
      anchor = null;
      caret = end;
    } else if (selected) {
      // The reviewer's type: the model's scores were for another.
      Object.assign(selected, { label, confidence: undefined, label_confidence: undefined });
      selected.text_confidence = undefined;
    } else {
      return ctx.say("Select text (Shift+arrows or the mouse) or a span (Tab) first.");
    }
    draw();
  }

  function cycle(step) {
    if (!spans.length) return ctx.say("No spans yet: select text and press a type's number.");
    const at = spans.indexOf(selected);
    const next = at < 0 ? (step > 0 ? 0 : spans.length - 1) : (at + step + spans.length) % spans.length;
    selected = spans[next];
    anchor = null;
    caret = selected.start;
    draw();
  }

  function remove() {
    if (!selected) return ctx.say("Select a span first (Tab).");
    spans = spans.filter((s) => s !== selected);
    selected = null;
    draw();
  }

  function onMouseUp(event) {
    const selection = window.getSelection();
    const box = $("text");
    const inside =
      selection.rangeCount > 0 && box.contains(selection.anchorNode) && box.contains(selection.focusNode);
    const mark = event.target.closest ? event.target.closest("mark") : null;
    if (inside && !selection.isCollapsed) {
      const units = [
        unitOffset(selection.anchorNode, selection.anchorOffset),
        unitOffset(selection.focusNode, selection.focusOffset),
      ];
      anchor = unitToPoint(text, Math.min(...units), "floor");
      caret = unitToPoint(text, Math.max(...units), "ceil");
      selected = null;
      selection.removeAllRanges();
    } else if (mark) {
      selected = spans[Number(mark.dataset.span)] || null;
      anchor = null;
    } else if (inside) {
      caret = unitToPoint(text, unitOffset(selection.anchorNode, selection.anchorOffset));
      anchor = null;
      selected = null;
    } else {
      return;
    }
    draw();
  }

  function onKey(event, typing) {
    if (typing) return false;
    const key = event.key;
    if (key === "ArrowRight" || key === "ArrowLeft") {
      move(key === "ArrowRight" ? 1 : -1, event.shiftKey, event.ctrlKey || event.altKey);
    } else if (key === "Home" || key === "End") {
      move(key === "End" ? points.length : -points.length, event.shiftKey, false);
    } else if (!plain(event)) {
      return false;
    } else if (/^[1-9]$/.test(key)) {
      tag(Number(key) - 1);
    } else if (key === "Tab") {
      cycle(event.shiftKey ? -1 : 1);
    } else if (key === "Delete" || key === "Backspace") {
      remove();
    } else if (key === "Escape") {
      selected = null;
      anchor = null;
      draw();
    } else {
      return false;
    }
    return true;
  }

  return {
    render() {
      if (typeof data[field] !== "string") ctx.say(`This item has no text in “${field}” to mark.`);
      showFields(data, [field]);
      $("text").onmouseup = onMouseUp;
      draw();
      $("text").scrollTop = 0;
      drawTypes();
      keyHints([
        ["Shift+←/→", "select text (or use the mouse)"],
        ["1–9", "tag it, or retype the selected span"],
        ["Tab", "select a span"],
        ["Delete", "remove it"],
        ["Esc", "clear"],
        ...SAVE_KEYS,
      ]);
    },
    onKey,
    chosen: () => ({ value: stored(spans) }),
    same: (a, b) => canonical(stored(a)) === canonical(stored(b)),
    format: formatSpans,
  };
}
