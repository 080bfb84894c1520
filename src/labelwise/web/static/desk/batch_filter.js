// The desk's batch filter: an optional batch id that every claim carries, so a reviewer can work
// through one batch (the sample a batch's guarantee waits for, say) before the rest of the queue.
// The id is read as digits only and sent as a number in the JSON body; it is only ever shown as
// text.
"use strict";

import { $ } from "./dom.js";

// At most 15 digits: every such id is exact as a JavaScript number.
const BATCH_ID = /^[1-9][0-9]{0,14}$/;

// The batch id typed in: a number, null for every batch, or undefined when it is not an id.
export function typedBatch() {
  const text = $("batch").value.trim();
  if (!text) return null;
  return BATCH_ID.test(text) ? Number(text) : undefined;
}

// What a claim adds to its body for the filter in force.
export function batchFields(batch) {
  return batch === null ? {} : { batch_id: batch };
}

export function clearBatch() {
  $("batch").value = "";
}
