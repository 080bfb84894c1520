// One editor per task type: it draws the item and the model's value, takes the keys that edit
// the value, and says what the reviewer chose. The desk around it (claims, saving, undo) is the
// same for every type, and the page knows a type from the project's definition alone.
"use strict";

import { classificationEditor } from "./classification.js";
import { SAVE_KEYS, canonical, keyHints, shown, showData } from "./dom.js";
import { extractionEditor } from "./extraction.js";
import { pairwiseEditor } from "./pairwise.js";
import { ratingEditor } from "./rating.js";
import { spansEditor } from "./spans.js";

const EDITORS = {
  classification: classificationEditor,
  spans: spansEditor,
  extraction: extractionEditor,
  rating: ratingEditor,
  pairwise: pairwiseEditor,
};

// A type this page does not know: the item as JSON; the model's value can be kept, not edited.
function plainEditor(task, held) {
  const prediction = held.prediction;
  const hasValue = prediction && prediction.value !== null && prediction.value !== undefined;
  return {
    render() {
      showData(held.item.data || {}, "text");
      keyHints(SAVE_KEYS);
    },
    onKey: () => false,
    chosen: () =>
      hasValue ? { value: prediction.value } : { error: "This page cannot edit this task's values." },
    same: (a, b) => canonical(a) === canonical(b),
    format: shown,
  };
}

export function makeEditor(task, held, ctx) {
  const make = EDITORS[task.type || "classification"] || plainEditor;
  return make(task, held, ctx);
}
