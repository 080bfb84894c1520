// The line above an item: why it waits, what the model said and how sure it was, what other
// reviewers decided (for an adjudicator), and the model's rationale.
"use strict";

import { $ } from "./dom.js";

const REASONS = {
  low_confidence: "low confidence",
  no_confidence: "no confidence score",
  uncalibrated: "not calibrated yet",
  audit: "audit (spot check)",
  invalid_output: "invalid model output",
  truncated: "truncated model output",
  refusal: "model refused",
  llm_error: "model error",
  delivery_exhausted: "could not be labeled",
  spend_limit: "spend limit reached",
  disagreement: "reviewers disagree: adjudicate",
  span_not_found: "the model named text that is not in the item",
  order_disagreement: "the model's choice changed with the order",
};

// `format` shows a value as the item's editor names it (labels, spans, a side of a pair...).
export function renderMeta(held, format) {
  const prediction = held.prediction;
  const reason = held.item.reason;
  $("reason").textContent = REASONS[reason] || reason || "";
  $("reason").classList.toggle("audit", reason === "audit");
  $("reason").classList.toggle("disagreement", reason === "disagreement");
  const hasLabel = prediction && prediction.value !== null && prediction.value !== undefined;
  $("model-label").textContent = hasLabel ? `Model: ${format(prediction.value)}` : "The model gave no label.";
  $("confidence").textContent =
    prediction && typeof prediction.confidence === "number"
      ? `confidence ${(prediction.confidence * 100).toFixed(1)}% (${prediction.method})`
      : "";
  const votes = held.votes || [];
  $("votes").hidden = votes.length === 0;
  $("votes").textContent = votes.length
    ? "Reviewers said: " +
      votes.map((v) => `${v.reviewer}: ${v.unlabelable ? "unlabelable" : format(v.value)}`).join("; ")
    : "";
  const rationale = prediction && prediction.rationale;
  $("rationale-box").hidden = !rationale;
  $("rationale").textContent = rationale || "";
}

// Every region an editor may draw in, emptied, so no type leaves anything behind for the next.
export function clearRegions() {
  for (const id of ["fields", "labels", "aside", "pair", "context", "keys"]) $(id).replaceChildren();
  for (const id of ["aside", "pair", "context", "orders"]) $(id).hidden = true;
  $("orders").textContent = "";
  $("body").className = "";
  $("text").hidden = false;
  $("text").onmouseup = null;
}
