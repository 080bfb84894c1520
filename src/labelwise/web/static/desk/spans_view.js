// Drawing a text with its spans highlighted. The text is cut at every span edge, at the edges
// of the selection being made and at the caret; each piece is a text node, or a <mark> when
// spans cover it. A span's type and score are shown by the stylesheet from `data-tag`, so the
// element's textContent stays exactly the item's text and a DOM range over it measures offsets
// in that text.
"use strict";

import { $, el, percent } from "./dom.js";

function cuts(length, spans, pending, caret) {
  const at = new Set([0, length, caret]);
  for (const span of spans) at.add(span.start).add(span.end);
  if (pending) at.add(pending.start).add(pending.end);
  return [...at].filter((n) => n >= 0 && n <= length).sort((a, b) => a - b);
}

export function spanTitle(span) {
  const parts = [`${span.label} ${percent(span.confidence)}`];
  if (typeof span.label_confidence === "number") parts.push(`type ${percent(span.label_confidence)}`);
  if (typeof span.text_confidence === "number") parts.push(`text ${percent(span.text_confidence)}`);
  return parts.join(" · ");
}

function tagOf(span) {
  return typeof span.confidence === "number" ? `${span.label} ${percent(span.confidence)}` : span.label;
}

function piece(points, spans, from, to, view) {
  const text = points.slice(from, to).join("");
  const covering = spans.filter((s) => s.start <= from && s.end >= to);
  const pending = view.pending && view.pending.start <= from && view.pending.end >= to;
  if (!covering.length) return pending ? el("span", "pending", text) : document.createTextNode(text);
  const inner = covering.reduce((a, b) => (b.end - b.start < a.end - a.start ? b : a));
  const mark = el("mark", `span t${Math.max(0, view.types.indexOf(inner.label)) % 9}`, text);
  mark.dataset.span = String(spans.indexOf(inner));
  mark.classList.toggle("selected", covering.includes(view.selected));
  mark.classList.toggle("pending", Boolean(pending));
  mark.title = covering.map(spanTitle).join("\n");
  const ending = covering.filter((s) => s.end === to);
  if (ending.length) mark.dataset.tag = ending.map(tagOf).join(" · ");
  return mark;
}

// Draws `points` (the text as code points) into #text with `spans` over it; `view` holds the
// selected span, the pending selection {start, end}, the caret and the entity types, in order.
export function drawSpans(points, spans, view) {
  const box = $("text");
  const nodes = [];
  const at = cuts(points.length, spans, view.pending, view.caret);
  for (let i = 0; i < at.length; i += 1) {
    if (at[i] === view.caret) nodes.push(el("span", "caret"));
    if (i + 1 < at.length) nodes.push(piece(points, spans, at[i], at[i + 1], view));
  }
  box.replaceChildren(...nodes);
}

// The UTF-16 offset of a DOM position (`node`, `offset`) inside #text, counted in its text.
export function unitOffset(node, offset) {
  const range = document.createRange();
  range.selectNodeContents($("text"));
  range.setEnd(node, offset);
  return range.toString().length;
}

export function caretIntoView() {
  const target = $("text").querySelector("mark.selected, .caret");
  if (target) target.scrollIntoView({ block: "nearest" });
}
